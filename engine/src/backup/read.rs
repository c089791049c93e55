//! Reading a backup: verification of every chunk and the trailer, and restore into a new folder.

use super::format::{entries, BackupKeys, Header, MAX_SEALED_CHUNK};
use super::unfinished;
use crate::error::{Error, Result};
use crate::keyring::SLOT_LEN;
use crate::keys::{KeySource, MasterKey};
use crate::store::{Options, Store};
use crate::trees::{trailing_id, Space, DATA_TREE};
use crate::write::{Op, Outcome};
use std::io::{BufReader, Read};
use std::path::Path;

/// How far a verification or a restore has gone (for a progress bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadProgress {
    pub stage: ReadStage,
    /// Bytes of the file read in this stage, of `total_bytes`.
    pub bytes: u64,
    pub total_bytes: u64,
    /// Chunks read in this stage (the trailer's included), of `total_chunks` (0 when the
    /// file's chunk lengths could not be walked: it will not verify anyway).
    pub chunks: u64,
    pub total_chunks: u64,
}

/// The stages of a restore, in order (a verification has only the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadStage {
    /// Every chunk and the trailer checked.
    Verifying,
    /// Removing what an interrupted restore into the same folder left (see `unfinished.rs`).
    ClearingUnfinished,
    /// The entries written into the unfinished folder.
    Restoring,
    /// Erasing again the customers of the forget list and those the backup holds unkeyed.
    Forgetting,
    /// The restored store's counts and rollups checked.
    Checking,
    /// Making the folder durable and moving it into place.
    Publishing,
}

impl ReadStage {
    /// The stage as a progress bar names it.
    pub fn describe(self) -> &'static str {
        match self {
            ReadStage::Verifying => "verifying",
            ReadStage::ClearingUnfinished => "clearing an interrupted restore",
            ReadStage::Restoring => "restoring",
            ReadStage::Forgetting => "erasing the forgotten again",
            ReadStage::Checking => "checking",
            ReadStage::Publishing => "moving into place",
        }
    }
}

impl ReadProgress {
    /// The start of `stage`, the whole file read.
    fn starting(stage: ReadStage, info: &BackupInfo) -> ReadProgress {
        ReadProgress {
            stage,
            bytes: info.bytes,
            total_bytes: info.bytes,
            chunks: 0,
            total_chunks: 0,
        }
    }
}

/// Counts the chunks of a backup by their lengths alone (nothing is opened or checked):
/// `None` when the lengths do not lead to the end of the file.
fn count_chunks(path: &Path) -> Option<u64> {
    let mut input = BufReader::new(std::fs::File::open(path).ok()?);
    Header::read(&mut input).ok()?;
    let mut chunks = 0u64;
    loop {
        let mut length = [0u8; 4];
        match input.read_exact(&mut length) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Some(chunks),
            Err(_) => return None,
        }
        input
            .seek_relative(i64::from(u32::from_be_bytes(length)))
            .ok()?;
        chunks += 1;
    }
}

/// What a verified backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub header: Header,
    /// Storage entries (records, index entries, rollups, metadata, users).
    pub entries: u64,
    pub bytes: u64,
}

