//! Reading the journal: `AUDIT.LOG` (filtered, through the record index when an id is given),
//! the change feed's ranges, and `AUDIT.VERIFY`'s walk of the whole chain.

use super::page::{page_key, Page};
use super::{Entry, Head};
use crate::error::{Error, Kind, Result};
use crate::store::Store;
use crate::trees::{trailing_id, Space};

/// The filters and page of `AUDIT.LOG`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// Only entries after this number.
    pub after: u64,
    /// Only entries written by this user.
    pub user: Option<String>,
    /// Only entries of this kind.
    pub kind: Option<Kind>,
    /// Only entries about this record id (of `kind`, or of any kind with ids).
    pub id: Option<u64>,
    pub limit: usize,
}

/// What `AUDIT.VERIFY` checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalSummary {
    /// Entries in the chain.
    pub entries: u64,
    /// Entries about a record (each has one index entry).
    pub about_records: u64,
}

/// A range of the change feed: entry numbers from `first` to `last`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedRange {
    pub first: u64,
    pub last: u64,
    pub count: usize,
    /// Newest first (`XREVRANGE`).
    pub reverse: bool,
}

fn corrupt(seq: u64, what: &str) -> Error {
    Error::Corrupt(format!("journal entry {seq}: {what}"))
}

impl Store {
    fn open_page(&self, key: &[u8], sealed: &[u8]) -> Result<Page> {
        let first = trailing_id(key).unwrap_or(0);
        super::page::open(
            &self.shared.codec,
            key,
            sealed,
            Some(self.shared.journal.chain_key()),
        )
        .map_err(|_| corrupt(first, "its page failed its integrity check"))
    }

    /// The key of the page holding entry `seq` (or where it would start).
    fn page_start(&self, seq: u64) -> Result<Vec<u8>> {
        Ok(
            match self
                .shared
                .tree
                .range(page_key(0)..=page_key(seq))
                .next_back()
            {
                Some(entry) => entry?.0.to_vec(),
                None => page_key(seq).to_vec(),
            },
        )
    }

