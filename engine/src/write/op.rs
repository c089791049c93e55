//! The write vocabulary: what a writer asks for ([`Op`], by whom: [`Write`]), what it gets
//! back ([`Outcome`]), and when it is told ([`Durability`]).

use crate::model::{CustomerPatch, NewCustomer, NewOrder, NewProduct, ProductPatch, User};

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// After it is on disk (fsync), shared by every writer of the group.
    Sync,
    /// At once; the store is flushed every 100 ms, so a crash may lose the last 100 ms.
    Periodic,
}

impl Durability {
    /// The name `INFO` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Sync => "sync",
            Durability::Periodic => "periodic",
        }
    }
}

/// One write operation, validated, waiting for the committer.
#[derive(Debug, Clone)]
pub enum Op {
    AddCustomer(NewCustomer),
    UpdateCustomer(u64, CustomerPatch),
    DeleteCustomer(u64),
    AddProduct(NewProduct),
    UpdateProduct(u64, ProductPatch),
    DeleteProduct(u64),
    AddOrder(NewOrder),
    DeleteOrder(u64),
    AddUser(User),
    /// Adds this admin only if the store has no user at all (first start).
    BootstrapAdmin(User),
    SetPassword {
        name: String,
        password_hash: String,
    },
    SetMasked {
        name: String,
        masked: bool,
    },
    DeleteUser(String),
    /// Journals a backup that completed (it changes no record).
    RecordBackup {
        name: String,
    },
    /// `CUSTOMER.FORGET`: erases the person for good (see `keyring.rs`).
    ForgetCustomer(u64),
    /// A restore's re-erasure: idempotent, and records an id the store does not hold.
    ForgetRestored {
        id: u64,
        at: i64,
    },
    /// `CUSTOMER.REVEAL`: journals who saw the plain record.
    RevealCustomer(u64),
    /// `CUSTOMER.EXPORT`: journals the export.
    ExportCustomer(u64),
}

impl Op {
    /// The operation as written by `author` (`None`: the server itself).
    pub fn by(self, author: Option<String>) -> Write {
        Write { op: self, author }
    }
}

/// An operation and who asked for it (the journal records the author).
#[derive(Debug, Clone)]
pub struct Write {
    pub op: Op,
    /// The user name; `None` for the server's own writes (first admin, demo data).
    pub author: Option<String>,
}

impl From<Op> for Write {
    fn from(op: Op) -> Write {
        Write { op, author: None }
    }
}

/// What a successful write produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The id of the record added.
    Id(u64),
    /// The change was made.
    Done,
    /// Nothing needed doing (a bootstrap on a store that has users).
    Skipped,
    /// Journaled with this entry number (reveals, exports: the caller reads up to it).
    Journaled(u64),
}

impl Outcome {
    /// The id of an add (0 for other outcomes).
    pub fn id(self) -> u64 {
        match self {
            Outcome::Id(id) => id,
            _ => 0,
        }
    }
}
