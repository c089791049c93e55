//! A joining node's copy of the store: a point-in-time snapshot in the backup format (sealed
//! under keys the master key derives, every chunk authenticated, its order and its end
//! checked: `backup/format.rs`), with the cluster's epoch keys, restored without a write of
//! its own.
//!
//! # Why the restore writes nothing
//!
//! `crm-server restore` erases again, after the copy, the customers it finds unkeyed and those
//! a forget list names (`backup/read.rs`): writes of its own, journaled, that would put a
//! joining node's store off the leader's by entries no other node has. A snapshot is taken
//! from a live node whose every change came through the log, so what it holds is exactly the
//! store at its position, and the joiner follows the log from the next entry: its journal,
//! counts and `AUDIT.HEAD` are the leader's as of that position. Only a store's own opening
//! completes, deterministically, an erasure the copy caught between its batch and the key's
//! overwrite (`finish_erasures`), as the source itself does.

use crate::backup::{unfinished, Header, Progress};
use crate::error::{Error, Result};
use crate::keys::KeySource;
use crate::store::{Options, Store};
use crate::trees::{id_key, meta, trailing_id, Space, DATA_TREE};
use std::io::{Read, Write};
use std::path::Path;

/// What a restored snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub header: Header,
    /// The log position of the last entry the snapshot holds: the node follows the log from
    /// the next one (its [`Store::cluster_applied`] once opened).
    pub position: u64,
    /// Entries in the stream (tree entries, keyring slots, epoch keys).
    pub entries: u64,
}

impl Store {
    /// Writes a snapshot of the store for a joining node to `out`, while writes go on (a
    /// point-in-time copy, as a backup's: `backup/snapshot.rs`), and returns the log position
    /// it holds. `BUSY` while a backup or another snapshot runs (the joiner retries).
    pub fn snapshot_to(&self, out: impl Write, on_progress: &dyn Fn(Progress)) -> Result<u64> {
        let dir = self.shared.dir.clone();
        let (header, (position, epochs), _guard) = self.start_copy(dir, |shared| {
            let position = shared.meta_u64(meta::CLUSTER_APPLIED)?;
            Ok((position, super::epochs_of(shared)?.held_slots()))
        })?;
        let epochs = epochs
            .into_iter()
            .map(|(epoch, raw)| (id_key(Space::EpochSlot, epoch).to_vec(), raw.to_vec()))
            .collect();
        let mut out = crate::backup::write::HashingWriter::new(out);
        self.stream_copy(&mut out, &header, epochs, &mut || Ok(()), on_progress)?;
        Ok(position)
    }
}

/// Restores a snapshot read from `input` into `dir` (which must not exist or be empty), for
/// a joining node, with its own key: every chunk checked, nothing written but the snapshot's
/// contents (see above), then opened and checked (consistency, counts against the header).
/// The store is built in a hidden sibling of `dir` and moved into place only when complete
/// (`backup/unfinished.rs`, as a restore): a failure or a crash leaves no `dir`, and the next
/// call clears what an interrupted one left, its keys destroyed first.
pub fn restore_snapshot(
    input: impl Read,
    key: &KeySource,
    dir: &Path,
    on_progress: &dyn Fn(Progress),
) -> Result<SnapshotInfo> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(Error::Refused(format!(
            "{} exists and is not empty: a snapshot is restored only into a new folder",
            dir.display()
        )));
    }
    let unfinished = unfinished::unfinished_path(dir)?;
    unfinished::clear(&unfinished)?;
    let result = restore_into(input, key, &unfinished, on_progress).and_then(|info| {
        unfinished::publish(&unfinished, dir)?;
        Ok(info)
    });
    if result.is_err() {
        let _ = unfinished::clear(&unfinished);
    }
    result
}

fn restore_into(
    input: impl Read,
    key: &KeySource,
    dir: &Path,
    on_progress: &dyn Fn(Progress),
) -> Result<SnapshotInfo> {
    unfinished::create(dir)?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, input);
    // What the last chunk read said: the records the header counts, the bytes read.
    let read = std::cell::Cell::new((0u64, 0u64));
    let mut slots = Vec::new();
    let mut epochs = Vec::new();
    let mut progress = Progress::default();
    let record_spaces = [
        Space::Customer as u8,
        Space::Product as u8,
        Space::Order as u8,
    ];
    let (header, entries) = {
        let db = crate::storage::Db::open(dir, &crate::storage::Tuning::default())?;
        let tree = db.open_tree(DATA_TREE)?;
        let mut on_chunk =
            |header: &Header, _: u64, bytes: u64| read.set((header.records(), bytes));
        let walked = crate::backup::read::walk_stream(&mut input, key, &mut on_chunk, |chunk| {
            let mut batch = crate::storage::Batch::default();
            for (k, v) in chunk {
                match k.first().copied() {
                    Some(b) if b == Space::KeyringSlot as u8 => slots.push(slot(k, v)?),
                    Some(b) if b == Space::EpochSlot as u8 => epochs.push(slot(k, v)?),
                    _ if crate::trees::is_memory_only(k) => {
                        return Err(Error::Corrupt(format!(
                            "the snapshot holds {}, which this layout keeps in memory only",
                            crate::codec::describe_key(k)
                        )))
                    }
                    first => {
                        if first.is_some_and(|b| record_spaces.contains(&b)) {
                            progress.records_done += 1;
                        }
                        batch.insert(k, v);
                    }
                }
            }
            tree.apply_batch(batch)?;
            (progress.records_total, progress.bytes) = read.get();
            on_progress(progress);
            Ok(())
        })?;
        db.close()?;
        walked
    };
    if !slots.is_empty() {
        crate::keyring::write_restored(dir, &slots)?;
    }
    super::epochs::write_restored(dir, &epochs)?;
    let store = Store::open_without_writes(dir, key, &Options::default(), &|_| {})?;
    store.check_consistency()?;
    header.check_restored(store.counts()?, 0)?;
    let position = store.cluster_applied();
    store.close()?;
    Ok(SnapshotInfo {
        header,
        position,
        entries,
    })
}

/// A keyring or epoch slot of the stream: `space ‖ number` and the slot's 72 stored bytes.
fn slot<const N: usize>(key: &[u8], value: &[u8]) -> Result<(u64, [u8; N])> {
    let number = trailing_id(key).filter(|_| key.len() == 9);
    match (number, <[u8; N]>::try_from(value)) {
        (Some(number), Ok(bytes)) => Ok((number, bytes)),
        _ => Err(Error::Corrupt(format!(
            "the snapshot's slot {} is malformed",
            crate::codec::describe_key(key)
        ))),
    }
}
