//! The hash chain: each entry's hash covers the previous hash and the entry's content, under a
//! key only the store has.

use super::Entry;
use crate::keys::MasterKey;
use serde::Serialize;

/// The journal's chaining key: random, made with the store, wrapped by the master key.
pub(crate) struct JournalKey(MasterKey);

/// The content an entry's hash covers: every field but the hash itself.
#[derive(Serialize)]
struct Content<'a> {
    seq: u64,
    at: i64,
    user: &'a Option<String>,
    op: super::JournalOp,
    kind: crate::error::Kind,
    id: Option<u64>,
    name: &'a Option<String>,
    fields: &'a [String],
}

impl JournalKey {
    pub fn new(key: MasterKey) -> JournalKey {
        JournalKey(key)
    }

    /// The hash of `entry` (its own `hash` ignored) chained after `previous`.
    pub fn link(&self, previous: &[u8; 32], entry: &Entry) -> [u8; 32] {
        let content = Content {
            seq: entry.seq,
            at: entry.at,
            user: &entry.user,
            op: entry.op,
            kind: entry.kind,
            id: entry.id,
            name: &entry.name,
            fields: &entry.fields,
        };
        let mut hasher = blake3::Hasher::new_keyed(self.0.expose());
        hasher.update(previous);
        // Encoded straight into the hasher (the same bytes `codec::encode` makes): an entry's
        // content holds names of fields, never their values, so no copy needs wiping.
        let _ = bincode::serde::encode_into_std_write(
            &content,
            &mut hasher,
            bincode::config::standard(),
        );
        *hasher.finalize().as_bytes()
    }
}
