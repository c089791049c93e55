//! Taking a backup: online, point in time, streamed chunk by chunk.

use super::format::{push_entry, trailer, BackupKeys, Header, CHUNK_TARGET};
use super::snapshot::Snapshot;
use crate::error::{Error, Result};
use crate::shared::Shared;
use crate::store::Store;
use crate::trees::{bytes_key, meta, Space};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How many entries one gated read takes: small enough that a write waits ~1 ms at most.
const ENTRIES_PER_READ: usize = 2_048;

/// Where a running backup is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub records_done: u64,
    pub records_total: u64,
    pub bytes: u64,
    /// The longest time the backup held the gate for one chunk: the longest a write could
    /// have waited for it.
    pub longest_hold: std::time::Duration,
    /// Whether the snapshot's saved old values outgrew their memory budget and spilled to disk.
    pub spilled: bool,
}

/// What a finished backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub header: Header,
    /// The file's size.
    pub bytes: u64,
    /// Hex BLAKE3 of the file's bytes (what `b3sum` prints).
    pub blake3: String,
    /// The longest a write could have waited for the backup (one gated chunk read).
    pub longest_pause: std::time::Duration,
}

/// Clears the snapshot when the backup ends, however it ends.
pub(crate) struct SnapshotGuard<'a>(&'a Shared);

impl Drop for SnapshotGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut gate) = self.0.backup_gate.lock() {
            *gate = None;
        }
    }
}

/// A writer that counts and hashes what passes through.
pub(crate) struct HashingWriter<W: Write> {
    inner: W,
    hasher: blake3::Hasher,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: blake3::Hasher::new(),
            bytes: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

fn lock_err() -> Error {
    Error::Storage("the backup gate is poisoned".into())
}

/// What a backup may take of the disk it writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupLimits {
    /// The free space the backup's file system must keep: a backup that would leave less is
    /// refused before it starts, and stops (removing its partial file) if the space runs low
    /// while it writes — so a backup never fills the disk a store may share with it.
    pub min_free_bytes: u64,
}

