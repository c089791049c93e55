//! Narrowing a query by the ordered indexes of its indexed custom fields
//! (`indexes/query_rows.rs`): the conditions on one such field (`=`, `<`, `<=`, `>`, `>=`,
//! `IN`) make one range of its values, or a few points, and the field whose range holds the
//! fewest records gives the query's candidates; every other condition is then checked on
//! those records' rows alone.
//!
//! How many records a range holds is not known before it is walked (a B-tree does not count),
//! so the ranges are walked side by side, each a little further every round (twice as far
//! as the round before), until one ends: that one is the smallest, found for about the price
//! of walking it twice per field. A range is not worth taking past `cap` records — the
//! caller's estimate of when reading the rows in the query's order is cheaper — and then
//! none is chosen.
//!
//! The candidates are then merged with the ids of every other such field that asks for one
//! value (an index holds one value's ids in order, so this is a walk, not a lookup per
//! candidate); when every condition was decided so, the candidates are exactly the matches
//! and a count needs nothing more.

use super::condition::{Condition, Operator, Test};
use super::field::Queried;
use super::value::Key;
use crate::indexes::QueryRows;
use std::ops::Bound;

/// Records the first round walks in each range.
const FIRST_ROUND: usize = 256;

/// About how many steps of a walk in order (over the rows, or over an index's range) one
/// candidate costs when its row is looked up in the rows' B-tree: what a merge may spend per
/// candidate, and what the callers weigh a candidate at (`execute.rs`).
pub(crate) const CANDIDATE_COST: usize = 6;

/// The values the conditions on one field allow.
struct Allowed {
    field: u32,
    low: Bound<Key>,
    high: Bound<Key>,
    /// `IN`'s values (sorted, distinct), when a condition gave some.
    points: Option<Vec<Key>>,
}

impl Allowed {
    /// Narrows by one test; false when an index cannot serve the test.
    fn narrow(&mut self, test: &Test) -> bool {
        match test {
            Test::Compare(op, key) => {
                let (low, high) = match op {
                    Operator::Eq => (Bound::Included(key), Bound::Included(key)),
                    Operator::Lt => (Bound::Unbounded, Bound::Excluded(key)),
                    Operator::Le => (Bound::Unbounded, Bound::Included(key)),
                    Operator::Gt => (Bound::Excluded(key), Bound::Unbounded),
                    Operator::Ge => (Bound::Included(key), Bound::Unbounded),
                    _ => return false,
                };
                self.low = tighter(&self.low, low, std::cmp::Ordering::Greater);
                self.high = tighter(&self.high, high, std::cmp::Ordering::Less);
                true
            }
            Test::In(keys) => {
                self.points = Some(match self.points.take() {
                    None => keys.clone(),
                    Some(points) => points
                        .into_iter()
                        .filter(|point| keys.binary_search(point).is_ok())
                        .collect(),
                });
                true
            }
            _ => false,
        }
    }

    /// The one value allowed, when the conditions ask for exactly one.
    fn one_value(&self) -> Option<&Key> {
        match (&self.points, &self.low, &self.high) {
            (Some(points), _, _) => match points.as_slice() {
                [point] if self.within(point) => Some(point),
                _ => None,
            },
            (None, Bound::Included(low), Bound::Included(high)) if low == high => Some(low),
            _ => None,
        }
    }

    /// Whether a key is within the bounds.
    fn within(&self, key: &Key) -> bool {
        let above = match &self.low {
            Bound::Included(low) => key >= low,
            Bound::Excluded(low) => key > low,
            Bound::Unbounded => true,
        };
        let below = match &self.high {
            Bound::Included(high) => key <= high,
            Bound::Excluded(high) => key < high,
            Bound::Unbounded => true,
        };
        above && below
    }

