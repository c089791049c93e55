//! Each customer's own key, kept where destroying it destroys it: the keyring file.
//!
//! # Why erasure needs a file of its own
//!
//! `CUSTOMER.FORGET` must leave a person's name, email, phone and address unrecoverable from the
//! data folder *with the master key*. Removing the record from sled is not enough: sled is
//! log-structured and keeps old versions of pages in its segment files until it happens to
//! clean them, so a deleted record stays on disk, sealed under a key the master key derives.
//!
//! So every customer record is sealed under a key of its own (32 random bytes), and that key
//! lives outside sled, in `customer-keys` in the data folder: a header and an array of
//! fixed-size **slots**, each the key sealed under a key derived from the store's data key and
//! bound to its slot number. The record names its slot (`codec.rs`). Erasing a customer
//! overwrites its slot with zeros *in place* (`pwrite` at the slot's offset) and fsyncs the
//! file. From then on every copy of the record that sled may still hold — live, in an old page,
//! in a backup snapshot's spill file — is ciphertext under a key that exists nowhere, and the
//! personal values it held are gone with it. What else could hold them is handled where it is
//! written: blind index entries are removed with the record (they hold keyed hashes, not
//! values); rollups, orders and the journal never held them; the record cache drops the record.
//!
//! In-place overwrite is the file system's ordinary behaviour for a rewrite of existing blocks
//! on ext4 and xfs (the default machines here). It is *not* guaranteed on copy-on-write file
//! systems (btrfs, ZFS) or below the file system (SSD wear levelling, snapshots, backups of the
//! disk): SECURITY.md says so.
//!
//! # Why it costs (almost) nothing per write
//!
//! Slots are made ahead, [`RESERVE`] at a time, with one fsync, before any record uses them.
//! Which slots are taken is the sled counter `m‖keyring_next`, written in the same batch as the
//! customer that takes one: after a crash, slots made but never taken are simply taken later. A
//! slot is written twice in its life at most: once with its key, once with zeros.

use crate::error::{Error, Result};
use crate::keys::{MasterKey, Purpose, SubKey};
use crate::seal::Sealer;
use crate::slot_file::HEADER_LEN;
use rand::RngCore;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

/// The keyring's file name inside the data folder.
pub const FILE_NAME: &str = "customer-keys";
/// The file's layout (`slot_file.rs`).
const FORMAT: crate::slot_file::Format = crate::slot_file::Format {
    file_name: FILE_NAME,
    magic: b"CRMKEYS\0",
    version: 1,
    slot_len: SLOT_LEN,
    what: "keyring",
};
/// `nonce (24) ‖ sealed key (32) ‖ tag (16)`; all zeros once erased.
pub const SLOT_LEN: usize = 24 + 32 + 16;
/// Slots made at a time.
pub const RESERVE: u64 = 1024;

/// The keyring of an open store.
pub(crate) struct Keyring {
    path: PathBuf,
    /// Writes (new slots, erasures) are serialised; reads use the in-memory copy.
    file: Mutex<File>,
    /// Every slot's bytes as on disk.
    slots: RwLock<Vec<u8>>,
    wrap: Sealer,
}

fn slot_label(slot: u64) -> [u8; 24] {
    let mut label = *b"crm keyring slot\0\0\0\0\0\0\0\0";
    label[16..].copy_from_slice(&slot.to_be_bytes());
    label
}

fn corrupt(path: &Path, what: &str) -> Error {
    Error::Corrupt(format!("the keyring {} {what}", path.display()))
}

impl Keyring {
    /// Opens the keyring in `dir`, creating an empty one if there is none.
    pub fn open(dir: &Path, data_key: &MasterKey) -> Result<Keyring> {
        let (path, file, slots) = FORMAT.open(dir)?;
        Ok(Keyring {
            path,
            file: Mutex::new(file),
            slots: RwLock::new(slots),
            wrap: Sealer::new(&data_key.derive(Purpose::CustomerKeyWrap)),
        })
    }

    fn lock_error(&self) -> Error {
        Error::Storage(format!(
            "the keyring {} lock is poisoned",
            self.path.display()
        ))
    }

    /// How many slots the file holds.
    pub fn len(&self) -> u64 {
        self.slots
            .read()
            .map(|s| (s.len() / SLOT_LEN) as u64)
            .unwrap_or(0)
    }

    /// Makes sure slots `0..count` exist, making [`RESERVE`] more (with one fsync) when not.
    pub fn ensure(&self, count: u64) -> Result<()> {
        if self.len() >= count {
            return Ok(());
        }
        let file = self.file.lock().map_err(|_| self.lock_error())?;
        let have = self.len();
        if have >= count {
            return Ok(());
        }
        let target = count.max(have + RESERVE);
        let mut fresh = Vec::with_capacity(((target - have) as usize) * SLOT_LEN);
        for slot in have..target {
            let mut key = zeroize::Zeroizing::new([0u8; 32]);
            rand::rngs::OsRng.fill_bytes(key.as_mut());
            let start = fresh.len();
            self.wrap
                .seal_after(&mut fresh, &slot_label(slot), key.as_ref());
            if fresh.len() - start != SLOT_LEN {
                return Err(Error::Storage("a keyring slot did not seal".into()));
            }
        }
        file.write_all_at(&fresh, HEADER_LEN + have * SLOT_LEN as u64)?;
        file.sync_data()?;
        self.slots
            .write()
            .map_err(|_| self.lock_error())?
            .extend_from_slice(&fresh);
        Ok(())
    }

