//! The log's epoch keys, kept where destroying them destroys them: the `cluster-epochs` file.
//!
//! # Why
//!
//! Every log entry is sealed under a key of its epoch (`seal.rs`). Deleting an entry from
//! etcd does not erase it: etcd keeps old revisions until a compaction, freed pages in its
//! database file until a defragmentation, and every request in its write-ahead log and
//! snapshots (PROTOCOL.md, "Cluster"). So once the log no longer holds any entry of an
//! epoch, every node destroys that epoch's key, and whatever etcd's disks still hold of those
//! entries opens with no key anyone has. That is what makes `FORGET` hold in a cluster.
//!
//! # The file
//!
//! As the keyring (`keyring.rs`, whose reasons apply here unchanged): a header, then one
//! fixed-size slot per epoch number, each the epoch's 32 random bytes sealed under a key
//! derived from the data key and bound to the epoch's number. Destroying an epoch overwrites
//! its slot with zeros in place and fsyncs. A slot of zeros is an epoch this node does not
//! hold (destroyed, or never learned). The file is made the first time a node of a cluster
//! asks for the log's sealer; a single node has none.

use crate::error::{Error, Result};
use crate::keys::SubKey;
use crate::seal::Sealer;
use crate::slot_file::{is_empty, Format, HEADER_LEN};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use zeroize::Zeroizing;

/// The file's name inside the data folder.
pub const FILE_NAME: &str = "cluster-epochs";
/// `nonce (24) ‖ sealed key (32) ‖ tag (16)`; all zeros when not held.
pub const SLOT_LEN: usize = 24 + 32 + 16;
/// The file's layout (`slot_file.rs`).
const FORMAT: Format = Format {
    file_name: FILE_NAME,
    magic: b"CRMEPOCH",
    version: 1,
    slot_len: SLOT_LEN,
    what: "cluster epochs",
};
/// The most epochs a file may number (an epoch lasts minutes: this is centuries).
const MAX_EPOCH: u64 = 1 << 28;

/// An epoch's random key.
pub type EpochKey = Zeroizing<[u8; 32]>;

/// The epoch keys of an open store.
pub(crate) struct Epochs {
    path: PathBuf,
    file: Mutex<File>,
    /// Every slot's bytes as on disk.
    slots: RwLock<Vec<u8>>,
    wrap: Sealer,
}

fn label(epoch: u64) -> [u8; 24] {
    let mut label = *b"crm log epoch\0\0\0\0\0\0\0\0\0\0\0";
    label[16..].copy_from_slice(&epoch.to_be_bytes());
    label
}

impl Epochs {
    /// Opens the file in `dir`, creating an empty one if there is none.
    pub fn open(dir: &Path, wrap: &SubKey) -> Result<Epochs> {
        let (path, file, slots) = FORMAT.open(dir)?;
        Ok(Epochs {
            path,
            file: Mutex::new(file),
            slots: RwLock::new(slots),
            wrap: Sealer::new(wrap),
        })
    }

    fn lock_error(&self) -> Error {
        Error::Storage(format!("{} lock is poisoned", self.path.display()))
    }

    fn corrupt(&self, what: &str) -> Error {
        Error::Corrupt(format!("{} {what}", self.path.display()))
    }

    fn offset(&self, epoch: u64) -> Result<usize> {
        usize::try_from(epoch)
            .ok()
            .filter(|_| epoch <= MAX_EPOCH)
            .and_then(|e| e.checked_mul(SLOT_LEN))
            .ok_or_else(|| self.corrupt(&format!("cannot hold epoch {epoch}")))
    }

    /// An epoch's slot as stored (`None`: past the end).
    pub fn raw(&self, epoch: u64) -> Option<[u8; SLOT_LEN]> {
        let start = self.offset(epoch).ok()?;
        let slots = self.slots.read().ok()?;
        slots.get(start..start + SLOT_LEN)?.try_into().ok()
    }

