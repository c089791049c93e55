//! The storage boundary: the one module that knows the engine runs on sled.
//!
//! One file: [`Db`] and [`Tree`] are the boundary's whole interface, and a tree's reads and
//! its batch must agree on the pages and the staging layers they both go through; what lies
//! below them has its own files (`durable.rs`, `redo.rs`, `staging.rs`, `merge.rs`, `iter.rs`,
//! and `sled_hang.rs`: a failed write must not leave every later flush of sled's hanging;
//! `unfinished_snapshot.rs`: a snapshot sled was killed writing must not block the open).
//!
//! Everything the engine asks of its store is here: ordered byte keys in named trees, point
//! reads, prefix and range scans in both directions, one atomic batch of inserts and removes,
//! a flush that makes everything applied so far durable, and a checkpoint. Of sled only
//! single-key reads, writes and walks are used (no batches, transactions, merge operators or
//! subscribers), so another ordered KV can be put under the engine by rewriting this module
//! alone.
//!
//! Values come back as [`Bytes`], which the rest of the engine uses only as `&[u8]` (deref,
//! `to_vec`, comparison), never by its sled type.
//!
//! # Pages
//!
//! The engine reads and writes one order at `o ‖ id`; this module stores up to 32 of them in
//! one sled entry, a page (`pages.rs` says why and how). A batch's order writes become one
//! read-modify-write per page they touch, inside the same batch, so a page changes with the
//! rest of its batch or not at all; a lock makes the batches of one store take turns at it (the committer is the only writer while the store is open, but the upgrade, the erasure
//! of keys and the tests write too), so no page is rewritten from a stale copy. Reads and
//! walks open pages on the way and yield the orders in them, as if each had its entry.
//!
//! # Durability
//!
//! A store folder's batches are appended to the redo log (`redo.rs` says why sled's own
//! flush is not enough), each with its number written into its tree under [`MARKER`], which
//! no read returns, and staged in memory (`staging.rs`), from where the applier thread writes
//! them into sled in large drains. [`Db::flush`] writes and `fdatasync`s the log;
//! [`Db::checkpoint`] writes everything staged into sled, syncs sled's files and drops the
//! log's older segments; [`Db::open`] replays the batches a crash kept from sled's files.
//! Scratch stores have neither log nor staging: their batches go to sled directly.

use crate::crash_points;
use crate::error::{Error, Result};
use crate::pages;

mod durable;
mod iter;
mod merge;
mod redo;
mod sled_hang;
mod staging;
mod unfinished_snapshot;

use durable::{logged_through, Durable, TreeLog};
pub(crate) use iter::Iter;
use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The store's space/speed trade-off, exposed for tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageMode {
    LowSpace,
    HighThroughput,
}

/// An owned byte string read from the store, used as `&[u8]`.
pub(crate) type Bytes = sled::IVec;

/// The key under which each tree keeps the number of the last logged batch it holds. No
/// engine key starts with 0xFF (key spaces are ASCII letters), and no read returns it.
const MARKER: &[u8] = &[0xFF, b'r', b'e', b'd', b'o'];

/// The redo log's folder inside a store folder.
const LOG_DIR: &str = "redo";

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
    /// Taken by every batch of the store's trees while it rewrites pages and logs the batch
    /// (see above): batches are logged in the order sled applies them.
    pages: Arc<Mutex<()>>,
    /// `None` for a scratch store.
    durable: Option<Arc<Durable>>,
}

/// One ordered map of byte keys in a store.
#[derive(Clone)]
pub(crate) struct Tree {
    inner: sled::Tree,
    /// The folder's sled store, kept forever after a failed write (`sled_hang.rs`).
    store: sled::Db,
    pages: Arc<Mutex<()>>,
    /// `None` in a scratch store.
    log: Option<(Arc<Durable>, Arc<TreeLog>)>,
}

/// Inserts and removes applied to a tree all at once or not at all; a later write to a key
/// replaces an earlier one.
#[derive(Default)]
pub(crate) struct Batch {
    writes: Vec<(Bytes, Option<Bytes>)>,
}

/// One entry of a walk.
type Entry = Result<(Bytes, Bytes)>;

