//! The stored form of customers and products (layout 8): each value tagged with its field's
//! id, so that a field added later — built-in or custom — needs no layout migration and no
//! re-seal: a record written before it simply has no value for it.
//!
//! `id` is tagged 0 ([`FieldId`]s of built-in fields start at 1), built-in fields by their
//! [`FieldId`], custom fields by their catalog id (`custom.rs`) in a list of their own. A
//! tag this build does not know is kept out of the record (a built-in one) or kept as it is
//! (a custom one: its field may be dropped and its sweep not yet done). Layouts up to 7
//! stored bincode structs (`upgrade.rs` reads them once).

use super::custom::CustomValues;
use super::{FieldId, Record, Value, ValueRef};
use serde::{Deserialize, Serialize};

/// This form's version, first in every record (a bincode struct of layout 7 starts with its
/// id's varint, which is never 0xFF: an old record read as this fails, never misreads).
const FORMAT: u8 = 0xFF;
/// The tag of the record's id.
const ID_TAG: u16 = 0;

/// A record as stored.
#[derive(Serialize, Deserialize)]
pub struct Tagged {
    format: u8,
    fields: Vec<(u16, Value)>,
    custom: Vec<(u32, Value)>,
}

impl Tagged {
    /// The stored form of `record`: its id, every built-in field that has a value, every
    /// custom value.
    pub fn of<R: Record>(record: &R) -> Tagged {
        let mut fields = Vec::with_capacity(8);
        fields.push((
            ID_TAG,
            Value::Number(i64::try_from(record.id()).unwrap_or(i64::MAX)),
        ));
        for field in R::schema().fields() {
            if let Some(value) = field.get(record) {
                fields.push((field.id.0, value.to_owned()));
            }
        }
        let custom = record
            .custom()
            .map(|values| values.stored().to_vec())
            .unwrap_or_default();
        Tagged {
            format: FORMAT,
            fields,
            custom,
        }
    }

    /// The record stored: fields without a value at their `Default`.
    pub fn into_record<R: Record>(self) -> Result<R, String> {
        if self.format != FORMAT {
            return Err(format!(
                "a {} record in an unknown format ({})",
                R::KIND,
                self.format
            ));
        }
        let mut record = R::default();
        let schema = R::schema();
        for (tag, value) in self.fields {
            if tag == ID_TAG {
                match value.as_ref() {
                    ValueRef::Number(id) => record.set_id(u64::try_from(id).unwrap_or(0)),
                    _ => return Err(format!("a {} record's id is not a number", R::KIND)),
                }
            } else if let Some(field) = schema.field(FieldId(tag)) {
                field.set(&mut record, Some(value));
            }
        }
        if let Some(custom) = record.custom_mut() {
            *custom = CustomValues::from_stored(self.custom);
        }
        Ok(record)
    }
}
