//! One ordered index over any field: (value, record id) pairs, sorted, so that an equality is
//! a range, a range is a range, and a sort by the field is a walk. The generic piece the
//! indexes of declared fields are made of (`INDEXED`, `PROTOCOL.md` "Schema"); each holds the
//! field's values in the order its type compares them.

use std::collections::BTreeSet;
use std::ops::{Bound, RangeBounds};

/// Sorted (value, id) pairs of one field of one kind; a record whose field is unset is not in it.
/// The orders' times are one ([`super::OrdersByTime`]); the fields declared `INDEXED` will be.
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
        let first = match values.start_bound() {
            Bound::Included(v) => Bound::Included((v.clone(), 0)),
            Bound::Excluded(v) => Bound::Excluded((v.clone(), u64::MAX)),
            Bound::Unbounded => Bound::Unbounded,
        };
        // A cursor before the values' start (one from another range) does not widen it.
        let start = match (after, &first) {
            (Some(after), Bound::Included(pair) | Bound::Excluded(pair)) if after < pair => first,
            (Some(after), _) => Bound::Excluded(after.clone()),
            (None, _) => first,
        };
        let end = match values.end_bound() {
            Bound::Included(v) => Bound::Included((v.clone(), u64::MAX)),
            Bound::Excluded(v) => Bound::Excluded((v.clone(), 0)),
            Bound::Unbounded => Bound::Unbounded,
        };
        if empty(&start, &end) {
            return Vec::new();
        }
        self.pairs
            .range((start, end))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The index of these (value, id) pairs, in any order.
    pub fn rebuild(mut pairs: Vec<(V, u64)>) -> OrderedIndex<V> {
        pairs.sort_unstable();
        OrderedIndex {
            pairs: pairs.into_iter().collect(),
        }
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
                let cut = rng.gen_range(0..=expected.len());
                let after = cut.checked_sub(1).map(|i| expected[i]);
                assert_eq!(
                    index.range(a..=b, after.as_ref(), 5),
                    expected[cut..].iter().take(5).copied().collect::<Vec<_>>()
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
