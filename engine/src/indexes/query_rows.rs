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
//! The custom fields declared `INDEXED` are kept too, after the built-in ones: a row carries
//! their keys by field id ([`Row::custom`]). A `PERSONAL` one among them as well: declaring
//! it indexed is asking for its conditions and sorts to be answered from memory, and the
//! values are only in this process's memory, which holds the keys that open every record
//! anyway (SECURITY.md); `FORGET` and the drop's sweep change the record, and with it the
//! row, and a dropped field leaves the rows with the catalog. The set of such fields
//! follows the catalog: a field newly indexed is kept from the moment its catalog is stored
//! ([`QueryRows::start`]), filled from the records while writes go on, and used by queries once
//! filled ([`QueryRows::finish`]: `Indexes::build_custom`); an unindexed one is let go after
//! ([`QueryRows::shrink`]).
//!
//! Each kept custom field also has an [`OrderedIndex`] of its (key, id) pairs: conditions on
//! it are answered from a range of it, and sorts on it walk it (`query/narrow.rs`,
//! `query/sorted_walk.rs`).
//!
//! About 120 bytes a customer (a 32-byte key per field, the row's allocation, the name's text
//! and the map's entry; 119.7–120.3 B measured by `query-bench` at 1,000,000 customers), about
//! the same per product; an indexed custom value adds about 100 (48 in the row, the rest in
//! the ordered index: measured the same way, `BENCHMARKS.md`).

use super::changes::Old;
use super::ordered::OrderedIndex;
use crate::error::Kind;
use crate::query::value::{custom_key, Key, ValueType};
use crate::schema::{Catalog, CustomField, FieldDef, FieldId, Record};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::marker::PhantomData;

/// One record's kept values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// The built-in fields', in the order of [`QueryRows::columns`] (`None`: unset).
    pub builtin: Box<[Option<Key>]>,
    /// The indexed custom fields' that are set, by field id, ascending.
    pub custom: Box<[(u32, Key)]>,
}

impl Row {
    /// The key of indexed custom field `id` (`None`: unset).
    pub fn custom(&self, id: u32) -> Option<&Key> {
        self.custom
            .binary_search_by_key(&id, |(at, _)| *at)
            .ok()
            .map(|at| &self.custom[at].1)
    }
}

/// The kept values of every record of kind `R` that opens.
#[derive(Debug)]
pub(crate) struct QueryRows<R> {
    rows: BTreeMap<u64, Row>,
    /// The custom fields kept (indexed, or being built), by id ascending.
    indexed: Vec<CustomField>,
    /// Each complete custom field's values in order, by field id: a query narrows by the one
    /// whose range holds the fewest records (`query/narrow.rs`) instead of reading every row.
    ordered: BTreeMap<u32, OrderedIndex<Key>>,
    /// The custom fields whose index is being built, by field id (`Building`).
    building: BTreeMap<u32, Building>,
    /// The last claim given out.
    claims: u64,
    kind: PhantomData<fn() -> R>,
}

/// An index being built while writes go on (`SCHEMA.FIELD.INDEX ... ON` over records that
/// already hold values): every row a write changes keeps the field's value from then on, and
/// the build fills the other rows from the records it reads; a row a write changed since the
/// build began is *touched*, and the build, whose copy of that record may be older, leaves
/// it alone. Queries see neither the values nor the index until the build finishes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Building {
    index: OrderedIndex<Key>,
    touched: std::collections::HashSet<u64>,
    /// The claim of the caller that builds it (`Indexes::build_custom`; `None`: no caller
    /// yet): no second one does, and a caller whose build was stopped (the index turned off,
    /// or the field dropped, then indexed again) changes nothing of the next one's.
    claim: Option<u64>,
}

/// A build a caller took: the field, and which of its builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claim {
    pub field: CustomField,
    serial: u64,
}

