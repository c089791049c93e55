//! One derived space in memory: a sorted map of its keys, or, for the orders of a customer and
//! of a product, a list per owner.
//!
//! # Why lists
//!
//! An entry of `C ‖ customer ‖ order → time` (and `P ‖ product ‖ order → time`) in a B-tree of
//! 18-byte keys costs ~45 bytes and a descent through a tree of millions of entries for every
//! order written. The same entries as `owner → [(order, time)]` cost 16 bytes each, and an
//! order (whose id is the largest so far) is pushed onto its owner's list after a descent
//! through a map of owners only (customers, products). Both answer the same questions in the
//! same key order: the padded keys sort as (owner, order) numbers do.

use super::{Key, Value, KEY_LEN};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::ops::Bound;

/// `space ‖ owner (8) ‖ order (8)`: the length of a list space's keys.
const LIST_KEY_LEN: usize = 17;

pub(super) enum SpaceIndex {
    Sorted(BTreeMap<Key, Value>),
    Lists {
        space: u8,
        owners: BTreeMap<u64, Vec<(u64, [u8; 8])>>,
        entries: u64,
    },
}

impl SpaceIndex {
    /// An empty space: lists for `lists`, else a sorted map.
    pub fn new(space: u8, lists: bool) -> SpaceIndex {
        if lists {
            SpaceIndex::Lists {
                space,
                owners: BTreeMap::new(),
                entries: 0,
            }
        } else {
            SpaceIndex::Sorted(BTreeMap::new())
        }
    }

    /// A space holding `entries`, which are sorted by key.
    pub fn from_sorted(space: u8, lists: bool, entries: Vec<(Key, Value)>) -> Result<SpaceIndex> {
        if !lists {
            return Ok(SpaceIndex::Sorted(entries.into_iter().collect()));
        }
        let mut index = SpaceIndex::new(space, true);
        for (key, value) in entries {
            index.set(key, Some(value))?;
        }
        Ok(index)
    }

    pub fn len(&self) -> u64 {
        match self {
            SpaceIndex::Sorted(map) => map.len() as u64,
            SpaceIndex::Lists { entries, .. } => *entries,
        }
    }

    pub fn get(&self, key: &Key) -> Option<Value> {
        match self {
            SpaceIndex::Sorted(map) => map.get(key).copied(),
            SpaceIndex::Lists { owners, .. } => {
                let (owner, order) = split(key);
                let list = owners.get(&owner)?;
                let at = list.binary_search_by_key(&order, |(o, _)| *o).ok()?;
                Some(Value::of8(list[at].1))
            }
        }
    }

