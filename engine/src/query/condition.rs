//! Conditions: read once (the field resolved, the values read as the field's type reads
//! them) and then tested against values from memory or from opened records alike. The
//! operators and what a condition asks of a value are `test.rs`.

use super::field::{resolve, Queried, QueryField};
pub(crate) use super::test::Test;
pub use super::test::{Operands, Operator};
use super::value::Key;
use crate::error::{quote, Error, Result};
use crate::schema::Catalog;
use crate::values::name_words;

/// The most values `IN` takes.
pub const MAX_IN_VALUES: usize = 1000;

/// A condition as a request gives it: a field's name, an operator and its values as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionText {
    pub field: String,
    pub op: Operator,
    pub values: Vec<String>,
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
