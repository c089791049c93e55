//! What every connection shares: the store, the configuration, the limits, and the counters
//! `INFO` shows.

use crate::auth::Authenticator;
use crate::backup::BackupState;
use crate::throttle::LoginThrottle;
use crate::work_limits::WorkLimits;
use crm_engine::{Durability, Store};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How many `+switch-master` messages wait for a connection that is busy (a leader change is
/// rare: one that falls further behind skips the oldest).
const SWITCH_MASTER_BACKLOG: usize = 16;

/// The settings `serve` runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub backup_dir: PathBuf,
    pub listen: String,
    pub durability: Durability,
    pub max_connections: usize,
    /// `None`: never time out.
    pub idle_timeout: Option<Duration>,
    /// How long a connection may stay unauthenticated; `None`: for ever.
    pub auth_timeout: Option<Duration>,
    /// The free space a backup must leave on the disk it writes to.
    pub backup_min_free_bytes: u64,
}

/// The server's shared state.
pub struct Shared {
    pub store: Store,
    pub config: Config,
    pub started: Instant,
    pub connected_clients: AtomicUsize,
    pub total_commands: AtomicU64,
    pub next_connection_id: AtomicU64,
    pub shutting_down: AtomicBool,
    pub backup: BackupState,
    /// Password checks: bounded Argon2id runs and remembered successes.
    pub authenticator: Authenticator,
    /// Failed logins per client address.
    pub throttle: LoginThrottle,
    /// How much work may run off the async workers at once.
    pub work: WorkLimits,
    /// What is published on Sentinel's `+switch-master` channel, to every subscribed
    /// connection (`subscriptions.rs`).
    switch_master: broadcast::Sender<Arc<str>>,
    /// The node's part in a cluster (`None`: a single server).
    pub cluster: Option<crate::cluster::ClusterState>,
}

impl Shared {
    /// The state of a server that has not accepted a connection yet.
    pub fn new(store: Store, config: Config) -> Shared {
        Shared {
            store,
            config,
            started: Instant::now(),
            connected_clients: AtomicUsize::new(0),
            total_commands: AtomicU64::new(0),
            next_connection_id: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
            backup: BackupState::default(),
            authenticator: Authenticator::new(),
            throttle: LoginThrottle::default(),
            work: WorkLimits::for_this_machine(),
            switch_master: broadcast::channel(SWITCH_MASTER_BACKLOG).0,
            cluster: None,
        }
    }

    /// The state of a cluster node.
    pub fn in_cluster(mut self, cluster: crate::cluster::ClusterState) -> Shared {
        self.cluster = Some(cluster);
        self
    }

    /// Publishes `text` (`NAME old-host old-port new-host new-port`) on `+switch-master`, as
    /// Sentinel does when a new leader takes over; answers how many connections listen.
    pub fn publish_switch_master(&self, text: &str) -> usize {
        self.switch_master.send(Arc::from(text)).unwrap_or(0)
    }

    /// Where a connection that subscribes hears `+switch-master`.
    pub fn switch_master_hub(&self) -> &broadcast::Sender<Arc<str>> {
        &self.switch_master
    }
}
