//! The values a query compares: how each type of field reads the value a condition gives,
//! and the one comparable form ([`Key`]) a record's value and a condition's value both take.
//!
//! Texts compare in their NFC form, lower-cased (as `FIND NAME` compares words); emails and
//! phones as their normalised form (which is already lower case, or digits); numbers, money
//! and times by value. A condition's value is read with the rules a write uses (`values.rs`),
//! so `= "Ada  Lovelace "` finds the name that was written the same way.

use crate::error::{quote, Error, Result};
use crate::schema::{CustomField, CustomType, FieldType, ValueRef};
use crate::values;
use unicode_normalization::UnicodeNormalization;

/// A value in the form queries compare and sort: one variant per family of types, and a
/// field only ever compares keys of its own family.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// Ids, integers, money in cents, times in seconds.
    Number(i128),
    /// Texts (NFC, lower case), emails and phones (normalised).
    Text(String),
    /// `false` before `true`.
    Bool(bool),
}

impl Key {
    /// Appends the key's bytes: a tag, then the value (texts with their length), so that two
    /// keys written one after another read back apart (cursors, fingerprints).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Key::Number(number) => {
                out.push(1);
                out.extend_from_slice(&number.to_be_bytes());
            }
            Key::Text(text) => {
                out.push(2);
                out.extend_from_slice(&(text.len() as u64).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
            Key::Bool(truth) => out.extend_from_slice(&[3, u8::from(*truth)]),
        }
    }

    /// Reads a key [`Key::encode`] wrote at the start of `bytes`, and what follows it.
    pub(crate) fn decode(bytes: &[u8]) -> Option<(Key, &[u8])> {
        let (tag, rest) = bytes.split_first()?;
        match tag {
            1 => {
                let (number, rest) = rest.split_first_chunk::<16>()?;
                Some((Key::Number(i128::from_be_bytes(*number)), rest))
            }
            2 => {
                let (length, rest) = rest.split_first_chunk::<8>()?;
                let length = usize::try_from(u64::from_be_bytes(*length)).ok()?;
                let text = rest.get(..length)?;
                let text = String::from_utf8(text.to_vec()).ok()?;
                Some((Key::Text(text), &rest[length..]))
            }
            3 => {
                let (truth, rest) = rest.split_first()?;
                Some((Key::Bool(*truth == 1), rest))
            }
            _ => None,
        }
    }
}

/// The type queries give a custom field's type.
pub(crate) fn custom_type(ty: &CustomType) -> ValueType {
    match ty {
        CustomType::Text => ValueType::Text,
        CustomType::Integer => ValueType::Integer,
        CustomType::Money => ValueType::Money,
        CustomType::Date => ValueType::Date,
        CustomType::Bool => ValueType::Bool,
        CustomType::Choice(_) => ValueType::Choice,
    }
}

/// The key of a custom field's value: texts in NFC lower case, numbers by value, a choice by
/// its place among the field's values (so that sorting follows `VALUES`).
pub(crate) fn custom_key(field: &CustomField, value: ValueRef) -> Key {
    match (&field.ty, value) {
        (CustomType::Choice(choices), ValueRef::Text(text)) => Key::Number(
            choices
                .iter()
                .position(|choice| choice == text)
                .map_or(i128::MAX, |at| at as i128),
        ),
        (CustomType::Text, ValueRef::Text(text)) => Key::Text(text_key(text)),
        (_, ValueRef::Text(text)) => Key::Text(text.to_string()),
        (_, ValueRef::Number(number)) => Key::Number(i128::from(number)),
        (_, ValueRef::Bool(truth)) => Key::Bool(truth),
    }
}

/// Reads a condition's value for a custom field, as a write reads it (`INVALID` naming the
/// field and the value; an empty value is none).
pub(crate) fn read_custom(field: &CustomField, text: &str) -> Result<Key> {
    match field.read(text)? {
        Some(value) => Ok(custom_key(field, value.as_ref())),
        None => Err(Error::invalid(
            field.name.clone(),
            format!("{} is not a value", quote(text)),
        )),
    }
}