    /// Calls `visit` with every entry numbered `first..=last` in order, until it returns
    /// `false`; one page in memory at a time.
    fn walk_forward(
        &self,
        first: u64,
        last: u64,
        mut visit: impl FnMut(&Entry) -> bool,
    ) -> Result<()> {
        if first > last {
            return Ok(());
        }
        let start = self.page_start(first)?;
        for item in self.shared.tree.range(start..=page_key(last).to_vec()) {
            let (key, sealed) = item?;
            self.check_cancelled()?;
            for entry in self.open_page(&key, &sealed)?.entries {
                if entry.seq < first {
                    continue;
                }
                if entry.seq > last || !visit(&entry) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The last durable entry's number and hash: what `AUDIT.HEAD` reports.
    pub fn journal_head(&self) -> Head {
        self.shared.journal.durable().head()
    }

    /// How many entries the change feed carries (durable ones).
    pub fn feed_len(&self) -> u64 {
        self.shared.journal.durable().feed_count
    }

    /// Waits on this to learn that more entries became durable.
    pub fn journal_watch(&self) -> tokio::sync::watch::Receiver<super::state::Tail> {
        self.shared.journal.subscribe()
    }

    /// `AUDIT.LOG`: durable entries after `filter.after` matching every filter, ascending.
    pub fn journal(&self, filter: &JournalFilter) -> Result<Vec<Entry>> {
        let last = self.journal_head().seq;
        let mut found = Vec::new();
        let keep = |entry: &Entry| {
            filter
                .user
                .as_ref()
                .is_none_or(|u| entry.user.as_ref() == Some(u))
                && filter.kind.is_none_or(|k| entry.kind == k)
                && filter.id.is_none_or(|id| entry.id == Some(id))
        };
        if let Some(id) = filter.id {
            // Few entries are about one record: read them through the index.
            let kinds = match filter.kind {
                Some(kind) => vec![kind],
                None => vec![Kind::Customer, Kind::Product, Kind::Order],
            };
            let mut seqs = Vec::new();
            {
                let index = self.shared.indexes.journal.read();
                for kind in kinds {
                    // Nothing is after the largest number.
                    if let Some(first) = filter.after.checked_add(1) {
                        seqs.extend(index.seqs(kind, id, first..=last));
                    }
                }
            }
            seqs.sort_unstable();
            let mut cached: Option<Page> = None;
            for seq in seqs {
                if found.len() >= filter.limit {
                    break;
                }
                let holds = |page: &Page| {
                    page.entries.first().is_some_and(|e| e.seq <= seq)
                        && page.entries.last().is_some_and(|e| e.seq >= seq)
                };
                if !cached.as_ref().is_some_and(holds) {
                    let key = self.page_start(seq)?;
                    let sealed = self
                        .shared
                        .tree
                        .get(&key)?
                        .ok_or_else(|| corrupt(seq, "indexed but missing"))?;
                    cached = Some(self.open_page(&key, &sealed)?);
                }
                let entry = cached
                    .as_ref()
                    .and_then(|page| page.entries.iter().find(|e| e.seq == seq))
                    .ok_or_else(|| corrupt(seq, "indexed but missing"))?;
                if keep(entry) {
                    found.push(entry.clone());
                }
            }
            return Ok(found);
        }
        let first = filter.after.saturating_add(1);
        self.walk_forward(first, last, |entry| {
            if keep(entry) {
                found.push(entry.clone());
            }
            found.len() < filter.limit
        })?;
        Ok(found)
    }

    /// [`Store::feed`] answered from the last pages in memory, without I/O or decryption,
    /// when they hold the whole forward range (`None`: ask [`Store::feed`]). What a woken
    /// `XREAD` asks.
    pub fn feed_recent(&self, range: &FeedRange) -> Option<Vec<Entry>> {
        if range.reverse {
            return None;
        }
        let last = range.last.min(self.journal_head().seq);
        if range.count == 0 || range.first > last {
            return Some(Vec::new());
        }
        let pages = self.shared.journal.recent_from(range.first)?;
        let mut found = Vec::new();
        for entry in pages.iter().flat_map(|page| page.entries.iter()) {
            if entry.seq < range.first || !entry.in_feed() {
                continue;
            }
            if entry.seq > last || found.len() >= range.count {
                break;
            }
            found.push(entry.clone());
        }
        Some(found)
    }

    /// How many entries of the change feed are numbered `first..=last` (durable ones), from
    /// the counts each page keeps of the feed before it: at most two pages are opened, so a
    /// reply over the whole feed can state its length before it is produced in pieces.
    pub fn feed_count(&self, first: u64, last: u64) -> Result<u64> {
        let last = last.min(self.journal_head().seq);
        if first > last {
            return Ok(0);
        }
        let through_last = self.feed_through(last)?;
        let before_first = match first.checked_sub(1) {
            Some(0) | None => 0,
            Some(seq) => self.feed_through(seq)?,
        };
        Ok(through_last.saturating_sub(before_first))
    }

    /// The number of feed entries numbered `seq` or less (`seq` at most the durable head).
    fn feed_through(&self, seq: u64) -> Result<u64> {
        if seq >= self.journal_head().seq {
            return Ok(self.feed_len());
        }
        let Some(item) = self
            .shared
            .tree
            .range(page_key(0)..=page_key(seq))
            .next_back()
        else {
            return Ok(0);
        };
        let (key, sealed) = item?;
        let page = self.open_page(&key, &sealed)?;
        let within = page
            .entries
            .iter()
            .filter(|entry| entry.seq <= seq && entry.in_feed())
            .count() as u64;
        Ok(page.feed_before + within)
    }

    /// The change feed's entries in `range` (durable ones), oldest or newest first.
    pub fn feed(&self, range: &FeedRange) -> Result<Vec<Entry>> {
        let last = range.last.min(self.journal_head().seq);
        let mut found = Vec::new();
        if range.count == 0 || range.first > last {
            return Ok(found);
        }
        if !range.reverse {
            self.walk_forward(range.first, last, |entry| {
                if entry.in_feed() {
                    found.push(entry.clone());
                }
                found.len() < range.count
            })?;
            return Ok(found);
        }
        let end = page_key(last).to_vec();
        for item in self.shared.tree.range(page_key(0).to_vec()..=end).rev() {
            let (key, sealed) = item?;
            let page = self.open_page(&key, &sealed)?;
            for entry in page.entries.into_iter().rev() {
                if entry.seq > last || !entry.in_feed() {
                    continue;
                }
                if entry.seq < range.first {
                    return Ok(found);
                }
                found.push(entry);
                if found.len() >= range.count {
                    return Ok(found);
                }
            }
        }
        Ok(found)
    }

    /// `AUDIT.VERIFY`: walks every page in order, one at a time, and checks the numbering, the
    /// hash chain and the feed counts; the error names the first bad entry. Returns what it
    /// checked.
    pub fn verify_journal(&self) -> Result<JournalSummary> {
        let key = self.shared.journal.chain_key();
        let mut expected = 1u64;
        let mut previous = [0u8; 32];
        let mut feed = 0u64;
        let mut about_records = 0u64;
        for item in self.shared.tree.scan_prefix(Space::JournalPage.prefix()) {
            self.check_cancelled()?;
            let (page_key, sealed) = item?;
            let first = trailing_id(&page_key).unwrap_or(0);
            if first > expected {
                return Err(corrupt(
                    expected,
                    &format!("missing (entry {first} found in its place)"),
                ));
            }
            let page = self.open_page(&page_key, &sealed)?;
            if page.chained_from.is_some_and(|from| from != previous) {
                return Err(corrupt(first, "its hash does not match the chain"));
            }
            if page.feed_before != feed {
                return Err(corrupt(
                    first,
                    "the change feed count before it does not add up",
                ));
            }
            for entry in &page.entries {
                if entry.seq != expected {
                    let found = format!("entry {} found in its place", entry.seq);
                    return Err(if entry.seq > expected {
                        corrupt(expected, &format!("missing or out of order ({found})"))
                    } else {
                        corrupt(expected, &format!("out of order ({found})"))
                    });
                }
                if key.link(&previous, entry) != entry.hash || page.broken_at == Some(entry.seq) {
                    return Err(corrupt(expected, "its hash does not match the chain"));
                }
                previous = entry.hash;
                if entry.in_feed() {
                    feed += 1;
                }
                if entry.id.is_some() {
                    about_records += 1;
                }
                expected += 1;
            }
        }
        let head = self.shared.journal.applied_tail();
        if expected != head.next_seq {
            return Err(corrupt(expected, "missing (the journal ends early)"));
        }
        Ok(JournalSummary {
            entries: expected - 1,
            about_records,
        })
    }
}

impl Store {
    /// Rewrites the journal's pages on disk with `edit` applied to each page's entries,
    /// re-sealed under the store's keys — what only someone holding the keys could do — so that
    /// tests can drop, swap or change entries and see `AUDIT.VERIFY` name the first bad one.
    /// Not for use outside tests: it bypasses the committer.
    #[doc(hidden)]
    pub fn edit_journal_pages_for_tests(
        &self,
        mut edit: impl FnMut(u64, &mut Vec<Entry>),
    ) -> Result<()> {
        let pages: Vec<(crate::storage::Bytes, crate::storage::Bytes)> = self
            .shared
            .tree
            .scan_prefix(Space::JournalPage.prefix())
            .collect::<std::result::Result<_, _>>()?;
        let mut batch = crate::storage::Batch::default();
        for (key, sealed) in pages {
            let mut page = self.open_page(&key, &sealed)?;
            edit(trailing_id(&key).unwrap_or(0), &mut page.entries);
            if page.entries.is_empty() {
                batch.remove(key);
            } else {
                let plain = super::page::encode(&page)?;
                batch.insert(key.clone(), self.shared.codec.seal_encoded(&key, &plain));
            }
        }
        self.shared.tree.apply_batch(batch)?;
        Ok(())
    }
}
