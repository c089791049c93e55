//! Encrypted, verifiable, consistent, online backups, and restore.

mod format;
mod read;
pub(crate) mod snapshot;
mod write;

pub use format::{Header, FORMAT_VERSION, MAGIC};
pub use read::{read_header, restore, restore_forgetting, verify, BackupInfo};
pub use write::{BackupLimits, BackupSummary, Progress};
