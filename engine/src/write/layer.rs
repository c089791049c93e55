//! A group planned and not applied yet, as the next group reads it.
//!
//! In a cluster the leader's group waits in etcd for most of its commit (a few milliseconds),
//! and planning the next group takes about as long again. The committer therefore plans the
//! next group while this one is in etcd, on a view that reads this group's staged writes
//! between its own overlay and the store (`view.rs`): every check (unique emails, a
//! customer's orders, stock, counters, the catalog) sees the group before, exactly as it will
//! be once applied. The next group is sent to etcd only once this one is committed, and
//! applied only after it, so what it read is what the store holds when it lands; when this
//! one is refused, the next one's plan is dropped (planning changes nothing: `committer.rs`)
//! and its writes are planned again.

use crate::indexes::{StagedEmails, StagedOrders};
use crate::rollup_table::RollupChanges;
use std::collections::{BTreeMap, HashMap};
use zeroize::Zeroizing;

/// A write a group staged (in its view's overlay, then in its layer).
#[derive(Clone)]
pub(super) enum Staged {
    Removed,
    /// A plain value (a counter, a merge's `W` entry).
    Plain(Vec<u8>),
    /// A record's encoded plain text, sealed under its key when the group's batch is built
    /// (`View::into_effects`).
    Record(Zeroizing<Vec<u8>>),
    /// A customer record's encoded plain text, sealed under its own key (keyring slot).
    Customer {
        plain: Zeroizing<Vec<u8>>,
        slot: u64,
    },
}

/// What a planned group staged, kept from its view for the next group's view.
pub(crate) struct Layer {
    /// Its writes by key, records in plain text (wiped when the layer is dropped).
    pub(super) overlay: BTreeMap<Vec<u8>, Staged>,
    /// Its numeric metadata by storage key (counts, high-water marks, the keyring's next slot).
    pub(super) meta: HashMap<Vec<u8>, u64>,
    /// The rollups it changes.
    pub(super) rollups: RollupChanges,
    /// The emails it took and freed.
    pub(super) emails: StagedEmails,
    /// The orders it added, moved or removed, by customer.
    pub(super) customer_orders: StagedOrders,
    /// The journal's tail once it is applied (`None`: it journals nothing).
    pub(super) journal: Option<crate::journal::Tail>,
}