/// How a field of a query reads, compares and orders its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// A record's id: any integer is read (`id = 0` matches nothing).
    Id,
    Text,
    Email,
    Phone,
    /// Money as prices are written (bounded as a price).
    Money,
    /// Money of a statistic: as prices, without the bound.
    Amount,
    Date,
    /// Any integer (stock levels, counts).
    Integer,
    /// A custom `bool`: `false` before `true`.
    Bool,
    /// A custom `choice`: compared by its declared value, ordered as its `VALUES` list them.
    Choice,
}

impl ValueType {
    /// The type queries give a schema field of this type.
    pub(crate) fn of(ty: FieldType) -> ValueType {
        match ty {
            FieldType::Text => ValueType::Text,
            FieldType::Email => ValueType::Email,
            FieldType::Phone => ValueType::Phone,
            FieldType::Money => ValueType::Money,
            FieldType::Date => ValueType::Date,
            FieldType::Stock | FieldType::Quantity | FieldType::Reference => ValueType::Integer,
        }
    }

    /// Whether `<`, `<=`, `>`, `>=` apply.
    pub fn is_ordered(self) -> bool {
        matches!(
            self,
            ValueType::Id
                | ValueType::Money
                | ValueType::Amount
                | ValueType::Date
                | ValueType::Integer
        )
    }

    /// Whether `PREFIX` applies.
    pub fn takes_prefix(self) -> bool {
        matches!(self, ValueType::Text | ValueType::Email | ValueType::Phone)
    }

    /// Whether `WORD` applies.
    pub fn takes_words(self) -> bool {
        self == ValueType::Text
    }

    /// The type's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Id => "an id",
            ValueType::Text => "text",
            ValueType::Email => "an email",
            ValueType::Phone => "a phone",
            ValueType::Money | ValueType::Amount => "money",
            ValueType::Date => "a time",
            ValueType::Integer => "an integer",
            ValueType::Bool => "a bool",
            ValueType::Choice => "a choice",
        }
    }

    /// Reads a condition's value for the field `field`, as a write reads it; `INVALID` naming
    /// the field and the value.
    pub fn read(self, field: &'static str, text: &str) -> Result<Key> {
        Ok(match self {
            ValueType::Id => Key::Number(integer(text).ok_or_else(|| {
                Error::invalid(field, format!("{} is not an id (a number)", quote(text)))
            })?),
            ValueType::Text => Key::Text(text_key(&values::normalize_text(field, text)?)),
            ValueType::Email => Key::Text(values::normalize_email(text)?),
            ValueType::Phone => Key::Text(values::normalize_phone(text)?),
            ValueType::Money => Key::Number(i128::from(values::parse_money(field, text)?)),
            ValueType::Amount => Key::Number(amount(text).ok_or_else(|| {
                Error::invalid(
                    field,
                    format!(
                        "{} is not an amount (digits, optional . and 1 or 2 decimals)",
                        quote(text)
                    ),
                )
            })?),
            ValueType::Date => Key::Number(i128::from(values::parse_timestamp(field, text)?)),
            ValueType::Integer => Key::Number(integer(text).ok_or_else(|| {
                Error::invalid(field, format!("{} is not an integer", quote(text)))
            })?),
            // Read by their custom field (`custom_key`), never here.
            ValueType::Bool | ValueType::Choice => {
                return Err(Error::invalid(
                    field,
                    format!("{} is not read here", quote(text)),
                ))
            }
        })
    }

    /// Reads a `PREFIX` value: the start of a value after the type's normalisation of case,
    /// NFC and whitespace (for phones: digits with an optional `+`); an empty one is `INVALID`.
    pub fn read_prefix(self, field: &str, text: &str) -> Result<String> {
        let empty = || {
            Error::invalid(
                field.to_string(),
                format!("{} is an empty prefix", quote(text)),
            )
        };
        let prefix = match self {
            ValueType::Phone => {
                let compact: String = text
                    .chars()
                    .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')')))
                    .collect();
                let digits = compact.strip_prefix('+').unwrap_or(&compact);
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Error::invalid(
                        field.to_string(),
                        format!("{} is not the start of a phone number", quote(text)),
                    ));
                }
                if digits.is_empty() {
                    return Err(empty());
                }
                format!("+{digits}")
            }
            ValueType::Email => text.trim().to_lowercase(),
            _ => text_key(&text.split_whitespace().collect::<Vec<_>>().join(" ")),
        };
        if prefix.is_empty() {
            return Err(empty());
        }
        Ok(prefix)
    }

    /// The key of a record's value of this type.
    pub(crate) fn key(self, value: ValueRef) -> Key {
        match value {
            ValueRef::Text(text) if self == ValueType::Text => Key::Text(text_key(text)),
            ValueRef::Text(text) => Key::Text(text.to_string()),
            ValueRef::Number(number) => Key::Number(i128::from(number)),
            ValueRef::Bool(truth) => Key::Bool(truth),
        }
    }
}

