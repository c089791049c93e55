//! The engine's side of a cluster (issue 33, PROTOCOL.md "Cluster"): a write group's effects
//! as a log entry, the seam where a replicated log makes groups durable, and the way every
//! node applies the log's entries to its own store.
//!
//! # How a group travels
//!
//! In a cluster the store is opened with a [`ReplicatedLog`] (`Options::replication`, kept by
//! the `crm-cluster` crate, which holds the log in etcd). The committer then plans a group as
//! always (`write/committer.rs`, `plan_group`), encodes its effects ([`GroupDelta`], `delta.rs`)
//! and hands them to [`ReplicatedLog::append`], which blocks until etcd has committed them.
//! Only then does the leader apply the group to its own store, through the same function
//! every follower uses for the same entry (`apply_group`), and answer its writers: no node's
//! store is ever ahead of the log. When the append is refused or its outcome cannot be
//! learned, nothing is applied and every writer of the group gets `READONLY`, `CLUSTERDOWN`
//! or `TRYAGAIN`.
//!
//! One group is in etcd's hands at a time (`write/replicated.rs`), so the next is planned on a
//! store that holds every group before it. An append costs etcd about the same whatever it
//! carries, so a group first waits briefly (at most 1 ms) for the writers the last group
//! answered to write again, and carries them too.
//!
//! Followers (and any node catching up) hand each committed entry to
//! [`Store::apply_replicated`] with its position in the log. The position is written with the
//! group's batch (`m‖cluster_applied`, sealed, node-local), so a node's store always says which
//! entry it holds last, across crashes: an entry at or below it is skipped, and the node
//! catches up from the next. The local redo log stays (sled's crash atomicity, the node's own
//! durable position, [`Store::cluster_durable`]) but is no longer what acknowledges a write:
//! the flusher syncs it every 100 ms.
//!
//! # What is written outside a group
//!
//! Every change a cluster must share is a write group, and so an entry. The few writes that
//! are not: the keyring's made-ahead slots (`Keyring::ensure`: an untaken slot means nothing,
//! and the slots a group takes travel in its entry with their keys), the completion of an
//! erasure a crash interrupted (`finish_erasures` at open: local and deterministic), and the
//! purge of kept merges past their 30 days, which a store opened with a replicated log does
//! not run at open (the leader runs it as a write, which the log carries).

mod apply;
mod delta;
pub(crate) mod epochs;
mod node_keys;
mod seal;
mod snapshot;

pub use apply::Applied;
pub use delta::GroupDelta;
pub use epochs::EpochKey;
pub use node_keys::{cluster_keys_of_folder, master_key_for, ClusterKeys};
pub use seal::LogSealer;
pub use snapshot::{restore_snapshot, SnapshotInfo};

pub(crate) use apply::{apply_entry, delta_of};

use crate::error::{Error, Result};
use crate::keys::{MasterKey, Purpose, SubKey};
use crate::shared::Shared;
use crate::store::Store;
use std::sync::Arc;

/// Where a cluster's write groups become durable: the replicated log (implemented by the
/// `crm-cluster` crate on etcd).
pub trait ReplicatedLog: Send + Sync + 'static {
    /// Appends one write group's effects (the plain bytes of a [`GroupDelta`]) to the log and
    /// blocks until it is committed, refused, or its outcome cannot be learned within the
    /// lease. The implementation seals the bytes, splits them into parts that fit etcd's
    /// requests (applied all together or not at all), and appends them fenced by its
    /// leadership.
    ///
    /// It runs on the committer's thread under the committer's turn, so it must not wait for
    /// [`Store::apply_replicated`] (which waits for that turn): the leader applies its own
    /// group when this returns `Committed`, and its apply loop then skips the entry by number.
    fn append(&self, group: Vec<u8>) -> AppendOutcome;

    /// A cheap check the committer makes before planning a group: `Err` when this node may not
    /// write now (not the leader, no quorum, or catching up after an unknown outcome).
    fn may_write(&self) -> Result<(), Refusal>;
}

/// What became of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Committed; `position` is the log's number of the group's (last) entry.
    Committed { position: u64 },
    /// Not in the log, and never will be.
    Refused(Refusal),
    /// Sent, but whether it was committed could not be learned in time (`TRYAGAIN`).
    Unknown,
}

/// Why this node may not write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It is not the leader (or has just lost the leadership): `READONLY`.
    ReadOnly,
    /// No quorum of etcd, no leader, or etcd refused the append (the reason, for the node's
    /// log): `CLUSTERDOWN`.
    ClusterDown(String),
}

impl Refusal {
    /// The error each write of a refused group gets.
    pub fn to_error(&self) -> Error {
        match self {
            Refusal::ReadOnly => Error::ReadOnly,
            Refusal::ClusterDown(reason) => Error::ClusterDown(reason.clone()),
        }
    }
}

/// The keys of the cluster's log, derived from the store's data key (so every node of one
/// store has them, and no other store does).
pub(crate) struct LogKeys {
    /// The entries' keys derive from it and the epochs' (`seal.rs`).
    log: SubKey,
    /// Wraps the epoch keys in their file (`epochs.rs`).
    epoch_wrap: SubKey,
}

impl LogKeys {
    pub fn derive(data: &MasterKey) -> LogKeys {
        LogKeys {
            log: data.derive(Purpose::ClusterLog),
            epoch_wrap: data.derive(Purpose::EpochWrap),
        }
    }
}

/// The store's epoch keys, the file opened (made) on first use.
pub(crate) fn epochs_of(shared: &Shared) -> Result<Arc<epochs::Epochs>> {
    let mut opened = shared
        .epochs
        .lock()
        .map_err(|_| Error::Storage("the cluster epochs lock is poisoned".into()))?;
    if let Some(epochs) = opened.as_ref() {
        return Ok(epochs.clone());
    }
    let epochs = Arc::new(epochs::Epochs::open(
        &shared.dir,
        &shared.log_keys.epoch_wrap,
    )?);
    *opened = Some(epochs.clone());
    Ok(epochs)
}

impl Store {
    /// The sealer of the log of cluster `cluster_name` (`cluster_id`: the cluster's random id,
    /// fixed when it was created), with this node's epoch keys (the `cluster-epochs` file is
    /// made on first use).
    pub fn log_sealer(&self, cluster_id: &[u8], cluster_name: &str) -> Result<LogSealer> {
        LogSealer::new(
            self.shared.log_keys.log.clone(),
            epochs_of(&self.shared)?,
            cluster_id,
            cluster_name,
        )
    }
}

#[cfg(test)]
mod tests;
