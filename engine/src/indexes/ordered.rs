//! One ordered index over any field: (value, record id) pairs, sorted, so that an equality is
//! a range, a range is a range, and a sort by the field is a walk. The generic piece the
//! indexes of declared fields are made of (`INDEXED`, `PROTOCOL.md` "Schema"); each holds the
//! field's values in the order its type compares them.

use rayon::slice::ParallelSliceMut;
use std::collections::BTreeSet;
use std::ops::{Bound, RangeBounds};

/// Sorted (value, id) pairs of one field of one kind; a record whose field is unset is not in it.
/// The orders' times are one ([`super::OrdersByTime`]), and each custom field declared
/// `INDEXED` ([`super::QueryRows`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderedIndex<V: Ord> {
    pairs: BTreeSet<(V, u64)>,
}

impl<V: Ord> Default for OrderedIndex<V> {
    fn default() -> Self {
        OrderedIndex {
            pairs: BTreeSet::new(),
        }
    }
}

impl<V: Ord + Clone> OrderedIndex<V> {
    /// How many records have a value.
    #[cfg(test)]
    pub fn len(&self) -> u64 {
        self.pairs.len() as u64
    }

    /// Follows one record's change of this field (`None`: unset, or no record).
    pub fn apply(&mut self, id: u64, old: Option<&V>, new: Option<&V>) {
        if old == new {
            return;
        }
        if let Some(old) = old {
            self.pairs.remove(&(old.clone(), id));
        }
        if let Some(new) = new {
            self.pairs.insert((new.clone(), id));
        }
    }

    /// The records whose value is within `values`, in (value, id) order, after the pair
    /// `after` (a cursor: the last pair a page returned), at most `limit`.
    pub fn range(
        &self,
        values: impl RangeBounds<V>,
        after: Option<&(V, u64)>,
        limit: usize,
    ) -> Vec<(V, u64)> {
        let first = low_pair(values.start_bound());
        // A cursor before the values' start (one from another range) does not widen it.
        let start = match (after, &first) {
            (Some(after), Bound::Included(pair) | Bound::Excluded(pair)) if after < pair => first,
            (Some(after), _) => Bound::Excluded(after.clone()),
            (None, _) => first,
        };
        self.between(start, high_pair(values.end_bound()))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The ids of the records whose value is between `low` and `high`, in (value, id) order:
    /// a query's candidates (`query/narrow.rs`).
    pub fn ids_between(&self, low: Bound<&V>, high: Bound<&V>) -> impl Iterator<Item = u64> + '_ {
        self.between(low_pair(low), high_pair(high))
            .map(|(_, id)| *id)
    }

    /// The ids of the records whose value is `value`, ascending, from id `from` on.
    pub fn ids_of(&self, value: &V, from: u64) -> impl Iterator<Item = u64> + '_ {
        self.pairs
            .range((value.clone(), from)..=(value.clone(), u64::MAX))
            .map(|(_, id)| *id)
    }

    /// The distinct values between `low` and `high`, ascending, if there are at most `most`
    /// (`None` when there are more): one seek each, so worth asking only for a few.
    pub fn values_between(&self, low: Bound<&V>, high: Bound<&V>, most: usize) -> Option<Vec<V>> {
        let end = high_pair(high);
        let mut start = low_pair(low);
        let mut values = Vec::new();
        while let Some((value, _)) = self.between(start, end.clone()).next() {
            if values.len() == most {
                return None;
            }
            values.push(value.clone());
            start = Bound::Excluded((value.clone(), u64::MAX));
        }
        Some(values)
    }

    /// The ids of the records whose value is one of `values`, ascending, from id `from` on:
    /// each value's ids (which the index holds in order) merged, so the first few of a range
    /// of few values cost a seek per value, not a walk of the range.
    pub fn ids_of_any<'a>(&'a self, values: &[V], from: u64) -> impl Iterator<Item = u64> + 'a {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let mut runs: Vec<_> = values.iter().map(|v| self.ids_of(v, from)).collect();
        let mut heads: BinaryHeap<Reverse<(u64, usize)>> = runs
            .iter_mut()
            .enumerate()
            .filter_map(|(at, run)| Some(Reverse((run.next()?, at))))
            .collect();
        std::iter::from_fn(move || {
            let Reverse((id, at)) = heads.pop()?;
            if let Some(next) = runs[at].next() {
                heads.push(Reverse((next, at)));
            }
            Some(id)
        })
    }

    /// Every pair in the order of a sort on the field: by value ascending, or descending with
    /// each value's ids still ascending (ties by id, as queries order them), after the pair
    /// `after` (a cursor) when one is given.
    pub fn sorted(
        &self,
        descending: bool,
        after: Option<&(V, u64)>,
    ) -> Box<dyn Iterator<Item = &(V, u64)> + '_> {
        if !descending {
            let start = after.map_or(Bound::Unbounded, |pair| Bound::Excluded(pair.clone()));
            return Box::new(self.pairs.range((start, Bound::Unbounded)));
        }
        // Down one value at a time, each value's pairs walked up.
        let mut group = after.map(|(value, id)| {
            self.pairs.range((
                Bound::Excluded((value.clone(), *id)),
                Bound::Included((value.clone(), u64::MAX)),
            ))
        });
        let mut below = after.map_or(Bound::Unbounded, |(value, _)| {
            Bound::Excluded((value.clone(), 0))
        });
        Box::new(std::iter::from_fn(move || loop {
            if let Some(pair) = group.as_mut().and_then(Iterator::next) {
                return Some(pair);
            }
            let (value, _) = self
                .pairs
                .range((Bound::Unbounded, below.clone()))
                .next_back()?;
            group = Some(
                self.pairs
                    .range((value.clone(), 0)..=(value.clone(), u64::MAX)),
            );
            below = Bound::Excluded((value.clone(), 0));
        }))
    }

    /// The pairs between two pair bounds (none when they cross).
    fn between(
        &self,
        start: Bound<(V, u64)>,
        end: Bound<(V, u64)>,
    ) -> impl Iterator<Item = &(V, u64)> + '_ {
        let crossed = empty(&start, &end);
        (!crossed)
            .then(|| self.pairs.range((start, end)))
            .into_iter()
            .flatten()
    }

    /// The index of these (value, id) pairs, in any order (sorted on every core: a field
    /// indexed over a million customers is rebuilt at each open).
    pub fn rebuild(mut pairs: Vec<(V, u64)>) -> OrderedIndex<V>
    where
        V: Send,
    {
        pairs.par_sort_unstable();
        OrderedIndex {
            pairs: pairs.into_iter().collect(),
        }
    }
}