/// Reads a backup's header without a key (for listings). Nothing in it is verified.
pub fn read_header(path: &Path) -> Result<Header> {
    let mut file = BufReader::new(std::fs::File::open(path)?);
    Header::read(&mut file).map(|(header, _, _)| header)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn master_for(header: &Header, key: &KeySource) -> Result<MasterKey> {
    let master = match key {
        KeySource::Key(master) => master.clone(),
        KeySource::File(path) => MasterKey::read_file(path)?,
        KeySource::Passphrase(passphrase) => {
            if header.kdf_salt.is_empty() {
                return Err(Error::Key(
                    "this backup is of a store opened with a key file, not a passphrase: give --key-file".into(),
                ));
            }
            MasterKey::from_passphrase(passphrase, &header.kdf_salt, header.kdf_params)?
        }
    };
    let expected = hex(&header.key_fingerprint);
    if master.fingerprint() != expected {
        return Err(Error::Key(format!(
            "wrong key: this backup was made with key {expected}, the key given is {}",
            master.fingerprint()
        )));
    }
    Ok(master)
}

/// Reads and checks the whole file, handing each chunk's entries to `sink` and telling
/// `on_progress` after each chunk.
fn walk(
    path: &Path,
    key: &KeySource,
    stage: ReadStage,
    on_progress: &dyn Fn(ReadProgress),
    sink: impl FnMut(Vec<(&[u8], &[u8])>) -> Result<()>,
) -> Result<BackupInfo> {
    let file = std::fs::File::open(path)?;
    let bytes = file.metadata()?.len();
    let mut progress = ReadProgress {
        stage,
        bytes: 0,
        total_bytes: bytes,
        chunks: 0,
        total_chunks: count_chunks(path).unwrap_or(0),
    };
    on_progress(progress);
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut on_chunk = |_: &Header, chunks: u64, read: u64| {
        progress.chunks = chunks;
        progress.bytes = read;
        on_progress(progress);
    };
    let (header, entries) = walk_stream(&mut input, key, &mut on_chunk, sink)?;
    let mut extra = [0u8; 1];
    if input.read(&mut extra)? != 0 {
        return Err(Error::Corrupt(
            "unexpected bytes after the final chunk".into(),
        ));
    }
    Ok(BackupInfo {
        header,
        entries,
        bytes,
    })
}

/// Reads and checks a stream in the backup format (a file, or a cluster node's snapshot) up
/// to its final chunk, handing each chunk's entries to `sink` as soon as the chunk is
/// verified, and telling `on_chunk` the header, the chunks and the bytes read after each
/// chunk is read: the header and the number of entries. Only the final chunk vouches for the whole (nothing missing at the
/// end), so a sink must not treat what it got as complete before this returns.
pub(crate) fn walk_stream(
    input: &mut impl Read,
    key: &KeySource,
    on_chunk: &mut dyn FnMut(&Header, u64, u64),
    mut sink: impl FnMut(Vec<(&[u8], &[u8])>) -> Result<()>,
) -> Result<(Header, u64)> {
    let (header, body, mac) = Header::read(input)?;
    let mut read = (body.len() + mac.len()) as u64;
    let master = master_for(&header, key)?;
    let keys = BackupKeys::derive(&master);
    if !keys.check_mac(&body, &mac) {
        return Err(Error::Corrupt(
            "backup header failed its integrity check (tampered)".into(),
        ));
    }
    let mut plain_hash = blake3::Hasher::new();
    let mut entry_count = 0u64;
    for index in 0u64.. {
        let mut length = [0u8; 4];
        match input.read_exact(&mut length) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(Error::Corrupt(format!(
                    "backup is truncated: the final chunk is missing after chunk {}",
                    index.saturating_sub(1)
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let length = u32::from_be_bytes(length) as usize;
        if length > MAX_SEALED_CHUNK {
            return Err(Error::Corrupt(format!(
                "chunk {index} claims {length} bytes, more than any chunk has"
            )));
        }
        let mut sealed = vec![0u8; length];
        input
            .read_exact(&mut sealed)
            .map_err(|_| Error::Corrupt(format!("backup is truncated inside chunk {index}")))?;
        read += 4 + length as u64;
        on_chunk(&header, index + 1, read);
        if let Some(plain) = keys.open_chunk(&mac, &header.backup_id, index, false, &sealed) {
            let chunk = entries(&plain)
                .ok_or_else(|| Error::Corrupt(format!("chunk {index} is malformed inside")))?;
            entry_count += chunk.len() as u64;
            plain_hash.update(&plain);
            sink(chunk)?;
            continue;
        }
        let Some(end) = keys.open_chunk(&mac, &header.backup_id, index, true, &sealed) else {
            return Err(Error::Corrupt(format!(
                "chunk {index} failed its integrity check (tampered, reordered, or from another backup)"
            )));
        };
        if end.len() != 48 || &end[..8] != b"CRMEND01" {
            return Err(Error::Corrupt("the trailer is malformed".into()));
        }
        let count = u64::from_be_bytes(end[8..16].try_into().unwrap_or([0; 8]));
        if count != entry_count {
            return Err(Error::Corrupt(format!(
                "the trailer counts {count} entries, the chunks hold {entry_count}"
            )));
        }
        if end[16..48] != *plain_hash.finalize().as_bytes() {
            return Err(Error::Corrupt(
                "the trailer's hash of the contents does not match the chunks".into(),
            ));
        }
        return Ok((header, entry_count));
    }
    Err(Error::Corrupt("backup has too many chunks".into()))
}

impl Store {
    /// Verifies a backup with this store's own key.
    pub fn verify_backup(&self, path: &Path) -> Result<BackupInfo> {
        verify(path, &KeySource::Key(self.shared.master.clone()))
    }
}

/// Reads the whole backup and checks the header, every chunk and the trailer.
pub fn verify(path: &Path, key: &KeySource) -> Result<BackupInfo> {
    verify_reporting(path, key, &|_| {})
}

/// [`verify`], telling `on_progress` after each chunk.
pub fn verify_reporting(
    path: &Path,
    key: &KeySource,
    on_progress: &dyn Fn(ReadProgress),
) -> Result<BackupInfo> {
    walk(path, key, ReadStage::Verifying, on_progress, |_| Ok(()))
}

/// Verifies the backup, restores it into `new_dir` (which must not exist or be empty), then
/// opens the result and checks its counts and rollups. On any failure the new folder is removed.
pub fn restore(path: &Path, key: &KeySource, new_dir: &Path) -> Result<BackupInfo> {
    restore_forgetting(path, key, new_dir, &[])
}

/// [`restore`], then — before the store is ever served — forgets again every customer in
/// `forget` (id, when it was forgotten: a `FORGET.LIST`): those the backup holds are erased
/// (journaled as `forget` by no user), every id joins the restored store's forgotten list.
pub fn restore_forgetting(
    path: &Path,
    key: &KeySource,
    new_dir: &Path,
    forget: &[(u64, i64)],
) -> Result<BackupInfo> {
    restore_reporting(path, key, new_dir, forget, &|_| {})
}

/// [`restore_forgetting`], telling `on_progress` after each chunk of its verification and of
/// its restore, and at the start of every other stage.
///
/// The store is built in a hidden sibling of `new_dir` and renamed to `new_dir` only when it
/// is finished — the forgotten customers erased, everything on disk — so that a crash never
/// leaves a `new_dir` holding a person the forget list names; the next restore into `new_dir`
/// clears what an interrupted one left.
pub fn restore_reporting(
    path: &Path,
    key: &KeySource,
    new_dir: &Path,
    forget: &[(u64, i64)],
    on_progress: &dyn Fn(ReadProgress),
) -> Result<BackupInfo> {
    if new_dir.exists() && std::fs::read_dir(new_dir)?.next().is_some() {
        return Err(Error::Refused(format!(
            "{} exists and is not empty: restore only into a new folder",
            new_dir.display()
        )));
    }
    let unfinished = unfinished::unfinished_path(new_dir)?;
    let info = verify_reporting(path, key, on_progress)?;
    if unfinished.exists() {
        on_progress(ReadProgress::starting(ReadStage::ClearingUnfinished, &info));
        unfinished::clear(&unfinished)?;
    }
    let result =
        restore_verified(path, key, &unfinished, &info, forget, on_progress).and_then(|()| {
            on_progress(ReadProgress::starting(ReadStage::Publishing, &info));
            unfinished::publish(&unfinished, new_dir)
        });
    if result.is_err() {
        let _ = unfinished::clear(&unfinished);
    }
    result.map(|()| info)
}

fn restore_verified(
    path: &Path,
    key: &KeySource,
    new_dir: &Path,
    info: &BackupInfo,
    forget: &[(u64, i64)],
    on_progress: &dyn Fn(ReadProgress),
) -> Result<()> {
    unfinished::create(new_dir)?;
    {
        let db = crate::storage::Db::open(new_dir, &crate::storage::Tuning::default())?;
        let tree = db.open_tree(DATA_TREE)?;
        let mut slots = Vec::new();
        walk(path, key, ReadStage::Restoring, on_progress, |chunk| {
            let mut batch = crate::storage::Batch::default();
            for (k, v) in chunk {
                if k.first() == Some(&(Space::KeyringSlot as u8)) {
                    let slot = trailing_id(k).filter(|_| k.len() == 9);
                    let bytes: Option<[u8; SLOT_LEN]> = v.try_into().ok();
                    match (slot, bytes) {
                        (Some(slot), Some(bytes)) => slots.push((slot, bytes)),
                        _ => return Err(Error::Corrupt("a keyring slot is malformed".into())),
                    }
                } else if !crate::trees::is_memory_only(k) {
                    // A backup of an older layout holds the order and journal indexes (up to
                    // layout 3) and the rollups (up to 4) that this one rebuilds in memory at
                    // open: they are not restored.
                    batch.insert(k, v);
                }
            }
            tree.apply_batch(batch)?;
            Ok(())
        })?;
        db.flush()?;
        // A backup of an older layout has no slots (its records are upgraded at open).
        if !slots.is_empty() {
            crate::keyring::write_restored(new_dir, &slots)?;
        }
    }
    let store = Store::open(new_dir, key, &Options::default())?;
    on_progress(ReadProgress::starting(ReadStage::Forgetting, info));
    let mut erased = store.forget_unkeyed_customers()?;
    let writes: Vec<Op> = forget
        .iter()
        .map(|&(id, at)| Op::ForgetRestored { id, at })
        .collect();
    for result in store.write_many(writes)? {
        if result? == Outcome::Done {
            erased += 1;
        }
    }
    on_progress(ReadProgress::starting(ReadStage::Checking, info));
    store.check_consistency()?;
    info.header.check_restored(store.counts()?, erased)?;
    store.close()
}
