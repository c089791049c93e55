//! The storage boundary: the one module that knows the engine runs on sled.
//!
//! Everything the engine asks of its store is here: ordered byte keys in named trees, point
//! reads, prefix and range scans in both directions, one atomic batch of inserts and removes,
//! and a flush that makes everything applied so far durable. Nothing else of sled is used
//! (no transactions, merge operators or subscribers), so another ordered KV with an atomic
//! batch and a durable flush can be put under the engine by rewriting this file alone.
//!
//! Values come back as [`Bytes`], which the rest of the engine uses only as `&[u8]` (deref,
//! `to_vec`, comparison), never by its sled type.
//!
//! # Pages
//!
//! The engine reads and writes one order at `o ‖ id`; this module stores up to 32 of them in
//! one sled entry, a page (`pages.rs` says why and how). A batch's order writes become one
//! read-modify-write per page they touch, inside the same sled batch, so a page changes with
//! the rest of its batch or not at all; a lock makes the batches of one store take turns at
//! it (the committer is the only writer while the store is open, but the upgrade, the erasure
//! of keys and the tests write too), so no page is rewritten from a stale copy. Reads and
//! walks open pages on the way and yield the orders in them, as if each had its entry.

use crate::error::{Error, Result};
use crate::pages;
use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The store's space/speed trade-off, exposed for tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageMode {
    LowSpace,
    HighThroughput,
}

/// An owned byte string read from the store, used as `&[u8]`.
pub(crate) type Bytes = sled::IVec;

/// How long opening waits for the data folder's lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How a store folder is opened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    /// The page cache budget; `None` for the store's default.
    pub cache_bytes: Option<u64>,
    pub mode: StorageMode,
    /// Background flush interval; `None` for none (the engine flushes itself).
    pub flush_every_ms: Option<u64>,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            cache_bytes: None,
            mode: StorageMode::LowSpace,
            flush_every_ms: Some(500),
        }
    }
}

/// A store folder.
#[derive(Clone)]
pub(crate) struct Db {
    inner: sled::Db,
    /// Taken by every batch of the store's trees while it rewrites pages (see above).
    pages: Arc<Mutex<()>>,
}

/// One ordered map of byte keys in a store.
#[derive(Clone)]
pub(crate) struct Tree {
    inner: sled::Tree,
    pages: Arc<Mutex<()>>,
}

/// Inserts and removes applied to a tree all at once or not at all; a later write to a key
/// replaces an earlier one.
#[derive(Default)]
pub(crate) struct Batch {
    writes: Vec<(Bytes, Option<Bytes>)>,
}

/// One entry of a walk.
type Entry = Result<(Bytes, Bytes)>;

/// An ordered walk over a tree's entries (forwards, or backwards with `rev`).
pub(crate) struct Iter {
    inner: Box<dyn DoubleEndedIterator<Item = Entry> + Send>,
}

impl Db {
    /// Opens (or creates) the store in `path`, waiting up to [`LOCK_WAIT`] for the folder's
    /// lock: a store closed a moment ago in this process may still be releasing it (sled's
    /// threads end after the last handle is dropped). A folder held longer is in use by
    /// another process: `BUSY`.
    pub fn open(path: &Path, tuning: &Tuning) -> Result<Db> {
        let mut config = sled::Config::new()
            .path(path)
            .mode(match tuning.mode {
                StorageMode::LowSpace => sled::Mode::LowSpace,
                StorageMode::HighThroughput => sled::Mode::HighThroughput,
            })
            .flush_every_ms(tuning.flush_every_ms);
        if let Some(bytes) = tuning.cache_bytes {
            config = config.cache_capacity(bytes);
        }
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match config.open() {
                Ok(inner) => return Ok(Db::wrap(inner)),
                Err(sled::Error::Io(io)) if is_lock_error(&io) => {
                    if std::time::Instant::now() >= deadline {
                        return Err(Error::Busy(format!(
                            "the data folder {} is in use by another process",
                            path.display()
                        )));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(other) => return Err(Error::from(other)),
            }
        }
    }

    /// A scratch store in `path`, deleted when the last handle is dropped.
    pub fn temporary(path: &Path, cache_bytes: u64) -> Result<Db> {
        let inner = sled::Config::new()
            .temporary(true)
            .path(path)
            .cache_capacity(cache_bytes)
            .open()?;
        Ok(Db::wrap(inner))
    }

    fn wrap(inner: sled::Db) -> Db {
        Db {
            inner,
            pages: Arc::default(),
        }
    }

    pub fn open_tree(&self, name: impl AsRef<[u8]>) -> Result<Tree> {
        Ok(Tree {
            inner: self.inner.open_tree(name)?,
            pages: self.pages.clone(),
        })
    }

    /// Makes everything applied so far durable; returns the bytes written.
    pub fn flush(&self) -> Result<usize> {
        Ok(self.inner.flush()?)
    }

    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner.size_on_disk()?)
    }
}