/// The first pair a range of values starting at `bound` holds.
fn low_pair<V: Clone>(bound: Bound<&V>) -> Bound<(V, u64)> {
    match bound {
        Bound::Included(v) => Bound::Included((v.clone(), 0)),
        Bound::Excluded(v) => Bound::Excluded((v.clone(), u64::MAX)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The last pair a range of values ending at `bound` holds.
fn high_pair<V: Clone>(bound: Bound<&V>) -> Bound<(V, u64)> {
    match bound {
        Bound::Included(v) => Bound::Included((v.clone(), u64::MAX)),
        Bound::Excluded(v) => Bound::Excluded((v.clone(), 0)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn empty<T: Ord>(start: &Bound<T>, end: &Bound<T>) -> bool {
    match (start, end) {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;

    /// Every range, with and without a cursor, answers as a filter over a map of id → value.
    #[test]
    fn ranges_agree_with_a_brute_force_filter() {
        for seed in 0..30 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut index = OrderedIndex::default();
            let mut values: BTreeMap<u64, i64> = BTreeMap::new();
            for _ in 0..300 {
                let id = rng.gen_range(1..50);
                let new = rng.gen_bool(0.8).then(|| rng.gen_range(-10..10));
                index.apply(id, values.get(&id), new.as_ref());
                match new {
                    Some(v) => values.insert(id, v),
                    None => values.remove(&id),
                };
            }
            assert_eq!(index.len(), values.len() as u64);
            for _ in 0..100 {
                let (a, b) = (rng.gen_range(-12..12), rng.gen_range(-12..12));
                let mut expected: Vec<(i64, u64)> = values
                    .iter()
                    .filter(|(_, v)| (a..=b).contains(*v))
                    .map(|(id, v)| (*v, *id))
                    .collect();
                expected.sort_unstable();
                assert_eq!(
                    index.range(a..=b, None, usize::MAX),
                    expected,
                    "seed {seed}"
                );
                let ids: Vec<u64> = expected.iter().map(|(_, id)| *id).collect();
                assert_eq!(
                    index
                        .ids_between(Bound::Included(&a), Bound::Included(&b))
                        .collect::<Vec<_>>(),
                    ids,
                    "seed {seed}: crossed bounds give none"
                );
                let cut = rng.gen_range(0..=expected.len());
                let after = cut.checked_sub(1).map(|i| expected[i]);
                assert_eq!(
                    index.range(a..=b, after.as_ref(), 5),
                    expected[cut..].iter().take(5).copied().collect::<Vec<_>>()
                );
                // The sort's order, both ways, from any cursor.
                let mut ascending: Vec<(i64, u64)> =
                    values.iter().map(|(id, v)| (*v, *id)).collect();
                ascending.sort_unstable();
                let mut descending = ascending.clone();
                descending.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
                for (walk, down) in [(&ascending, false), (&descending, true)] {
                    let cut = rng.gen_range(0..=walk.len());
                    let after = cut.checked_sub(1).map(|i| walk[i]);
                    assert_eq!(
                        index
                            .sorted(down, after.as_ref())
                            .copied()
                            .collect::<Vec<_>>(),
                        walk[cut..].to_vec(),
                        "seed {seed}, descending {down}"
                    );
                }
                if let Some(&(value, id)) = ascending.first() {
                    let same: Vec<u64> = ascending
                        .iter()
                        .filter(|(v, i)| *v == value && *i >= id)
                        .map(|(_, i)| *i)
                        .collect();
                    assert_eq!(index.ids_of(&value, id).collect::<Vec<_>>(), same);
                }
                // A range's values, and their ids merged in id order from any id.
                let distinct: Vec<i64> = {
                    let mut v: Vec<i64> = expected.iter().map(|(v, _)| *v).collect();
                    v.dedup();
                    v
                };
                let (low, high) = (Bound::Included(&a), Bound::Included(&b));
                assert_eq!(index.values_between(low, high, 100), Some(distinct.clone()));
                if !distinct.is_empty() {
                    assert_eq!(index.values_between(low, high, distinct.len() - 1), None);
                }
                let from = rng.gen_range(0..60);
                let mut in_order: Vec<u64> = ids.iter().copied().filter(|id| *id >= from).collect();
                in_order.sort_unstable();
                assert_eq!(
                    index.ids_of_any(&distinct, from).collect::<Vec<_>>(),
                    in_order,
                    "seed {seed}"
                );
                // A cursor from below the range does not widen it.
                let before = (a - 1, rng.gen_range(0..60));
                assert_eq!(index.range(a..=b, Some(&before), usize::MAX), expected);
                let below: Vec<(i64, u64)> =
                    expected.iter().filter(|(v, _)| *v < b).copied().collect();
                assert_eq!(index.range(a..b, None, usize::MAX), below);
            }
        }
    }
}
