//! Encrypted, verifiable, consistent, online backups, and restore.

mod format;
pub(crate) mod read;
pub(crate) mod snapshot;
pub(crate) mod unfinished;
pub(crate) mod write;

pub use format::{Header, FORMAT_VERSION, MAGIC};
pub use read::{
    read_header, restore, restore_forgetting, restore_reporting, verify, verify_reporting,
    BackupInfo, ReadProgress, ReadStage,
};
pub use unfinished::unfinished_path;
pub use write::{BackupLimits, BackupSummary, Progress};
