//! The shape the phone and name-word indexes share: pairs of (blind hash, customer id), sorted,
//! so that the customers with one value are a range in id order (pages start past `after`).

use super::changes::Old;
use crate::model::Customer;
use std::collections::BTreeSet;

/// Sorted (hash, id) pairs: about 40 bytes a pair.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct BlindIds {
    pairs: BTreeSet<(u64, u64)>,
}

impl BlindIds {
    /// The ids with this hash above `after`, ascending.
    pub fn ids_above(&self, hash: u64, after: u64) -> impl Iterator<Item = u64> + '_ {
        let start = after.saturating_add(1);
        let range = if after == u64::MAX {
            // Nothing is above the largest id: an empty range.
            self.pairs.range((hash, 1)..(hash, 1))
        } else {
            self.pairs.range((hash, start)..=(hash, u64::MAX))
        };
        range.map(|(_, id)| *id)
    }

    /// Follows one customer's change; `entries` says which hashes a customer owns.
    pub fn apply(
        &mut self,
        id: u64,
        old: &Old<Customer>,
        new: Option<&Customer>,
        entries: impl Fn(&Customer) -> Vec<u64>,
    ) {
        let new = new.map_or_else(Vec::new, &entries);
        match old {
            Old::Unreadable => {
                self.remove_owner(id);
                self.replace(id, &[], &new);
            }
            Old::Was(old) => self.replace(id, &entries(old), &new),
            Old::Absent => self.replace(id, &[], &new),
        }
    }

    /// Replaces the hashes customer `id` owns: `old` out, `new` in (a hash in both stays).
    fn replace(&mut self, id: u64, old: &[u64], new: &[u64]) {
        for hash in old {
            if !new.contains(hash) {
                self.pairs.remove(&(*hash, id));
            }
        }
        for hash in new {
            self.pairs.insert((*hash, id));
        }
    }

    /// Removes every pair of customer `id`, whatever its hash (a customer whose values can no
    /// longer be read: a walk over the whole set, for that rare repair).
    fn remove_owner(&mut self, id: u64) {
        self.pairs.retain(|(_, owner)| *owner != id);
    }

    /// The set of these pairs.
    pub fn rebuild(pairs: Vec<(u64, u64)>) -> BlindIds {
        // Collected from a sorted vector, the B-tree's nodes are built full.
        BlindIds {
            pairs: pairs.into_iter().collect(),
        }
    }
}
