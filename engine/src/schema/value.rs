//! A field's value, as its type reads it: text, a number (integers, money in cents, times in
//! seconds), or a truth value. The field's type says how it is shown, compared and stored.

/// A value owned (what a write sets, and what a record stores tagged: `tagged.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Value {
    Text(String),
    Number(i64),
    Bool(bool),
}

/// A value borrowed from a record (what a read shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueRef<'a> {
    Text(&'a str),
    Number(i64),
    Bool(bool),
}

impl Value {
    /// The value borrowed.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Text(text) => ValueRef::Text(text),
            Value::Number(number) => ValueRef::Number(*number),
            Value::Bool(truth) => ValueRef::Bool(*truth),
        }
    }

    /// The text, if this is text.
    pub fn into_text(self) -> Option<String> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl<'a> ValueRef<'a> {
    /// The value owned.
    pub fn to_owned(self) -> Value {
        match self {
            ValueRef::Text(text) => Value::Text(text.to_string()),
            ValueRef::Number(number) => Value::Number(number),
            ValueRef::Bool(truth) => Value::Bool(truth),
        }
    }

    /// The text, if this is text.
    pub fn text(self) -> Option<&'a str> {
        match self {
            ValueRef::Text(text) => Some(text),
            _ => None,
        }
    }
}
