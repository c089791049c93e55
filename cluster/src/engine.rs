//! The one place the cluster meets the engine: the store as the apply loop's [`Applier`], the
//! store's log sealer as the [`Sealer`], and the leader's [`Log`] as the engine's
//! `ReplicatedLog`, the seam where the committer makes a group durable.
//!
//! The store must be opened with its replicated log, yet the log needs a running node, which
//! needs the opened store: [`LateLog`] breaks the circle. It refuses every write (`CLUSTERDOWN`,
//! "starting") until the node is started and [`LateLog::set`] hands it the node's log.

use crate::error::{Error, Result};
use crate::log::{AppendOutcome, Log, Refusal};
use crate::seam::{Applier, Sealer};
use crm_engine::replica::LogSealer;
use crm_engine::Store;
use std::sync::{Arc, OnceLock};

/// Called after a group that changed users was applied (the server forgets remembered logins).
pub type UsersChanged = Arc<OnceLock<Box<dyn Fn() + Send + Sync>>>;

/// The store, applying committed groups.
pub struct StoreApplier {
    store: Store,
    users_changed: UsersChanged,
}

impl StoreApplier {
    pub fn new(store: Store, users_changed: UsersChanged) -> StoreApplier {
        StoreApplier {
            store,
            users_changed,
        }
    }
}

impl Applier for StoreApplier {
    fn apply(&self, position: u64, group: &[u8]) -> Result<()> {
        match self.store.apply_replicated(position, group) {
            Ok(applied) => {
                if applied.users_changed {
                    if let Some(hook) = self.users_changed.get() {
                        hook();
                    }
                }
                Ok(())
            }
            Err(error) => {
                let message = error.to_string();
                self.store.stop_replication(&message);
                Err(Error::Corrupt { position, message })
            }
        }
    }

    fn applied(&self) -> u64 {
        self.store.cluster_applied()
    }
}

/// The store's log sealer, sealing under the newest epoch this node holds.
pub struct EpochSealer {
    sealer: LogSealer,
}

impl EpochSealer {
    /// `sealer` must hold at least one epoch (the cluster's creator makes epoch 1, a joiner
    /// gets the keys with its snapshot).
    pub fn new(sealer: LogSealer) -> EpochSealer {
        EpochSealer { sealer }
    }
}

impl Sealer for EpochSealer {
    fn seal(&self, position: u64, plain: &[u8]) -> Result<Vec<u8>> {
        let epoch = self
            .sealer
            .epochs()
            .last()
            .copied()
            .ok_or_else(|| Error::Corrupt {
                position,
                message: "this node holds no epoch key of the log".into(),
            })?;
        self.sealer
            .seal(epoch, position, plain)
            .map_err(|e| Error::Corrupt {
                position,
                message: e.to_string(),
            })
    }

    fn open(&self, position: u64, sealed: &[u8]) -> Result<Vec<u8>> {
        self.sealer
            .open(position, sealed)
            .map(|plain| plain.to_vec())
            .map_err(|e| Error::Corrupt {
                position,
                message: e.to_string(),
            })
    }
}

fn engine_refusal(refusal: Refusal) -> crm_engine::Refusal {
    match refusal {
        Refusal::ReadOnly => crm_engine::Refusal::ReadOnly,
        Refusal::ClusterDown(reason) => crm_engine::Refusal::ClusterDown(reason),
    }
}

/// The node's log, once the node runs.
#[derive(Clone, Default)]
pub struct LateLog {
    log: Arc<OnceLock<Log>>,
}

impl LateLog {
    pub fn new() -> LateLog {
        LateLog::default()
    }

    /// Hands over the running node's log (a second call changes nothing).
    pub fn set(&self, log: Log) {
        let _ = self.log.set(log);
    }

    /// The write gate (`CLUSTERDOWN` while the node starts).
    pub fn may_write(&self) -> std::result::Result<(), Refusal> {
        match self.log.get() {
            Some(log) => log.may_write(),
            None => Err(Refusal::ClusterDown("the node is starting".into())),
        }
    }
}

impl crm_engine::ReplicatedLog for LateLog {
    fn append(&self, group: Vec<u8>) -> crm_engine::AppendOutcome {
        let Some(log) = self.log.get() else {
            return crm_engine::AppendOutcome::Refused(crm_engine::Refusal::ClusterDown(
                "the node is starting".into(),
            ));
        };
        match log.append(group) {
            AppendOutcome::Committed { position } => {
                crm_engine::AppendOutcome::Committed { position }
            }
            AppendOutcome::Refused(refusal) => {
                crm_engine::AppendOutcome::Refused(engine_refusal(refusal))
            }
            AppendOutcome::Unknown => crm_engine::AppendOutcome::Unknown,
        }
    }

    fn may_write(&self) -> std::result::Result<(), crm_engine::Refusal> {
        LateLog::may_write(self).map_err(engine_refusal)
    }
}
