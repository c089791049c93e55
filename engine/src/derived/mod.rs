//! The derived indexes: orders by customer, by product and by time, the journal's entries by
//! record, and the blind indexes of customers (email, phone, name words) — kept in memory,
//! never written to the tree.
//!
//! # Why in memory
//!
//! sled 0.34 costs 10–13 µs per entry inside a batch, whatever the entry's size, and a lot of
//! space per entry on disk. An order used to write five entries (its record, three index
//! entries and a journal index entry) besides the ones its group shares (counters, the
//! journal page) and its two rollups: the index entries were four fifths of the write path
//! and most of the disk (layout 5 moved the rollups out as well, `rollup_table.rs`). Every
//! one of them is a function of what the tree holds anyway — the sealed order records
//! (customer, product, time) and the sealed journal pages (kind, id, seq) — so this layout
//! (4) keeps them here instead, and rebuilds them when the store opens. Layout 7 does the
//! same with the customers' blind index entries (a customer wrote four to six entries, its
//! record one of them): they are rebuilt from the customers, each opened under its own key.
//! A customer that does not open (damaged, or its key erased: a restored record whose
//! `FORGET` the restore is about to replay) has none, and is `CORRUPT` when read.
//!
//! # Why it stays right
//!
//! * **Only the committer changes it**, right after the group's batch is applied to the tree
//!   and before any writer of the group is answered (`write/committer.rs`): when a write is
//!   acknowledged, its index entries are here. The committer's own view (`write/view.rs`)
//!   reads this map under the group's staged writes, as it reads the tree, so its checks see
//!   every acknowledged write.
//! * **A crash loses nothing:** nothing here is the only copy. At open the map is rebuilt
//!   from the records and journal pages the tree recovered, so it equals what the batches that
//!   survived imply — whole groups or nothing, as sled applies them.
//! * **Readers** that find an id here and then read its record may meet a group between its
//!   batch and this map's update (the same window a reader had between a batch and its flush):
//!   they check every record they open against what they asked for, as before, because the
//!   index was never authenticated.
//!
//! # Memory
//!
//! Each space has its own structure and lock (`space.rs`). The orders of a customer and of a
//! product are lists of (order, time), 16 bytes an entry; every other space is a B-tree of
//! 18-byte keys and 9-byte values, about 40 bytes an entry. An order costs about 100 bytes
//! (two list entries, its time entry, its journal entry), a customer about 4–6 blind entries.
//! That is less than sled's page table for the entries it replaces (BENCHMARKS.md).

mod space;

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::model::{Customer, Order};
use crate::trees::Space;
use rayon::prelude::*;
use space::SpaceIndex;
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The key spaces kept here instead of in the tree.
pub(crate) const SPACES: [Space; 7] = crate::trees::DERIVED;

/// The longest key of a derived space: `j ‖ kind ‖ id ‖ seq`.
const KEY_LEN: usize = 18;
/// The longest value: the order's time in the per-customer and per-product indexes.
const VALUE_LEN: usize = 8;

type Key = [u8; KEY_LEN];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Value {
    len: u8,
    bytes: [u8; VALUE_LEN],
}

impl Value {
    fn new(value: &[u8]) -> Option<Value> {
        let mut bytes = [0u8; VALUE_LEN];
        bytes.get_mut(..value.len())?.copy_from_slice(value);
        Some(Value {
            len: value.len() as u8,
            bytes,
        })
    }

    fn to_vec(self) -> Vec<u8> {
        self.bytes[..usize::from(self.len)].to_vec()
    }

    /// An 8-byte value (an order's time).
    fn of8(bytes: [u8; 8]) -> Value {
        Value { len: 8, bytes }
    }

    /// The value as 8 bytes, if it is that long.
    fn as8(self) -> Option<[u8; 8]> {
        (self.len == 8).then_some(self.bytes)
    }
}

/// A change the committer makes: a key and its new value, or `None` to remove it.
pub(crate) type Change = (Vec<u8>, Option<Vec<u8>>);

