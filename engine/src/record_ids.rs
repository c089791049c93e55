//! Which customers, products and orders have a record, and which customer ids were forgotten:
//! a mirror of those keys of the tree in memory, for the committer's checks.
//!
//! # Why
//!
//! Every order add asks twice whether a record exists — its customer (a reference must hold)
//! and its own new id (an add never overwrites, `write/ids.rs`) — and every customer or
//! product add once. Asked of sled, each was a walk down its B-tree: 13% of an import's
//! committer time (and every customer add asks whether its id was forgotten). A set of ids
//! answers in a few nanoseconds, and at 1M orders costs 125 KB
//! (ids are dense: one bit each, up to [`DENSE_LIMIT`]; ids above it, which only explicit ids
//! reach, are kept one by one).
//!
//! # Why it stays right
//!
//! As the indexes (`indexes/`): built at open from the keys the tree holds, changed
//! only by the committer, after the group's batch is applied and before any writer of the
//! group is answered, from the same staged writes the batch was made of. It mirrors the keys,
//! not the high-water marks, so a mark rolled back on disk is still caught: the id it hands
//! out again is found here. `check_consistency` compares it with the tree.

use crate::error::{Error, Result};
use crate::trees::{trailing_id, Space};
use std::collections::BTreeSet;
use std::sync::RwLock;

/// The kinds mirrored here.
const SPACES: [Space; 4] = [
    Space::Customer,
    Space::Product,
    Space::Order,
    Space::Forgotten,
];

/// Ids below this are bits of a bitmap (at most 2 MiB a kind); above, entries of a set.
const DENSE_LIMIT: u64 = 1 << 24;

/// A change the committer makes: the record at this key now exists, or no longer does.
pub(crate) type IdChange = (Space, u64, bool);

/// The ids of one kind.
#[derive(Default, Debug)]
struct IdSet {
    bits: Vec<u64>,
    sparse: BTreeSet<u64>,
}

/// Two sets are equal when they hold the same ids, however long their bitmaps grew.
impl PartialEq for IdSet {
    fn eq(&self, other: &IdSet) -> bool {
        let trimmed = |bits: &[u64]| {
            let used = bits
                .iter()
                .rposition(|word| *word != 0)
                .map_or(0, |at| at + 1);
            bits[..used].to_vec()
        };
        trimmed(&self.bits) == trimmed(&other.bits) && self.sparse == other.sparse
    }
}

impl IdSet {
    fn contains(&self, id: u64) -> bool {
        if id < DENSE_LIMIT {
            let word = (id / 64) as usize;
            self.bits
                .get(word)
                .is_some_and(|bits| bits & (1 << (id % 64)) != 0)
        } else {
            self.sparse.contains(&id)
        }
    }

    fn set(&mut self, id: u64, present: bool) {
        if id >= DENSE_LIMIT {
            if present {
                self.sparse.insert(id);
            } else {
                self.sparse.remove(&id);
            }
            return;
        }
        let word = (id / 64) as usize;
        if word >= self.bits.len() {
            if !present {
                return;
            }
            self.bits.resize(word + 1, 0);
        }
        let bit = 1 << (id % 64);
        if present {
            self.bits[word] |= bit;
        } else {
            self.bits[word] &= !bit;
        }
    }
}

/// The record ids of one open store.
#[derive(Default)]
pub(crate) struct RecordIds {
    sets: RwLock<[IdSet; 4]>,
}

/// The set of a mirrored kind, and the id of a record key of it.
fn slot(space: Space) -> Option<usize> {
    SPACES.iter().position(|s| *s == space)
}

/// The kind and id of a record key this mirrors (`None`: another key).
pub(crate) fn record_key(key: &[u8]) -> Option<(Space, u64)> {
    let space = *SPACES.iter().find(|s| key.first() == Some(&(**s as u8)))?;
    (key.len() == 9).then_some(())?;
    Some((space, trailing_id(key)?))
}

