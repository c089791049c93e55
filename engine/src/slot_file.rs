//! A file of fixed-size slots, each a sealed key, overwritten in place to destroy it: the
//! layout the keyring (`keyring.rs`, which says why a file of its own) and the cluster log's
//! epoch keys (`replica/epochs.rs`) share.
//!
//! `magic (8) ‖ format version (u32) ‖ reserved (u32) ‖ slot*`; slot `n` at
//! `HEADER_LEN + n × slot length`, all zeros when it holds no key.

use crate::error::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes before the first slot.
pub const HEADER_LEN: u64 = 16;

/// What one kind of slot file is.
pub struct Format {
    /// Its name inside the data folder.
    pub file_name: &'static str,
    pub magic: &'static [u8; 8],
    pub version: u32,
    pub slot_len: usize,
    /// What messages call it ("keyring").
    pub what: &'static str,
}

impl Format {
    fn header(&self) -> Vec<u8> {
        let mut header = Vec::with_capacity(HEADER_LEN as usize);
        header.extend_from_slice(self.magic);
        header.extend_from_slice(&self.version.to_be_bytes());
        header.extend_from_slice(&0u32.to_be_bytes());
        header
    }

    /// Opens the file in `dir`, creating an empty one if there is none: its path, the open
    /// file, and every slot's bytes. A crash while slots were appended can leave a torn last
    /// slot; such a slot was never used (its fsync had not returned), so the tail is cut back
    /// to whole slots.
    pub fn open(&self, dir: &Path) -> Result<(PathBuf, File, Vec<u8>)> {
        let path = dir.join(self.file_name);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        let corrupt =
            |what: String| Error::Corrupt(format!("the {} {} {what}", self.what, path.display()));
        if file.metadata()?.len() < HEADER_LEN {
            file.write_all_at(&self.header(), 0)?;
            file.set_len(HEADER_LEN)?;
            file.sync_all()?;
            sync_dir(dir);
        } else {
            let mut header = [0u8; HEADER_LEN as usize];
            file.read_exact_at(&mut header, 0)?;
            if header[..8] != *self.magic {
                return Err(corrupt(format!("is not a {} file", self.what)));
            }
            let version = u32::from_be_bytes(header[8..12].try_into().unwrap_or_default());
            if version != self.version {
                return Err(corrupt(format!("has unknown version {version}")));
            }
        }
        let body = file.metadata()?.len() - HEADER_LEN;
        let whole = body - body % self.slot_len as u64;
        let mut slots = vec![0u8; whole as usize];
        file.read_exact_at(&mut slots, HEADER_LEN)?;
        if whole != body {
            file.set_len(HEADER_LEN + whole)?;
        }
        Ok((path, file, slots))
    }

    /// Writes a new file in `dir` holding `slots` (the rest zeros), for a store being
    /// restored, before it is first opened. At most `max_slots` slots.
    pub fn write_new(&self, dir: &Path, slots: &[(u64, &[u8])], max_slots: u64) -> Result<()> {
        let count = slots.iter().map(|(s, _)| *s + 1).max().unwrap_or(0);
        let length = usize::try_from(count)
            .ok()
            .filter(|_| count <= max_slots)
            .and_then(|c| c.checked_mul(self.slot_len))
            .ok_or_else(|| {
                Error::Corrupt(format!("the {} slot {count} is out of range", self.what))
            })?;
        let mut bytes = self.header();
        bytes.resize(HEADER_LEN as usize + length, 0);
        for (slot, raw) in slots {
            let start = HEADER_LEN as usize + *slot as usize * self.slot_len;
            bytes
                .get_mut(start..start + self.slot_len)
                .filter(|_| raw.len() == self.slot_len)
                .ok_or_else(|| {
                    Error::Corrupt(format!("the {} slot {slot} is malformed", self.what))
                })?
                .copy_from_slice(raw);
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(dir.join(self.file_name))?;
        file.write_all_at(&bytes, 0)?;
        file.sync_all()?;
        sync_dir(dir);
        Ok(())
    }
}

impl Format {
    /// Overwrites the file in `dir`, if there is one, with zeros in place and fsyncs it: every
    /// key it held is gone (what an interrupted restore left is cleared so).
    pub fn destroy(&self, dir: &Path) -> Result<()> {
        let path = dir.join(self.file_name);
        if !path.exists() {
            return Ok(());
        }
        let file = std::fs::OpenOptions::new().write(true).open(&path)?;
        let length = file.metadata()?.len();
        let zeros = vec![0u8; 1 << 16];
        let mut done = 0u64;
        while done < length {
            let step = (length - done).min(zeros.len() as u64);
            file.write_all_at(&zeros[..step as usize], done)?;
            done += step;
        }
        file.sync_all()?;
        Ok(())
    }
}

/// Whether a slot's bytes are zeros: it holds no key (erased, destroyed, or never made).
pub fn is_empty(raw: &[u8]) -> bool {
    raw.iter().all(|b| *b == 0)
}

/// Makes a new file's name durable in its folder.
pub fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}