/// Checks a change received from elsewhere (a replicated log entry) before anything is
/// applied: a key of a derived space, no longer than its keys are, and a value that fits.
pub(crate) fn check_change(key: &[u8], value: Option<&[u8]>) -> Result<()> {
    space_of(key)?;
    pad(key, 0)?;
    value.map(value_of).transpose()?;
    Ok(())
}

/// Whether a key belongs to a derived space.
pub(crate) fn is_derived(key: &[u8]) -> bool {
    crate::trees::in_spaces(key, &SPACES)
}

/// The length of every key of the space `key` is in (keys of one space have one length).
fn key_len(key: &[u8]) -> usize {
    if key.first() == Some(&(Space::JournalIndex as u8)) {
        KEY_LEN
    } else {
        KEY_LEN - 1
    }
}

/// `bytes` padded with `fill` to the fixed key length. Keys of one space have one length, so
/// padding keeps their order, and a bound padded with zeros (from) or 0xFF (to the end of a
/// prefix) sorts where the bound does.
fn pad(bytes: &[u8], fill: u8) -> Result<Key> {
    let mut key = [fill; KEY_LEN];
    key.get_mut(..bytes.len())
        .ok_or_else(|| {
            Error::Corrupt(format!(
                "a derived index key of {} bytes is longer than {KEY_LEN}",
                bytes.len()
            ))
        })?
        .copy_from_slice(bytes);
    Ok(key)
}

fn unpad(key: &Key) -> Vec<u8> {
    key[..key_len(key)].to_vec()
}

/// The spaces kept as one list per owner (`space.rs`): orders by customer and by product.
const LIST_SPACES: [Space; 2] = [Space::OrdersByCustomer, Space::OrdersByProduct];

/// The in-memory derived indexes of one open store: one structure and one lock per space.
pub(crate) struct DerivedIndexes {
    spaces: [RwLock<SpaceIndex>; SPACES.len()],
}

impl Default for DerivedIndexes {
    fn default() -> Self {
        DerivedIndexes {
            spaces: SPACES.map(|space| {
                RwLock::new(SpaceIndex::new(space as u8, LIST_SPACES.contains(&space)))
            }),
        }
    }
}

/// Where a key's space is in [`SPACES`].
fn space_of(key: &[u8]) -> Result<usize> {
    SPACES
        .iter()
        .position(|space| key.first() == Some(&(*space as u8)))
        .ok_or_else(|| {
            Error::Corrupt(format!(
                "{} is not a key of a derived index",
                crate::codec::describe_key(key)
            ))
        })
}

