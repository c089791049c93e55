//! A page sorted on an indexed custom field, read in the order of the field's ordered index
//! (`indexes/query_rows.rs`) instead of sorting every match: the index is walked from the
//! cursor on, and a record is on the page when it is among the candidates (and, unless those
//! are exactly the matches, when its row passes the conditions). With `m` matches among `n`
//! records, the first `want` turn up after about `want × n / m` steps, so the walk is taken
//! when that is fewer than sorting the candidates costs (`m` estimated from a sample of the
//! candidates when they are not exact); a few matches are cheaper to sort.
//!
//! Records without a value sort last and are not in the index: when the walk runs out
//! before the page is full, or the cursor is already among them, the walk does not apply
//! and the caller sorts.

use super::cursor::Position;
use super::field::{Queried, Source};
use super::narrow::CANDIDATE_COST;
use super::plan::Plan;
use crate::error::Result;
use crate::store::Store;

/// Records found for a page, each with its position, in the query's order (what a walk
/// here or the caller's sort gives).
pub(super) type Found<R> = Vec<(Position, std::sync::Arc<R>)>;

/// Candidates checked on their rows to estimate how many of them match.
const SAMPLE: usize = 64;

/// What a page asks of the walk: the candidates (ascending; `None`: no condition narrowed),
/// whether they are exactly the matches, the cursor's position and how many records.
#[derive(Clone, Copy)]
pub(super) struct Wanted<'a> {
    pub candidates: Option<&'a [u64]>,
    pub exact: bool,
    pub after: Option<&'a Position>,
    pub want: usize,
}

impl<R: Queried> Plan<R> {
    /// The page's `want` records in the query's order after `after`, read from the sort
    /// field's ordered index and opened; `None` when that does not apply (no such index, the
    /// cursor among the nulls, a sort cheaper than the walk, too few values in the index to
    /// fill the page, or a record that no longer matches once opened): the caller sorts.
    ///
    /// The candidates hold every match, exactly the matches when `exact`; without candidates
    /// the walk applies only to a query without conditions.
    pub(super) fn page_from_index(
        &self,
        store: &Store,
        wanted: Wanted<'_>,
    ) -> Result<Option<Found<R>>> {
        let Some(positions) = self.positions_from_index(store, &wanted) else {
            return Ok(None);
        };
        let mut page = Vec::with_capacity(positions.len());
        for position in positions {
            match self.confirmed(store, position.1)? {
                Some(record) => page.push((position, record)),
                // Changed since memory said it matched: the sort decides instead.
                None => return Ok(None),
            }
        }
        Ok(Some(page))
    }

    /// The positions of the page, from the index (see [`Plan::page_from_index`]).
    fn positions_from_index(&self, store: &Store, wanted: &Wanted<'_>) -> Option<Vec<Position>> {
        let Wanted {
            candidates,
            exact,
            after,
            want,
        } = *wanted;
        let Source::Custom(field) = &self.sort.field.source else {
            return None;
        };
        if candidates.is_none() && !self.conditions.is_empty() {
            return None;
        }
        let after = match after {
            Some((Some(key), id)) => Some((key.clone(), *id)),
            Some((None, _)) => return None,
            None => None,
        };
        let rows = R::rows(store);
        let index = rows.ordered(field.id)?;
        let in_memory: Vec<_> = self.conditions.iter().filter(|c| c.in_memory()).collect();
        let with_stats = in_memory
            .iter()
            .any(|c| matches!(c.field.source, Source::Stat(_)));
        let passes_on_row = |id: u64| {
            rows.get(id).is_some_and(|row| {
                let rollup = if with_stats {
                    R::rollup(store, id)
                } else {
                    R::Rollup::default()
                };
                in_memory
                    .iter()
                    .all(|c| c.holds_in_memory(id, row, &rollup) != Some(false))
            })
        };
        if let Some(ids) = candidates {
            // The walk reads about `want × n / matches` pairs; a sort reads every candidate's
            // row. The matches among inexact candidates are estimated from a sample.
            let matches = if exact {
                ids.len()
            } else {
                let step = (ids.len() / SAMPLE).max(1);
                let sample: Vec<u64> = ids.iter().step_by(step).take(SAMPLE).copied().collect();
                let passed = sample.iter().filter(|id| passes_on_row(**id)).count();
                ids.len() * passed / sample.len().max(1)
            };
            let walk = want.saturating_mul(rows.len()) / matches.max(1);
            if matches == 0 || walk >= ids.len().saturating_mul(CANDIDATE_COST) {
                return None;
            }
        }
        let mut page = Vec::with_capacity(want);
        for (key, id) in index.sorted(self.sort.descending, after.as_ref()) {
            let candidate = candidates.is_none_or(|ids| ids.binary_search(id).is_ok());
            if !candidate {
                continue;
            }
            let passes = exact || candidates.is_none() || passes_on_row(*id);
            if passes {
                page.push((Some(key.clone()), *id));
                if page.len() == want {
                    return Some(page);
                }
            }
        }
        None
    }
}
