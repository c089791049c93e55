//! What makes a store folder's batches durable: its redo log (`redo.rs`), checkpoints that
//! sync sled's own files, the replay at open of what those files lack, and the applier thread
//! that writes staged batches into sled (`staging.rs`).

use super::{lock, redo, staging, write_in_order, Bytes, LOG_DIR, MARKER};
use crate::crash_points;
use crate::error::{Error, Result};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, Weak};

/// What makes a store folder's batches durable: its redo log, sled's files to sync, and the
/// trees' staged batches.
pub(super) struct Durable {
    pub folder: PathBuf,
    /// The [`Db`]'s lock of batches: a drain freezes a staging layer under it.
    pub pages: Arc<Mutex<()>>,
    pub log: redo::Log,
    pub sled_files: SledFiles,
    /// Every tree opened, by name.
    pub trees: Mutex<HashMap<Vec<u8>, Arc<TreeLog>>>,
    /// Checkpoints take turns.
    pub checkpointing: Mutex<()>,
    /// Wakes the applier thread before its next round.
    pub wake: Arc<Wake>,
}

/// sled's files, for the `fdatasync`s sled leaves out.
pub(super) struct SledFiles {
    folder: PathBuf,
    /// sled's data file.
    data_file: File,
    /// The blob files synced so far (sled never syncs them).
    synced_blobs: Mutex<HashSet<OsString>>,
}

/// A flag and its condition variable.
#[derive(Default)]
pub(super) struct Wake {
    raised: Mutex<bool>,
    signal: Condvar,
}

impl Durable {
    /// Replays what the redo log of the folder holds beyond sled's files, makes it part of
    /// them, and starts a new log.
    ///
    /// The replayed segments are retired before the new one is started: a crash at any step
    /// leaves segments already read once (or none), the last of them the one that was being
    /// written, so the next open reads them the same way. (Started first, the new segment
    /// followed an unsealed one after a crash in between, which read as damage.)
    pub(super) fn open(folder: &Path, inner: &sled::Db) -> Result<Durable> {
        let log_dir = folder.join(LOG_DIR);
        let found = redo::Log::read(&log_dir)?;
        crash_points::reached("open.read");
        replay(inner, found.records)?;
        crash_points::reached("open.replayed");
        let sled_files = SledFiles {
            folder: folder.to_path_buf(),
            data_file: File::open(folder.join("db"))?,
            synced_blobs: Mutex::default(),
        };
        if !found.segments.is_empty() {
            super::sled_hang::flush(inner, super::sled_hang::FLUSH_LIMIT)?;
            crash_points::reached("open.sled-flushed");
            sled_files.sync()?;
            crash_points::reached("open.sled-synced");
            redo::retire(&log_dir, &found.segments)?;
        }
        let log = redo::Log::start(&log_dir)?;
        // A new folder's names (sled's files, the log's) must survive a crash too.
        redo::sync_dir(folder)?;
        crash_points::reached("open.started");
        Ok(Durable {
            folder: folder.to_path_buf(),
            pages: Arc::default(),
            log,
            sled_files,
            trees: Mutex::default(),
            checkpointing: Mutex::default(),
            wake: Arc::default(),
        })
    }

    /// The applier: every [`staging::DRAIN_EVERY`], or when woken, writes each tree's due
    /// staged batches into sled. It holds the store only while it drains, and ends once the
    /// store is dropped.
    pub(super) fn start_applier(durable: &Arc<Durable>) -> Result<()> {
        let store = Arc::downgrade(durable);
        let wake = durable.wake.clone();
        std::thread::Builder::new()
            .name("crm-applier".into())
            .spawn(move || applier(&store, &wake))?;
        Ok(())
    }

    pub(super) fn trees(&self) -> Vec<Arc<TreeLog>> {
        lock(&self.trees).values().cloned().collect()
    }

    /// Writes what a tree has staged into sled, unless a drain is under way.
    pub(super) fn drain(&self, tree: &TreeLog) -> Result<()> {
        let frozen = {
            let _turn = lock(&self.pages);
            tree.staging.freeze()
        };
        match frozen {
            Some(frozen) => tree.staging.write_frozen(frozen, &self.log),
            None => Ok(()),
        }
    }

