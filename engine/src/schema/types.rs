//! The types of fields: how a value is read from a request or a CSV cell, shown in a reply and
//! written back into a request. The rules that read and normalise each kind of value are in
//! `values.rs`; this says which rule a type takes.

use super::value::{Value, ValueRef};
use crate::error::Result;
use crate::model::json::JsonObject;
use crate::values;

/// A field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text: trimmed, whitespace folded, 1 to 255 characters.
    Text,
    /// An email: trimmed, lower case, `local@domain.tld`.
    Email,
    /// A phone: `+` and 7 to 15 digits, separators removed.
    Phone,
    /// Money, in cents: 0 to 99,999,999.99, shown with two decimals.
    Money,
    /// A time, in whole seconds since the Unix epoch, UTC, shown in RFC 3339.
    Date,
    /// A stock level: 0 to 2,147,483,647.
    Stock,
    /// An order's quantity: 1 to 1,000,000.
    Quantity,
    /// The id of another record (1 to 2^53 − 1).
    Reference,
}

/// Whether a field must have a value, and what an empty one means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    /// Must be given to add; cannot be cleared (an empty value is `INVALID`).
    Required,
    /// May be left out; an empty value clears it.
    Optional,
    /// May be left out of an add, which then takes the field's default (`created_at`: now,
    /// `stock`: 0); never cleared.
    Defaulted,
    /// Computed from other fields, never given (an order's amount).
    Computed,
}

impl FieldType {
    /// Reads a value given for the field `field` (not empty: an empty value is unset, see
    /// `FieldDef::parse`), normalised as the protocol says; `INVALID` naming the field. Texts
    /// are trimmed and times may have spaces around them; numbers may not.
    pub fn parse(self, field: &'static str, text: &str) -> Result<Value> {
        let number = |n: u64| Value::Number(i64::try_from(n).unwrap_or(i64::MAX));
        Ok(match self {
            FieldType::Text => Value::Text(values::normalize_text(field, text)?),
            FieldType::Email => Value::Text(values::normalize_email(text)?),
            FieldType::Phone => Value::Text(values::normalize_phone(text)?),
            FieldType::Money => number(values::parse_money(field, text)?),
            FieldType::Date => Value::Number(values::parse_timestamp(field, text)?),
            FieldType::Stock => number(values::parse_stock(text)?),
            FieldType::Quantity => Value::Number(i64::from(values::parse_quantity(text)?)),
            FieldType::Reference => number(values::parse_id(field, text)?),
        })
    }

    /// Whether values of the type are text (shown as they are stored).
    pub fn is_text(self) -> bool {
        matches!(self, FieldType::Text | FieldType::Email | FieldType::Phone)
    }

    /// Whether reading a value may change how it is written in a way worth telling (the
    /// import's "fixed"): every accepted form of a time or an id is clean as it is.
    pub fn cleaning_shows(self) -> bool {
        !matches!(self, FieldType::Date | FieldType::Reference)
    }

    /// What a record holds for the type when a field with a default is left out, as shown
    /// (`None`: the default is decided later, as a time's "now").
    pub fn default_shown(self) -> Option<&'static str> {
        match self {
            FieldType::Stock => Some("0"),
            _ => None,
        }
    }

    /// The value as a request gives it (and a reply shows a money or a time).
    pub fn format(self, value: ValueRef) -> String {
        match (self, value) {
            (FieldType::Money, ValueRef::Number(cents)) => {
                values::format_money(u128::try_from(cents).unwrap_or(0))
            }
            (FieldType::Date, ValueRef::Number(seconds)) => values::format_timestamp(seconds),
            (_, ValueRef::Text(text)) => text.to_string(),
            (_, ValueRef::Number(number)) => number.to_string(),
            (_, ValueRef::Bool(truth)) => truth.to_string(),
        }
    }

    /// Writes `"key":value` into a reply's JSON object: money and times as strings, other
    /// numbers as numbers, `null` when unset. `shown` replaces the value's text (masking).
    pub(crate) fn json(
        self,
        object: &mut JsonObject,
        key: &str,
        value: Option<ValueRef>,
        shown: Option<&str>,
    ) {
        match (self, value, shown) {
            (_, None, _) => object.null(key),
            (_, Some(_), Some(shown)) => object.text(key, shown),
            (FieldType::Money | FieldType::Date, Some(value), None) => {
                object.text(key, &self.format(value))
            }
            (_, Some(ValueRef::Text(text)), None) => object.text(key, text),
            (_, Some(ValueRef::Number(number)), None) => object.integer(key, number),
            (_, Some(ValueRef::Bool(truth)), None) => object.boolean(key, truth),
        }
    }

    /// The value as serde_json shows it (the reference the tests compare [`FieldType::json`]
    /// with).
    pub fn json_value(self, value: Option<ValueRef>) -> serde_json::Value {
        match (self, value) {
            (_, None) => serde_json::Value::Null,
            (FieldType::Money | FieldType::Date, Some(value)) => self.format(value).into(),
            (_, Some(ValueRef::Text(text))) => text.into(),
            (_, Some(ValueRef::Number(number))) => number.into(),
            (_, Some(ValueRef::Bool(truth))) => truth.into(),
        }
    }
}
