//! The journal: a tamper-evident record of every write, written in the write's own atomic step,
//! that doubles as the change feed.
//!
//! # What is written, and why it is atomic
//!
//! Every operation a write group applies produces one entry ([`Draft`]: operation, kind, record
//! id or name, and the *names* of the fields it set — never their values). The committer numbers
//! the group's entries after the last one, chains them (below), and stores them as **one sealed
//! page** — one sled entry per group, keyed by the first entry's number — in the same
//! `apply_batch` as the records they describe, plus one plain index entry per record entry
//! (`j ‖ kind ‖ id ‖ seq`, for `AUDIT.LOG ID`). sled applies a batch atomically, so a write and
//! its entry are on disk together or not at all; a refused operation stages nothing and so gets
//! no entry and uses no number; numbers advance only when the batch succeeds, so they have no
//! gaps. In `sync` durability the flusher acknowledges a group only after its fsync, entry
//! included.
//!
//! # The chain
//!
//! `hash(n) = BLAKE3-keyed(journal key, hash(n−1) ‖ encoding of entry n without its hash)`,
//! with 32 zero bytes before entry 1. The journal key is random, made with the store, and
//! wrapped by the master key like the data key (`m‖journal_key`), so `rekey` changes no hash and
//! nobody without the key can rebuild the chain after removing, reordering, changing or
//! inserting an entry. Pages are sealed like records, so their content is also unreadable and
//! unforgeable without the data key; `AUDIT.VERIFY` walks every page in order, in constant
//! memory, and names the first entry that breaks the chain.
//!
//! # What readers see
//!
//! Entries become visible to `AUDIT.*` and the change feed only once durable: the flusher raises
//! a watermark after each fsync (in `periodic` durability, after each periodic flush), and
//! blocked `XREAD`s wait on it.

mod chain;
pub(crate) mod page;
mod read;
mod state;

pub(crate) use chain::JournalKey;
pub use read::{FeedRange, JournalFilter, JournalSummary};
pub(crate) use state::{JournalState, StagedPage, Tail};

use crate::error::Kind;
use serde::{Deserialize, Serialize};

/// What an entry says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JournalOp {
    Add,
    Update,
    Delete,
    Reveal,
    Export,
    Forget,
    Merge,
    Unmerge,
}

impl JournalOp {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            JournalOp::Add => "add",
            JournalOp::Update => "update",
            JournalOp::Delete => "delete",
            JournalOp::Reveal => "reveal",
            JournalOp::Export => "export",
            JournalOp::Forget => "forget",
            JournalOp::Merge => "merge",
            JournalOp::Unmerge => "unmerge",
        }
    }

    /// Whether the change feed carries entries of this operation (reveals and exports change
    /// nothing a follower mirrors).
    pub fn in_feed(self) -> bool {
        !matches!(self, JournalOp::Reveal | JournalOp::Export)
    }
}

/// Whether the change feed carries entries of a kind: the data, not users or backups.
pub fn kind_in_feed(kind: Kind) -> bool {
    matches!(kind, Kind::Customer | Kind::Product | Kind::Order)
}

/// What one operation tells the journal, before it is numbered and chained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub op: JournalOp,
    pub kind: Kind,
    /// The record's id (`None` for users and backups).
    pub id: Option<u64>,
    /// The user's or backup's name (`None` for records).
    pub name: Option<String>,
    /// The names of the fields, in the record's JSON key order.
    pub fields: Vec<String>,
}

impl Draft {
    /// An entry about a record.
    pub fn record(op: JournalOp, kind: Kind, id: u64, fields: Vec<&str>) -> Draft {
        Draft {
            op,
            kind,
            id: Some(id),
            name: None,
            fields: fields.into_iter().map(str::to_string).collect(),
        }
    }

    /// An entry about a user or a backup.
    pub fn named(op: JournalOp, kind: Kind, name: &str, fields: Vec<&str>) -> Draft {
        Draft {
            op,
            kind,
            id: None,
            name: Some(name.to_string()),
            fields: fields.into_iter().map(str::to_string).collect(),
        }
    }
}

/// One journal entry, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    /// Seconds since the Unix epoch, UTC.
    pub at: i64,
    /// Who wrote it; `None` for the server's own writes.
    pub user: Option<String>,
    pub op: JournalOp,
    pub kind: Kind,
    pub id: Option<u64>,
    pub name: Option<String>,
    pub fields: Vec<String>,
    pub hash: [u8; 32],
}

impl Entry {
    /// Whether the change feed carries this entry.
    pub fn in_feed(&self) -> bool {
        kind_in_feed(self.kind) && self.op.in_feed()
    }

    /// The hash as 64 lower-case hex digits.
    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }

    /// The entry's JSON object, keys in the contract's order.
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        object.insert("seq".into(), self.seq.into());
        object.insert("at".into(), crate::values::format_timestamp(self.at).into());
        object.insert("user".into(), self.user.clone().into());
        object.insert("op".into(), self.op.as_str().into());
        object.insert("kind".into(), self.kind.to_string().into());
        object.insert("id".into(), self.id.into());
        object.insert("name".into(), self.name.clone().into());
        object.insert("fields".into(), self.fields.clone().into());
        object.insert("hash".into(), self.hash_hex().into());
        serde_json::Value::Object(object)
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The last entry's number and hash (0 and zeros for an empty journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    pub seq: u64,
    pub hash: [u8; 32],
}