    /// A slot's stored bytes (`None` past the end).
    pub fn raw(&self, slot: u64) -> Option<[u8; SLOT_LEN]> {
        let slots = self.slots.read().ok()?;
        let start = usize::try_from(slot).ok()?.checked_mul(SLOT_LEN)?;
        slots.get(start..start + SLOT_LEN)?.try_into().ok()
    }

    /// The sealer of the record that uses `slot`: `Ok(None)` once the slot is erased.
    pub fn sealer(&self, slot: u64) -> Result<Option<Sealer>> {
        let raw = self
            .raw(slot)
            .ok_or_else(|| corrupt(&self.path, &format!("has no slot {slot}")))?;
        if is_erased(&raw) {
            return Ok(None);
        }
        let key = zeroize::Zeroizing::new(
            self.wrap
                .open_unframed(&slot_label(slot), &raw)
                .map_err(|e| corrupt(&self.path, &format!("slot {slot} does not open: {e}")))?,
        );
        let bytes: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| corrupt(&self.path, &format!("slot {slot} is malformed")))?;
        Ok(Some(Sealer::new(&SubKey(bytes))))
    }

    /// Writes the slots a replicated write group took (`replica/`), with the bytes the leader
    /// made for them, then fsyncs once: the group's customers are sealed under these keys.
    /// A slot past the end extends the file (any gap reads as zeros: slots never taken here).
    /// A slot made ahead here and never taken is overwritten; an erased one never is — a
    /// group that would bring an erased key back is `CORRUPT`, and nothing is written.
    pub fn install(&self, slots: &[(u64, [u8; SLOT_LEN])]) -> Result<()> {
        if slots.is_empty() {
            return Ok(());
        }
        let file = self.file.lock().map_err(|_| self.lock_error())?;
        let mut memory = self.slots.write().map_err(|_| self.lock_error())?;
        let mut placed = Vec::with_capacity(slots.len());
        for (slot, raw) in slots {
            let start = usize::try_from(*slot)
                .ok()
                .and_then(|s| s.checked_mul(SLOT_LEN))
                .filter(|start| *start <= 1 << 36)
                .ok_or_else(|| corrupt(&self.path, &format!("cannot hold slot {slot}")))?;
            if is_erased(raw) {
                return Err(corrupt(
                    &self.path,
                    &format!("was to get an empty slot {slot}"),
                ));
            }
            if let Some(held) = memory.get(start..start + SLOT_LEN) {
                if held == raw.as_slice() {
                    continue;
                }
                if is_erased(held) {
                    return Err(corrupt(
                        &self.path,
                        &format!(
                            "slot {slot} was erased: a replicated group cannot bring its key back"
                        ),
                    ));
                }
            }
            placed.push((start, raw));
        }
        for (start, raw) in &placed {
            file.write_all_at(raw.as_slice(), HEADER_LEN + *start as u64)?;
        }
        if placed.is_empty() {
            return Ok(());
        }
        file.sync_data()?;
        for (start, raw) in placed {
            if memory.len() < start + SLOT_LEN {
                memory.resize(start + SLOT_LEN, 0);
            }
            memory[start..start + SLOT_LEN].copy_from_slice(raw.as_slice());
        }
        Ok(())
    }

    /// Overwrites the slots with zeros in place and fsyncs: the keys are gone for good.
    pub fn erase(&self, slots: &[u64]) -> Result<()> {
        if slots.is_empty() {
            return Ok(());
        }
        let file = self.file.lock().map_err(|_| self.lock_error())?;
        let mut memory = self.slots.write().map_err(|_| self.lock_error())?;
        let zeros = [0u8; SLOT_LEN];
        for &slot in slots {
            let Some(start) = usize::try_from(slot)
                .ok()
                .and_then(|s| s.checked_mul(SLOT_LEN))
                .filter(|s| s + SLOT_LEN <= memory.len())
            else {
                continue;
            };
            file.write_all_at(&zeros, HEADER_LEN + start as u64)?;
            memory[start..start + SLOT_LEN].fill(0);
        }
        file.sync_data()?;
        Ok(())
    }
}

/// Writes the keyring of a store being restored, with the slots its backup carried (the rest
/// zeros: erased, or never made), before the store is first opened.
pub fn write_restored(dir: &Path, slots: &[(u64, [u8; SLOT_LEN])]) -> Result<()> {
    let slots: Vec<(u64, &[u8])> = slots.iter().map(|(s, raw)| (*s, raw.as_slice())).collect();
    FORMAT.write_new(dir, &slots, (1 << 36) / SLOT_LEN as u64)
}

