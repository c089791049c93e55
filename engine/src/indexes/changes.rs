//! What a write group changes in the records the indexes are made of: each record's value
//! before the group and after it. The committer's planning collects it as it stages writes
//! (`write/view.rs`); a follower reads it from a replicated batch and its own tree
//! (`replica/apply.rs`); either way the indexes follow it with `apply(old, new)`.

use crate::model::{Customer, Order, Product};
use std::collections::BTreeMap;

/// A record before a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Old<R> {
    /// There was no record.
    Absent,
    /// The record as it was.
    Was(R),
    /// A record that does not open (its key erased, or damaged): it has no entries the
    /// indexes can compute, so they drop whatever they hold for its id.
    Unreadable,
}

impl<R> Old<R> {
    /// The record as it was, if there was one that opens.
    pub fn as_ref(&self) -> Option<&R> {
        match self {
            Old::Was(record) => Some(record),
            Old::Absent | Old::Unreadable => None,
        }
    }
}

/// One record's change over a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change<R> {
    pub old: Old<R>,
    /// The record after the group (`None`: removed).
    pub new: Option<R>,
}

/// The records of each kind a group changes, by id.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RecordChanges {
    pub customers: BTreeMap<u64, Change<Customer>>,
    pub products: BTreeMap<u64, Change<Product>>,
    pub orders: BTreeMap<u64, Change<Order>>,
}

/// Records one operation's change to record `id`: the first `old` a group sees is the one
/// that counts (the record before the group), the last `new` is the record after it.
pub(crate) fn stage<R>(
    changes: &mut BTreeMap<u64, Change<R>>,
    id: u64,
    old: Old<R>,
    new: Option<R>,
) {
    match changes.get_mut(&id) {
        Some(change) => change.new = new,
        None => {
            changes.insert(id, Change { old, new });
        }
    }
}