impl DerivedIndexes {
    fn read(&self, space: usize) -> RwLockReadGuard<'_, SpaceIndex> {
        // A panic while holding the lock cannot leave a half-applied change that matters
        // more than the lock: every change is one insert or remove.
        self.spaces[space]
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self, space: usize) -> RwLockWriteGuard<'_, SpaceIndex> {
        self.spaces[space]
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value at `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let padded = pad(key, 0)?;
        Ok(self.read(space_of(key)?).get(&padded).map(|v| v.to_vec()))
    }

    /// Every entry from `from` (inclusive) to `to` (exclusive; `None`: the end of `from`'s
    /// space) in key order, read in chunks so that no reader holds the lock for long. The
    /// first chunk is small and each next one twice as large: most walks stop after a few
    /// entries (a customer's orders, one page), and must not pay for a thousand copied ones.
    pub fn walk(
        &self,
        from: &[u8],
        to: Option<&[u8]>,
    ) -> Result<impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_> {
        const FIRST_CHUNK: usize = 16;
        const LARGEST_CHUNK: usize = 1024;
        let space = space_of(from)?;
        let end = match to {
            Some(to) => Bound::Excluded(pad(to, 0)?),
            None => Bound::Included(pad(&from[..from.len().min(1)], 0xFF)?),
        };
        let mut start = Bound::Included(pad(from, 0)?);
        let mut chunk = std::collections::VecDeque::new();
        let mut done = false;
        let mut size = FIRST_CHUNK;
        Ok(std::iter::from_fn(move || {
            if chunk.is_empty() && !done {
                chunk.extend(self.read(space).range(start, end, size));
                done = chunk.len() < size;
                size = (size * 2).min(LARGEST_CHUNK);
                if let Some((last, _)) = chunk.back() {
                    start = Bound::Excluded(*last);
                }
            }
            chunk.pop_front().map(|(k, v)| (unpad(&k), v.to_vec()))
        }))
    }

    /// Every entry under `prefix`, in key order.
    pub fn prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let start = pad(prefix, 0)?;
        let end = pad(prefix, 0xFF)?;
        Ok(self
            .read(space_of(prefix)?)
            .range(Bound::Included(start), Bound::Included(end), usize::MAX)
            .into_iter()
            .map(|(k, v)| (unpad(&k), v.to_vec()))
            .collect())
    }

    /// How many entries a space holds.
    pub fn count(&self, space: Space) -> u64 {
        match space_of(&[space as u8]) {
            Ok(index) => self.read(index).len(),
            Err(_) => 0,
        }
    }

    /// Applies a group's changes (the committer, once the group's batch is in the tree).
    pub fn apply(&self, changes: Vec<Change>) -> Result<()> {
        let mut by_space: [Vec<(Key, Option<Value>)>; SPACES.len()] = Default::default();
        for (key, value) in changes {
            let value = value.map(|bytes| value_of(&bytes)).transpose()?;
            by_space[space_of(&key)?].push((pad(&key, 0)?, value));
        }
        for (space, changes) in by_space.into_iter().enumerate() {
            if changes.is_empty() {
                continue;
            }
            let mut index = self.write(space);
            for (key, value) in changes {
                index.set(key, value)?;
            }
        }
        Ok(())
    }

    /// The indexes the tree's records and journal pages imply (at open). Every order opened
    /// on the way is also counted into `rollups`, so the rollups cost no second pass.
    pub fn rebuild(
        tree: &crate::storage::Tree,
        codec: &Codec,
        blind: &crate::index::BlindKeys,
        rollups: &mut crate::rollup_table::RollupBuilder,
    ) -> Result<DerivedIndexes> {
        let mut by_space: [Vec<(Key, Value)>; SPACES.len()] = Default::default();
        let mut add = |key: &[u8], value: &[u8]| -> Result<()> {
            by_space[space_of(key)?].push((pad(key, 0)?, value_of(value)?));
            Ok(())
        };
        for chunk in sealed_chunks(tree, Space::Customer) {
            let owned: Vec<Vec<(Vec<u8>, Vec<u8>)>> = chunk?
                .par_iter()
                .map(|(key, sealed)| match codec.open::<Customer>(key, sealed) {
                    Ok(customer) => Ok(crate::index::customer_entries(blind, &customer)),
                    // Unreadable (damaged, or its key erased): it is `CORRUPT` when read, and
                    // no lookup finds it; the rest of the store stays open.
                    Err(error) if error.kind() == crate::ErrorKind::Corrupt => Ok(Vec::new()),
                    Err(error) => Err(error),
                })
                .collect::<Result<_>>()?;
            for (key, value) in owned.into_iter().flatten() {
                add(&key, &value)?;
            }
        }
        for chunk in sealed_chunks(tree, Space::Order) {
            let opened: Vec<Order> = chunk?
                .par_iter()
                .map(|(key, sealed)| codec.open(key, sealed))
                .collect::<Result<_>>()?;
            for order in opened {
                rollups.add(&order);
                for (key, value) in order_entries(&order) {
                    add(&key, &value)?;
                }
            }
        }
        for chunk in sealed_chunks(tree, Space::JournalPage) {
            let keys: Vec<Vec<Vec<u8>>> = chunk?
                .par_iter()
                .map(|(key, sealed)| {
                    let page = crate::journal::page::open(codec, key, sealed, None)?;
                    Ok(page.index_keys())
                })
                .collect::<Result<_>>()?;
            for key in keys.into_iter().flatten() {
                add(&key, &[])?;
            }
        }
        // Built from sorted entries, the B-trees' nodes are full: less memory than inserts.
        for entries in &mut by_space {
            entries.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        let mut spaces = Vec::with_capacity(SPACES.len());
        for (space, entries) in SPACES.iter().zip(by_space) {
            let lists = LIST_SPACES.contains(space);
            spaces.push(RwLock::new(SpaceIndex::from_sorted(
                *space as u8,
                lists,
                entries,
            )?));
        }
        let spaces = spaces
            .try_into()
            .map_err(|_| Error::Corrupt("the derived spaces did not line up".into()))?;
        Ok(DerivedIndexes { spaces })
    }
}

/// A value as kept, or `CORRUPT` if it is too long to be one.
fn value_of(bytes: &[u8]) -> Result<Value> {
    Value::new(bytes).ok_or_else(|| {
        Error::Corrupt(format!(
            "a derived index value of {} bytes is longer than {VALUE_LEN}",
            bytes.len()
        ))
    })
}

/// The index entries one order owns: by customer and by product (with its time), by time.
pub(crate) fn order_entries(order: &Order) -> [(Vec<u8>, Vec<u8>); 3] {
    use crate::index::{orders_by_customer, orders_by_product, orders_by_time};
    let time = order.created_at.to_be_bytes().to_vec();
    [
        (
            orders_by_customer::key(order.customer_id, order.id),
            time.clone(),
        ),
        (orders_by_product::key(order.product_id, order.id), time),
        (orders_by_time::key(order.created_at, order.id), Vec::new()),
    ]
}

/// A space's raw entries in chunks, so that each chunk is opened on every core.
fn sealed_chunks(
    tree: &crate::storage::Tree,
    space: Space,
) -> impl Iterator<Item = Result<Vec<(crate::storage::Bytes, crate::storage::Bytes)>>> + '_ {
    const CHUNK: usize = 8192;
    let mut entries = tree.scan_prefix(space.prefix());
    std::iter::from_fn(move || {
        let mut chunk = Vec::with_capacity(CHUNK);
        for entry in entries.by_ref() {
            match entry {
                Ok(pair) => chunk.push(pair),
                Err(error) => return Some(Err(error)),
            }
            if chunk.len() == CHUNK {
                break;
            }
        }
        (!chunk.is_empty()).then_some(Ok(chunk))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_ranges_keep_key_order_and_prefixes() {
        let index = DerivedIndexes::default();
        let key = |c: u64, o: u64| crate::index::orders_by_customer::key(c, o);
        index
            .apply(vec![
                (key(1, 5), Some(vec![1; 8])),
                (key(2, 1), Some(vec![2; 8])),
                (key(2, 7), Some(vec![3; 8])),
                (key(3, 0), Some(vec![4; 8])),
                (
                    crate::journal::page::index_key(crate::Kind::Order, 2, 9),
                    Some(vec![]),
                ),
            ])
            .unwrap();
        let under_two = index
            .prefix(&crate::index::orders_by_customer::prefix(2))
            .unwrap();
        assert_eq!(
            under_two,
            vec![(key(2, 1), vec![2; 8]), (key(2, 7), vec![3; 8])]
        );
        let from: Vec<_> = index.walk(&key(2, 2), None).unwrap().collect();
        assert_eq!(from, vec![(key(2, 7), vec![3; 8]), (key(3, 0), vec![4; 8])]);
        assert_eq!(index.count(Space::OrdersByCustomer), 4);
        assert_eq!(index.count(Space::JournalIndex), 1);
        let bounded: Vec<_> = index.walk(&key(2, 0), Some(&key(3, 0))).unwrap().collect();
        assert_eq!(bounded.len(), 2);
        index.apply(vec![(key(2, 1), None)]).unwrap();
        assert_eq!(index.get(&key(2, 1)).unwrap(), None);
        assert_eq!(index.get(&key(2, 7)).unwrap(), Some(vec![3; 8]));
    }

    #[test]
    fn a_long_walk_crosses_growing_chunks_without_losing_or_repeating_an_entry() {
        let index = DerivedIndexes::default();
        let key = |o: u64| crate::index::orders_by_customer::key(7, o);
        index
            .apply(
                (0..5000)
                    .map(|o| (key(o), Some(o.to_be_bytes().to_vec())))
                    .collect(),
            )
            .unwrap();
        let walked: Vec<_> = index.walk(&key(3), None).unwrap().map(|(k, _)| k).collect();
        assert_eq!(walked, (3..5000).map(key).collect::<Vec<_>>());
    }
}