    /// The ids of the records the index holds within these values.
    fn ids<'a, R>(&'a self, rows: &'a QueryRows<R>) -> Option<Box<dyn Iterator<Item = u64> + 'a>>
    where
        R: crate::schema::Record,
    {
        let index = rows.ordered(self.field)?;
        Some(match &self.points {
            Some(points) => Box::new(points.iter().filter(|point| self.within(point)).flat_map(
                |point| index.ids_between(Bound::Included(point), Bound::Included(point)),
            )),
            None => Box::new(index.ids_between(self.low.as_ref(), self.high.as_ref())),
        })
    }
}

/// The tighter of two bounds on the same side: the one whose key is further in `inward`'s
/// direction, or the excluding one when the keys are equal.
fn tighter(current: &Bound<Key>, given: Bound<&Key>, inward: std::cmp::Ordering) -> Bound<Key> {
    let key = |bound: &Bound<Key>| match bound {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
        Bound::Unbounded => None,
    };
    let given = given.cloned();
    match (key(current), key(&given)) {
        (None, _) => given,
        (_, None) => current.clone(),
        (Some(a), Some(b)) if a.cmp(&b) == inward => current.clone(),
        (Some(a), Some(b)) if a == b && matches!(current, Bound::Excluded(_)) => current.clone(),
        _ => given,
    }
}

/// What narrowing found: the ids (ascending) a query's records are among, and whether they
/// are exactly its matches (every condition decided by the indexes).
pub(crate) struct Candidates {
    pub ids: Vec<u64>,
    pub exact: bool,
}

/// The ids of the smallest range the conditions on indexed custom fields allow, if one
/// holds at most `cap(exact)` records (`exact`: the range would be exactly the matches, so
/// no row needs reading); with `merge`, kept only where every other such field that
/// asks for one value has it (a merge with that value's ids, which its index holds in
/// order: what a count wants, to be exact); `None` when no such condition is there or every
/// range is larger.
pub(crate) fn smallest_range<R: Queried>(
    conditions: &[Condition<R>],
    rows: &QueryRows<R>,
    cap: impl Fn(bool) -> usize,
    merge: bool,
) -> Option<Candidates> {
    let (allowed, every_served) = allowed_values(conditions, rows);
    // One field deciding every condition: its range is exactly the matches.
    let cap = cap(every_served && allowed.len() == 1);
    let (chosen, mut ids) = smallest(&allowed, rows, cap)?;
    let mut exact = every_served;
    for (at, other) in allowed.iter().enumerate() {
        if at == chosen {
            continue;
        }
        let merged = match (merge, other.one_value(), rows.ordered(other.field)) {
            (true, Some(value), Some(index)) => {
                let from = ids.first().copied().unwrap_or(0);
                keep_in_run(&mut ids, index.ids_of(value, from))
            }
            _ => false,
        };
        exact &= merged;
    }
    Some(Candidates { ids, exact })
}

/// The most values of one field whose ids a page in id order merges (one seek each to find
/// them, then a merge): past it, the range is walked as any other.
const MERGED_VALUES: usize = 256;

/// When every condition is on one indexed custom field and allows few of its values (one,
/// an `IN`, or a range such as `score >= 10 AND score <= 19` over few distinct values), the
/// next `n` records that have one of them from id `from` on, ascending: exactly the matches,
/// in id order, from those values' ids in the index, merged (`None` for any other query).
pub(crate) fn few_values_in_id_order<R: Queried>(
    conditions: &[Condition<R>],
    rows: &QueryRows<R>,
    from: u64,
    n: usize,
) -> Option<Vec<u64>> {
    let (allowed, every_served) = allowed_values(conditions, rows);
    let [only] = allowed.as_slice() else {
        return None;
    };
    if !every_served {
        return None;
    }
    let index = rows.ordered(only.field)?;
    let values = match &only.points {
        Some(points) if points.len() > MERGED_VALUES => return None,
        Some(points) => points
            .iter()
            .filter(|point| only.within(point))
            .cloned()
            .collect(),
        None => index.values_between(only.low.as_ref(), only.high.as_ref(), MERGED_VALUES)?,
    };
    Some(index.ids_of_any(&values, from).take(n).collect())
}