/// A walk over stored entries (pages not opened), staged writes laid over sled's.
type Physical = Box<dyn DoubleEndedIterator<Item = merge::Stored> + Send>;

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
            unfinished_snapshot::remove_unfinished_snapshots(path)?;
            match config.open() {
                Ok(inner) => {
                    let durable = Arc::new(Durable::open(path, &inner)?);
                    Durable::start_applier(&durable)?;
                    return Ok(Db {
                        inner,
                        pages: durable.pages.clone(),
                        durable: Some(durable),
                    });
                }
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

    /// sled's files as they are, the redo log left alone: what a crash left before replay.
    #[cfg(test)]
    fn open_without_replay(path: &Path) -> Result<Db> {
        let inner = sled::Config::new().path(path).flush_every_ms(None).open()?;
        Ok(Db {
            inner,
            pages: Arc::default(),
            durable: None,
        })
    }

    /// A scratch store in `path`, deleted when the last handle is dropped.
    pub fn temporary(path: &Path, cache_bytes: u64) -> Result<Db> {
        let inner = sled::Config::new()
            .temporary(true)
            .path(path)
            .cache_capacity(cache_bytes)
            .open()?;
        Ok(Db {
            inner,
            pages: Arc::default(),
            durable: None,
        })
    }

    pub fn open_tree(&self, name: impl AsRef<[u8]>) -> Result<Tree> {
        let name = name.as_ref();
        let inner = self.inner.open_tree(name)?;
        let log = match &self.durable {
            None => None,
            Some(durable) => {
                let mut trees = lock(&durable.trees);
                let log = match trees.get(name) {
                    Some(log) => log.clone(),
                    None => {
                        let log = Arc::new(TreeLog {
                            name: name.to_vec(),
                            last: AtomicU64::new(logged_through(&inner)?),
                            staging: staging::Staging::new(inner.clone(), self.inner.clone()),
                        });
                        trees.insert(name.to_vec(), log.clone());
                        log
                    }
                };
                Some((durable.clone(), log))
            }
        };
        Ok(Tree {
            inner,
            store: self.inner.clone(),
            pages: self.pages.clone(),
            log,
        })
    }

    /// Makes every batch applied so far durable: one write and one `fdatasync` of the redo log
    /// (a scratch store: sled's flush).
    pub fn flush(&self) -> Result<()> {
        match &self.durable {
            Some(durable) => {
                durable.check()?;
                durable.log.sync()
            }
            None => sled_hang::flush(&self.inner, sled_hang::FLUSH_LIMIT),
        }
    }

    /// Moves everything into sled's own files, synced, and drops the redo log's older
    /// segments (see `redo.rs`).
    pub fn checkpoint(&self) -> Result<()> {
        let Some(durable) = &self.durable else {
            return self.flush();
        };
        let _turn = lock(&durable.checkpointing);
        let closed = durable.log.rotate()?;
        crash_points::reached("checkpoint.rotated");
        // Every batch in the closed segments was staged before it was logged: after the
        // drain, sled holds them all (and maybe later ones, which replay then skips).
        durable.drain_all()?;
        crash_points::reached("checkpoint.drained");
        sled_hang::flush(&self.inner, sled_hang::FLUSH_LIMIT)?;
        crash_points::reached("checkpoint.sled-flushed");
        durable.sled_files.sync()?;
        crash_points::reached("checkpoint.sled-synced");
        redo::retire(&durable.folder.join(LOG_DIR), &closed)
    }

    /// A checkpoint that also gives back the redo log's spare disk: for a store being closed
    /// (it opens again with an empty log).
    pub fn close(&self) -> Result<()> {
        self.checkpoint()?;
        match &self.durable {
            Some(durable) => durable.log.trim(),
            None => Ok(()),
        }
    }

    /// Whether the redo log has grown (or aged) enough for a checkpoint.
    pub fn checkpoint_due(&self) -> bool {
        self.durable
            .as_ref()
            .is_some_and(|durable| durable.log.due())
    }

    /// sled's files and the redo log's.
    pub fn size_on_disk(&self) -> Result<u64> {
        let log = self
            .durable
            .as_ref()
            .map_or(0, |durable| durable.log.bytes_on_disk());
        Ok(self.inner.size_on_disk()? + log)
    }
}

