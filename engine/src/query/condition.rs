//! Conditions: the operators of the query grammar, which types take which, and whether a
//! value passes one. A condition is read once (its field resolved, its values read as the
//! field's type reads them) and then tested against values from memory or from opened
//! records alike.

use super::field::{resolve, Queried, QueryField};
use super::value::{Key, ValueType};
use crate::error::{quote, Error, Result};
use crate::schema::Catalog;
use crate::values::name_words;

/// The most values `IN` takes.
pub const MAX_IN_VALUES: usize = 1000;

/// An operator of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Prefix,
    Word,
    In,
    Exists,
    Missing,
}

/// How many values an operator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operands {
    None,
    One,
    /// A count, then that many values.
    List,
}

impl Operator {
    pub const ALL: [Operator; 11] = [
        Operator::Eq,
        Operator::Ne,
        Operator::Lt,
        Operator::Le,
        Operator::Gt,
        Operator::Ge,
        Operator::Prefix,
        Operator::Word,
        Operator::In,
        Operator::Exists,
        Operator::Missing,
    ];

    /// The operator as a request writes it.
    pub const fn word(self) -> &'static str {
        match self {
            Operator::Eq => "=",
            Operator::Ne => "!=",
            Operator::Lt => "<",
            Operator::Le => "<=",
            Operator::Gt => ">",
            Operator::Ge => ">=",
            Operator::Prefix => "PREFIX",
            Operator::Word => "WORD",
            Operator::In => "IN",
            Operator::Exists => "EXISTS",
            Operator::Missing => "MISSING",
        }
    }

    /// The operator a word names, in any case.
    pub fn named(word: &[u8]) -> Option<Operator> {
        Operator::ALL
            .into_iter()
            .find(|op| op.word().as_bytes().eq_ignore_ascii_case(word))
    }

    pub const fn operands(self) -> Operands {
        match self {
            Operator::Exists | Operator::Missing => Operands::None,
            Operator::In => Operands::List,
            _ => Operands::One,
        }
    }

    /// Whether a masked user may use it on a personal field: the others (ranges, prefixes,
    /// `!=`) would reveal a value a little at a time.
    pub const fn allowed_on_personal_when_masked(self) -> bool {
        matches!(
            self,
            Operator::Eq | Operator::In | Operator::Exists | Operator::Missing
        )
    }

    /// Whether a field of this type takes it.
    fn applies_to(self, ty: ValueType) -> bool {
        match self {
            Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => ty.is_ordered(),
            Operator::Prefix => ty.takes_prefix(),
            Operator::Word => ty.takes_words(),
            _ => true,
        }
    }
}

/// A condition as a request gives it: a field's name, an operator and its values as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionText {
    pub field: String,
    pub op: Operator,
    pub values: Vec<String>,
}

/// What a condition asks of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Test {
    /// `=`, `!=`, `<`, `<=`, `>`, `>=` against one value.
    Compare(Operator, Key),
    /// One of these (sorted, without repeats).
    In(Vec<Key>),
    Prefix(String),
    /// Every one of these words (`values::name_words`).
    Words(Vec<String>),
    Exists,
    Missing,
}

impl Test {
    /// Whether a value (`None`: null) passes: a null passes only `MISSING`.
    pub fn holds(&self, value: Option<&Key>) -> bool {
        let Some(value) = value else {
            return *self == Test::Missing;
        };
        match self {
            Test::Compare(op, key) => match op {
                Operator::Eq => value == key,
                Operator::Ne => value != key,
                Operator::Lt => value < key,
                Operator::Le => value <= key,
                Operator::Gt => value > key,
                Operator::Ge => value >= key,
                _ => false,
            },
            Test::In(keys) => keys.binary_search(value).is_ok(),
            Test::Prefix(prefix) => {
                matches!(value, Key::Text(text) if text.starts_with(prefix.as_str()))
            }
            Test::Words(words) => match value {
                Key::Text(text) => {
                    let have = name_words(text);
                    words.iter().all(|w| have.contains(w))
                }
                _ => false,
            },
            Test::Exists => true,
            Test::Missing => false,
        }
    }

