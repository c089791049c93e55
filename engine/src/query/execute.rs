//! Running a plan: the records that pass what memory decides, in the query's order after the
//! cursor, opened one at a time and checked against every condition until the page is full.
//!
//! The order is a strict total order — the sort value (nulls last in both directions), then
//! the id ascending — and the cursor is the position of the page's last record in it, so a
//! record that matches and does not change during a walk is on exactly one page whatever is
//! written meanwhile: every page returns, in order, the matching records after its cursor.

use super::cursor::Position;
use super::field::{Queried, Source};
use super::narrow::CANDIDATE_COST;
use super::plan::Plan;
use super::sorted_walk::{Found, Wanted};
use super::value::Key;
use crate::error::Result;
use crate::store::Store;
use std::cmp::Ordering;
use std::sync::Arc;

/// Rows read from memory per chunk of a walk in id order, at most.
const ID_CHUNK: usize = 1024;

/// The most candidates worth taking for a query that reads every match (a count, a sort):
/// more cost more than reading all `rows` in order.
fn cap_for_all(rows: usize) -> usize {
    rows / CANDIDATE_COST
}

/// The most candidates worth taking for the first `want` matches in id order: a walk in
/// order finds them after about `want × rows / matches` rows, and `c` candidates cost about
/// `c × CANDIDATE_COST` (or one step each when they are exactly the matches: their range
/// walked, no row read), so narrowing pays while `c² × cost < want × rows`.
fn cap_for_page(rows: usize, want: usize, exact: bool) -> usize {
    let cost = if exact { 1 } else { CANDIDATE_COST };
    (want.saturating_mul(rows) / cost).isqrt()
}

/// A page: its records, and the position of its last one when more follow.
pub(crate) struct Walked<R> {
    pub records: Vec<Arc<R>>,
    pub next: Option<Position>,
}

/// The page of the first `limit` records found (of at most one more, which says whether more
/// follow).
fn walked<R>(mut found: Found<R>, limit: usize) -> Walked<R> {
    let more = found.len() > limit;
    found.truncate(limit);
    let next = more.then(|| found.last().map(|(p, _)| p.clone())).flatten();
    Walked {
        records: found.into_iter().map(|(_, record)| record).collect(),
        next,
    }
}

/// The query's order between two positions.
pub(crate) fn order(a: &Position, b: &Position, descending: bool) -> Ordering {
    let by_value = match (&a.0, &b.0) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) if descending => y.cmp(x),
        (Some(x), Some(y)) => x.cmp(y),
    };
    by_value.then(a.1.cmp(&b.1))
}

impl<R: Queried> Plan<R> {
    /// The records that pass every condition memory decides, ids ascending from `from`, at
    /// most `cap`, each with its sort value when memory has it (`None` in the position when
    /// only the opened record does, or when `keyed` is false).
    fn survivors(
        &self,
        store: &Store,
        candidates: Option<&[u64]>,
        from: u64,
        cap: usize,
        keyed: bool,
    ) -> Vec<Position> {
        let Some((low, high)) = self.id_range() else {
            return Vec::new();
        };
        let low = low.max(from);
        if low > high {
            return Vec::new();
        }
        let in_memory: Vec<_> = self.conditions.iter().filter(|c| c.in_memory()).collect();
        let keyed = keyed && self.sort.field.in_memory();
        // A rollup costs a lookup under the rollup table's lock: only when a statistic is used.
        let is_stat = |source: &Source<R>| matches!(source, Source::Stat(_));
        let with_rollups = in_memory.iter().any(|c| is_stat(&c.field.source))
            || (keyed && is_stat(&self.sort.field.source));
        let rows = R::rows(store);
        let mut out = Vec::new();
        let mut visit = |id: u64, row: &crate::indexes::Row| {
            let rollup = if with_rollups {
                R::rollup(store, id)
            } else {
                R::Rollup::default()
            };
            if in_memory
                .iter()
                .all(|c| c.holds_in_memory(id, row, &rollup) != Some(false))
            {
                let key = if keyed {
                    self.sort.field.remembered(id, row, &rollup).flatten()
                } else {
                    None
                };
                out.push((key, id));
            }
            out.len() < cap
        };
        match candidates {
            Some(ids) => {
                let start = ids.partition_point(|id| *id < low);
                for &id in ids[start..].iter().take_while(|id| **id <= high) {
                    if let Some(row) = rows.get(id) {
                        if !visit(id, row) {
                            break;
                        }
                    }
                }
            }
            None => {
                for (id, row) in rows.range(low..=high) {
                    if !visit(id, row) {
                        break;
                    }
                }
            }
        }
        out
    }

    /// The record at a position, opened, if it passes every condition.
    pub(super) fn confirmed(&self, store: &Store, id: u64) -> Result<Option<Arc<R>>> {
        store.check_cancelled()?;
        let Some(record) = R::open(store, id)? else {
            return Ok(None);
        };
        let rollup = self.rollup_if_used(store, id);
        Ok(self
            .conditions
            .iter()
            .all(|c| c.holds_on(&record, &rollup))
            .then_some(record))
    }

    /// The record's rollup when a condition or the sort reads a statistic (a lookup under the
    /// rollup table's lock), else the default.
    fn rollup_if_used(&self, store: &Store, id: u64) -> R::Rollup {
        let is_stat = |source: &Source<R>| matches!(source, Source::Stat(_));
        let used = is_stat(&self.sort.field.source)
            || self.conditions.iter().any(|c| is_stat(&c.field.source));
        if used {
            R::rollup(store, id)
        } else {
            R::Rollup::default()
        }
    }

