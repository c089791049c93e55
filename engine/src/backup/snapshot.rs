//! Copy-on-write for online backups: a point-in-time view of the tree while writes go on.
//!
//! sled 0.34 has no snapshots and its iterators are not point-in-time. So while a backup runs,
//! the committer, before applying a write group, saves the old value of every key the group
//! touches that the backup has not copied yet (key > cursor). The backup copies keys in order,
//! a chunk at a time, and for each key takes the saved old value when there is one. Both sides
//! take the same gate, so a chunk read and a group's apply never interleave: writes wait at most
//! for one chunk to be read (about a millisecond), never for the whole backup.
//!
//! Memory stays bounded however long the backup and however heavy the writes: saved values are
//! kept in memory up to a budget (`Options::backup_memory_bytes`), and beyond it go to a
//! temporary sled database beside the backup file (sealed values as they were in the store,
//! deleted with the snapshot), whose own cache is small.

use crate::error::Result;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::PathBuf;

/// sled's cache for a spilled snapshot: the spill is read once, in order.
const SPILL_CACHE_BYTES: u64 = 8 * 1024 * 1024;
/// Rough bookkeeping bytes of one saved entry in memory, besides its key and value.
const ENTRY_OVERHEAD: usize = 64;

/// The state shared by a running backup and the committer.
pub struct Snapshot {
    /// The last key the backup has copied; `None` before the first chunk.
    cursor: Option<Vec<u8>>,
    /// Set once the whole tree is copied: later writes need no saving.
    finished: bool,
    /// Values as they were when the backup started, for keys changed since and not yet copied:
    /// `None` means the key did not exist then.
    saved: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Bytes `saved` holds, roughly.
    saved_bytes: usize,
    /// The most `saved` may hold before entries go to the spill.
    budget: usize,
    /// Where to make the spill when the budget is reached.
    spill_dir: PathBuf,
    /// Saved values beyond the budget, encoded by [`encode_saved`].
    spill: Option<(crate::storage::Db, crate::storage::Tree)>,
    /// Keyring slots (as stored: sealed) erased since the backup started, so that the backup
    /// still opens the customers it holds: the keyring is outside the tree (`keyring.rs`).
    erased_slots: BTreeMap<u64, [u8; crate::keyring::SLOT_LEN]>,
}

fn encode_saved(old: &Option<Vec<u8>>) -> Vec<u8> {
    match old {
        None => vec![0],
        Some(value) => {
            let mut encoded = Vec::with_capacity(1 + value.len());
            encoded.push(1);
            encoded.extend_from_slice(value);
            encoded
        }
    }
}

fn decode_saved(encoded: &[u8]) -> Option<Vec<u8>> {
    match encoded.split_first() {
        Some((1, value)) => Some(value.to_vec()),
        _ => None,
    }
}

impl Snapshot {
    /// A snapshot starting now, keeping at most `budget` bytes of saved values in memory and
    /// spilling the rest into a temporary database under `spill_dir`.
    pub fn new(budget: usize, spill_dir: PathBuf) -> Snapshot {
        Snapshot {
            cursor: None,
            finished: false,
            saved: BTreeMap::new(),
            saved_bytes: 0,
            budget,
            spill_dir,
            spill: None,
            erased_slots: BTreeMap::new(),
        }
    }

    /// Keeps a slot's bytes as they were before an erasure (the first time only).
    pub fn preserve_slot(&mut self, slot: u64, raw: [u8; crate::keyring::SLOT_LEN]) {
        self.erased_slots.entry(slot).or_insert(raw);
    }

    /// A slot's bytes as they were when the backup started, if erased since.
    pub fn erased_slot(&self, slot: u64) -> Option<[u8; crate::keyring::SLOT_LEN]> {
        self.erased_slots.get(&slot).copied()
    }

    fn not_copied(&self, key: &[u8]) -> bool {
        !self.finished && self.cursor.as_deref().is_none_or(|cursor| key > cursor)
    }

