//! The engine's one error type.
//!
//! Every variant renders as the sentence that follows the error code on the wire
//! (`PROTOCOL.md`, "Errors"); the engine only says which [`ErrorKind`] an error is, and the
//! server's reply layer spells that kind as a wire code.

use std::fmt;

/// Quotes a value for an error message, shortening very long ones so a message stays one line.
pub fn quote(value: &str) -> String {
    const SHOWN: usize = 80;
    if value.chars().count() > SHOWN {
        let head: String = value.chars().take(SHOWN).collect();
        format!("{:?}...", head)
    } else {
        format!("{:?}", value)
    }
}

/// The kind of record an error talks about, as it is named in messages.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Kind {
    Customer,
    Product,
    Order,
    User,
    Backup,
    /// The custom fields' declarations (`SCHEMA.FIELD.*`), in the journal.
    Schema,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Customer => "customer",
            Kind::Product => "product",
            Kind::Order => "order",
            Kind::User => "user",
            Kind::Backup => "backup",
            Kind::Schema => "schema",
        })
    }
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value failed validation; the message names the field and the value.
    #[error("{field}: {message}")]
    Invalid {
        /// A built-in field's name, or a custom field's (declared at run time).
        field: std::borrow::Cow<'static, str>,
        message: String,
    },

    /// The record does not exist.
    #[error("{kind} {id}")]
    NotFound { kind: Kind, id: String },

    /// A unique value or an explicit id is already taken.
    #[error("{0}")]
    Conflict(String),

    /// The email belongs to another customer (`given`: the id an upsert named instead).
    #[error(
        "email {} belongs to customer {owner}{}",
        quote(email),
        given.map(|given| format!(", not {given}")).unwrap_or_default()
    )]
    EmailTaken {
        email: String,
        owner: u64,
        given: Option<u64>,
    },

    /// A record refers to one that does not exist.
    #[error("{kind} {id} does not exist")]
    MissingReference { kind: Kind, id: u64 },

    /// A record cannot be deleted while orders still refer to it.
    #[error("{kind} {id} has {orders} order{}", if *orders == 1 { "" } else { "s" })]
    StillOrdered { kind: Kind, id: u64, orders: u64 },

    /// An order asked for more units than the product has.
    #[error("product {product_id} has {available} in stock, {requested} requested")]
    Stock {
        product_id: u64,
        available: u64,
        requested: u64,
    },

    /// Stored data or a backup failed its integrity check.
    #[error("{0}")]
    Corrupt(String),

    /// The key given does not open this store.
    #[error("the key does not open this store (key check failed): wrong key file or passphrase")]
    WrongKey,

    /// A rule of the store's state refused the operation (deleting the last admin, ...).
    #[error("{0}")]
    Refused(String),

    /// The store is shutting down or a backup is already running.
    #[error("{0}")]
    Busy(String),

    /// The key material could not be read or made.
    #[error("key: {0}")]
    Key(String),

    /// The storage layer failed (disk full, read-only folder, ...). Kept as text so one
    /// failure can be reported to every writer of a write group.
    #[error("storage: {0}")]
    Storage(String),

    /// A flush (or a batch) failed earlier: whether that group reached the disk is unknown, so
    /// the store refuses everything until it is reopened (as redb's `PreviousIo`).
    #[error("storage: the store stopped after a failed write to disk ({cause}); free the disk and restart the server")]
    Halted { cause: String },

    /// The request was given up: its client went away, or the server is stopping.
    #[error("the request was cancelled: its client went away or the server is stopping")]
    Cancelled,

    /// A write sent to a cluster follower, or to a node that has just lost the leadership:
    /// nothing was written.
    #[error("You can't write against a read only replica.")]
    ReadOnly,

    /// A write on a cluster node without a quorum of etcd or a leader, or whose append etcd
    /// refused: nothing was written. The reason is for the node's log, not the client.
    #[error("The cluster is down")]
    ClusterDown(String),

    /// A write whose append was sent but whose outcome could not be learned: it may or may
    /// not be in the log.
    #[error("the outcome of this write is unknown: read it back before retrying")]
    TryAgain,

    /// A joining cluster node is still copying its snapshot or catching up.
    #[error("the node is copying a snapshot")]
    Loading,

    /// A file could not be read or written.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),

    /// A CSV file could not be read.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
}

/// What sort of failure an error is: what a caller decides on (retry, fix the input, give up),
/// without parsing the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The input was wrong; the message names the field and the value.
    Invalid,
    /// The record does not exist.
    NotFound,
    /// A unique value or an explicit id is taken.
    Conflict,
    /// A reference is missing or still in use.
    ForeignKey,
    /// Not enough stock.
    Stock,
    /// Stored data, a backup or the key failed an integrity check.
    Corrupt,
    /// Try again later: shutting down, a backup running, a request given up.
    Busy,
    /// A write on a cluster follower (`READONLY`).
    ReadOnly,
    /// A write while the cluster has no quorum or leader (`CLUSTERDOWN`).
    ClusterDown,
    /// A write whose outcome is unknown (`TRYAGAIN`).
    TryAgain,
    /// A joining cluster node (`LOADING`).
    Loading,
    /// Anything else: refused by a rule of the store, storage or file failures.
    Failed,
}

impl Error {
    /// The sort of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Conflict(_) | Error::EmailTaken { .. } => ErrorKind::Conflict,
            Error::MissingReference { .. } | Error::StillOrdered { .. } => ErrorKind::ForeignKey,
            Error::Stock { .. } => ErrorKind::Stock,
            Error::Corrupt(_) | Error::WrongKey => ErrorKind::Corrupt,
            Error::Busy(_) | Error::Cancelled => ErrorKind::Busy,
            Error::ReadOnly => ErrorKind::ReadOnly,
            Error::ClusterDown(_) => ErrorKind::ClusterDown,
            Error::TryAgain => ErrorKind::TryAgain,
            Error::Loading => ErrorKind::Loading,
            Error::Refused(_)
            | Error::Key(_)
            | Error::Storage(_)
            | Error::Halted { .. }
            | Error::Io(_)
            | Error::Csv(_) => ErrorKind::Failed,
        }
    }

    /// Shorthand for a validation error.
    pub fn invalid(
        field: impl Into<std::borrow::Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for a missing record.
    pub fn not_found(kind: Kind, id: impl fmt::Display) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

/// The error of a write submitted while the store closes.
pub(crate) fn shutting_down() -> Error {
    Error::Busy("the store is shutting down".into())
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