    /// The page in id order of a query whose conditions ask one indexed custom field for few
    /// values: those values' ids, which the index holds in order, merged and opened until the
    /// page is full (`None` for any other query).
    fn page_of_few_values(
        &self,
        store: &Store,
        after: Option<&Position>,
        want: usize,
    ) -> Result<Option<Found<R>>> {
        let mut from = after.map_or(0, |(_, id)| id.saturating_add(1));
        let mut found = Vec::with_capacity(want);
        loop {
            let size = want - found.len();
            let ids = super::narrow::few_values_in_id_order(
                &self.conditions,
                &R::rows(store),
                from,
                size,
            );
            let Some(ids) = ids else {
                return Ok(None);
            };
            for &id in &ids {
                if let Some(record) = self.confirmed(store, id)? {
                    found.push(((Some(Key::Number(i128::from(id))), id), record));
                }
            }
            match ids.last() {
                Some(&last) if ids.len() == size && found.len() < want && last < u64::MAX => {
                    from = last + 1;
                }
                _ => return Ok(Some(found)),
            }
        }
    }

    /// The page of at most `limit` records after `after` (`None`: the start).
    pub fn page(&self, store: &Store, after: Option<&Position>, limit: usize) -> Result<Walked<R>> {
        let want = limit.saturating_add(1);
        let descending = self.sort.descending;
        let in_id_order = matches!(self.sort.field.source, Source::Id) && !descending;
        if in_id_order {
            if let Some(found) = self.page_of_few_values(store, after, want)? {
                return Ok(walked(found, limit));
            }
        }
        let rows = R::rows(store).len();
        let by_id = in_id_order && self.sort.field.in_memory();
        let cap = |exact| {
            if by_id {
                cap_for_page(rows, want, exact)
            } else {
                cap_for_all(rows)
            }
        };
        // A page checks its few records on their rows; a merge pays for a count.
        let narrowed = self.indexed_candidates(store, cap, false);
        let exact = narrowed.as_ref().is_some_and(|c| c.exact);
        let candidates = narrowed.map(|c| c.ids);
        let candidates = candidates.as_deref();
        let after_it =
            |p: &Position| after.is_none_or(|a| order(p, a, descending) == Ordering::Greater);
        let mut found: Found<R> = Vec::new();
        if !self.sort.field.in_memory() {
            // Only the opened records have the sort values: open every survivor.
            for (_, id) in self.survivors(store, candidates, 0, usize::MAX, false) {
                if let Some(record) = self.confirmed(store, id)? {
                    let rollup = R::rollup(store, id);
                    let position = (self.sort.field.of_record(&record, &rollup), id);
                    if after_it(&position) {
                        found.push((position, record));
                    }
                }
            }
            found.sort_by(|a, b| order(&a.0, &b.0, descending));
            found.truncate(want);
        } else if in_id_order {
            // In id order: memory gives the survivors in order already, a chunk at a time (as
            // many as the page still lacks: a survivor seldom fails once opened).
            let mut from = after.map_or(0, |(_, id)| id.saturating_add(1));
            'walk: loop {
                let size = (want - found.len()).clamp(1, ID_CHUNK);
                let chunk = self.survivors(store, candidates, from, size, true);
                let Some(&(_, last)) = chunk.last() else {
                    break;
                };
                for (position, id) in chunk.iter().map(|p| (p.clone(), p.1)) {
                    if let Some(record) = self.confirmed(store, id)? {
                        found.push((position, record));
                        if found.len() == want {
                            break 'walk;
                        }
                    }
                }
                if chunk.len() < size || last == u64::MAX {
                    break;
                }
                from = last + 1;
            }
        } else if let Some(page) = self.page_from_index(
            store,
            Wanted {
                candidates,
                exact,
                after,
                want,
            },
        )? {
            found = page;
        } else {
            let mut entries = self.survivors(store, candidates, 0, usize::MAX, true);
            entries.retain(|p| after_it(p));
            let mut next = 0;
            let mut sorted_to = 0;
            while next < entries.len() && found.len() < want {
                if next == sorted_to {
                    // Sort only as far as the page may reach (twice what is missing, for the
                    // records that fail their check once opened), the rest when needed.
                    let rest = &mut entries[next..];
                    let reach = (want - found.len()).saturating_mul(2);
                    let by = |a: &Position, b: &Position| order(a, b, descending);
                    if rest.len() > reach {
                        rest.select_nth_unstable_by(reach, by);
                        rest[..reach].sort_unstable_by(by);
                        sorted_to = next + reach;
                    } else {
                        rest.sort_unstable_by(by);
                        sorted_to = entries.len();
                    }
                }
                let position = entries[next].clone();
                next += 1;
                if let Some(record) = self.confirmed(store, position.1)? {
                    found.push((position, record));
                }
            }
        }
        Ok(walked(found, limit))
    }

    /// How many records pass every condition: opened only when memory cannot decide.
    pub fn count(&self, store: &Store) -> Result<u64> {
        let rows = R::rows(store).len();
        let candidates = self.indexed_candidates(store, |_| cap_for_all(rows), true);
        if let Some(candidates) = &candidates {
            if candidates.exact {
                return Ok(candidates.ids.len() as u64);
            }
        }
        let candidates = candidates.map(|c| c.ids);
        let survivors = self.survivors(store, candidates.as_deref(), 0, usize::MAX, false);
        if self.conditions.iter().all(|c| c.in_memory()) {
            return Ok(survivors.len() as u64);
        }
        let mut count = 0;
        for (_, id) in survivors {
            if self.confirmed(store, id)?.is_some() {
                count += 1;
            }
        }
        Ok(count)
    }
}
