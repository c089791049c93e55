//! The values queries read without opening a record: every customer's and product's fields
//! that are not personal (a customer's name and time; a product's name, price and stock), in
//! the form queries compare them (`query/value.rs`), by id. Answers `CUSTOMER.QUERY`,
//! `PRODUCT.QUERY` and `*.COUNT` conditions and sorts on those fields, and their walks in id
//! order, without a decryption per record that cannot match.
//!
//! Which fields are kept is the schema's to say (each field not `personal`), so a field added
//! to a kind is kept with no change here. Personal values are never here in plain: their
//! conditions go through the blind indexes or open the record.
//!
//! About 150 bytes a customer (a 32-byte key per field, the row's allocation, the name's
//! text and the map's entry), the same per product.

use super::changes::Old;
use crate::query::{Key, ValueType};
use crate::schema::{FieldDef, FieldId, Record};
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// One record's kept values, in the order of [`QueryRows::columns`] (`None`: unset).
pub(crate) type Row = Box<[Option<Key>]>;

/// The kept values of every record of kind `R` that opens.
#[derive(Debug)]
pub(crate) struct QueryRows<R> {
    rows: BTreeMap<u64, Row>,
    kind: PhantomData<fn() -> R>,
}

impl<R> Default for QueryRows<R> {
    fn default() -> Self {
        QueryRows {
            rows: BTreeMap::new(),
            kind: PhantomData,
        }
    }
}

impl<R> PartialEq for QueryRows<R> {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows
    }
}

impl<R> Eq for QueryRows<R> {}

impl<R: Record> QueryRows<R> {
    /// The fields kept: every field of the kind that is not personal, in schema order.
    pub fn columns() -> impl Iterator<Item = &'static FieldDef<R>> {
        R::schema().fields().filter(|field| !field.personal)
    }

    /// The place of a field among [`QueryRows::columns`] (`None`: not kept).
    pub fn column_of(id: FieldId) -> Option<usize> {
        Self::columns().position(|field| field.id == id)
    }

    /// A record's row.
    pub fn row_of(record: &R) -> Row {
        Self::columns()
            .map(|field| {
                field
                    .get(record)
                    .map(|value| ValueType::of(field.ty).key(value))
            })
            .collect()
    }

    /// The row of one record.
    pub fn get(&self, id: u64) -> Option<&Row> {
        self.rows.get(&id)
    }

    /// The rows with ids in `ids`, ascending.
    pub fn range(
        &self,
        ids: impl std::ops::RangeBounds<u64>,
    ) -> impl Iterator<Item = (u64, &Row)> + '_ {
        self.rows.range(ids).map(|(id, row)| (*id, row))
    }

    /// Follows one record's change (an unchanged row costs a comparison).
    pub fn apply(&mut self, id: u64, old: &Old<R>, new: Option<&R>) {
        if let (Old::Was(old), Some(new)) = (old, new) {
            if Self::columns().all(|field| field.get(old) == field.get(new)) {
                return;
            }
        }
        match new {
            Some(new) => self.rows.insert(id, Self::row_of(new)),
            None => self.rows.remove(&id),
        };
    }

    /// The rows of these records.
    pub fn rebuild(rows: impl IntoIterator<Item = (u64, Row)>) -> QueryRows<R> {
        QueryRows {
            rows: rows.into_iter().collect(),
            kind: PhantomData,
        }
    }
}