    /// An epoch's key: `Ok(None)` when this node does not hold it (destroyed or never learned).
    pub fn key(&self, epoch: u64) -> Result<Option<EpochKey>> {
        let Some(raw) = self.raw(epoch).filter(|raw| !is_empty(raw)) else {
            return Ok(None);
        };
        let plain = Zeroizing::new(
            self.wrap
                .open_unframed(&label(epoch), &raw)
                .map_err(|e| self.corrupt(&format!("epoch {epoch} does not open: {e}")))?,
        );
        let mut key = Zeroizing::new([0u8; 32]);
        if plain.len() != 32 {
            return Err(self.corrupt(&format!("epoch {epoch} is malformed")));
        }
        key.copy_from_slice(&plain);
        Ok(Some(key))
    }

    /// The epochs this node holds, ascending.
    pub fn held(&self) -> Vec<u64> {
        let Ok(slots) = self.slots.read() else {
            return Vec::new();
        };
        slots
            .chunks_exact(SLOT_LEN)
            .enumerate()
            .filter(|(_, raw)| !is_empty(raw))
            .map(|(epoch, _)| epoch as u64)
            .collect()
    }

    /// The slots this node holds, as stored (what a snapshot carries).
    pub fn held_slots(&self) -> Vec<(u64, [u8; SLOT_LEN])> {
        self.held()
            .into_iter()
            .filter_map(|epoch| Some((epoch, self.raw(epoch)?)))
            .collect()
    }

    /// Stores an epoch's key (made by this node as leader, or learned from the log), then
    /// fsyncs. Storing the key it holds already changes nothing; an epoch destroyed here, or
    /// held with another key, is never written again (`CORRUPT`).
    pub fn store(&self, epoch: u64, key: &[u8; 32]) -> Result<()> {
        let start = self.offset(epoch)?;
        let file = self.file.lock().map_err(|_| self.lock_error())?;
        if let Some(held) = self.key(epoch)? {
            return match *held == *key {
                true => Ok(()),
                false => Err(self.corrupt(&format!("holds another key for epoch {epoch}"))),
            };
        }
        // Below the last epoch the file numbers and not held: destroyed, or older than what
        // the node joined with.
        if self.raw(epoch).is_some() {
            return Err(self.corrupt(&format!(
                "no longer holds epoch {epoch}: a destroyed key never comes back"
            )));
        }
        let mut slot = Vec::with_capacity(SLOT_LEN);
        self.wrap
            .seal_after(&mut slot, &label(epoch), key.as_slice());
        if slot.len() != SLOT_LEN {
            return Err(Error::Storage("an epoch key did not seal".into()));
        }
        file.write_all_at(&slot, HEADER_LEN + start as u64)?;
        file.sync_data()?;
        let mut slots = self.slots.write().map_err(|_| self.lock_error())?;
        if slots.len() < start + SLOT_LEN {
            slots.resize(start + SLOT_LEN, 0);
        }
        slots[start..start + SLOT_LEN].copy_from_slice(&slot);
        Ok(())
    }

    /// Destroys the keys of every epoch before `epoch`: zeros in place, then one fsync.
    pub fn destroy_before(&self, epoch: u64) -> Result<()> {
        let file = self.file.lock().map_err(|_| self.lock_error())?;
        let mut slots = self.slots.write().map_err(|_| self.lock_error())?;
        let end = (slots.len() / SLOT_LEN).min(usize::try_from(epoch).unwrap_or(usize::MAX));
        let zeros = [0u8; SLOT_LEN];
        let mut any = false;
        for held in 0..end {
            let start = held * SLOT_LEN;
            if !is_empty(&slots[start..start + SLOT_LEN]) {
                file.write_all_at(&zeros, HEADER_LEN + start as u64)?;
                slots[start..start + SLOT_LEN].fill(0);
                any = true;
            }
        }
        if any {
            file.sync_data()?;
        }
        Ok(())
    }
}

/// Overwrites the epochs file in `dir`, if there is one, with zeros and fsyncs it (what an
/// interrupted restore left is cleared so).
pub(crate) fn destroy_file(dir: &Path) -> Result<()> {
    FORMAT.destroy(dir)
}

/// Writes the epochs file of a node restored from a snapshot, with the slots the snapshot
/// carried (the rest zeros), before the store is first opened.
pub(crate) fn write_restored(dir: &Path, slots: &[(u64, [u8; SLOT_LEN])]) -> Result<()> {
    let slots: Vec<(u64, &[u8])> = slots.iter().map(|(e, raw)| (*e, raw.as_slice())).collect();
    FORMAT.write_new(dir, &slots, MAX_EPOCH)
}