    /// Appends a canonical form of the test (the cursor's fingerprint).
    pub fn fingerprint(&self, out: &mut Vec<u8>) {
        fn put(out: &mut Vec<u8>, text: &str) {
            out.extend_from_slice(&(text.len() as u64).to_be_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        match self {
            Test::Compare(op, key) => {
                put(out, op.word());
                key.encode(out);
            }
            Test::In(keys) => {
                put(out, Operator::In.word());
                out.extend_from_slice(&(keys.len() as u64).to_be_bytes());
                keys.iter().for_each(|key| key.encode(out));
            }
            Test::Prefix(prefix) => {
                put(out, Operator::Prefix.word());
                put(out, prefix);
            }
            Test::Words(words) => {
                put(out, Operator::Word.word());
                out.extend_from_slice(&(words.len() as u64).to_be_bytes());
                words.iter().for_each(|word| put(out, word));
            }
            Test::Exists => put(out, Operator::Exists.word()),
            Test::Missing => put(out, Operator::Missing.word()),
        }
    }
}

/// A condition, read.
pub(crate) struct Condition<R: Queried> {
    pub field: QueryField<R>,
    pub test: Test,
}

impl<R: Queried> Condition<R> {
    /// Reads a condition: its field (`INVALID` when unknown), its operator (`INVALID` when the
    /// type does not take it), its values (`INVALID` when one does not read, or `IN` has none
    /// or more than [`MAX_IN_VALUES`]).
    pub fn read(text: &ConditionText, catalog: &Catalog) -> Result<Condition<R>> {
        let field = resolve::<R>(&text.field, catalog)?;
        let name = field.name.clone();
        let name = name.as_ref();
        // A custom field's values are read as its type reads them (a choice by its values).
        let read = |value: &str| match field.custom() {
            Some(custom) => super::value::read_custom(custom, value),
            None => field.ty.read(field.static_name(), value),
        };
        if !text.op.applies_to(field.ty) {
            return Err(Error::invalid(
                name.to_string(),
                format!(
                    "{} does not apply to {} (a field of type {})",
                    text.op.word(),
                    name,
                    field.ty.name()
                ),
            ));
        }
        let one = || {
            text.values.first().ok_or_else(|| {
                Error::invalid(
                    name.to_string(),
                    format!("{} needs a value", text.op.word()),
                )
            })
        };
        let test = match text.op {
            Operator::Exists => Test::Exists,
            Operator::Missing => Test::Missing,
            Operator::Prefix => Test::Prefix(field.ty.read_prefix(name, one()?)?),
            Operator::Word => {
                let mut words = name_words(one()?);
                if words.is_empty() {
                    return Err(Error::invalid(
                        name.to_string(),
                        format!("{} has no words to look for", quote(one()?)),
                    ));
                }
                words.sort_unstable();
                words.dedup();
                Test::Words(words)
            }
            Operator::In => {
                if text.values.is_empty() || text.values.len() > MAX_IN_VALUES {
                    return Err(Error::invalid(
                        name.to_string(),
                        format!(
                            "IN takes 1 to {MAX_IN_VALUES} values, not {}",
                            text.values.len()
                        ),
                    ));
                }
                let mut keys = text
                    .values
                    .iter()
                    .map(|value| read(value))
                    .collect::<Result<Vec<Key>>>()?;
                keys.sort_unstable();
                keys.dedup();
                Test::In(keys)
            }
            op => Test::Compare(op, read(one()?)?),
        };
        Ok(Condition { field, test })
    }

    /// Whether it can be decided without opening the record.
    pub fn in_memory(&self) -> bool {
        self.field.in_memory() || (self.field.always_set && self.is_presence())
    }

    fn is_presence(&self) -> bool {
        matches!(self.test, Test::Exists | Test::Missing)
    }

    /// Decides it from memory; `None` when only the opened record can.
    pub fn holds_in_memory(
        &self,
        id: u64,
        row: &crate::indexes::Row,
        rollup: &R::Rollup,
    ) -> Option<bool> {
        if self.field.always_set && self.is_presence() {
            return Some(self.test == Test::Exists);
        }
        let value = self.field.remembered(id, row, rollup)?;
        Some(self.test.holds(value.as_ref()))
    }

    /// Decides it on an opened record.
    pub fn holds_on(&self, record: &R, rollup: &R::Rollup) -> bool {
        self.test
            .holds(self.field.of_record(record, rollup).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Customer;

    fn read(field: &str, op: Operator, values: &[&str]) -> Result<Condition<Customer>> {
        let text = ConditionText {
            field: field.into(),
            op,
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        Condition::read(&text, &Catalog::default())
    }

    #[test]
    fn operators_apply_to_their_types_only() {
        assert!(read("created_at", Operator::Lt, &["2024-01-01"]).is_ok());
        assert!(read("order_count", Operator::Ge, &["2"]).is_ok());
        let refused = read("name", Operator::Lt, &["b"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            refused.contains("name") && refused.contains('<'),
            "{refused}"
        );
        assert!(read("email", Operator::Word, &["ada"]).is_err());
        assert!(read("phone", Operator::Prefix, &["+1"]).is_ok());
        assert!(read("id", Operator::Prefix, &["1"]).is_err());
        let unknown = read("colour", Operator::Eq, &["red"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            unknown.contains("colour") && unknown.contains("total_amount"),
            "{unknown}"
        );
    }

    #[test]
    fn nulls_pass_only_missing() {
        for test in [
            Test::Exists,
            Test::Compare(Operator::Ne, Key::Number(1)),
            Test::In(vec![Key::Number(1)]),
            Test::Prefix("a".into()),
        ] {
            assert!(!test.holds(None), "{test:?}");
        }
        assert!(Test::Missing.holds(None));
        assert!(!Test::Missing.holds(Some(&Key::Number(0))));
    }

    #[test]
    fn in_takes_one_to_a_thousand_values() {
        assert!(read("id", Operator::In, &[]).is_err());
        let many: Vec<String> = (0..=MAX_IN_VALUES).map(|n| n.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(read("id", Operator::In, &many).is_err());
        assert!(read("id", Operator::In, &many[..MAX_IN_VALUES]).is_ok());
    }

    #[test]
    fn words_must_all_be_there() {
        let test = read("name", Operator::Word, &["lovelace ADA"])
            .unwrap()
            .test;
        assert!(test.holds(Some(&Key::Text("ada king lovelace".into()))));
        assert!(!test.holds(Some(&Key::Text("ada king".into()))));
        assert!(read("name", Operator::Word, &["  -- "]).is_err());
    }
}
