//! The engine's one error type.
//!
//! Every variant renders as the sentence that follows the error code on the wire
//! (`PROTOCOL.md`, "Errors"), so the server only has to pick the code with [`Error::code`].

use std::fmt;

/// The kind of record an error talks about, as it is named in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    Customer,
    Product,
    Order,
    User,
    Backup,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Customer => "customer",
            Kind::Product => "product",
            Kind::Order => "order",
            Kind::User => "user",
            Kind::Backup => "backup",
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
        field: &'static str,
        message: String,
    },

    /// The record does not exist.
    #[error("{kind} {id}")]
    NotFound { kind: Kind, id: String },

    /// A unique value or an explicit id is already taken.
    #[error("{0}")]
    Conflict(String),

    /// A reference is missing or still in use.
    #[error("{0}")]
    ForeignKey(String),

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

    /// A file could not be read or written.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),

    /// A CSV file could not be read.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
}

impl Error {
    /// The protocol error code this error is answered with.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "INVALID",
            Error::NotFound { .. } => "NOTFOUND",
            Error::Conflict(_) => "CONFLICT",
            Error::ForeignKey(_) => "FKEY",
            Error::Stock { .. } => "STOCK",
            Error::Corrupt(_) | Error::WrongKey => "CORRUPT",
            Error::Busy(_) | Error::Cancelled => "BUSY",
            Error::Refused(_)
            | Error::Key(_)
            | Error::Storage(_)
            | Error::Halted { .. }
            | Error::Io(_)
            | Error::Csv(_) => "ERR",
        }
    }

    /// Shorthand for a validation error.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
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

impl From<sled::Error> for Error {
    fn from(error: sled::Error) -> Self {
        match error {
            sled::Error::Corruption { .. } => Error::Corrupt(format!("storage: {error}")),
            other => Error::Storage(other.to_string()),
        }
    }
}

/// The error of a write submitted while the store closes.
pub(crate) fn shutting_down() -> Error {
    Error::Busy("the store is shutting down".into())
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