/// The values the conditions allow, one entry per indexed custom field they name, and
/// whether an index decides every condition exactly.
fn allowed_values<R: Queried>(
    conditions: &[Condition<R>],
    rows: &QueryRows<R>,
) -> (Vec<Allowed>, bool) {
    let mut allowed: Vec<Allowed> = Vec::new();
    // Whether each condition is one an index decides exactly.
    let mut every_served = true;
    for condition in conditions {
        let field = condition
            .field
            .custom()
            .map(|f| f.id)
            .filter(|id| rows.ordered(*id).is_some());
        let Some(field) = field else {
            every_served = false;
            continue;
        };
        let at = match allowed.iter().position(|a| a.field == field) {
            Some(at) => at,
            None => {
                allowed.push(Allowed {
                    field,
                    low: Bound::Unbounded,
                    high: Bound::Unbounded,
                    points: None,
                });
                allowed.len() - 1
            }
        };
        every_served &= allowed[at].narrow(&condition.test);
    }
    // A field no condition bounds (only `!=`, `EXISTS`...) narrows nothing.
    let unbounded = |a: &Allowed| {
        a.points.is_none() && matches!((&a.low, &a.high), (Bound::Unbounded, Bound::Unbounded))
    };
    every_served &= !allowed.iter().any(unbounded);
    allowed.retain(|a| !unbounded(a));
    (allowed, every_served)
}

/// The place among `allowed` of the range that holds the fewest records and its ids,
/// sorted, if it holds at most `cap` (the ranges walked side by side: the module's doc).
fn smallest<R: Queried>(
    allowed: &[Allowed],
    rows: &QueryRows<R>,
    cap: usize,
) -> Option<(usize, Vec<u64>)> {
    /// One range being walked: its place among `allowed`, its ids, those taken so far, and
    /// whether it has ended.
    struct Walk<'a> {
        at: usize,
        ids: Box<dyn Iterator<Item = u64> + 'a>,
        taken: Vec<u64>,
        ended: bool,
    }
    let mut walks: Vec<Walk<'_>> = allowed
        .iter()
        .enumerate()
        .filter_map(|(at, a)| {
            Some(Walk {
                at,
                ids: a.ids(rows)?,
                taken: Vec::new(),
                ended: false,
            })
        })
        .collect();
    if walks.is_empty() {
        return None;
    }
    let mut reach = FIRST_ROUND;
    loop {
        for walk in &mut walks {
            while walk.taken.len() < reach {
                match walk.ids.next() {
                    Some(id) => walk.taken.push(id),
                    None => {
                        walk.ended = true;
                        break;
                    }
                }
            }
        }
        let smallest = walks
            .iter_mut()
            .filter(|walk| walk.ended)
            .min_by_key(|walk| walk.taken.len());
        if let Some(walk) = smallest {
            let mut ids = std::mem::take(&mut walk.taken);
            ids.sort_unstable();
            return Some((walk.at, ids));
        }
        if reach >= cap {
            return None;
        }
        reach = reach.saturating_mul(2).min(cap);
    }
}

/// Keeps the candidates that are in `run` (ascending ids), walking both in step; gives up,
/// keeping them all, once the run has cost what looking each candidate up would (the rows
/// then decide). Whether the merge was done.
fn keep_in_run(candidates: &mut Vec<u64>, run: impl Iterator<Item = u64>) -> bool {
    let budget = candidates.len().saturating_mul(CANDIDATE_COST);
    let mut run = run.peekable();
    let mut kept = Vec::with_capacity(candidates.len());
    let mut steps = 0;
    for &id in candidates.iter() {
        while let Some(&next) = run.peek() {
            if next >= id {
                break;
            }
            run.next();
            steps += 1;
            if steps > budget {
                return false;
            }
        }
        match run.peek() {
            Some(&next) if next == id => kept.push(id),
            Some(_) => {}
            None => break,
        }
    }
    *candidates = kept;
    true
}