impl Tree {
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>> {
        let key = key.as_ref();
        if key == MARKER {
            return Ok(None);
        }
        let Some(id) = pages::packed_id(key) else {
            return self.stored(key);
        };
        let base = pages::base_of(id);
        if let Some(stored) = self.stored(&pages::key_of(base))? {
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
        self.stored(key)
    }

    /// The stored entry at `key` (a page, not the orders in it): staged, else sled's.
    fn stored(&self, key: &[u8]) -> Result<Option<Bytes>> {
        if let Some((_, log)) = &self.log {
            if let Some(staged) = log.staging.get(key) {
                return Ok(staged);
            }
        }
        Ok(self.inner.get(key)?)
    }

    /// The stored entries from `start` to `end` (pages not opened), staged writes laid over
    /// sled's.
    fn stored_range(&self, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> Physical {
        let staged = match &self.log {
            Some((_, log)) if !log.staging.is_empty() => log.staging.range(&start, &end),
            _ => Vec::new(),
        };
        let entries = self.inner.range::<Vec<u8>, _>((start, end));
        if staged.is_empty() {
            return Box::new(entries);
        }
        Box::new(merge::Merged::new(staged, entries))
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
        let end = match successor(&prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        if !pages::may_hold_pages(&prefix) {
            // No page can be under this prefix.
            return Iter::physical(self.stored_range(Bound::Included(prefix), end));
        }
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
        Iter::expanded(self.stored_range(Bound::Unbounded, Bound::Unbounded))
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
        let entries = self.stored_range(physical_start, end.clone());
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
        Iter::expanded(entries)
            .only(move |entry| entry.as_ref().map_or(true, |(key, _)| inside(key)))
    }

    /// Applies every insert and remove of `batch` atomically: readers see all of it or none
    /// (it is staged under one lock), and after a crash the store holds all of it or none (it
    /// is one record of the redo log). A scratch store gives neither: it is written key by key
    /// for one user at a time, and deleted when dropped.
    pub fn apply_batch(&self, batch: Batch) -> Result<()> {
        let _turn = self
            .pages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut physical: Vec<(Bytes, Option<Bytes>)> = Vec::with_capacity(batch.writes.len());
        let mut by_page: BTreeMap<u64, Vec<(u8, Option<Bytes>)>> = BTreeMap::new();
        for (key, value) in batch.writes {
            match pages::packed_id(&key) {
                Some(id) => by_page
                    .entry(pages::base_of(id))
                    .or_default()
                    .push((pages::slot_of(id), value)),
                None => physical.push((key, value)),
            }
        }
        for (base, writes) in by_page {
            self.rewrite_page(base, writes, &mut physical)?;
        }
        let Some((durable, log)) = &self.log else {
            // A scratch store: no crash to survive, and one user at a time.
            return write_in_order(&self.store, &self.inner, physical);
        };
        durable.check()?;
        let number = log.last.load(Ordering::Relaxed) + 1;
        physical.push((
            Bytes::from(MARKER),
            Some(Bytes::from(&number.to_be_bytes()[..])),
        ));
        let record = redo::encode(
            &log.name,
            number,
            physical
                .iter()
                .map(|(key, value)| (&key[..], value.as_deref())),
        )?;
        // Staged before it is logged: a checkpoint that closes the segment holding this batch
        // (`checkpoint`) drains it into sled before it deletes that segment.
        let pressure = log.staging.stage(physical);
        durable.log.append(&record);
        log.last.store(number, Ordering::Relaxed);
        match pressure {
            staging::Pressure::Low => Ok(()),
            staging::Pressure::Drain => {
                durable.wake();
                Ok(())
            }
            // Back-pressure: this writer (and, through the lock it holds, every other) waits
            // for the staged batches to reach sled.
            staging::Pressure::Stall => {
                log.staging.wait_frozen()?;
                match log.staging.freeze() {
                    Some(frozen) => log.staging.write_frozen(frozen, &durable.log),
                    None => Ok(()),
                }
            }
        }
    }

    /// Stages into `physical` the page at `base` with `writes` applied: the page as stored,
    /// plus any loose orders of an older layout in its range (folded in, their entries
    /// removed), plus the writes in order. An emptied page is removed.
    fn rewrite_page(
        &self,
        base: u64,
        writes: Vec<(u8, Option<Bytes>)>,
        physical: &mut Vec<(Bytes, Option<Bytes>)>,
    ) -> Result<()> {
        let page_key = pages::key_of(base);
        let mut orders: BTreeMap<u8, Bytes> = BTreeMap::new();
        let last = pages::key_of(base + (pages::SLOTS - 1));
        let stored = self.stored_range(
            Bound::Included(page_key.to_vec()),
            Bound::Included(last.to_vec()),
        );
        for entry in stored {
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
                    physical.push((key, None));
                }
            }
        }
        for (slot, value) in writes {
            match value {
                Some(value) => orders.insert(slot, value),
                None => orders.remove(&slot),
            };
        }
        let page = (!orders.is_empty()).then(|| Bytes::from(pages::encode(&orders)));
        physical.push((Bytes::from(&page_key[..]), page));
        Ok(())
    }

    fn scan_stored_prefix(&self, prefix: &[u8]) -> Physical {
        let end = match successor(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        self.stored_range(Bound::Included(prefix.to_vec()), end)
    }

    /// How many orders still have an entry of their own (written by a layout before pages).
    pub fn loose_orders(&self) -> Result<u64> {
        let mut loose = 0;
        for entry in self.scan_stored_prefix(&pages::SPACE_PREFIX) {
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
        for entry in self.stored_range(Bound::Included(from.to_vec()), Bound::Unbounded) {
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

    /// The keys written, in order (a key may come more than once).
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.writes.iter().map(|(key, _)| &key[..])
    }

    /// The writes, in order: a key and its value, or `None` to remove it.
    pub fn writes(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.writes
            .iter()
            .map(|(key, value)| (&key[..], value.as_deref()))
    }
}

/// Writes into sled one key at a time, in order. No sled batch: it would take sled's
/// process-wide write lock, which stops every read (`staging.rs`).
/// `store` is the tree's sled store, kept forever if a write fails (`sled_hang.rs`).
fn write_in_order(
    store: &sled::Db,
    tree: &sled::Tree,
    writes: impl IntoIterator<Item = (Bytes, Option<Bytes>)>,
) -> Result<()> {
    for (key, value) in writes {
        match value {
            Some(value) => sled_hang::written(store, tree.insert(key, value))?,
            None => sled_hang::written(store, tree.remove(key))?,
        };
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
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
mod tests;

#[cfg(test)]
mod crash_tests;
