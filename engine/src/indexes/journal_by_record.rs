//! The journal's entries about each record: `AUDIT.LOG ID n` reads the few pages that hold
//! them instead of walking the journal.

use crate::error::Kind;
use crate::journal::page::Page;
use std::collections::HashMap;

/// (kind, id) → the numbers of the entries about that record, ascending: 8 bytes an entry.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct JournalByRecord {
    seqs: HashMap<(Kind, u64), Vec<u64>>,
    entries: u64,
}

impl JournalByRecord {
    /// The numbers of the entries about one record, ascending.
    pub fn seqs(&self, kind: Kind, id: u64) -> &[u64] {
        self.seqs.get(&(kind, id)).map_or(&[], Vec::as_slice)
    }

    /// How many entries about records it holds.
    pub fn len(&self) -> u64 {
        self.entries
    }

    /// Adds a group's page (entries are only ever added, in number order).
    pub fn apply(&mut self, page: &Page) {
        for (kind, id, seq) in page.about_records() {
            self.seqs.entry((kind, id)).or_default().push(seq);
            self.entries += 1;
        }
    }

    /// The index of these (kind, id, seq) entries, in any order.
    pub fn rebuild(mut entries: Vec<(Kind, u64, u64)>) -> JournalByRecord {
        entries.sort_unstable_by_key(|(_, _, seq)| *seq);
        let mut index = JournalByRecord::default();
        for (kind, id, seq) in entries {
            index.seqs.entry((kind, id)).or_default().push(seq);
            index.entries += 1;
        }
        index
    }
}
