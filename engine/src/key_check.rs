//! The key check file: a copy of the store's key envelope beside sled's files, so that a key
//! is checked before anything in the folder is written.
//!
//! # Why a file of its own
//!
//! The envelope — the data key wrapped under the master key, and a passphrase's salt and cost
//! parameters (`envelope.rs`) — lives in sled, and opening sled writes: it rewrites the end of
//! its log and may write a new snapshot, and the store then replays its redo log into sled and
//! retires the log's segments. A wrong key refused after that has changed the folder. So
//! [`FILE_NAME`] keeps a copy of the envelope's entries (`m‖data_key`, `m‖kdf_salt`,
//! `m‖kdf_params`: the same sealed bytes, no secret), read before sled is opened: a key that
//! opens none of its wrappings is [`Error::WrongKey`] and nothing is written. sled's entries
//! stay the store's truth (backups carry them); the file follows them.
//!
//! # Keeping it in step
//!
//! The file is replaced whole (a new file, synced, renamed over it, the folder synced), so a
//! crash leaves the old or the new one. Every open that unwrapped the data key writes it again
//! if it differs from sled's entries (a store made before the file, a restored one). A rekey
//! (`rekey.rs`) first writes both wrappings, then commits the new one into sled, then writes
//! the new one alone: after a crash either key passes the check, and the one that opens sled's
//! entry opens the store; the other is refused after sled was opened (the only case where a
//! key is refused that late, besides a store without the file yet), and the next open or
//! rekey puts the file back in step.
//!
//! # Format
//!
//! `magic (8) ‖ version (4) ‖ wrappings (1) ‖ wrapping… ‖ checksum (16)`, each wrapping three
//! fields (the sealed data key, the salt, the parameters), each `present (1) ‖ length (4) ‖
//! bytes`; the checksum is BLAKE3 over what precedes it. Numbers are big-endian. A damaged file
//! is ignored (the key is then checked against sled's entries, as before the file, and the file
//! written again).

use crate::crash_points;
use crate::envelope;
use crate::error::{Error, Result};
use crate::keys::{KeySource, MasterKey};
use crate::trees::{bytes_key, meta, Space};
use std::io::{Read, Write};
use std::path::Path;

/// The file's name inside the data folder.
pub const FILE_NAME: &str = "key-check";
/// Where a new version is written before it is renamed over the file.
const NEW_NAME: &str = "key-check.new";
const MAGIC: &[u8; 8] = b"CRMKEYCK";
const VERSION: u32 = 1;
const CHECKSUM_LEN: usize = 16;
/// No valid file is larger (two wrappings of small fields); a larger one is damaged.
const MAX_LEN: u64 = 64 * 1024;

/// One wrapping of the data key, as sled's metadata entries hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wrapping {
    /// `m‖data_key`: the data key sealed under the master key.
    pub sealed: Vec<u8>,
    /// `m‖kdf_salt`: for a passphrase store.
    pub salt: Option<Vec<u8>>,
    /// `m‖kdf_params`: the passphrase's cost parameters, if recorded.
    pub params: Option<Vec<u8>>,
}

impl Wrapping {
    /// The wrapping sled's entries hold; `None` for a store without a data key (layout 1).
    pub fn of_tree(tree: &crate::storage::Tree) -> Result<Option<Wrapping>> {
        let get = |name: &[u8]| -> Result<Option<Vec<u8>>> {
            Ok(tree.get(bytes_key(Space::Meta, name))?.map(|v| v.to_vec()))
        };
        let Some(sealed) = get(meta::DATA_KEY)? else {
            return Ok(None);
        };
        Ok(Some(Wrapping {
            sealed,
            salt: get(meta::KDF_SALT)?,
            params: get(meta::KDF_PARAMS)?,
        }))
    }