impl RecordIds {
    /// The ids the tree's record keys hold (at open).
    pub fn rebuild(tree: &crate::storage::Tree) -> Result<RecordIds> {
        let ids = RecordIds::default();
        {
            let mut sets = ids.write();
            for (index, space) in SPACES.iter().enumerate() {
                for key in tree.scan_prefix(space.prefix()).keys() {
                    let key = key?;
                    let (_, id) = record_key(&key).ok_or_else(|| malformed(&key))?;
                    sets[index].set(id, true);
                }
            }
        }
        Ok(ids)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, [IdSet; 4]> {
        // Every change is one bit: a panic cannot leave a half-made one behind the lock.
        self.sets
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, [IdSet; 4]> {
        self.sets
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the record at `key` exists; `None` for a key this does not mirror.
    pub fn contains(&self, key: &[u8]) -> Option<bool> {
        let (space, id) = record_key(key)?;
        Some(self.read()[slot(space)?].contains(id))
    }

    /// Applies a group's changes (the committer, once the group's batch is in the tree).
    pub fn apply(&self, changes: &[IdChange]) {
        if changes.is_empty() {
            return;
        }
        let mut sets = self.write();
        for &(space, id, present) in changes {
            if let Some(index) = slot(space) {
                sets[index].set(id, present);
            }
        }
    }

    /// Fails unless this mirrors exactly the record keys the tree holds (`check_consistency`).
    pub fn check(&self, tree: &crate::storage::Tree) -> Result<()> {
        let fresh = RecordIds::rebuild(tree)?;
        let (now, expected) = (self.read(), fresh.read());
        for (index, space) in SPACES.iter().enumerate() {
            if now[index] != expected[index] {
                return Err(Error::Corrupt(format!(
                    "the in-memory ids of {space:?} records differ from the tree's records"
                )));
            }
        }
        Ok(())
    }
}

fn malformed(key: &[u8]) -> Error {
    Error::Corrupt(format!(
        "{} is not a record key",
        crate::codec::describe_key(key)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_ids_come_and_go() {
        let mut set = IdSet::default();
        for id in [0, 1, 63, 64, 1000, DENSE_LIMIT - 1, DENSE_LIMIT, u64::MAX] {
            assert!(!set.contains(id));
            set.set(id, true);
            assert!(set.contains(id), "{id}");
        }
        assert!(!set.contains(2) && !set.contains(65) && !set.contains(DENSE_LIMIT + 1));
        set.set(64, false);
        set.set(u64::MAX, false);
        set.set(5_000_000, false); // absent, beyond the bitmap: nothing to do
        assert!(!set.contains(64) && !set.contains(u64::MAX) && set.contains(63));
        // Equal by content: a bitmap emptied at its end equals one that never grew.
        let mut grown = IdSet::default();
        grown.set(1, true);
        grown.set(9_000, true);
        grown.set(9_000, false);
        let mut small = IdSet::default();
        small.set(1, true);
        assert_eq!(grown, small);
        small.set(2, true);
        assert_ne!(grown, small);
    }

    #[test]
    fn only_record_keys_are_mirrored() {
        use crate::trees::id_key;
        assert_eq!(
            record_key(&id_key(Space::Order, 7)),
            Some((Space::Order, 7))
        );
        assert_eq!(
            record_key(&id_key(Space::Forgotten, 7)),
            Some((Space::Forgotten, 7))
        );
        assert_eq!(record_key(&id_key(Space::KeptMerge, 7)), None);
        assert_eq!(record_key(b"c"), None);
        let ids = RecordIds::default();
        ids.apply(&[(Space::Customer, 3, true)]);
        assert_eq!(ids.contains(&id_key(Space::Customer, 3)), Some(true));
        assert_eq!(ids.contains(&id_key(Space::Product, 3)), Some(false));
        assert_eq!(ids.contains(&id_key(Space::User, 3)), None);
    }
}
