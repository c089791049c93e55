//! `crm-server import --rejects FILE`: every rejected row, as it was in the file, with a last
//! column `reason`, in a new CSV file — to fix and import again.
//!
//! The file is created before the import starts (readable by its owner only, and never over an
//! existing file: a second run must not destroy the first run's rejects), so a name that cannot
//! be used stops the import before anything is written.

use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The rejects file being written.
pub struct Rejects {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl Rejects {
    /// Creates the file (mode 0600; an error if it exists) and writes the header row: the
    /// import file's header as it was, plus `reason`.
    pub fn create(path: &Path, header: &[u8], ending: &str) -> anyhow::Result<Rejects> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                anyhow::anyhow!(
                    "the rejects file {} exists: give a new name (it is never overwritten)",
                    path.display()
                )
            } else {
                anyhow::Error::new(error)
                    .context(format!("creating the rejects file {}", path.display()))
            }
        })?;
        let mut rejects = Rejects {
            path: path.to_path_buf(),
            out: std::io::BufWriter::new(file),
        };
        rejects.write_row(header, "reason", ending)?;
        Ok(rejects)
    }

    /// Writes one rejected row: its bytes as they were, then the reason as the last field
    /// (quoted when it holds a comma, a quote or a line break).
    pub fn write_row(&mut self, raw: &[u8], reason: &str, ending: &str) -> anyhow::Result<()> {
        let quoted = if reason.contains([',', '"', '\r', '\n']) {
            format!("\"{}\"", reason.replace('"', "\"\""))
        } else {
            reason.to_string()
        };
        let ending = if ending.is_empty() { "\n" } else { ending };
        self.out
            .write_all(raw)
            .and_then(|()| self.out.write_all(b","))
            .and_then(|()| self.out.write_all(quoted.as_bytes()))
            .and_then(|()| self.out.write_all(ending.as_bytes()))
            .with_context(|| format!("writing the rejects file {}", self.path.display()))
    }

    /// Writes what is buffered to the disk.
    pub fn finish(mut self) -> anyhow::Result<()> {
        self.out
            .flush()
            .and_then(|()| self.out.get_ref().sync_all())
            .with_context(|| format!("writing the rejects file {}", self.path.display()))
    }
}
