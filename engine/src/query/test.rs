//! The operators of the query grammar, which value types take which, and what a condition
//! asks of a value once it is read (`Test`): apart from the conditions themselves, because
//! the fields that answer a test from an index (`field.rs`) need them without the reading.

use super::value::{Key, ValueType};
use crate::values::name_words;

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
    pub(super) fn applies_to(self, ty: ValueType) -> bool {
        match self {
            Operator::Lt | Operator::Le | Operator::Gt | Operator::Ge => ty.is_ordered(),
            Operator::Prefix => ty.takes_prefix(),
            Operator::Word => ty.takes_words(),
            _ => true,
        }
    }
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
