//! Backups on the server: one at a time, into the backup folder, with progress for `INFO`.

use crm_engine::backup::Progress;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// Whether a backup runs and how far it is, and the digests of the backup files.
#[derive(Default)]
pub struct BackupState {
    running: AtomicBool,
    records_done: AtomicU64,
    records_total: AtomicU64,
    bytes: AtomicU64,
    /// The digests of the files, so `BACKUP.LIST` hashes a file once, not on every call.
    pub digests: DigestCache,
}

/// A file's BLAKE3, remembered with the size and modification time it was computed for: a
/// file changed since (tampered, replaced) is hashed again.
#[derive(Default)]
pub struct DigestCache {
    known: Mutex<HashMap<PathBuf, (u64, SystemTime, String)>>,
}

impl DigestCache {
    fn stamp(path: &Path) -> std::io::Result<(u64, SystemTime)> {
        let metadata = std::fs::metadata(path)?;
        Ok((metadata.len(), metadata.modified()?))
    }

    /// Remembers the digest of a file just written.
    pub fn remember(&self, path: &Path, digest: &str) {
        if let (Ok((len, modified)), Ok(mut known)) = (Self::stamp(path), self.known.lock()) {
            known.insert(path.to_path_buf(), (len, modified, digest.to_string()));
        }
    }

    /// The file's digest: remembered if the file is as it was, else computed (and remembered).
    pub fn digest(&self, path: &Path) -> std::io::Result<String> {
        let (len, modified) = Self::stamp(path)?;
        if let Ok(known) = self.known.lock() {
            if let Some((l, m, digest)) = known.get(path) {
                if (*l, *m) == (len, modified) {
                    return Ok(digest.clone());
                }
            }
        }
        let digest = file_blake3(path)?;
        if let Ok(mut known) = self.known.lock() {
            known.insert(path.to_path_buf(), (len, modified, digest.clone()));
        }
        Ok(digest)
    }
}

/// A reading of [`BackupState`] for `INFO`.
pub struct BackupProgress {
    pub running: bool,
    /// 0 to 100.
    pub percent: u64,
    pub records: u64,
    pub bytes: u64,
}

/// Marks the backup finished when dropped, whatever happened.
pub struct Running<'a>(&'a BackupState);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::SeqCst);
    }
}

impl BackupState {
    /// Claims the single backup slot; `None` if a backup runs already.
    pub fn try_start(&self) -> Option<Running<'_>> {
        self.running
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .ok()?;
        self.records_done.store(0, Ordering::Relaxed);
        self.records_total.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        Some(Running(self))
    }

    /// Records progress reported by the engine.
    pub fn update(&self, progress: Progress) {
        self.records_done
            .store(progress.records_done, Ordering::Relaxed);
        self.records_total
            .store(progress.records_total, Ordering::Relaxed);
        self.bytes.store(progress.bytes, Ordering::Relaxed);
    }

    /// Reads the progress.
    pub fn snapshot(&self) -> BackupProgress {
        let done = self.records_done.load(Ordering::Relaxed);
        let total = self.records_total.load(Ordering::Relaxed);
        let running = self.running.load(Ordering::Relaxed);
        BackupProgress {
            running,
            percent: if running {
                (done * 100).checked_div(total).map_or(0, |p| p.min(100))
            } else {
                0
            },
            records: done,
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}

/// Whether a client-given backup name is acceptable: 1 to 64 of `A-Z a-z 0-9 . _ -`, not
/// starting with `.` — so it can never be a path.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The file of a backup.
pub fn file_of(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.crmbak"))
}

/// `backup-YYYYMMDDTHHMMSSZ`, with `-2`, `-3`, ... if taken.
pub fn default_name(dir: &Path, now: i64) -> String {
    let stamp = chrono_stamp(now);
    let base = format!("backup-{stamp}");
    if !file_of(dir, &base).exists() {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !file_of(dir, name).exists())
        .unwrap_or(base)
}

fn chrono_stamp(now: i64) -> String {
    // RFC 3339 `2026-11-25T09:30:00Z` without the separators.
    crm_engine::values::format_timestamp(now).replace(['-', ':'], "")
}

/// The hex BLAKE3 of a file's bytes, read in a stream.
pub fn file_blake3(path: &Path) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(hasher.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_backup_at_a_time() {
        let state = BackupState::default();
        let running = state.try_start().expect("the slot is free");
        assert!(state.try_start().is_none(), "a second backup must get BUSY");
        assert!(state.snapshot().running);
        drop(running);
        assert!(!state.snapshot().running);
        assert!(state.try_start().is_some());
    }

    #[test]
    fn names_that_could_be_paths_are_refused() {
        for bad in [
            "",
            "../x",
            "/etc/x",
            ".hidden",
            "a/b",
            "a b",
            &"x".repeat(65),
            "a\\b",
            "é",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
        for good in [
            "nightly",
            "backup-20261125T093000Z",
            "a.b_c-d",
            &"x".repeat(64),
        ] {
            assert!(valid_name(good), "{good}");
        }
        let at = crm_engine::values::parse_timestamp("t", "2026-11-25T09:30:00Z").unwrap();
        assert_eq!(chrono_stamp(at), "20261125T093000Z");
    }
}
