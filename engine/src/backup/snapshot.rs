//! Copy-on-write for online backups: a point-in-time view of the tree while writes go on.
//!
//! sled 0.34 has no snapshots and its iterators are not point-in-time. So while a backup runs,
//! the committer, before applying a write group, saves the old value of every key the group
//! touches that the backup has not copied yet (key > cursor). The backup copies keys in order,
//! a chunk at a time, and for each key takes the saved old value when there is one. Both sides
//! take the same gate, so a chunk read and a group's apply never interleave: writes wait at most
//! for one chunk to be read (about a millisecond), never for the whole backup.

use crate::error::Result;
use std::collections::BTreeMap;
use std::ops::Bound;

/// The state shared by a running backup and the committer.
#[derive(Default)]
pub struct Snapshot {
    /// The last key the backup has copied; `None` before the first chunk.
    cursor: Option<Vec<u8>>,
    /// Set once the whole tree is copied: later writes need no saving.
    finished: bool,
    /// Values as they were when the backup started, for keys changed since and not yet copied:
    /// `None` means the key did not exist then.
    saved: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Snapshot {
    fn not_copied(&self, key: &[u8]) -> bool {
        !self.finished && self.cursor.as_deref().is_none_or(|cursor| key > cursor)
    }

    /// Called by the committer with the keys a group is about to change.
    pub fn preserve<'a>(
        &mut self,
        tree: &sled::Tree,
        keys: impl Iterator<Item = &'a Vec<u8>>,
    ) -> Result<()> {
        for key in keys {
            if self.not_copied(key) && !self.saved.contains_key(key) {
                let old = tree.get(key)?.map(|v| v.to_vec());
                self.saved.insert(key.clone(), old);
            }
        }
        Ok(())
    }

    /// The next at most `limit` entries of the point-in-time view after the cursor, and moves
    /// the cursor past them. Empty when the whole tree is copied.
    pub fn next_chunk(
        &mut self,
        tree: &sled::Tree,
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
        let in_range = |key: &Vec<u8>| upper.as_ref().is_none_or(|u| key <= u);
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = live.into_iter().collect();
        let saved_here: Vec<Vec<u8>> = self
            .saved
            .range::<Vec<u8>, _>((lower, Bound::Unbounded))
            .map(|(k, _)| k.clone())
            .take_while(|k| in_range(k))
            .collect();
        for key in saved_here {
            match self.saved.remove(&key).flatten() {
                Some(old) => merged.insert(key, old),
                None => merged.remove(&key),
            };
        }
        let chunk: Vec<(Vec<u8>, Vec<u8>)> = merged.into_iter().collect();
        match upper {
            Some(upper) => self.cursor = Some(upper),
            // The tree is exhausted: this was the last chunk.
            None => {
                self.finished = true;
                self.saved.clear();
            }
        }
        Ok(chunk)
    }
}