    /// The master key `key` gives for this wrapping, if it opens it.
    fn opened_by(&self, key: &KeySource) -> Result<Option<MasterKey>> {
        let master = match envelope::stretched(key, self.salt.as_deref(), self.params.as_deref()) {
            Ok(master) => master,
            // A passphrase for a store made with a key file.
            Err(Error::WrongKey) => return Ok(None),
            Err(error) => return Err(error),
        };
        match envelope::unwrap(&master, meta::DATA_KEY, &self.sealed) {
            Ok(_) => Ok(Some(master)),
            Err(Error::WrongKey) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// Checks `key` against the key check file of the store in `dir`, reading only: the master key
/// it gives if it opens one of the file's wrappings, [`Error::WrongKey`] if it opens none, and
/// `None` when there is nothing to check against (no store yet, or no file, or a damaged one:
/// the key is then checked against sled's entries).
pub(crate) fn check(dir: &Path, key: &KeySource) -> Result<Option<MasterKey>> {
    if !dir.join("db").exists() {
        return Ok(None);
    }
    let Some(wrappings) = read(dir)? else {
        return Ok(None);
    };
    for wrapping in &wrappings {
        if let Some(master) = wrapping.opened_by(key)? {
            return Ok(Some(master));
        }
    }
    Err(Error::WrongKey)
}

/// Writes the wrapping sled's entries hold into the file, unless it holds exactly that already.
pub(crate) fn record(dir: &Path, tree: &crate::storage::Tree) -> Result<()> {
    match Wrapping::of_tree(tree)? {
        Some(wrapping) => write(dir, &[wrapping]),
        None => Ok(()),
    }
}

/// Replaces the file with one holding `wrappings`, unless it holds exactly them already.
pub(crate) fn write(dir: &Path, wrappings: &[Wrapping]) -> Result<()> {
    if read(dir)?.as_deref() == Some(wrappings) {
        return Ok(());
    }
    let bytes = encode(wrappings)?;
    let new = dir.join(NEW_NAME);
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&new)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    crash_points::reached("key-check.written");
    std::fs::rename(&new, dir.join(FILE_NAME))?;
    crash_points::reached("key-check.renamed");
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// The file's wrappings; `None` if it is missing or damaged.
fn read(dir: &Path) -> Result<Option<Vec<Wrapping>>> {
    let file = match std::fs::File::open(dir.join(FILE_NAME)) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let mut bytes = Vec::new();
    file.take(MAX_LEN + 1).read_to_end(&mut bytes)?;
    Ok(decode(&bytes))
}

fn encode(wrappings: &[Wrapping]) -> Result<Vec<u8>> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.push(
        u8::try_from(wrappings.len())
            .map_err(|_| Error::Storage(format!("{} key wrappings", wrappings.len())))?,
    );
    for wrapping in wrappings {
        for field in [
            Some(&wrapping.sealed),
            wrapping.salt.as_ref(),
            wrapping.params.as_ref(),
        ] {
            out.push(u8::from(field.is_some()));
            let field = field.map_or(&[][..], Vec::as_slice);
            let len = u32::try_from(field.len())
                .map_err(|_| Error::Storage(format!("a key field of {} bytes", field.len())))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(field);
        }
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(&checksum.as_bytes()[..CHECKSUM_LEN]);
    Ok(out)
}

fn decode(bytes: &[u8]) -> Option<Vec<Wrapping>> {
    let body_len = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (body, checksum) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes()[..CHECKSUM_LEN] != *checksum {
        return None;
    }
    let mut at: usize = 0;
    let mut take = |len: usize| -> Option<&[u8]> {
        let slice = body.get(at..at.checked_add(len)?)?;
        at += len;
        Some(slice)
    };
    if take(MAGIC.len())? != MAGIC || take(4)? != VERSION.to_be_bytes() {
        return None;
    }
    let count = *take(1)?.first()?;
    let mut wrappings = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let mut field = || -> Option<Option<Vec<u8>>> {
            let present = *take(1)?.first()?;
            let len = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
            let value = take(len)?.to_vec();
            match present {
                0 if value.is_empty() => Some(None),
                1 => Some(Some(value)),
                _ => None,
            }
        };
        let sealed = field()??;
        let (salt, params) = (field()?, field()?);
        wrappings.push(Wrapping {
            sealed,
            salt,
            params,
        });
    }
    (at == body.len()).then_some(wrappings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapping(byte: u8, salt: bool) -> Wrapping {
        Wrapping {
            sealed: vec![byte; 72],
            salt: salt.then(|| vec![byte; 16]),
            params: salt.then(|| vec![0; 12]),
        }
    }

    #[test]
    fn the_file_reads_back_as_written_and_a_damaged_one_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        let both = [wrapping(1, false), wrapping(2, true)];
        write(dir.path(), &both).unwrap();
        assert_eq!(read(dir.path()).unwrap().as_deref(), Some(&both[..]));
        write(dir.path(), &both[1..]).unwrap();
        assert_eq!(read(dir.path()).unwrap().as_deref(), Some(&both[1..]));
        let path = dir.path().join(FILE_NAME);
        let mut bytes = std::fs::read(&path).unwrap();
        for at in [0, 13, bytes.len() - 1] {
            bytes[at] ^= 1;
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(read(dir.path()).unwrap(), None, "flipped byte {at}");
            bytes[at] ^= 1;
        }
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
    }
}
