//! The write vocabulary: what a writer asks for ([`Op`], by whom: [`Write`]), what it gets
//! back ([`Outcome`]), and when it is told ([`Durability`]).

use crate::model::{
    CustomerPatch, CustomerUpsert, NewCustomer, NewOrder, NewProduct, ProductPatch, User,
};
pub use crate::shared::Durability;

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
    /// `CUSTOMER.UPSERT`: creates or updates the customer with the email (or, with `dry_run`,
    /// only says which).
    UpsertCustomer(CustomerUpsert),
    /// `CUSTOMER.MERGE`: `other`'s orders move to `keep` and `other` goes, kept 30 days for
    /// `UNMERGE`; `at` is the server's merge clock.
    MergeCustomers {
        keep: u64,
        other: u64,
        at: i64,
    },
    /// `CUSTOMER.UNMERGE`: undoes the kept merge of `other`, if still kept at `now`.
    UnmergeCustomer {
        other: u64,
        now: i64,
    },
    /// Drops the merges older than 30 days at `now` (not journaled: it changes no record).
    PurgeMerges {
        now: i64,
    },
    /// `SCHEMA.FIELD.ADD`.
    DeclareField(crate::schema::FieldDeclaration),
    /// `SCHEMA.FIELD.DROP`: the field leaves the catalog's declared fields; its values are
    /// swept in the background.
    DropField {
        kind: crate::error::Kind,
        name: String,
    },
    /// Takes the dropped custom fields' values out of these records (`sweep.rs`).
    SweepFields {
        kind: crate::error::Kind,
        ids: Vec<u64>,
    },
    /// Ends the sweep of a dropped field: it leaves the catalog.
    FinishSweep {
        field: u32,
    },
    /// `SCHEMA.FIELD.INDEX`.
    IndexField {
        kind: crate::error::Kind,
        name: String,
        on: bool,
    },
}

impl Op {
    /// The operation as written by `author` (`None`: the server itself).
    pub fn by(self, author: Option<String>) -> Write {
        Write { op: self, author }
    }

    /// Whether the write may index a custom field: its index is then built after the write
    /// (`Store::build_indexes`), outside the write group.
    pub fn starts_index(&self) -> bool {
        match self {
            Op::DeclareField(declaration) => declaration.indexed,
            Op::IndexField { on, .. } => *on,
            _ => false,
        }
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The id of the record added.
    Id(u64),
    /// The change was made.
    Done,
    /// Nothing needed doing (a bootstrap on a store that has users).
    Skipped,
    /// Journaled with this entry number (reveals, exports: the caller reads up to it).
    Journaled(u64),
    /// What an upsert did (or, dry, would do) to customer `id` (0: one a dry run would create).
    Upserted {
        id: u64,
        kind: UpsertKind,
        /// The names of the customer's fields the upsert gave (created) or changed
        /// (updated), custom ones after the built-in ones (and `id` if given).
        fields: Vec<String>,
    },
}

/// An upsert's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertKind {
    Created,
    Updated,
    Unchanged,
}

impl UpsertKind {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            UpsertKind::Created => "created",
            UpsertKind::Updated => "updated",
            UpsertKind::Unchanged => "unchanged",
        }
    }
}

impl Outcome {
    /// The id of an add (0 for other outcomes).
    pub fn id(&self) -> u64 {
        match *self {
            Outcome::Id(id) | Outcome::Upserted { id, .. } => id,
            _ => 0,
        }
    }
}
