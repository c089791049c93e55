//! Batches logged and applied in memory, on their way into sled (layout 7).
//!
//! # Why
//!
//! Every sled batch writes sled's log buffer out twice (its `pin_log` rolls the buffer before
//! and after the batch's manifest: two `pwrite`s and two `sync_file_range` waits here), so a
//! write group applied as a sled batch of its own paid for I/O that its durability no longer
//! needs: the redo log makes it durable (`redo.rs`). So a group's batch is logged and
//! *staged*: readers see it at once through the staging layers below, and the applier thread
//! writes what is staged into sled as one large batch every [`DRAIN_EVERY`], or sooner once
//! [`DRAIN_BYTES`] are staged. The committer no longer waits for sled's batch either: both
//! cores work on the write path.
//!
//! # Layers, and why reads are never stale
//!
//! A staged write is in the *active* layer; a drain swaps the active layer out as the *frozen*
//! one, writes it into sled, and drops it. A value thus moves down (active → frozen → sled)
//! and is in the lower layer before it leaves the upper one, while every read looks down in
//! that order under one lock for both layers: a read never misses a value staged before it
//! began, and never sees a frozen layer half written (it reads the frozen layer itself).
//!
//! # Why a crash during a drain loses nothing
//!
//! The active layer is swapped out under the lock every batch is staged and logged under
//! (`mod.rs`), so a frozen layer is exactly the batches up to one number, whose redo records
//! are all in the log; the drain syncs the log before it writes anything into sled. It then
//! writes the frozen keys one by one and the redo marker (that number) last. After a crash,
//! sled's files hold a prefix of those writes: without the marker, replay applies every batch
//! after the old marker again, in order, over whatever part of the layer got in, which gives
//! the state after the last one. A sled *batch* is not used: it takes sled's process-wide
//! write lock, which stops every read of every tree while a large layer is written (the
//! committer's reads too), and it writes sled's log buffer out twice.
//!
//! # Memory
//!
//! Bounded: a writer that finds [`STALL_BYTES`] staged drains them itself before it goes on
//! (back-pressure), so at most about twice that is held (a frozen layer being written and a
//! full active one).

use super::sled_hang::written;
use super::{redo, Bytes, MARKER};
use crate::crash_points;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The longest a staged write waits for the applier.
pub(super) const DRAIN_EVERY: Duration = Duration::from_millis(50);

/// Staged bytes that wake the applier before [`DRAIN_EVERY`].
pub(super) const DRAIN_BYTES: usize = 8 << 20;

/// Staged bytes past which a writer drains them itself.
pub(super) const STALL_BYTES: usize = 64 << 20;

/// What a staged entry costs beyond its key and value (the map's node and the two handles).
const ENTRY_OVERHEAD: usize = 64;

/// One layer: each key's last staged value (`None`: removed).
#[derive(Default)]
struct Layer {
    writes: BTreeMap<Bytes, Option<Bytes>>,
    bytes: usize,
    /// When the first write in the layer was staged.
    since: Option<Instant>,
}

#[derive(Default)]
struct Layers {
    active: Layer,
    frozen: Option<Arc<Layer>>,
}

/// How full the active layer is once a batch is staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pressure {
    Low,
    /// Worth waking the applier for.
    Drain,
    /// The writer must drain before it goes on.
    Stall,
}

/// A frozen layer, to be written into sled by [`Staging::write_frozen`].
pub(super) struct Frozen(Arc<Layer>);

/// The staging layers of one tree.
pub(super) struct Staging {
    tree: sled::Tree,
    /// The tree's sled store, kept forever if a write fails (`sled_hang.rs`).
    store: sled::Db,
    layers: RwLock<Layers>,
    /// Whether a frozen layer is being written into sled (drains take turns: the applier's,
    /// a stalled writer's, a checkpoint's), and its end.
    writing: Mutex<bool>,
    written: Condvar,
    /// The first failure to write a frozen layer into sled (its disk is failing): every
    /// later flush reports it, so the store halts.
    failed: Mutex<Option<String>>,
    /// Tests: a drain fails after this many keys, as a crash would cut it.
    #[cfg(test)]
    fail_after: std::sync::atomic::AtomicUsize,
}

impl Staging {
    pub fn new(tree: sled::Tree, store: sled::Db) -> Staging {
        Staging {
            tree,
            store,
            layers: RwLock::default(),
            writing: Mutex::default(),
            written: Condvar::new(),
            failed: Mutex::default(),
            #[cfg(test)]
            fail_after: std::sync::atomic::AtomicUsize::new(usize::MAX),
        }
    }

    /// What the layers hold for `key`: `Some(None)` removed, `Some(Some(value))` staged,
    /// `None` nothing (sled's value stands).
    pub fn get(&self, key: &[u8]) -> Option<Option<Bytes>> {
        let layers = read(&self.layers);
        if let Some(value) = layers.active.writes.get(key) {
            return Some(value.clone());
        }
        layers.frozen.as_ref()?.writes.get(key).cloned()
    }

    /// Whether nothing is staged (reads can go to sled alone).
    pub fn is_empty(&self) -> bool {
        let layers = read(&self.layers);
        layers.active.writes.is_empty() && layers.frozen.is_none()
    }

