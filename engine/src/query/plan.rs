//! The plan of a query: its conditions read, its order, and where its candidates come from.
//!
//! Candidates come, in this order of preference, from the blind indexes (a customer's email
//! or phone by `=` or `IN`, a name's words by `WORD`: ids to intersect), from the ordered
//! index of an indexed custom field (the smallest range the conditions allow: `narrow.rs`),
//! from the ids the conditions on `id` bound, and from the rows kept in memory
//! (`indexes/query_rows.rs`), which decide every condition on a built-in field that is not
//! personal, on an indexed custom field and on the statistics without a decryption. Only what
//! passes all of that is opened, and every opened record is
//! checked against every condition (a blind hash may collide; a write may land between).

use super::condition::{Condition, ConditionText, Operator, Test};
use super::field::{resolve, Queried, QueryField, Source};
use super::narrow::Candidates;
use super::value::Key;
use super::SortText;
use crate::error::{Error, Result};
use crate::schema::Catalog;
use crate::store::Store;

/// The most conditions a query takes.
pub const MAX_CONDITIONS: usize = 16;

/// A query's order.
pub(crate) struct Sort<R: Queried> {
    pub field: QueryField<R>,
    pub descending: bool,
}

/// A query, read.
pub(crate) struct Plan<R: Queried> {
    pub conditions: Vec<Condition<R>>,
    pub sort: Sort<R>,
    /// The catalog's generation the plan was read in: a cursor is valid only in it.
    pub schema_generation: u64,
}

/// What a masked user may not ask (`NOPERM`), checked before any value is read: a condition
/// on a personal field other than `=`, `IN`, `EXISTS` or `MISSING`, or a sort on one. An
/// unknown field is `INVALID`.
pub(crate) fn refusal_when_masked<R: Queried>(
    conditions: &[ConditionText],
    sort: Option<&SortText>,
    catalog: &Catalog,
) -> Result<Option<String>> {
    for condition in conditions {
        let field = resolve::<R>(&condition.field, catalog)?;
        if field.personal && !condition.op.allowed_on_personal_when_masked() {
            return Ok(Some(format!(
                "a masked user may only use =, IN, EXISTS or MISSING on {}",
                field.name
            )));
        }
    }
    if let Some(sort) = sort {
        let field = resolve::<R>(&sort.field, catalog)?;
        if field.personal {
            return Ok(Some(format!(
                "a masked user may not sort on {}",
                field.name
            )));
        }
    }
    Ok(None)
}

impl<R: Queried> Plan<R> {
    /// Reads the conditions and the order (`INVALID` for an unknown field, an operator its
    /// type does not take, a value that does not read, more than [`MAX_CONDITIONS`], a sort
    /// on a field that takes none).
    pub fn read(
        conditions: &[ConditionText],
        sort: Option<&SortText>,
        catalog: &Catalog,
    ) -> Result<Plan<R>> {
        if conditions.len() > MAX_CONDITIONS {
            return Err(Error::invalid(
                "where",
                format!(
                    "{} conditions, more than {MAX_CONDITIONS}",
                    conditions.len()
                ),
            ));
        }
        let conditions = conditions
            .iter()
            .map(|condition| Condition::read(condition, catalog))
            .collect::<Result<Vec<_>>>()?;
        let sort = match sort {
            Some(sort) => {
                let field = resolve::<R>(&sort.field, catalog)?;
                if !field.sortable() {
                    return Err(Error::invalid(
                        "sort",
                        format!("{} cannot be sorted on", field.name),
                    ));
                }
                Sort {
                    field,
                    descending: sort.descending,
                }
            }
            None => Sort {
                field: resolve::<R>(crate::schema::ID, catalog)?,
                descending: false,
            },
        };
        Ok(Plan {
            conditions,
            sort,
            schema_generation: catalog.generation(),
        })
    }