    /// Sets or (with `None`) removes the entry at `key`.
    pub fn set(&mut self, key: Key, value: Option<Value>) -> Result<()> {
        match self {
            SpaceIndex::Sorted(map) => {
                match value {
                    Some(value) => map.insert(key, value),
                    None => map.remove(&key),
                };
            }
            SpaceIndex::Lists {
                owners, entries, ..
            } => {
                let (owner, order) = split(&key);
                match value {
                    Some(value) => {
                        let time = value.as8().ok_or_else(|| {
                            Error::Corrupt("an order index entry's value is not a time".into())
                        })?;
                        let list = owners.entry(owner).or_default();
                        match list.last() {
                            // The usual case: a new order has the largest id.
                            Some((last, _)) if *last < order => list.push((order, time)),
                            None => list.push((order, time)),
                            _ => match list.binary_search_by_key(&order, |(o, _)| *o) {
                                Ok(at) => {
                                    list[at].1 = time;
                                    return Ok(());
                                }
                                Err(at) => list.insert(at, (order, time)),
                            },
                        }
                        *entries += 1;
                    }
                    None => {
                        let Some(list) = owners.get_mut(&owner) else {
                            return Ok(());
                        };
                        if let Ok(at) = list.binary_search_by_key(&order, |(o, _)| *o) {
                            list.remove(at);
                            *entries -= 1;
                        }
                        if list.is_empty() {
                            owners.remove(&owner);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Up to `limit` entries from `start` to `end`, in key order.
    pub fn range(&self, start: Bound<Key>, end: Bound<Key>, limit: usize) -> Vec<(Key, Value)> {
        if empty(&start, &end) {
            return Vec::new();
        }
        match self {
            SpaceIndex::Sorted(map) => map
                .range((start, end))
                .take(limit)
                .map(|(k, v)| (*k, *v))
                .collect(),
            SpaceIndex::Lists { space, owners, .. } => {
                let (first_owner, first_order) = match &start {
                    Bound::Included(key) | Bound::Excluded(key) => split(key),
                    Bound::Unbounded => (0, 0),
                };
                let after_start = |key: &Key| match &start {
                    Bound::Included(s) => key >= s,
                    Bound::Excluded(s) => key > s,
                    Bound::Unbounded => true,
                };
                let before_end = |key: &Key| match &end {
                    Bound::Included(e) => key <= e,
                    Bound::Excluded(e) => key < e,
                    Bound::Unbounded => true,
                };
                let mut found = Vec::new();
                for (&owner, list) in owners.range(first_owner..) {
                    let from = if owner == first_owner {
                        list.partition_point(|(order, _)| *order < first_order)
                    } else {
                        0
                    };
                    for &(order, time) in &list[from..] {
                        let key = join(*space, owner, order);
                        if !after_start(&key) {
                            continue;
                        }
                        if !before_end(&key) || found.len() == limit {
                            return found;
                        }
                        found.push((key, Value::of8(time)));
                    }
                }
                found
            }
        }
    }
}

/// Whether bounds hold no key (a `BTreeMap` range panics on some of those).
fn empty(start: &Bound<Key>, end: &Bound<Key>) -> bool {
    match (start, end) {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        _ => false,
    }
}

/// The owner and order of a list space's padded key.
fn split(key: &Key) -> (u64, u64) {
    let number = |range: std::ops::Range<usize>| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&key[range]);
        u64::from_be_bytes(bytes)
    };
    (number(1..9), number(9..LIST_KEY_LEN))
}

/// The padded key of `owner ‖ order` in `space`.
fn join(space: u8, owner: u64, order: u64) -> Key {
    let mut key = [0u8; KEY_LEN];
    key[0] = space;
    key[1..9].copy_from_slice(&owner.to_be_bytes());
    key[9..LIST_KEY_LEN].copy_from_slice(&order.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Lists answer every question exactly as a sorted map of the same entries.
    #[test]
    fn lists_agree_with_a_sorted_map() {
        for seed in 0..40 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut lists = SpaceIndex::new(b'C', true);
            let mut sorted = SpaceIndex::new(b'C', false);
            for _ in 0..400 {
                let key = join(b'C', rng.gen_range(0..8), rng.gen_range(0..60));
                let value = rng
                    .gen_bool(0.7)
                    .then(|| Value::of8(rng.gen::<u64>().to_be_bytes()));
                lists.set(key, value).unwrap();
                sorted.set(key, value).unwrap();
                assert_eq!(lists.len(), sorted.len());
                assert_eq!(lists.get(&key), sorted.get(&key));
            }
            for _ in 0..200 {
                let bound = |rng: &mut StdRng| {
                    let key = join(b'C', rng.gen_range(0..9), rng.gen_range(0..61));
                    match rng.gen_range(0..3) {
                        0 => Bound::Included(key),
                        1 => Bound::Excluded(key),
                        _ => Bound::Unbounded,
                    }
                };
                let (start, end) = (bound(&mut rng), bound(&mut rng));
                let limit = rng.gen_range(0..50);
                let pairs = |r: Vec<(Key, Value)>| -> Vec<(Key, Vec<u8>)> {
                    r.into_iter().map(|(k, v)| (k, v.to_vec())).collect()
                };
                assert_eq!(
                    pairs(lists.range(start, end, limit)),
                    pairs(sorted.range(start, end, limit)),
                    "seed {seed}"
                );
            }
        }
    }
}
