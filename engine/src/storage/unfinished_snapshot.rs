//! sled 0.34.7 writes a snapshot of its page table to `snap.N.generating`, syncs it and
//! renames it to `snap.N`: the rename is the commit point. But at open it reads the newest of
//! *all* `snap.*` files, `.generating` ones included, so a process killed while writing a
//! snapshot leaves a partial file that the next open reads first and then refuses the whole
//! store with `Read corrupted data at file offset None` (sled issues #1527 and #1533; found
//! here by a SIGKILL during an upgrade, in a release test run). A `.generating` file present
//! when nobody holds the folder is from a crash and holds nothing the store needs (the older,
//! complete snapshot and the log segments are still there), so it is removed before sled
//! opens — under sled's own folder lock, so that a live process's snapshot is never touched.

use crate::error::{Error, Result};
use std::path::Path;

/// The suffix of a snapshot sled has not finished writing.
const UNFINISHED: &str = ".generating";
/// How often, and how far apart, the folder's lock is tried (a second in all).
const LOCK_TRIES: u32 = 50;
const LOCK_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Removes the unfinished snapshots in the sled folder `path`, if no process holds it.
/// Returns how many were removed (0 when the folder is held: sled's open then reports it).
pub(super) fn remove_unfinished_snapshots(path: &Path) -> Result<usize> {
    // sled locks the file `db` (flock, exclusive) for as long as a store is open.
    let lock_file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path.join("db"))
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::Io(e)),
    };
    // A store of this process closed a moment ago may still hold the lock for as long as
    // sled's background threads take to let go (seen under load: the remover gave up, then
    // sled's own open got the lock and read the partial snapshot); so the lock is tried for
    // a short while before the folder is taken to be held.
    let mut tries = 0;
    while rustix::fs::flock(
        &lock_file,
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    )
    .is_err()
    {
        tries += 1;
        if tries >= LOCK_TRIES {
            return Ok(0);
        }
        std::thread::sleep(LOCK_PAUSE);
    }
    let mut removed = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(UNFINISHED) {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    if removed > 0 {
        std::fs::File::open(path)?.sync_all()?;
    }
    // Closing the file releases the lock for sled's own open.
    drop(lock_file);
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_folder_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db"), b"").unwrap();
        let unfinished = dir.path().join("snap.0000000000000010.generating");
        std::fs::write(&unfinished, b"partial").unwrap();
        let holder = std::fs::File::open(dir.path().join("db")).unwrap();
        rustix::fs::flock(&holder, rustix::fs::FlockOperation::LockExclusive).unwrap();
        assert_eq!(remove_unfinished_snapshots(dir.path()).unwrap(), 0);
        assert!(unfinished.exists());
        drop(holder);
        assert_eq!(remove_unfinished_snapshots(dir.path()).unwrap(), 1);
        assert!(!unfinished.exists());
    }

    #[test]
    fn a_folder_sled_never_made_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(remove_unfinished_snapshots(dir.path()).unwrap(), 0);
        assert!(!dir.path().join("db").exists());
    }
}