impl<R> Default for QueryRows<R> {
    fn default() -> Self {
        QueryRows {
            rows: BTreeMap::new(),
            indexed: Vec::new(),
            ordered: BTreeMap::new(),
            building: BTreeMap::new(),
            claims: 0,
            kind: PhantomData,
        }
    }
}

impl<R> PartialEq for QueryRows<R> {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows
            && self.indexed == other.indexed
            && self.ordered == other.ordered
            && self.building == other.building
    }
}

/// The custom fields of `kind` whose values rows keep: declared `INDEXED`.
pub(crate) fn indexed_fields(catalog: &Catalog, kind: Kind) -> Vec<CustomField> {
    let mut fields: Vec<CustomField> = catalog
        .declared(kind)
        .filter(|field| field.indexed)
        .cloned()
        .collect();
    fields.sort_by_key(|field| field.id);
    fields
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

    /// A record's row, keeping the values of the custom fields `indexed`.
    pub fn row_of(record: &R, indexed: &[CustomField]) -> Row {
        let builtin = Self::columns()
            .map(|field| {
                field
                    .get(record)
                    .map(|value| ValueType::of(field.ty).key(value))
            })
            .collect();
        let custom = match record.custom() {
            Some(values) => indexed
                .iter()
                .filter_map(|field| Some((field.id, custom_key(field, values.of(field)?))))
                .collect(),
            None => Box::default(),
        };
        Row { builtin, custom }
    }

    /// Starts keeping the custom fields of `wanted` not kept yet: from now on a write keeps
    /// their values in the rows it changes, and [`QueryRows::fill`] brings the rest. Run
    /// before a catalog that indexes them is stored in memory; queries use them once
    /// [`QueryRows::finish`] has run. Whether any field started.
    pub fn start(&mut self, wanted: &[CustomField]) -> bool {
        let added: Vec<CustomField> = wanted
            .iter()
            .filter(|field| !self.indexed.iter().any(|kept| kept.id == field.id))
            .cloned()
            .collect();
        for field in &added {
            self.building.insert(field.id, Building::default());
        }
        self.indexed.extend_from_slice(&added);
        self.indexed.sort_by_key(|field| field.id);
        !added.is_empty()
    }

    /// The fields whose index is being built.
    pub fn building(&self) -> impl Iterator<Item = u32> + '_ {
        self.building.keys().copied()
    }

    /// Whether a build waits that no caller has claimed yet.
    pub fn unclaimed(&self) -> bool {
        self.building
            .values()
            .any(|building| building.claim.is_none())
    }

    /// Claims the builds no caller has claimed yet, and returns them.
    pub fn claim(&mut self) -> Vec<Claim> {
        let mut claims = Vec::new();
        for (id, building) in &mut self.building {
            if building.claim.is_none() {
                self.claims += 1;
                building.claim = Some(self.claims);
                let field = self.indexed.iter().find(|f| f.id == *id);
                claims.extend(field.map(|field| Claim {
                    field: field.clone(),
                    serial: self.claims,
                }));
            }
        }
        claims
    }

    /// The build `claim` is of, if it still runs.
    fn claimed(&mut self, claim: &Claim) -> Option<&mut Building> {
        self.building
            .get_mut(&claim.field.id)
            .filter(|building| building.claim == Some(claim.serial))
    }

    /// Gives claimed builds back (their caller failed): another caller may take them.
    pub fn unclaim(&mut self, claims: &[Claim]) {
        for claim in claims {
            if let Some(building) = self.claimed(claim) {
                building.claim = None;
            }
        }
    }

    /// Fills the rows of `records` (as read by a build) with the values of the claimed
    /// fields, except the rows a write touched since the build began (theirs is newer).
    pub fn fill(&mut self, claims: &[Claim], records: &[R]) {
        for claim in claims {
            let field = &claim.field;
            let Some(building) = self
                .building
                .get_mut(&field.id)
                .filter(|building| building.claim == Some(claim.serial))
            else {
                continue;
            };
            for record in records {
                let id = record.id();
                if building.touched.contains(&id) {
                    continue;
                }
                let Some(row) = self.rows.get_mut(&id) else {
                    continue;
                };
                let Some(value) = record.custom().and_then(|values| values.of(field)) else {
                    continue;
                };
                let key = custom_key(field, value);
                let mut custom: Vec<(u32, Key)> = row.custom.to_vec();
                match custom.binary_search_by_key(&field.id, |(at, _)| *at) {
                    Ok(_) => continue,
                    Err(at) => custom.insert(at, (field.id, key.clone())),
                }
                row.custom = custom.into_boxed_slice();
                building.index.apply(id, None, Some(&key));
            }
        }
    }

    /// Makes the claimed builds (every record filled) indexes queries use.
    pub fn finish(&mut self, claims: &[Claim]) {
        for claim in claims {
            if self.claimed(claim).is_some() {
                if let Some(building) = self.building.remove(&claim.field.id) {
                    self.ordered.insert(claim.field.id, building.index);
                }
            }
        }
    }

    /// Stops keeping the custom fields not in `wanted`: run once a catalog that no longer
    /// indexes them is in use.
    pub fn shrink(&mut self, wanted: &[CustomField]) {
        let keep = |id: u32| wanted.iter().any(|field| field.id == id);
        if self.indexed.iter().all(|field| keep(field.id)) {
            return;
        }
        self.indexed.retain(|field| keep(field.id));
        self.ordered.retain(|id, _| keep(*id));
        self.building.retain(|id, _| keep(*id));
        for row in self.rows.values_mut() {
            if row.custom.iter().any(|(id, _)| !keep(*id)) {
                let custom: Vec<(u32, Key)> = row
                    .custom
                    .iter()
                    .filter(|(id, _)| keep(*id))
                    .cloned()
                    .collect();
                row.custom = custom.into_boxed_slice();
            }
        }
    }

    /// The row of one record.
    pub fn get(&self, id: u64) -> Option<&Row> {
        self.rows.get(&id)
    }

    /// How many records have a row.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The values of kept custom field `id` in order (`None`: not kept).
    pub fn ordered(&self, id: u32) -> Option<&OrderedIndex<Key>> {
        self.ordered.get(&id)
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
            let same_custom = self.indexed.iter().all(|field| {
                old.custom().map(|v| v.of(field)) == new.custom().map(|v| v.of(field))
            });
            if same_custom && Self::columns().all(|field| field.get(old) == field.get(new)) {
                return;
            }
        }
        let old = match new {
            Some(new) => {
                let row = Self::row_of(new, &self.indexed);
                self.rows.insert(id, row)
            }
            None => self.rows.remove(&id),
        };
        let new = self.rows.get(&id);
        let building = self.building.iter_mut().map(|(field, building)| {
            building.touched.insert(id);
            (field, &mut building.index)
        });
        for (field, index) in self.ordered.iter_mut().chain(building) {
            index.apply(
                id,
                old.as_ref().and_then(|row| row.custom(*field)),
                new.and_then(|row| row.custom(*field)),
            );
        }
    }

    /// The rows of these records, which keep the custom fields `indexed`.
    pub fn rebuild(
        rows: impl IntoIterator<Item = (u64, Row)>,
        indexed: Vec<CustomField>,
    ) -> QueryRows<R> {
        let rows: BTreeMap<u64, Row> = rows.into_iter().collect();
        let ordered = indexed
            .par_iter()
            .map(|field| (field.id, ordered_of(&rows, field.id)))
            .collect();
        QueryRows {
            rows,
            indexed,
            ordered,
            building: BTreeMap::new(),
            claims: 0,
            kind: PhantomData,
        }
    }
}

/// The ordered index of custom field `id` over these rows.
fn ordered_of(rows: &BTreeMap<u64, Row>, id: u32) -> OrderedIndex<Key> {
    OrderedIndex::rebuild(
        rows.iter()
            .filter_map(|(record, row)| Some((row.custom(id)?.clone(), *record)))
            .collect(),
    )
}