    /// A hash of the conditions (in any order) and the order, in canonical form: a cursor is
    /// valid for the query whose fingerprint it carries.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut each: Vec<Vec<u8>> = self
            .conditions
            .iter()
            .map(|condition| {
                let mut bytes = condition.field.name.as_bytes().to_vec();
                bytes.push(0);
                condition.test.fingerprint(&mut bytes);
                bytes
            })
            .collect();
        each.sort_unstable();
        each.dedup();
        let mut hasher = blake3::Hasher::new();
        hasher.update(R::PLURAL.as_bytes());
        for bytes in &each {
            hasher.update(&(bytes.len() as u64).to_be_bytes());
            hasher.update(bytes);
        }
        hasher.update(b"sort\0");
        hasher.update(self.sort.field.name.as_bytes());
        hasher.update(&[u8::from(self.sort.descending)]);
        hasher.update(&self.schema_generation.to_be_bytes());
        *hasher.finalize().as_bytes()
    }

    /// Whether answering may open every record of the kind (a heavy command): something
    /// needs the opened record (a condition on a personal field no index serves, a sort on
    /// one) and nothing narrows the records to open (an index, an id range, a condition on a
    /// field kept in memory or on a statistic).
    pub fn scans(&self) -> bool {
        let opens = !self.sort.field.in_memory() || self.conditions.iter().any(|c| !c.in_memory());
        let narrowed = self
            .conditions
            .iter()
            .any(|c| (c.field.in_memory() && c.test != Test::Exists) || indexed(c));
        opens && !narrowed
    }

    /// The ids the conditions on `id` allow, as an inclusive range (`None`: none).
    pub fn id_range(&self) -> Option<(u64, u64)> {
        let (mut low, mut high) = (i128::from(0u8), i128::from(u64::MAX));
        for condition in &self.conditions {
            if !matches!(condition.field.source, Source::Id) {
                continue;
            }
            let number = |key: &Key| match key {
                Key::Number(n) => *n,
                _ => 0,
            };
            match &condition.test {
                Test::Compare(Operator::Eq, k) => {
                    low = low.max(number(k));
                    high = high.min(number(k));
                }
                Test::Compare(Operator::Lt, k) => high = high.min(number(k) - 1),
                Test::Compare(Operator::Le, k) => high = high.min(number(k)),
                Test::Compare(Operator::Gt, k) => low = low.max(number(k).saturating_add(1)),
                Test::Compare(Operator::Ge, k) => low = low.max(number(k)),
                Test::In(keys) => {
                    low = low.max(keys.first().map_or(i128::MAX, number));
                    high = high.min(keys.last().map_or(i128::MIN, number));
                }
                _ => {}
            }
        }
        (low <= high).then_some((low as u64, high as u64))
    }

    /// The ids the indexes allow, ascending (`None`: no index narrows the query): the
    /// intersection of what each blind index gives, else the smallest range of an indexed
    /// custom field when it holds at most `cap(exact)` records, with `merge` kept to the records
    /// the other fields' one-value conditions allow (`narrow.rs`).
    pub fn indexed_candidates(
        &self,
        store: &Store,
        cap: impl Fn(bool) -> usize,
        merge: bool,
    ) -> Option<Candidates> {
        match self.blind_candidates(store) {
            Some(ids) => Some(Candidates { ids, exact: false }),
            None => super::narrow::smallest_range(&self.conditions, &R::rows(store), cap, merge),
        }
    }

    /// The intersection of what each blind index gives for its conditions.
    fn blind_candidates(&self, store: &Store) -> Option<Vec<u64>> {
        let mut candidates: Option<Vec<u64>> = None;
        for condition in &self.conditions {
            let Some(field) = condition.field.id else {
                continue;
            };
            let Some(mut ids) = R::indexed_ids(store, field, &condition.test) else {
                continue;
            };
            ids.sort_unstable();
            ids.dedup();
            candidates = Some(match candidates {
                None => ids,
                Some(previous) => previous
                    .into_iter()
                    .filter(|id| ids.binary_search(id).is_ok())
                    .collect(),
            });
        }
        candidates
    }
}

/// Whether an index serves the condition.
fn indexed<R: Queried>(condition: &Condition<R>) -> bool {
    condition
        .field
        .id
        .is_some_and(|field| R::index_serves(field, &condition.test))
}
