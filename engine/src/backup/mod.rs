//! Encrypted, verifiable, consistent, online backups, and restore.

mod format;
mod read;
pub(crate) mod snapshot;
mod unfinished;
mod write;

pub use format::{Header, FORMAT_VERSION, MAGIC};
pub use read::{
    read_header, restore, restore_forgetting, restore_reporting, verify, verify_reporting,
    BackupInfo, ReadProgress, ReadStage,
};
pub use unfinished::unfinished_path;
pub use write::{BackupLimits, BackupSummary, Progress};
