//! Where a restore is built: a hidden sibling of the new folder, renamed into place only when
//! the restore is finished.
//!
//! A restore with a forget list first writes the backup as it was — the forgotten people in
//! it — then erases them again. Built in the new folder itself, a crash between the two left a
//! folder that opened normally with those people in it. Built under another name, the new
//! folder appears only once they are erased and everything is on disk (every file and folder
//! fsynced, then the rename, then the parent fsynced); a crash at any point before leaves no
//! new folder at all. What it leaves is the unfinished sibling, which the next restore into
//! the same folder clears first, destroying the customers' keys in it before removing it
//! (`keyring.rs`: without its keys, what sled kept of a person is ciphertext).

use crate::error::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The unfinished folder of a restore into `new_dir`: `.NAME.restore-unfinished` beside it.
pub fn unfinished_path(new_dir: &Path) -> Result<PathBuf> {
    let name = new_dir.file_name().ok_or_else(|| {
        Error::Refused(format!(
            "{} names no folder to restore into",
            new_dir.display()
        ))
    })?;
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(name);
    hidden.push(".restore-unfinished");
    Ok(parent_of(new_dir).join(hidden))
}

/// The folder `path` is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Makes the unfinished folder, private, and its parent folders if need be.
pub fn create(unfinished: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(unfinished)?;
    Ok(())
}

/// Removes what an interrupted restore left, its customers' keys destroyed first (the keyring,
/// and a joining cluster node's log epoch keys, overwritten with zeros and fsynced). Nothing
/// to do when there is none.
pub fn clear(unfinished: &Path) -> Result<()> {
    if !unfinished.exists() {
        return Ok(());
    }
    crate::keyring::destroy_file(unfinished)?;
    crate::replica::epochs::destroy_file(unfinished)?;
    std::fs::remove_dir_all(unfinished)?;
    sync(parent_of(unfinished))
}

/// Moves a finished restore into place: every file and folder in it made durable, then the
/// rename (which replaces `new_dir` if it is an empty folder), then the parent made durable.
pub fn publish(unfinished: &Path, new_dir: &Path) -> Result<()> {
    sync_tree(unfinished)?;
    std::fs::rename(unfinished, new_dir).map_err(|error| {
        Error::Storage(format!(
            "moving the restored store {} to {}: {error}",
            unfinished.display(),
            new_dir.display()
        ))
    })?;
    sync(parent_of(new_dir))
}

/// fsyncs every file and folder under `dir`, and `dir` itself.
fn sync_tree(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        } else {
            sync(&entry.path())?;
        }
    }
    sync(dir)
}

fn sync(path: &Path) -> Result<()> {
    File::open(path)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unfinished_folder_is_a_hidden_sibling() {
        assert_eq!(
            unfinished_path(Path::new("/srv/crm/restored")).ok(),
            Some(PathBuf::from("/srv/crm/.restored.restore-unfinished"))
        );
        assert_eq!(
            unfinished_path(Path::new("restored")).ok(),
            Some(PathBuf::from("./.restored.restore-unfinished"))
        );
        assert!(unfinished_path(Path::new("/")).is_err());
    }
}