/// A text as queries compare it: NFC, lower case (lower-casing may leave a text that is not
/// NFC, so it is normalised again, as `values::name_words` does).
pub fn text_key(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let lower = text.nfc().collect::<String>().to_lowercase();
    lower.nfc().collect()
}

/// An optional `-` and digits, any number of them: a number beyond `i128` is clamped, which
/// compares with every stored value as the number itself would.
fn integer(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().try_fold(0i128, |n, d| {
        n.checked_mul(10)?.checked_add(i128::from(d - b'0'))
    });
    let magnitude = magnitude.unwrap_or(i128::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

/// Money without a bound: digits, an optional `.` and one or two decimals, into cents.
fn amount(text: &str) -> Option<i128> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (text.contains('.') && (!digits(fraction) || fraction.len() > 2)) {
        return None;
    }
    let whole = integer(whole)?;
    let cents = match fraction.len() {
        0 => 0,
        1 => integer(fraction)? * 10,
        _ => integer(fraction)?,
    };
    Some(whole.saturating_mul(100).saturating_add(cents))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_their_types_write_them() {
        assert_eq!(
            ValueType::Text.read("name", "  ÉLODIE   Dupont ").unwrap(),
            Key::Text("élodie dupont".into())
        );
        assert_eq!(
            ValueType::Email.read("email", " Ada@Example.COM").unwrap(),
            Key::Text("ada@example.com".into())
        );
        assert_eq!(ValueType::Id.read("id", "0").unwrap(), Key::Number(0));
        assert_eq!(ValueType::Id.read("id", "-3").unwrap(), Key::Number(-3));
        assert!(ValueType::Id.read("id", "x").is_err());
        assert!(ValueType::Money.read("price", "100000000").is_err());
        assert_eq!(
            ValueType::Amount
                .read("total_amount", "100000000.5")
                .unwrap(),
            Key::Number(10_000_000_050)
        );
        assert!(ValueType::Amount.read("total_amount", "1.234").is_err());
        assert_eq!(
            ValueType::Integer.read("stock", "-12").unwrap(),
            Key::Number(-12)
        );
        let error = ValueType::Date.read("created_at", "soon").unwrap_err();
        assert!(error.to_string().contains("created_at"), "{error}");
        assert!(error.to_string().contains("soon"), "{error}");
    }

    #[test]
    fn prefixes_are_normalised_and_never_empty() {
        assert_eq!(
            ValueType::Phone.read_prefix("phone", "1 (555)").unwrap(),
            "+1555"
        );
        assert_eq!(ValueType::Phone.read_prefix("phone", "+44").unwrap(), "+44");
        assert!(ValueType::Phone.read_prefix("phone", "+").is_err());
        assert!(ValueType::Phone.read_prefix("phone", "12a").is_err());
        assert_eq!(
            ValueType::Text.read_prefix("name", " Ada  Lo").unwrap(),
            "ada lo"
        );
        assert_eq!(
            ValueType::Email.read_prefix("email", " ADA@").unwrap(),
            "ada@"
        );
        assert!(ValueType::Text.read_prefix("name", "   ").is_err());
    }
}