/// Overwrites the keyring file in `dir`, if there is one, with zeros in place and fsyncs it:
/// every customer key of the folder is gone (what an interrupted restore left is cleared so).
pub fn destroy_file(dir: &Path) -> Result<()> {
    FORMAT.destroy(dir)
}

/// Whether a slot's bytes are the zeros of an erased key.
pub fn is_erased(raw: &[u8]) -> bool {
    raw.iter().all(|b| *b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_made_ahead_survive_reopen_and_erase_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let data = MasterKey::generate();
        let ring = Keyring::open(dir.path(), &data).unwrap();
        assert_eq!(ring.len(), 0);
        ring.ensure(3).unwrap();
        assert_eq!(ring.len(), RESERVE);
        let sealed = ring.sealer(2).unwrap().unwrap().seal(b"k", b"secret");
        drop(ring);
        let ring = Keyring::open(dir.path(), &data).unwrap();
        assert_eq!(ring.len(), RESERVE);
        assert_eq!(
            ring.sealer(2)
                .unwrap()
                .unwrap()
                .open(b"k", &sealed)
                .unwrap(),
            b"secret"
        );
        ring.erase(&[2]).unwrap();
        assert!(ring.sealer(2).unwrap().is_none());
        drop(ring);
        let bytes = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
        let start = HEADER_LEN as usize + 2 * SLOT_LEN;
        assert!(is_erased(&bytes[start..start + SLOT_LEN]));
        let ring = Keyring::open(dir.path(), &data).unwrap();
        assert!(ring.sealer(2).unwrap().is_none());
        assert!(ring.sealer(1).unwrap().is_some());
        // Another data key opens no slot.
        let other = Keyring::open(dir.path(), &MasterKey::generate()).unwrap();
        assert!(matches!(other.sealer(1), Err(Error::Corrupt(_))));
    }

    #[test]
    fn a_destroyed_keyring_file_holds_only_zeros_and_opens_no_slot() {
        let dir = tempfile::tempdir().unwrap();
        let data = MasterKey::generate();
        Keyring::open(dir.path(), &data).unwrap().ensure(1).unwrap();
        let length = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len();
        destroy_file(dir.path()).unwrap();
        let bytes = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(bytes.len() as u64, length);
        assert!(is_erased(&bytes));
        // A folder without a keyring has nothing to destroy.
        destroy_file(&dir.path().join("none")).unwrap();
    }

    #[test]
    fn installed_slots_extend_replace_untaken_ones_and_never_bring_an_erased_key_back() {
        let dir = tempfile::tempdir().unwrap();
        let data = MasterKey::generate();
        let leader = Keyring::open(dir.path(), &data).unwrap();
        leader.ensure(3).unwrap();
        let taken = |slot| (slot, leader.raw(slot).unwrap());
        // Past the end: the file grows, the gap reads as zeros.
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let ring = Keyring::open(&empty, &data).unwrap();
        ring.install(&[taken(2)]).unwrap();
        assert_eq!(ring.len(), 3);
        assert!(is_erased(&ring.raw(1).unwrap()));
        assert_eq!(ring.raw(2), leader.raw(2));
        drop(ring);
        let ring = Keyring::open(&empty, &data).unwrap();
        assert_eq!(ring.raw(2), leader.raw(2));
        assert!(ring.sealer(2).unwrap().is_some());
        // A slot made ahead here and never taken takes the leader's key.
        let own_dir = dir.path().join("own");
        std::fs::create_dir(&own_dir).unwrap();
        let own = Keyring::open(&own_dir, &data).unwrap();
        own.ensure(1).unwrap();
        own.install(&[taken(0), taken(1)]).unwrap();
        assert_eq!(own.raw(0), leader.raw(0));
        // An erased key never comes back; nothing of the call is written.
        own.erase(&[0]).unwrap();
        let error = own.install(&[taken(2), taken(0)]).unwrap_err();
        assert!(error.to_string().contains("slot 0 was erased"), "{error}");
        assert!(is_erased(&own.raw(0).unwrap()));
        assert_ne!(own.raw(2), leader.raw(2));
        assert!(own.install(&[(5, [0; SLOT_LEN])]).is_err());
        assert!(own.install(&[(u64::MAX, [1; SLOT_LEN])]).is_err());
    }

    #[test]
    fn a_torn_tail_is_cut_back_to_whole_slots() {
        let dir = tempfile::tempdir().unwrap();
        let data = MasterKey::generate();
        Keyring::open(dir.path(), &data).unwrap().ensure(1).unwrap();
        let path = dir.path().join(FILE_NAME);
        let length = std::fs::metadata(&path).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(length + 10).unwrap();
        let ring = Keyring::open(dir.path(), &data).unwrap();
        assert_eq!(ring.len(), RESERVE);
        assert!(ring.sealer(RESERVE - 1).unwrap().is_some());
    }
}