    /// Writes everything staged so far into sled, waiting for a drain under way.
    pub(super) fn drain_all(&self) -> Result<()> {
        for tree in self.trees() {
            let frozen = {
                let _turn = lock(&self.pages);
                tree.staging.wait_frozen()?;
                tree.staging.freeze()
            };
            if let Some(frozen) = frozen {
                tree.staging.write_frozen(frozen, &self.log)?;
            }
        }
        Ok(())
    }

    /// Wakes the applier now.
    pub(super) fn wake(&self) {
        *lock(&self.wake.raised) = true;
        self.wake.signal.notify_one();
    }

    /// `Err` once the log failed to be written, or staged batches failed to reach sled.
    pub(super) fn check(&self) -> Result<()> {
        self.log.check()?;
        for tree in self.trees() {
            tree.staging.check()?;
        }
        Ok(())
    }
}

impl SledFiles {
    /// `fdatasync`s sled's data file and every blob file not synced before.
    pub(super) fn sync(&self) -> Result<()> {
        self.data_file.sync_data()?;
        let blobs = self.folder.join("blobs");
        let Ok(entries) = std::fs::read_dir(&blobs) else {
            return Ok(());
        };
        let mut synced = lock(&self.synced_blobs);
        let mut present = HashSet::new();
        let mut made = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if !synced.contains(&name) {
                match File::open(entry.path()) {
                    Ok(file) => file.sync_all()?,
                    // sled removed it meanwhile.
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(error.into()),
                }
                made = true;
            }
            present.insert(name);
        }
        if made {
            redo::sync_dir(&blobs)?;
        }
        *synced = present;
        Ok(())
    }
}

/// The applier thread's loop (see [`Durable::start_applier`]).
fn applier(store: &Weak<Durable>, wake: &Wake) {
    loop {
        {
            let mut raised = lock(&wake.raised);
            if !*raised {
                raised = wake
                    .signal
                    .wait_timeout(raised, staging::DRAIN_EVERY)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            }
            *raised = false;
        }
        let Some(durable) = store.upgrade() else {
            return;
        };
        for tree in durable.trees() {
            if tree.staging.due() {
                // A failure is kept by the staging and reported by every later flush.
                let _ = durable.drain(&tree);
            }
        }
    }
}

impl Drop for Durable {
    /// What is staged goes into sled's files when the store is dropped without a checkpoint;
    /// should that fail, the redo log still holds it for the next open.
    fn drop(&mut self) {
        let _ = self.drain_all();
    }
}

/// The number of the last logged batch a tree holds (0: none).
pub(super) fn logged_through(tree: &sled::Tree) -> Result<u64> {
    match tree.get(MARKER)? {
        None => Ok(0),
        Some(bytes) => bytes
            .as_ref()
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| Error::Corrupt("the redo log's marker is malformed".into())),
    }
}

/// Applies the logged batches that sled's files do not hold yet, in order.
fn replay(inner: &sled::Db, records: Vec<redo::Record>) -> Result<()> {
    let mut trees: HashMap<Vec<u8>, (sled::Tree, u64)> = HashMap::new();
    for record in records {
        let (tree, last) = match trees.get_mut(&record.tree) {
            Some(found) => found,
            None => {
                let tree = inner.open_tree(&record.tree)?;
                let last = logged_through(&tree)?;
                trees.entry(record.tree.clone()).or_insert((tree, last))
            }
        };
        if record.number <= *last {
            continue;
        }
        if record.number != *last + 1 {
            return Err(Error::Corrupt(format!(
                "the redo log lacks batch {} of tree {:?} (it goes on with batch {})",
                *last + 1,
                String::from_utf8_lossy(&record.tree),
                record.number
            )));
        }
        // The marker is the batch's last write: a crash here leaves it out, and the next
        // open applies the batch again.
        write_in_order(
            inner,
            tree,
            record
                .writes
                .into_iter()
                .map(|(key, value)| (Bytes::from(key), value.map(Bytes::from))),
        )?;
        crash_points::reached("open.replay.batch");
        *last = record.number;
    }
    Ok(())
}

/// A tree's name in the log, the number of its last logged batch, and its staged batches.
pub(super) struct TreeLog {
    pub name: Vec<u8>,
    pub last: AtomicU64,
    pub staging: staging::Staging,
}
