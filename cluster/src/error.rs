//! The cluster crate's one error type.
//!
//! The etcd variants are the three classes every caller must tell apart (design: "error
//! classes"): a request that never reached etcd cannot have taken effect and may be sent again
//! anywhere; a request etcd refused took no effect; a request whose answer was lost may or may
//! not have taken effect, and only the append protocol (`log.rs`) knows how to resolve that.

/// Everything that can go wrong in the cluster crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No etcd member took the request (connection refused, a member without a leader, every
    /// endpoint tried): it cannot have taken effect.
    #[error("etcd not reached: {0}")]
    NotSent(String),

    /// etcd answered and refused the request (request too large, out of space, permission,
    /// bad credentials): it took no effect.
    #[error("etcd refused the request: {0}")]
    Refused(String),

    /// The request was sent but its answer was lost (timeout, connection lost, etcd's own
    /// "request timed out"): it may or may not have taken effect.
    #[error("the outcome of the etcd request is unknown: {0}")]
    Unknown(String),

    /// A watch or a read asked for history etcd has compacted away; `compact_revision` is the
    /// oldest revision still kept (0 when etcd did not say).
    #[error("etcd history before revision {compact_revision} is compacted")]
    Compacted { compact_revision: i64 },

    /// A configuration value is out of its range or malformed; the message names the option
    /// and the value, in one line.
    #[error("{0}")]
    Config(String),

    /// The data folder's `cluster` file is unreadable or malformed.
    #[error("cluster file {path}: {message}")]
    Identity { path: String, message: String },

    /// A value read from etcd is not what this crate writes (bad MAC, truncated, unknown
    /// version); it is ignored by readers that can go on without it.
    #[error("{what}: {message}")]
    Malformed { what: String, message: String },

    /// A log entry failed to open or to apply: the node stops applying (the contract's
    /// `CORRUPT`).
    #[error("CORRUPT log entry {position}: {message}")]
    Corrupt { position: u64, message: String },

    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the request certainly took no effect (so it may be sent again).
    pub fn took_no_effect(&self) -> bool {
        matches!(self, Error::NotSent(_) | Error::Refused(_))
    }

    /// Builds an [`Error::Io`] naming what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
