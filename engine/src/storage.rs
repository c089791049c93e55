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

use crate::error::{Error, Result};
use std::ops::RangeBounds;
use std::path::Path;

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
}

/// One ordered map of byte keys in a store.
#[derive(Clone)]
pub(crate) struct Tree {
    inner: sled::Tree,
}

/// Inserts and removes applied to a tree all at once or not at all.
#[derive(Default)]
pub(crate) struct Batch {
    inner: sled::Batch,
}

/// An ordered walk over a tree's entries (forwards, or backwards with `rev`).
pub(crate) struct Iter {
    inner: sled::Iter,
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
                Ok(inner) => return Ok(Db { inner }),
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
        Ok(Db { inner })
    }

    pub fn open_tree(&self, name: impl AsRef<[u8]>) -> Result<Tree> {
        Ok(Tree {
            inner: self.inner.open_tree(name)?,
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
        Ok(self.inner.get(key)?)
    }

    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        Ok(self.inner.contains_key(key)?)
    }

    /// One insert on its own (an atomic batch of one).
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl Into<Bytes>) -> Result<()> {
        self.inner.insert(key.as_ref(), value)?;
        Ok(())
    }

    /// Every entry whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        Iter {
            inner: self.inner.scan_prefix(prefix),
        }
    }

    /// Every entry whose key is in `range`, in key order.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        Iter {
            inner: self.inner.range(range),
        }
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> Iter {
        Iter {
            inner: self.inner.iter(),
        }
    }

    /// Applies every insert and remove of `batch` atomically: after a crash, all or none.
    pub fn apply_batch(&self, batch: Batch) -> Result<()> {
        Ok(self.inner.apply_batch(batch.inner)?)
    }
}

impl Batch {
    pub fn insert(&mut self, key: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.inner.insert(key, value);
    }

    pub fn remove(&mut self, key: impl Into<Bytes>) {
        self.inner.remove(key);
    }
}

impl Iter {
    /// The keys only.
    pub fn keys(self) -> impl DoubleEndedIterator<Item = Result<Bytes>> {
        self.map(|entry| entry.map(|(key, _)| key))
    }
}

impl Iterator for Iter {
    type Item = Result<(Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|entry| entry.map_err(Error::from))
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner
            .next_back()
            .map(|entry| entry.map_err(Error::from))
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