impl Default for BackupLimits {
    fn default() -> Self {
        BackupLimits {
            min_free_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Bytes free for this process on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Result<u64> {
    let stats = rustix::fs::statvfs(dir).map_err(|e| Error::Io(e.into()))?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

fn disk_refusal(dir: &Path, free: u64, needed: u64, limits: &BackupLimits) -> Error {
    Error::Refused(format!(
        "a backup needs about {} MiB on {} and must leave {} MiB free; {} MiB are free",
        needed / (1024 * 1024),
        dir.display(),
        limits.min_free_bytes / (1024 * 1024),
        free / (1024 * 1024)
    ))
}

/// The next keyring slots for the backup, after every tree entry: the customers' keys, which
/// live outside the tree (`keyring.rs`), as they were when the backup started (the snapshot
/// keeps those erased since). Slots erased before are left out.
fn keyring_chunk(shared: &Shared, next_slot: &mut u64) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let keyring = shared.codec.keyring()?;
    let gate = shared.backup_gate.lock().map_err(|_| lock_err())?;
    let snapshot = gate
        .as_ref()
        .ok_or_else(|| Error::Storage("the backup snapshot vanished".into()))?;
    let end = keyring.len();
    let mut chunk = Vec::new();
    while *next_slot < end && chunk.len() < ENTRIES_PER_READ {
        let slot = *next_slot;
        *next_slot += 1;
        let raw = keyring
            .raw(slot)
            .filter(|r| !crate::keyring::is_erased(r))
            .or_else(|| snapshot.erased_slot(slot));
        if let Some(raw) = raw {
            chunk.push((
                crate::trees::id_key(Space::KeyringSlot, slot).to_vec(),
                raw.to_vec(),
            ));
        }
    }
    Ok(chunk)
}

impl Store {
    /// Writes a consistent backup of the whole store to `path` while writes go on; refuses
    /// with `BUSY` if another backup runs. The file appears under its name only when complete.
    pub fn backup_to(&self, path: &Path, on_progress: &dyn Fn(Progress)) -> Result<BackupSummary> {
        self.backup_with(path, &BackupLimits::default(), on_progress)
    }

    /// [`Store::backup_to`] within `limits`: refused (`ERR`) if the file system of `path` would
    /// be left with less than the minimum free, and stopped if it gets there meanwhile.
    pub fn backup_with(
        &self,
        path: &Path,
        limits: &BackupLimits,
        on_progress: &dyn Fn(Progress),
    ) -> Result<BackupSummary> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        // The backup holds the sealed entries without sled's own overhead: the store's size
        // on disk is a safe estimate.
        let needed = self.data_bytes();
        let free = free_bytes(&dir)?;
        if free < needed.saturating_add(limits.min_free_bytes) {
            return Err(disk_refusal(&dir, free, needed, limits));
        }
        let (header, (), _guard) = self.start_copy(dir, |_| Ok(()))?;
        let temporary = partial_path(path);
        let result = self.write_backup_file(&temporary, &header, limits, on_progress);
        match result {
            Ok((bytes, hash, longest_pause)) => {
                std::fs::rename(&temporary, path)?;
                if let Some(dir) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
                    let _ = dir.sync_all();
                }
                Ok(BackupSummary {
                    header,
                    bytes,
                    blake3: hash.to_hex().to_string(),
                    longest_pause,
                })
            }
            Err(error) => {
                let _ = std::fs::remove_file(&temporary);
                Err(error)
            }
        }
    }

    /// Starts a point-in-time copy of the store (a backup, or a cluster node's snapshot):
    /// takes the backup gate (`BUSY` while another copy runs), and reads the header's counts
    /// and `also` under it, so they agree with the copy that starts now. The copy runs until
    /// the guard is dropped.
    pub(crate) fn start_copy<T>(
        &self,
        spill_dir: PathBuf,
        also: impl FnOnce(&Shared) -> Result<T>,
    ) -> Result<(Header, T, SnapshotGuard<'_>)> {
        let shared = &*self.shared;
        let mut gate = shared.backup_gate.lock().map_err(|_| lock_err())?;
        if gate.is_some() {
            return Err(Error::Busy("a backup is already running".into()));
        }
        *gate = Some(Snapshot::new(shared.backup_memory_bytes, spill_dir));
        let guard = SnapshotGuard(shared);
        // Read under the gate: no write group applies meanwhile.
        let counts = shared.counts()?;
        let fingerprint = shared.master.fingerprint();
        let mut key_fingerprint = [0u8; 8];
        for (i, byte) in key_fingerprint.iter_mut().enumerate() {
            *byte = u8::from_str_radix(fingerprint.get(i * 2..i * 2 + 2).unwrap_or("00"), 16)
                .unwrap_or(0);
        }
        let header = Header {
            format_version: super::FORMAT_VERSION,
            created_at: crate::values::now(),
            backup_id: Header::new_id(),
            key_fingerprint,
            kdf_salt: shared
                .tree
                .get(bytes_key(Space::Meta, meta::KDF_SALT))?
                .map(|s| s.to_vec())
                .unwrap_or_default(),
            kdf_params: crate::envelope::stored_params(&shared.tree)?,
            customers: counts.customers,
            products: counts.products,
            orders: counts.orders,
            users: shared.tree.scan_prefix(Space::User.prefix()).count() as u64,
        };
        let also = also(shared)?;
        drop(gate);
        Ok((header, also, guard))
    }

    fn write_backup_file(
        &self,
        temporary: &Path,
        header: &Header,
        limits: &BackupLimits,
        on_progress: &dyn Fn(Progress),
    ) -> Result<(u64, blake3::Hash, std::time::Duration)> {
        let dir = temporary.parent().unwrap_or(Path::new(".")).to_path_buf();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(temporary)?;
        let mut out = HashingWriter::new(std::io::BufWriter::new(file));
        let mut check_disk = || {
            let free = free_bytes(&dir)?;
            match free < limits.min_free_bytes {
                true => Err(disk_refusal(&dir, free, 0, limits)),
                false => Ok(()),
            }
        };
        let progress =
            self.stream_copy(&mut out, header, Vec::new(), &mut check_disk, on_progress)?;
        let HashingWriter {
            inner,
            hasher,
            bytes,
        } = out;
        let file = inner.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        file.sync_all()?;
        Ok((bytes, hasher.finalize(), progress.longest_hold))
    }

    /// Streams the copy [`Store::start_copy`] started, in the backup format (sealed with the
    /// keys the master key derives): the header, every tree entry as of the start, the
    /// keyring's slots, then `extra` entries (a snapshot's epoch keys), then the trailer.
    /// `after_chunk` runs after each chunk is written (a backup checks the disk's free space).
    pub(crate) fn stream_copy<W: Write>(
        &self,
        out: &mut HashingWriter<W>,
        header: &Header,
        extra: Vec<(Vec<u8>, Vec<u8>)>,
        after_chunk: &mut dyn FnMut() -> Result<()>,
        on_progress: &dyn Fn(Progress),
    ) -> Result<Progress> {
        let shared = &*self.shared;
        let keys = BackupKeys::derive(&shared.master);
        let header_bytes = header.encode(&keys);
        let header_mac: [u8; 32] = header_bytes[header_bytes.len() - 32..]
            .try_into()
            .unwrap_or([0; 32]);
        out.write_all(&header_bytes)?;
        let mut progress = Progress {
            records_total: header.records(),
            ..Progress::default()
        };
        let mut plain_hash = blake3::Hasher::new();
        let mut plain = Vec::with_capacity(CHUNK_TARGET + 64 * 1024);
        let mut index = 0u64;
        let mut entry_count = 0u64;
        let record_spaces = [
            Space::Customer as u8,
            Space::Product as u8,
            Space::Order as u8,
        ];
        let mut keyring_phase = false;
        let mut extra = Some(extra);
        let mut next_slot = 0u64;
        loop {
            let mut chunk = Vec::new();
            if !keyring_phase {
                let mut gate = shared.backup_gate.lock().map_err(|_| lock_err())?;
                let held = std::time::Instant::now();
                let snapshot = gate
                    .as_mut()
                    .ok_or_else(|| Error::Storage("the backup snapshot vanished".into()))?;
                chunk = snapshot.next_chunk(&shared.tree, ENTRIES_PER_READ)?;
                progress.longest_hold = progress.longest_hold.max(held.elapsed());
                progress.spilled |= snapshot.spilled();
                keyring_phase = chunk.is_empty();
            }
            if keyring_phase {
                chunk = keyring_chunk(shared, &mut next_slot)?;
                if chunk.is_empty() {
                    chunk = extra.take().unwrap_or_default();
                }
            }
            let finished = chunk.is_empty();
            // A chunk is cut as soon as it reaches its target, inside a read: one read of
            // 2,048 large entries (journal pages of 5,000-write groups, ~150 KB each) made a
            // 33 MB chunk that the reader, which refuses chunks over 16 MiB, could not read.
            let mut seal = |plain: &mut Vec<u8>, progress: &mut Progress| -> Result<()> {
                plain_hash.update(plain);
                out.write_all(&keys.seal_chunk(
                    &header_mac,
                    &header.backup_id,
                    index,
                    false,
                    plain,
                ))?;
                index += 1;
                plain.clear();
                progress.bytes = out.bytes;
                on_progress(*progress);
                after_chunk()
            };
            for (key, value) in &chunk {
                push_entry(&mut plain, key, value);
                entry_count += 1;
                if key.first().is_some_and(|b| record_spaces.contains(b)) {
                    progress.records_done += 1;
                }
                if plain.len() >= CHUNK_TARGET {
                    seal(&mut plain, &mut progress)?;
                }
            }
            if finished && !plain.is_empty() {
                seal(&mut plain, &mut progress)?;
            }
            if finished {
                break;
            }
        }
        let end = trailer(entry_count, &plain_hash.finalize());
        out.write_all(&keys.seal_chunk(&header_mac, &header.backup_id, index, true, &end))?;
        out.flush()?;
        progress.bytes = out.bytes;
        on_progress(progress);
        Ok(progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeySource, MasterKey};
    use crate::store::Options;

    // Guards against chunks cut only between reads: a read of 2,048 large entries made one
    // chunk over the reader's 16 MiB limit, so the backup (and a joining node's snapshot)
    // could not be read back. Now a chunk ends with the entry that takes it to its target.
    #[test]
    fn every_chunk_ends_with_the_entry_that_reaches_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeySource::Key(MasterKey::generate());
        let store = Store::open(&dir.path().join("data"), &key, &Options::default()).unwrap();
        crate::demo::generate(7, 5_000, 100, 50_000)
            .load_into(&store)
            .unwrap();
        let file = dir.path().join("b.crmbak");
        store.backup_to(&file, &|_| {}).unwrap();
        let mut input = std::io::BufReader::new(std::fs::File::open(&file).unwrap());
        // The plain size of each chunk's entries, as `push_entry` lays them out.
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        super::super::read::walk_stream(&mut input, &key, &mut |_, _, _| {}, |entries| {
            chunks.push(entries.iter().map(|(k, v)| 8 + k.len() + v.len()).collect());
            Ok(())
        })
        .unwrap();
        assert!(chunks.len() > 3, "{} chunks", chunks.len());
        for (i, sizes) in chunks.iter().enumerate().take(chunks.len() - 1) {
            let all: usize = sizes.iter().sum();
            let before_last = all - sizes.last().copied().unwrap_or(0);
            assert!(
                before_last < CHUNK_TARGET && all >= CHUNK_TARGET,
                "chunk {i}: {all} bytes, {before_last} before its last entry (target {CHUNK_TARGET})"
            );
        }
    }
}
