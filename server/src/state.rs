//! What every connection shares: the store, the configuration, the limits, and the counters
//! `INFO` shows.

use crate::auth::Authenticator;
use crate::backup::BackupState;
use crate::throttle::LoginThrottle;
use crate::work_limits::WorkLimits;
use crm_engine::{Durability, Store};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::time::{Duration, Instant};

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
        }
    }
}