    /// The spill tree, made on first use.
    fn spill_tree(&mut self) -> Result<&crate::storage::Tree> {
        if self.spill.is_none() {
            let path = self.spill_dir.join(format!(
                ".snapshot-{}-{:016x}",
                std::process::id(),
                rand::random::<u64>()
            ));
            let db = crate::storage::Db::temporary(&path, SPILL_CACHE_BYTES)?;
            let tree = db.open_tree(b"saved")?;
            self.spill = Some((db, tree));
        }
        match &self.spill {
            Some((_, tree)) => Ok(tree),
            None => unreachable_spill(),
        }
    }

    fn is_saved(&self, key: &[u8]) -> Result<bool> {
        if self.saved.contains_key(key) {
            return Ok(true);
        }
        match &self.spill {
            Some((_, tree)) => Ok(tree.contains_key(key)?),
            None => Ok(false),
        }
    }

    /// Called by the committer with the keys a group is about to change.
    pub fn preserve<'a>(
        &mut self,
        tree: &crate::storage::Tree,
        keys: impl Iterator<Item = &'a [u8]>,
    ) -> Result<()> {
        let mut spilled = crate::storage::Batch::default();
        let mut any_spilled = false;
        for key in keys {
            if !self.not_copied(key) || self.is_saved(key)? {
                continue;
            }
            let old = tree.get(key)?.map(|v| v.to_vec());
            let size = key.len() + old.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD;
            if self.saved_bytes + size <= self.budget {
                self.saved_bytes += size;
                self.saved.insert(key.to_vec(), old);
            } else {
                spilled.insert(key, encode_saved(&old));
                any_spilled = true;
            }
        }
        if any_spilled {
            self.spill_tree()?.apply_batch(spilled)?;
        }
        Ok(())
    }

    /// Whether saved values went beyond the memory budget (for tests and `INFO`).
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// The next at most `limit` entries of the point-in-time view after the cursor, and moves
    /// the cursor past them. Empty when the whole tree is copied.
    pub fn next_chunk(
        &mut self,
        tree: &crate::storage::Tree,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if self.finished {
            return Ok(Vec::new());
        }
        let lower = match &self.cursor {
            Some(cursor) => Bound::Excluded(cursor.clone()),
            None => Bound::Unbounded,
        };
        let mut live: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(limit);
        for entry in tree
            .range::<Vec<u8>, _>((lower.clone(), Bound::Unbounded))
            .take(limit)
        {
            let (key, value) = entry?;
            live.push((key.to_vec(), value.to_vec()));
        }
        // The chunk covers keys up to the last live key read (or everything if the tree ended).
        let upper = if live.len() == limit {
            live.last().map(|(k, _)| k.clone())
        } else {
            None
        };
        let in_range = |key: &[u8]| upper.as_deref().is_none_or(|u| key <= u);
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = live.into_iter().collect();
        let saved_here: Vec<Vec<u8>> = self
            .saved
            .range::<Vec<u8>, _>((lower.clone(), Bound::Unbounded))
            .map(|(k, _)| k.clone())
            .take_while(|k| in_range(k))
            .collect();
        for key in saved_here {
            let old = self.saved.remove(&key).flatten();
            self.saved_bytes = self
                .saved_bytes
                .saturating_sub(key.len() + old.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD);
            match old {
                Some(old) => merged.insert(key, old),
                None => merged.remove(&key),
            };
        }
        if let Some((_, spill)) = &self.spill {
            let mut done = crate::storage::Batch::default();
            for entry in spill.range::<Vec<u8>, _>((lower, Bound::Unbounded)) {
                let (key, encoded) = entry?;
                if !in_range(&key) {
                    break;
                }
                match decode_saved(&encoded) {
                    Some(old) => merged.insert(key.to_vec(), old),
                    None => merged.remove(key.as_ref()),
                };
                done.remove(key);
            }
            spill.apply_batch(done)?;
        }
        let chunk: Vec<(Vec<u8>, Vec<u8>)> = merged.into_iter().collect();
        match upper {
            Some(upper) => self.cursor = Some(upper),
            // The tree is exhausted: this was the last chunk.
            None => {
                self.finished = true;
                self.saved.clear();
                self.saved_bytes = 0;
                self.spill = None;
            }
        }
        Ok(chunk)
    }
}

/// The spill was just made; a missing one is a bug, reported as a storage error.
fn unreachable_spill<T>() -> Result<T> {
    Err(crate::error::Error::Storage(
        "the backup snapshot's spill could not be made".into(),
    ))
}
