//! The one place the cluster meets the engine: the store as the apply loop's [`Applier`], the
//! store's log sealer as the [`Sealer`], and the leader's [`Log`] as the engine's
//! `ReplicatedLog`, the seam where the committer makes a group durable.
//!
//! The store must be opened with its replicated log, yet the log needs a running node, which
//! needs the opened store: [`LateLog`] breaks the circle. It refuses every write (`CLUSTERDOWN`,
//! "starting") until the node is started and [`LateLog::set`] hands it the node's log.

use crate::entry::EpochKey;
use crate::error::{Error, Result};
use crate::log::{AppendOutcome, Log, Refusal};
use crate::seam::{Applier, Sealer};
use crm_engine::replica::LogSealer;
use crm_engine::Store;
use std::sync::{Arc, OnceLock};
use zeroize::Zeroizing;

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

impl StoreApplier {
    /// The node stops applying (and writing) until restarted: `CORRUPT`.
    fn stopped(&self, position: u64, error: crm_engine::Error) -> Error {
        let message = error.to_string();
        self.store.stop_replication(&message);
        Error::Corrupt { position, message }
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
            Err(error) => Err(self.stopped(position, error)),
        }
    }

    fn pass(&self, position: u64) -> Result<()> {
        self.store
            .pass_replicated(position)
            .map(|_| ())
            .map_err(|error| self.stopped(position, error))
    }

    fn applied(&self) -> u64 {
        self.store.cluster_applied()
    }
}

/// The store's log sealer, with the node's epoch keys (the `cluster-epochs` file).
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

fn corrupt(position: u64, error: crm_engine::Error) -> Error {
    Error::Corrupt {
        position,
        message: error.to_string(),
    }
}

/// An epoch key's failure is no entry's: it names the epoch.
fn epoch_failed(epoch: u64, error: crm_engine::Error) -> Error {
    Error::Malformed {
        what: format!("log epoch {epoch}"),
        message: error.to_string(),
    }
}

impl Sealer for EpochSealer {
    fn seal(&self, epoch: u64, position: u64, plain: &[u8]) -> Result<Vec<u8>> {
        self.sealer
            .seal(epoch, position, plain)
            .map_err(|e| corrupt(position, e))
    }

    fn open(&self, position: u64, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.sealer
            .open(position, sealed)
            .map_err(|e| corrupt(position, e))
    }

    fn epoch_of(&self, sealed: &[u8]) -> Option<u64> {
        LogSealer::epoch_of(sealed)
    }

    fn newest_epoch(&self) -> Option<u64> {
        self.sealer.epochs().last().copied()
    }

    fn learn_epoch(&self, epoch: u64, key: &EpochKey) -> Result<()> {
        self.sealer
            .learn_epoch(epoch, key.bytes())
            .map_err(|e| epoch_failed(epoch, e))
    }

    fn destroy_epochs_before(&self, epoch: u64) -> Result<()> {
        self.sealer
            .destroy_epochs_before(epoch)
            .map_err(|e| epoch_failed(epoch, e))
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
