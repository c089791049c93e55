//! How entries are stored: one sealed page per write group, and one plain index entry per
//! entry about a record.

use super::{kind_code, Entry};
use crate::error::Kind;
use crate::trees::Space;
use serde::{Deserialize, Serialize};

/// The entries of one write group, sealed under their page key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Page {
    /// How many change-feed entries came before this page (so `XLEN` is the last page's count
    /// plus its own).
    pub feed_before: u64,
    pub entries: Vec<Entry>,
}

impl Page {
    /// The change-feed entries up to and including this page.
    pub fn feed_through(&self) -> u64 {
        self.feed_before + self.entries.iter().filter(|e| e.in_feed()).count() as u64
    }
}

impl Page {
    /// The `j` index entries of this page's entries about records.
    pub fn index_keys(&self) -> Vec<Vec<u8>> {
        self.entries
            .iter()
            .filter_map(|entry| Some(index_key(entry.kind, entry.id?, entry.seq)))
            .collect()
    }
}

/// `J ‖ first seq`: the page of the group whose first entry is `first`.
pub(crate) fn page_key(first: u64) -> [u8; 9] {
    crate::trees::id_key(Space::JournalPage, first)
}

/// `j ‖ kind ‖ id ‖ seq`: entry `seq` is about record `id` of `kind`.
pub(crate) fn index_key(kind: Kind, id: u64, seq: u64) -> Vec<u8> {
    let mut key = index_prefix(kind, id);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The prefix every index entry of one record shares.
pub(crate) fn index_prefix(kind: Kind, id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(18);
    key.push(Space::JournalIndex as u8);
    key.push(kind_code(kind));
    key.extend_from_slice(&id.to_be_bytes());
    key
}
