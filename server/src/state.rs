//! What every connection shares: the store, the configuration, and the counters `INFO` shows.

use crate::backup::BackupState;
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
    pub authenticator: crate::auth::Authenticator,
}

/// One connection's own state.
#[derive(Debug)]
pub struct Session {
    /// The connection's number, never reused while the server runs.
    pub id: u64,
    /// The authenticated user and role.
    pub user: Option<(String, crm_engine::Role)>,
    /// RESP version: 2 or 3.
    pub proto: u8,
    /// Set by `CLIENT SETNAME` or `HELLO ... SETNAME`.
    pub name: Option<String>,
    /// Failed `AUTH` attempts on this connection, for the back-off.
    pub failed_auths: u32,
    /// The authenticator's users generation when this session last checked its user.
    pub users_seen: u64,
    /// BLAKE3 of the user's stored password hash at `AUTH`: a user deleted and added again, or
    /// given a new password, no longer matches.
    pub credential: Option<[u8; 32]>,
}

impl Session {
    pub fn new(id: u64) -> Session {
        Session {
            id,
            user: None,
            proto: 2,
            name: None,
            failed_auths: 0,
            users_seen: 0,
            credential: None,
        }
    }
}
