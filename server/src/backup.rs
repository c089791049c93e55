//! The state of the running backup, shared with `INFO` so clients can draw progress.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Whether a backup runs and how far it is.
#[derive(Default)]
pub struct BackupState {
    running: AtomicBool,
    records_done: AtomicU64,
    records_total: AtomicU64,
    bytes: AtomicU64,
}

/// A consistent-enough reading of [`BackupState`] for `INFO`.
pub struct BackupProgress {
    pub running: bool,
    /// 0 to 100.
    pub percent: u64,
    pub records: u64,
    pub bytes: u64,
}

impl BackupState {
    /// Reads the progress.
    pub fn snapshot(&self) -> BackupProgress {
        let done = self.records_done.load(Ordering::Relaxed);
        let total = self.records_total.load(Ordering::Relaxed);
        BackupProgress {
            running: self.running.load(Ordering::Relaxed),
            percent: (done * 100).checked_div(total).map_or(0, |p| p.min(100)),
            records: done,
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }
}