impl Tree {
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        let key = key.as_ref();
        let Some(id) = pages::packed_id(key) else {
            return Ok(self.inner.get(key)?);
        };
        let base = pages::base_of(id);
        if let Some(stored) = self.inner.get(pages::key_of(base))? {
            if stored.first() == Some(&pages::TAG) {
                return Ok(pages::find(base, &stored, id)?
                    .map(|range| stored.subslice(range.start, range.len())));
            }
            if id == base {
                return Ok(Some(stored));
            }
        }
        // No page yet: an order of an older layout has its own entry.
        if id == base {
            return Ok(None);
        }
        Ok(self.inner.get(key)?)
    }

    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.get(key)?.is_some())
    }

    /// One insert on its own (an atomic batch of one).
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl Into<Bytes>) -> Result<()> {
        let mut batch = Batch::default();
        batch.insert(key.as_ref(), value);
        self.apply_batch(batch)
    }

    /// Every entry whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let prefix = prefix.as_ref().to_vec();
        if !pages::may_hold_pages(&prefix) {
            // No page can be under this prefix.
            return Iter::physical(self.inner.scan_prefix(prefix));
        }
        let end = match successor(&prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        self.walk(Bound::Included(prefix), end)
    }

    /// Every entry whose key is in `range`, in key order.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        let owned = |bound: Bound<&K>| match bound {
            Bound::Included(key) => Bound::Included(key.as_ref().to_vec()),
            Bound::Excluded(key) => Bound::Excluded(key.as_ref().to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        self.walk(owned(range.start_bound()), owned(range.end_bound()))
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> Iter {
        Iter::expanded(self.inner.iter())
    }

    /// The entries from `start` to `end`, pages opened: sled walks from the page that holds
    /// `start`, and the orders of the first and last pages outside the bounds are left out.
    fn walk(&self, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> Iter {
        let physical_start = match &start {
            Bound::Included(key) | Bound::Excluded(key) => {
                Bound::Included(pages::page_bound(key).min(key.clone()))
            }
            Bound::Unbounded => Bound::Unbounded,
        };
        let entries = self
            .inner
            .range::<Vec<u8>, _>((physical_start, end.clone()));
        let inside = move |key: &[u8]| {
            let after_start = match &start {
                Bound::Included(s) => key >= s.as_slice(),
                Bound::Excluded(s) => key > s.as_slice(),
                Bound::Unbounded => true,
            };
            let before_end = match &end {
                Bound::Included(e) => key <= e.as_slice(),
                Bound::Excluded(e) => key < e.as_slice(),
                Bound::Unbounded => true,
            };
            after_start && before_end
        };
        Iter {
            inner: Box::new(
                Iter::expanded(entries)
                    .filter(move |entry| entry.as_ref().map_or(true, |(key, _)| inside(key))),
            ),
        }
    }

    /// Applies every insert and remove of `batch` atomically: after a crash, all or none.
    pub fn apply_batch(&self, batch: Batch) -> Result<()> {
        let _turn = self
            .pages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut physical = sled::Batch::default();
        let mut by_page: BTreeMap<u64, Vec<(u8, Option<Bytes>)>> = BTreeMap::new();
        for (key, value) in batch.writes {
            match pages::packed_id(&key) {
                Some(id) => by_page
                    .entry(pages::base_of(id))
                    .or_default()
                    .push((pages::slot_of(id), value)),
                None => match value {
                    Some(value) => physical.insert(key, value),
                    None => physical.remove(key),
                },
            }
        }
        for (base, writes) in by_page {
            self.rewrite_page(base, writes, &mut physical)?;
        }
        Ok(self.inner.apply_batch(physical)?)
    }

    /// Stages into `physical` the page at `base` with `writes` applied: the page as stored,
    /// plus any loose orders of an older layout in its range (folded in, their entries
    /// removed), plus the writes in order. An emptied page is removed.
    fn rewrite_page(
        &self,
        base: u64,
        writes: Vec<(u8, Option<Bytes>)>,
        physical: &mut sled::Batch,
    ) -> Result<()> {
        let page_key = pages::key_of(base);
        let mut orders: BTreeMap<u8, Bytes> = BTreeMap::new();
        let last = pages::key_of(base + (pages::SLOTS - 1));
        for entry in self.inner.range(page_key..=last) {
            let (key, value) = entry?;
            let Some(id) = pages::packed_id(&key) else {
                continue;
            };
            if pages::is_page(&key, &value) {
                for (id, range) in pages::entries(base, &value)? {
                    orders.insert(pages::slot_of(id), value.subslice(range.start, range.len()));
                }
            } else {
                orders.insert(pages::slot_of(id), value);
                if id != base {
                    physical.remove(key);
                }
            }
        }
        for (slot, value) in writes {
            match value {
                Some(value) => orders.insert(slot, value),
                None => orders.remove(&slot),
            };
        }
        if orders.is_empty() {
            physical.remove(&page_key[..]);
        } else {
            physical.insert(&page_key[..], pages::encode(&orders));
        }
        Ok(())
    }

    /// How many orders still have an entry of their own (written by a layout before pages).
    pub fn loose_orders(&self) -> Result<u64> {
        let mut loose = 0;
        for entry in self.inner.scan_prefix(pages::SPACE_PREFIX) {
            let (key, value) = entry?;
            if pages::packed_id(&key).is_some() && !pages::is_page(&key, &value) {
                loose += 1;
            }
        }
        Ok(loose)
    }

    /// Folds the pages of up to `limit` loose orders at or after the key `from` (the upgrade
    /// to layout 6); returns how many it named and the key to go on from (`None`: the end).
    pub fn pack_loose_orders(&self, from: &[u8], limit: usize) -> Result<(u64, Option<Bytes>)> {
        let mut batch = Batch::default();
        let mut folded = 0;
        let mut next = None;
        for entry in self.inner.range(from..) {
            let (key, value) = entry?;
            if !key.starts_with(&pages::SPACE_PREFIX) {
                break;
            }
            if pages::packed_id(&key).is_some() && !pages::is_page(&key, &value) {
                if folded as usize == limit {
                    next = Some(key);
                    break;
                }
                // Rewriting an order with its own value folds its whole page.
                batch.insert(key, value);
                folded += 1;
            }
        }
        if folded > 0 {
            self.apply_batch(batch)?;
        }
        Ok((folded, next))
    }
}

impl Batch {
    pub fn insert(&mut self, key: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.writes.push((key.into(), Some(value.into())));
    }

    pub fn remove(&mut self, key: impl Into<Bytes>) {
        self.writes.push((key.into(), None));
    }
}

/// The smallest key after every key that starts with `prefix` (`None`: there is none).
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// What one stored entry yields: itself, or the orders of a page.
enum Expanded {
    One(Option<Entry>),
    Page(std::vec::IntoIter<Entry>),
}

impl Expanded {
    fn of(entry: sled::Result<(sled::IVec, sled::IVec)>) -> Expanded {
        let (key, value) = match entry {
            Ok(pair) => pair,
            Err(error) => return Expanded::One(Some(Err(error.into()))),
        };
        let Some(base) = pages::packed_id(&key).filter(|_| pages::is_page(&key, &value)) else {
            return Expanded::One(Some(Ok((key, value))));
        };
        match pages::entries(base, &value) {
            Ok(orders) => Expanded::Page(
                orders
                    .into_iter()
                    .map(|(id, range)| {
                        Ok((
                            Bytes::from(&pages::key_of(id)[..]),
                            value.subslice(range.start, range.len()),
                        ))
                    })
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            Err(error) => Expanded::One(Some(Err(error))),
        }
    }
}

impl Iterator for Expanded {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        match self {
            Expanded::One(entry) => entry.take(),
            Expanded::Page(orders) => orders.next(),
        }
    }
}

impl DoubleEndedIterator for Expanded {
    fn next_back(&mut self) -> Option<Entry> {
        match self {
            Expanded::One(entry) => entry.take(),
            Expanded::Page(orders) => orders.next_back(),
        }
    }
}

impl Iter {
    /// The keys only.
    pub fn keys(self) -> impl DoubleEndedIterator<Item = Result<Bytes>> {
        self.map(|entry| entry.map(|(key, _)| key))
    }
}

impl Iter {
    /// A walk of entries that cannot be pages.
    fn physical(entries: sled::Iter) -> Iter {
        Iter {
            inner: Box::new(entries.map(|entry| entry.map_err(Error::from))),
        }
    }

    /// A walk that opens the pages it meets.
    fn expanded(entries: sled::Iter) -> Iter {
        Iter {
            inner: Box::new(entries.flat_map(Expanded::of)),
        }
    }
}

impl Iterator for Iter {
    type Item = Entry;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back()
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

/// Whether sled could not lock the folder (it reports the lock's `WouldBlock` inside an
/// `Other` error).
fn is_lock_error(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::WouldBlock
        || error.to_string().contains("could not acquire lock")
}

#[cfg(test)]
#[path = "storage_tests.rs"]
mod tests;