    /// The staged writes from `start` to `end`, in key order, the active layer's over the
    /// frozen one's.
    pub fn range(
        &self,
        start: &Bound<Vec<u8>>,
        end: &Bound<Vec<u8>>,
    ) -> Vec<(Bytes, Option<Bytes>)> {
        let layers = read(&self.layers);
        let bounds = (as_slice(start), as_slice(end));
        if empty_bounds(&bounds) {
            return Vec::new();
        }
        let mut merged: BTreeMap<Bytes, Option<Bytes>> = BTreeMap::new();
        if let Some(frozen) = &layers.frozen {
            for (key, value) in frozen.writes.range::<[u8], _>(bounds) {
                merged.insert(key.clone(), value.clone());
            }
        }
        for (key, value) in layers.active.writes.range::<[u8], _>(bounds) {
            merged.insert(key.clone(), value.clone());
        }
        merged.into_iter().collect()
    }

    /// Stages one batch's writes, all visible at once.
    pub fn stage(&self, writes: Vec<(Bytes, Option<Bytes>)>) -> Pressure {
        let mut layers = write(&self.layers);
        let active = &mut layers.active;
        active.since.get_or_insert_with(Instant::now);
        for (key, value) in writes {
            active.bytes += ENTRY_OVERHEAD + key.len() + value.as_ref().map_or(0, |v| v.len());
            active.writes.insert(key, value);
        }
        if active.bytes >= STALL_BYTES {
            Pressure::Stall
        } else if active.bytes >= DRAIN_BYTES {
            Pressure::Drain
        } else {
            Pressure::Low
        }
    }

    /// Whether the active layer is due for a drain.
    pub fn due(&self) -> bool {
        let layers = read(&self.layers);
        layers.active.bytes >= DRAIN_BYTES
            || layers
                .active
                .since
                .is_some_and(|since| since.elapsed() >= DRAIN_EVERY)
    }

    /// Swaps the active layer out as the frozen one, unless nothing is staged or a frozen
    /// layer is still being written. The caller holds the lock batches are staged and logged
    /// under, so the layer is whole batches, all in the log.
    pub fn freeze(&self) -> Option<Frozen> {
        let mut writing = lock(&self.writing);
        let mut layers = write(&self.layers);
        if *writing || layers.frozen.is_some() || layers.active.writes.is_empty() {
            return None;
        }
        let layer = Arc::new(std::mem::take(&mut layers.active));
        layers.frozen = Some(layer.clone());
        *writing = true;
        Some(Frozen(layer))
    }

    /// Writes a frozen layer into sled (see the module's notes for the order), then drops it.
    pub fn write_frozen(&self, frozen: Frozen, log: &redo::Log) -> Result<()> {
        let result = log.sync().and_then(|()| {
            crash_points::reached("drain.log-synced");
            self.insert_all(&frozen.0)
        });
        match &result {
            Ok(()) => write(&self.layers).frozen = None,
            // The frozen layer stays: reads still see it, and the redo log still holds it.
            Err(error) => {
                lock(&self.failed).get_or_insert_with(|| error.to_string());
            }
        }
        *lock(&self.writing) = false;
        self.written.notify_all();
        result
    }

    fn insert_all(&self, layer: &Layer) -> Result<()> {
        let mut marker = None;
        for (count, (key, value)) in layer.writes.iter().enumerate() {
            if key == MARKER {
                marker = value.clone();
                continue;
            }
            #[cfg(test)]
            if count >= self.fail_after.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Error::Storage("a drain cut short by a test".into()));
            }
            let store = &self.store;
            match value {
                Some(value) => written(store, self.tree.insert(key.clone(), value.clone()))?,
                None => written(store, self.tree.remove(key.clone()))?,
            };
            if count == 0 {
                crash_points::reached("drain.first-key");
            }
        }
        crash_points::reached("drain.keys");
        if let Some(number) = marker {
            written(&self.store, self.tree.insert(MARKER, number))?;
            crash_points::reached("drain.marked");
        }
        Ok(())
    }

    /// Waits until no frozen layer is being written; `Err` if one failed.
    pub fn wait_frozen(&self) -> Result<()> {
        let mut writing = lock(&self.writing);
        while *writing {
            writing = self
                .written
                .wait(writing)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        drop(writing);
        self.check()
    }

    /// Makes the next drains stop after `keys` keys (tests of a crash in the middle of one).
    #[cfg(test)]
    pub fn fail_after(&self, keys: usize) {
        self.fail_after
            .store(keys, std::sync::atomic::Ordering::Relaxed);
    }

    /// `Err` once a drain has failed.
    pub fn check(&self) -> Result<()> {
        match lock(&self.failed).as_ref() {
            Some(cause) => Err(Error::Storage(format!(
                "writing staged batches into the store failed: {cause}"
            ))),
            None => Ok(()),
        }
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(key) => Bound::Included(key.as_slice()),
        Bound::Excluded(key) => Bound::Excluded(key.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Whether bounds hold no key (a `BTreeMap` range panics on those).
fn empty_bounds(bounds: &(Bound<&[u8]>, Bound<&[u8]>)) -> bool {
    match bounds {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        _ => false,
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
