//! The redo log: what makes a write durable (layout 7).
//!
//! One file: the record format, the segments' reuse and the recovery read agree on every byte,
//! and the tests that tear and damage records exercise all three.
//!
//! # Why the store keeps its own log
//!
//! sled 0.34 makes its log durable on Linux with `sync_file_range`, which writes the file's
//! pages but neither its metadata nor the disk's volatile cache: after a power cut, a write
//! whose `flush` had returned could be gone. sled calls a real `fsync` only from its background
//! flusher (every `flush_every_ms`), and never on its blob files (values and nodes over
//! 128 KiB, which our journal pages were). So the storage boundary keeps a log of its own,
//! as SQLite's WAL and
//! redis-server's `appendfsync always` do: every batch applied to a tree is appended to a
//! segment file, and a flush is one `write` and one `fdatasync` of that file.
//!
//! # Why replaying it is exact
//!
//! Each logged batch carries a number, one more than the last batch of its tree, and writes
//! that number into its tree (the marker of `mod.rs`) in the same sled batch. sled applies a
//! batch atomically across a crash and recovers a prefix of the batches applied (its log is
//! read up to the first gap), so the marker says exactly which batches a tree holds. At open,
//! the logged batches numbered after the marker are applied again, in order. A batch holds
//! whole values (orders' pages included, as they were written), so applying it again gives
//! the state right after it. A batch missing between the marker and the log's first batch
//! of a tree is `CORRUPT`: the log was cut where it must not be.
//!
//! # What a segment holds
//!
//! A segment is named by its number (16 hex digits) and holds records, each `length (4 bytes)
//! ‖ checksum (16) ‖ segment number (8) ‖ body`, the checksum being BLAKE3 over the segment
//! number and the body. A batch's body is `0 ‖ batch number (8) ‖ tree name length (1) ‖
//! tree name ‖ writes (4) ‖ writes`, each write `insert (1: 1, remove: 0) ‖ key length (4) ‖
//! key ‖ [value length (4) ‖ value]`; a *seal* (`1 ‖ records (8)`) closes a segment. Numbers
//! are big-endian.
//!
//! Segment files are reused: a checkpoint keeps up to [`SPARE_SEGMENTS`] of the segments it
//! retires as spares, and a new segment takes a spare's place and writes over it from its
//! start: an `fdatasync` after a write inside a file's length has no metadata to commit
//! (measured here: 104 µs, against 160–200 µs after an append that grows the file; SQLite
//! reuses its WAL file for the same reason). A segment's records therefore end at the first record that is cut short,
//! fails its checksum or names another segment (an older use of the file). A closed segment
//! ends with its seal: one without a seal, or whose seal counts other than its records, is
//! `CORRUPT`. A new file grows [`GROWTH`] at a time, zero-filled ahead of its records, for the
//! same reason. The last segment needs no seal: its end is where a crash cut its last append,
//! whose batch was never acknowledged.
//!
//! A crash right after a segment was created leaves it *unused*: no record of its own, only
//! what its file held (nothing, or a spare's older records). Unused segments after the last
//! one that holds records are read as what they are, a crash's leftovers, and retired with
//! the others by the next open; the segment before them needs no seal if what follows its
//! records is what a crash leaves (nothing, zeros, an older use's record), which is how an
//! open of an earlier build left it when killed between starting a segment and retiring the
//! old ones. Damage — a record that fails its checksum with more after it — before the seal
//! of a segment that holds batches stays `CORRUPT`. An open retires the segments it replayed
//! before it starts the next one, and a checkpoint seals and syncs a segment before it
//! creates the next, so a crash at any step leaves a log that reads this way.
//!
//! The log holds what sled's own log holds: values sealed by the engine, keys that are ids,
//! blind hashes or metadata names. Nothing in it is plain personal data.
//!
//! # Checkpoints
//!
//! Segments are retired by a checkpoint (`mod.rs`): a new segment is started, every staged
//! batch is written into sled, sled's files are `fdatasync`ed, then the older segments go. A
//! batch is staged before it is logged, so every batch of the older segments is in what sled
//! wrote.
//!
//! # A failed write
//!
//! A write or `fdatasync` of the log that fails is sticky: its records left `pending` with it,
//! so every later [`Log::sync`] (and rotation) fails too, and the store halts as after any
//! failed flush, rather than acknowledge batches after a gap in the log.

use crate::crash_points;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A segment this large is closed by the next checkpoint.
pub(crate) const SEGMENT_BYTES: u64 = 32 * 1024 * 1024;

/// A segment this old is closed by the next checkpoint (a crash then replays at most this much
/// of a slow trickle of writes).
pub(crate) const SEGMENT_AGE: Duration = Duration::from_secs(5);

/// Retired segment files kept for reuse.
pub(crate) const SPARE_SEGMENTS: usize = 2;

/// A segment file grows by this much at a time, zero-filled ahead of its records, so that
/// most `fdatasync`s change no file size.
const GROWTH: u64 = 1 << 20;

const LENGTH_LEN: usize = 4;
const CHECKSUM_LEN: usize = 16;
const SEGMENT_LEN: usize = 8;
const HEAD_LEN: usize = LENGTH_LEN + CHECKSUM_LEN + SEGMENT_LEN;

const BATCH: u8 = 0;
const SEAL: u8 = 1;

/// The prefix of a spare segment file's name.
const SPARE: &str = "spare-";

/// One write of a logged batch: a key and its new value (`None`: removed).
pub(crate) type LoggedWrite = (Vec<u8>, Option<Vec<u8>>);

/// A batch read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub tree: Vec<u8>,
    pub number: u64,
    pub writes: Vec<LoggedWrite>,
}

/// The log of one store folder: batches appended in memory, written and synced by
/// [`Log::sync`].
pub(crate) struct Log {
    dir: PathBuf,
    /// Records appended since the last write to the segment (their segment number and
    /// checksum are filled in when they are written).
    pending: Mutex<Vec<u8>>,
    /// The segment being written; its lock also makes syncs take turns.
    active: Mutex<Segment>,
    /// The first failure to write or sync the log. Sticky: the records of a failed write are
    /// gone from `pending`, so a later sync that found nothing to write would otherwise
    /// report success for batches that never reached the log; every later sync reports it
    /// instead, and the store halts.
    failed: Mutex<Option<String>>,
    /// Whether `failed` holds a failure: read by every batch and sync without a lock.
    has_failed: AtomicBool,
}

struct Segment {
    file: File,
    number: u64,
    /// Where the next record goes.
    offset: u64,
    /// The file's length (zero-filled past `offset`).
    capacity: u64,
    records: u64,
    started: Instant,
    /// Written to since its last `fdatasync`.
    dirty: bool,
}

/// What opening the log found: the batches to replay and the segments they came from.
pub(crate) struct Found {
    pub records: Vec<Record>,
    pub segments: Vec<PathBuf>,
}

/// The encoding of one batch, ready to append (its segment and checksum are filled in by
/// [`Log::sync`], off the writer's path).
pub(crate) fn encode<'a>(
    tree: &[u8],
    number: u64,
    writes: impl ExactSizeIterator<Item = (&'a [u8], Option<&'a [u8]>)>,
) -> Result<Vec<u8>> {
    let name_len = u8::try_from(tree.len())
        .map_err(|_| Error::Storage(format!("a tree name of {} bytes", tree.len())))?;
    let mut record = vec![0u8; HEAD_LEN];
    record.push(BATCH);
    record.extend_from_slice(&number.to_be_bytes());
    record.push(name_len);
    record.extend_from_slice(tree);
    record.extend_from_slice(&length(writes.len())?.to_be_bytes());
    for (key, value) in writes {
        record.push(u8::from(value.is_some()));
        record.extend_from_slice(&length(key.len())?.to_be_bytes());
        record.extend_from_slice(key);
        if let Some(value) = value {
            record.extend_from_slice(&length(value.len())?.to_be_bytes());
            record.extend_from_slice(value);
        }
    }
    let body_len = length(record.len() - HEAD_LEN)?;
    record[..LENGTH_LEN].copy_from_slice(&body_len.to_be_bytes());
    Ok(record)
}

fn length(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| Error::Storage(format!("a batch part of {len} bytes")))
}

/// Where each record of an in-memory run of records ends.
fn record_ends(records: &[u8]) -> Result<Vec<usize>> {
    let mut ends = Vec::new();
    let mut at = 0;
    while at < records.len() {
        let body_len = records
            .get(at..at + LENGTH_LEN)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| Error::Storage("a redo record cut short in memory".into()))?;
        at += HEAD_LEN + body_len as usize;
        ends.push(at);
    }
    if at != records.len() {
        return Err(Error::Storage("a redo record cut short in memory".into()));
    }
    Ok(ends)
}

/// Fills in the segment number and checksum of every record in `records`; returns how many.
fn stamp(records: &mut [u8], segment: u64) -> Result<u64> {
    let mut start = 0;
    let ends = record_ends(records)?;
    for &end in &ends {
        let record = &mut records[start..end];
        record[LENGTH_LEN + CHECKSUM_LEN..HEAD_LEN].copy_from_slice(&segment.to_be_bytes());
        let checksum = blake3::hash(&record[LENGTH_LEN + CHECKSUM_LEN..]);
        record[LENGTH_LEN..LENGTH_LEN + CHECKSUM_LEN]
            .copy_from_slice(&checksum.as_bytes()[..CHECKSUM_LEN]);
        start = end;
    }
    Ok(ends.len() as u64)
}

impl Log {
    /// Reads every segment in `dir` (made if missing) for replay. The log is not writable until
    /// [`Log::start`].
    ///
    /// The segments after the last one that holds a record of its own are what a crash left
    /// of a segment it had just created (see [`SegmentRead::unused`]): they add nothing, and
    /// go with the others when the open retires them. A segment before them must end with
    /// its seal; the last one holding records needs none (a crash cut its last append), nor,
    /// when unused segments follow it, if what follows its records is what a crash leaves
    /// (an open of an earlier build started the next segment before it retired this one).
    pub fn read(dir: &Path) -> Result<Found> {
        create_private_dir(dir)?;
        let segments = segments_in(dir)?;
        let mut read = Vec::with_capacity(segments.len());
        for (number, path) in &segments {
            let mut bytes = Vec::new();
            File::open(path)?.read_to_end(&mut bytes)?;
            read.push(decode_segment(path, *number, &bytes)?);
        }
        let tail = read.iter().rposition(|segment| !segment.unused());
        let mut records = Vec::new();
        for (index, ((_, path), segment)) in segments.iter().zip(read).enumerate() {
            if tail.is_none_or(|tail| index > tail) {
                break;
            }
            match segment.end {
                End::Sealed => {}
                End::Open { .. } if index + 1 == segments.len() => {}
                End::Open { clean: true, .. } if Some(index) == tail => {}
                End::Open { at, .. } => {
                    return Err(Error::Corrupt(format!(
                        "the redo log segment {} is damaged at byte {at}, before its seal",
                        path.display()
                    )))
                }
            }
            records.extend(segment.records);
        }
        Ok(Found {
            records,
            segments: segments.into_iter().map(|(_, path)| path).collect(),
        })
    }

    /// Starts a new segment after every segment in `dir` (call once the replayed ones are
    /// retired, or with none).
    pub fn start(dir: &Path) -> Result<Log> {
        // After every number a file here was ever written under: a reused file's older
        // records must never pass for the new segment's.
        let used = segments_in(dir)?
            .into_iter()
            .map(|(number, _)| number)
            .chain(spares_in(dir)?.iter().filter_map(|path| spare_number(path)))
            .max();
        let next = used.map_or(1, |number| number + 1);
        let segment = Segment::create(dir, next)?;
        Ok(Log {
            dir: dir.to_path_buf(),
            pending: Mutex::new(Vec::new()),
            active: Mutex::new(segment),
            failed: Mutex::default(),
            has_failed: AtomicBool::new(false),
        })
    }

    /// Queues an encoded batch (see [`encode`]); durable after the next [`Log::sync`].
    pub fn append(&self, record: &[u8]) {
        lock(&self.pending).extend_from_slice(record);
    }

    /// Writes every batch appended before this call and `fdatasync`s the segment. Once a
    /// write or sync of the log has failed, every later one fails too (see `failed`).
    pub fn sync(&self) -> Result<()> {
        let mut segment = lock(&self.active);
        self.check()?;
        // Taken after the segment's lock: a batch appended before this call is either here or
        // was written and synced by the sync that held the lock before.
        let mut bytes = std::mem::take(&mut *lock(&self.pending));
        let written = if bytes.is_empty() {
            Ok(())
        } else {
            segment.write(&mut bytes)
        };
        self.remember(written.and_then(|()| segment.sync()))
    }

    /// `Err` once a write or sync of the log has failed.
    pub fn check(&self) -> Result<()> {
        if !self.has_failed.load(Ordering::Acquire) {
            return Ok(());
        }
        match lock(&self.failed).as_ref() {
            Some(cause) => Err(Error::Storage(format!(
                "writing the redo log failed: {cause}"
            ))),
            None => Ok(()),
        }
    }

    /// Passes `result` on, keeping its failure for every later sync.
    fn remember<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(error) = &result {
            lock(&self.failed).get_or_insert_with(|| error.to_string());
            self.has_failed.store(true, Ordering::Release);
        }
        result
    }

    /// Whether the segment is large or old enough for a checkpoint to close it.
    pub fn due(&self) -> bool {
        let segment = lock(&self.active);
        segment.offset >= SEGMENT_BYTES
            || (segment.offset > 0 && segment.started.elapsed() >= SEGMENT_AGE)
    }

    /// Syncs, seals the segment and starts a new one; returns the closed segments (this one
    /// and any older left behind), which a checkpoint retires once sled's files are synced.
    pub fn rotate(&self) -> Result<Vec<PathBuf>> {
        let mut segment = lock(&self.active);
        self.check()?;
        let bytes = std::mem::take(&mut *lock(&self.pending));
        let next = self.remember(self.seal_and_follow(&mut segment, bytes))?;
        let closed_through = segment.number;
        *segment = next;
        Ok(segments_in(&self.dir)?
            .into_iter()
            .filter(|(number, _)| *number <= closed_through)
            .map(|(_, path)| path)
            .collect())
    }

    /// Writes `bytes` (pending records) and a seal into `segment`, syncs it, and creates the
    /// segment that follows it.
    fn seal_and_follow(&self, segment: &mut Segment, mut bytes: Vec<u8>) -> Result<Segment> {
        bytes.extend_from_slice(&seal(segment.records + record_ends(&bytes)?.len() as u64));
        segment.write(&mut bytes)?;
        segment.sync()?;
        crash_points::reached("redo.rotate.sealed");
        Segment::create(&self.dir, segment.number + 1)
    }

    /// Gives back the disk the log holds beyond what it needs: deletes the spares and, if
    /// nothing was written since the last rotation, empties the segment (a closing store).
    pub fn trim(&self) -> Result<()> {
        let mut segment = lock(&self.active);
        if segment.offset == 0 && segment.capacity > 0 {
            segment.file.set_len(0)?;
            segment.file.sync_all()?;
            crash_points::reached("redo.trim.emptied");
            segment.capacity = 0;
        }
        for spare in spares_in(&self.dir)? {
            std::fs::remove_file(spare)?;
            crash_points::reached("redo.trim.spare-removed");
        }
        sync_dir(&self.dir)
    }

    /// The bytes of the segment files on disk (spares included).
    pub fn bytes_on_disk(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// Retires segments whose batches are all in sled's synced files: up to [`SPARE_SEGMENTS`]
/// are kept as spares for reuse, the rest deleted.
pub(crate) fn retire(dir: &Path, segments: &[PathBuf]) -> Result<()> {
    let mut spares = spares_in(dir)?.len();
    for path in segments {
        if spares < SPARE_SEGMENTS {
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                std::fs::rename(path, dir.join(format!("{SPARE}{name}")))?;
                crash_points::reached("redo.retire.spared");
                spares += 1;
                continue;
            }
        }
        std::fs::remove_file(path)?;
        crash_points::reached("redo.retire.removed");
    }
    sync_dir(dir)?;
    crash_points::reached("redo.retire.done");
    Ok(())
}

/// A seal closing a segment of `records` records.
fn seal(records: u64) -> Vec<u8> {
    let mut record = vec![0u8; HEAD_LEN];
    record.push(SEAL);
    record.extend_from_slice(&records.to_be_bytes());
    let body_len = (record.len() - HEAD_LEN) as u32;
    record[..LENGTH_LEN].copy_from_slice(&body_len.to_be_bytes());
    record
}

impl Segment {
    /// A new segment numbered `number`, in a spare's file if there is one.
    fn create(dir: &Path, number: u64) -> Result<Segment> {
        let path = dir.join(format!("{number:016x}"));
        let file: File = match spares_in(dir)?.into_iter().next() {
            Some(spare) => {
                std::fs::rename(&spare, &path)?;
                std::fs::OpenOptions::new().write(true).open(&path)?
            }
            None => {
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                options.open(&path)?
            }
        };
        crash_points::reached("redo.segment.created");
        // The new name must survive a crash before the first batch is synced into it.
        sync_dir(dir)?;
        crash_points::reached("redo.segment.named");
        let capacity = file.metadata()?.len();
        Ok(Segment {
            file,
            number,
            offset: 0,
            capacity,
            records: 0,
            started: Instant::now(),
            dirty: false,
        })
    }

    fn write(&mut self, records: &mut [u8]) -> Result<()> {
        let count = stamp(records, self.number)?;
        self.file.write_all_at(records, self.offset)?;
        crash_points::reached("redo.segment.written");
        // Counted once written: a failed write (a full disk) must not make the seal count
        // batches the segment does not hold.
        self.records += count;
        self.offset += records.len() as u64;
        self.dirty = true;
        if self.offset > self.capacity {
            let grown = self.offset.div_ceil(GROWTH) * GROWTH;
            let zeros = vec![0u8; usize::try_from(grown - self.offset).unwrap_or(0)];
            self.file.write_all_at(&zeros, self.offset)?;
            crash_points::reached("redo.segment.grown");
            self.capacity = grown;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        if self.dirty {
            self.file.sync_data()?;
            crash_points::reached("redo.segment.synced");
            self.dirty = false;
        }
        Ok(())
    }
}

/// The segments in `dir`, by number.
fn segments_in(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(number) = name
            .to_str()
            .filter(|name| name.len() == 16)
            .and_then(|name| u64::from_str_radix(name, 16).ok())
        else {
            continue;
        };
        found.push((number, entry.path()));
    }
    found.sort();
    Ok(found)
}

/// The spare segment files in `dir`.
fn spares_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(SPARE))
        {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// The number a spare file was last written under.
fn spare_number(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?.strip_prefix(SPARE)?;
    u64::from_str_radix(name, 16).ok()
}

/// What one segment file holds.
struct SegmentRead {
    records: Vec<Record>,
    end: End,
}

/// Where a segment's records end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// At its seal, which counts them.
    Sealed,
    /// At byte `at`, the first record that does not parse (cut short, damaged, or an older
    /// use's). `clean`: the file goes on as a crash leaves it past the last append: nothing,
    /// zeros (the file grows zero-filled), or a record stamped with another segment's number
    /// (a reused file's older content).
    Open { at: usize, clean: bool },
}

impl SegmentRead {
    /// Whether the segment holds no record of its own, only what its file held when it was
    /// created: nothing (a new file) or a spare's older records. A crash right after a
    /// segment was started leaves that; damage (a flipped byte, a lost block) does not.
    fn unused(&self) -> bool {
        self.records.is_empty() && self.end == End::Open { at: 0, clean: true }
    }
}

/// Decodes segment `number`: its batches, up to its seal or its first record that does not
/// parse. A seal counting other than the batches before it is `CORRUPT`.
fn decode_segment(path: &Path, number: u64, bytes: &[u8]) -> Result<SegmentRead> {
    let mut at = 0;
    let mut records = Vec::new();
    loop {
        match decode_record(bytes, at, number) {
            Some((Decoded::Batch(record), end)) => {
                records.push(record);
                at = end;
            }
            Some((Decoded::Seal(count), _)) if count == records.len() as u64 => {
                return Ok(SegmentRead {
                    records,
                    end: End::Sealed,
                })
            }
            Some((Decoded::Seal(count), _)) => {
                return Err(Error::Corrupt(format!(
                    "the redo log segment {} is sealed after {count} batches but holds {}",
                    path.display(),
                    records.len()
                )))
            }
            None => {
                let rest = &bytes[at..];
                let clean = rest.iter().all(|byte| *byte == 0)
                    || stamped(bytes, at).is_some_and(|(stamp, _)| stamp != number);
                return Ok(SegmentRead {
                    records,
                    end: End::Open { at, clean },
                });
            }
        }
    }
}

enum Decoded {
    Batch(Record),
    Seal(u64),
}

/// The segment number a whole record at `at` is stamped with, and where it ends; `None` if it
/// is cut short or fails its checksum.
fn stamped(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let head = bytes.get(at..at.checked_add(HEAD_LEN)?)?;
    let body_len = u32::from_be_bytes(head[..LENGTH_LEN].try_into().ok()?) as usize;
    let end = at.checked_add(HEAD_LEN)?.checked_add(body_len)?;
    let covered = bytes.get(at + LENGTH_LEN + CHECKSUM_LEN..end)?;
    if blake3::hash(covered).as_bytes()[..CHECKSUM_LEN]
        != head[LENGTH_LEN..LENGTH_LEN + CHECKSUM_LEN]
    {
        return None;
    }
    let stamp = u64::from_be_bytes(head[LENGTH_LEN + CHECKSUM_LEN..].try_into().ok()?);
    Some((stamp, end))
}

/// The record of segment `segment` at `at` and where the next begins; `None` if it is cut
/// short, damaged, or of another segment.
fn decode_record(bytes: &[u8], at: usize, segment: u64) -> Option<(Decoded, usize)> {
    let (stamp, end) = stamped(bytes, at)?;
    if stamp != segment {
        return None;
    }
    let mut cursor = Cursor {
        bytes: &bytes[at + HEAD_LEN..end],
        at: 0,
    };
    let decoded = match *cursor.take(1)?.first()? {
        SEAL => Decoded::Seal(cursor.u64()?),
        BATCH => {
            let number = cursor.u64()?;
            let name_len = usize::from(*cursor.take(1)?.first()?);
            let tree = cursor.take(name_len)?.to_vec();
            let count = cursor.u32()?;
            let mut writes = Vec::with_capacity(count.min(1 << 16) as usize);
            for _ in 0..count {
                let insert = *cursor.take(1)?.first()?;
                let key_len = cursor.u32()? as usize;
                let key = cursor.take(key_len)?.to_vec();
                let value = match insert {
                    0 => None,
                    1 => {
                        let value_len = cursor.u32()? as usize;
                        Some(cursor.take(value_len)?.to_vec())
                    }
                    _ => return None,
                };
                writes.push((key, value));
            }
            Decoded::Batch(Record {
                tree,
                number,
                writes,
            })
        }
        _ => return None,
    };
    if cursor.at != cursor.bytes.len() {
        return None;
    }
    Some((decoded, end))
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, len: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(len)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// `fsync` of a folder, so that names made or removed in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn batch(number: u64) -> Vec<u8> {
        let writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = vec![
            (b"o\0\0\0\0\0\0\0\x01".to_vec(), Some(vec![7; 40])),
            (b"e-gone".to_vec(), None),
            (b"m-empty".to_vec(), Some(Vec::new())),
        ];
        encode(
            b"crm",
            number,
            writes.iter().map(|(k, v)| (k.as_slice(), v.as_deref())),
        )
        .unwrap()
    }

    /// Makes every later write to the log's segment fail (a read-only handle of its file).
    pub(in crate::storage) fn break_writes(log: &Log) {
        let mut segment = lock(&log.active);
        let path = log.dir.join(format!("{:016x}", segment.number));
        segment.file = File::open(path).unwrap();
    }

    fn numbers(dir: &Path) -> Vec<u64> {
        Log::read(dir)
            .unwrap()
            .records
            .iter()
            .map(|r| r.number)
            .collect()
    }

    #[test]
    fn batches_come_back_as_appended_across_segments_and_reused_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::start(dir.path()).unwrap();
        log.append(&batch(1));
        log.append(&batch(2));
        log.sync().unwrap();
        let closed = log.rotate().unwrap();
        assert_eq!(closed.len(), 1);
        log.append(&batch(3));
        log.sync().unwrap();
        let found = Log::read(dir.path()).unwrap();
        assert_eq!(found.segments.len(), 2);
        assert_eq!(numbers(dir.path()), vec![1, 2, 3]);
        assert_eq!(found.records[0].tree, b"crm");
        assert_eq!(found.records[0].writes[1], (b"e-gone".to_vec(), None));
        assert_eq!(found.records[0].writes[2].1, Some(Vec::new()));
        retire(dir.path(), &closed).unwrap();
        assert_eq!(numbers(dir.path()), vec![3]);
        assert!(log.bytes_on_disk() > 0);
        // The retired file is reused by the next segment: its older records, still in the
        // file past the new ones, are not read as the new segment's.
        assert_eq!(spares_in(dir.path()).unwrap().len(), 1);
        let closed = log.rotate().unwrap();
        assert!(spares_in(dir.path()).unwrap().is_empty());
        retire(dir.path(), &closed).unwrap();
        log.append(&batch(4));
        log.sync().unwrap();
        assert_eq!(numbers(dir.path()), vec![4]);
        // Reopened as a store does (replay, then every segment retired), the log goes on
        // after the numbers its files were written under.
        drop(log);
        let found = Log::read(dir.path()).unwrap();
        retire(dir.path(), &found.segments).unwrap();
        let log = Log::start(dir.path()).unwrap();
        assert_eq!(lock(&log.active).number, 4);
        assert!(numbers(dir.path()).is_empty());
        // A closing store gives the spares' and the empty segment's disk back.
        log.trim().unwrap();
        assert_eq!(log.bytes_on_disk(), 0);
        assert!(spares_in(dir.path()).unwrap().is_empty());
    }

    /// Record `number` stamped for segment `segment`.
    fn stamped_batch(number: u64, segment: u64) -> Vec<u8> {
        let mut record = batch(number);
        stamp(&mut record, segment).unwrap();
        record
    }

    /// A seal of `records` records stamped for segment `segment`.
    fn stamped_seal(records: u64, segment: u64) -> Vec<u8> {
        let mut record = seal(records);
        stamp(&mut record, segment).unwrap();
        record
    }

    /// The batch numbers `Log::read` finds in a log of these segment files.
    fn read_files(files: &[(u64, Vec<u8>)]) -> Result<Vec<u64>> {
        let dir = tempfile::tempdir().unwrap();
        for (number, bytes) in files {
            std::fs::write(dir.path().join(format!("{number:016x}")), bytes).unwrap();
        }
        let found = Log::read(dir.path())?;
        assert_eq!(found.segments.len(), files.len(), "every file is retired");
        Ok(found.records.iter().map(|r| r.number).collect())
    }

    #[test]
    fn a_torn_tail_ends_the_last_segment_and_damage_elsewhere_is_corrupt() {
        let (one, two) = (stamped_batch(1, 7), stamped_batch(2, 7));
        // Cut anywhere inside the second record, or flip a byte of it: the first survives.
        for cut in one.len()..one.len() + two.len() {
            let bytes = [&one[..], &two[..cut - one.len()]].concat();
            assert_eq!(read_files(&[(7, bytes)]).unwrap(), vec![1], "cut at {cut}");
        }
        let mut flipped = [&one[..], &two[..]].concat();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(read_files(&[(7, flipped.clone())]).unwrap(), vec![1]);
        // A record of another segment (an older use of the file) ends it too.
        assert!(read_files(&[(8, one.clone())]).unwrap().is_empty());
        // The same damage in a closed segment is corruption, not a crash.
        let later = stamped_batch(3, 8);
        let err = read_files(&[(7, flipped.clone()), (8, later.clone())]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Corrupt);
        assert!(
            err.to_string().contains(&format!("byte {}", one.len())),
            "{err}"
        );
        // A closed segment whose seal counts other than its batches is corrupt.
        let sealed = [&one[..], &stamped_seal(2, 7)[..]].concat();
        let err = read_files(&[(7, sealed), (8, later)]).unwrap_err();
        assert!(
            err.to_string()
                .contains("sealed after 2 batches but holds 1"),
            "{err}"
        );
    }

    // Guards against reporting as damage, and refusing to open on, the segments a crash leaves
    // right after a new one was created (issue 32: a killed start or rekey left empty segments
    // and "the redo log segment … is damaged at byte 0, before its seal"), while damage in a
    // segment that holds batches stays `CORRUPT`.
    #[test]
    fn segments_a_crash_left_unused_are_not_damage_but_damage_before_a_seal_is() {
        let (one, two) = (stamped_batch(1, 7), stamped_batch(2, 7));
        let zeros = vec![0u8; 4096];
        let written = [&one[..], &two[..]].concat();
        let sealed = [&written[..], &stamped_seal(2, 7)[..]].concat();
        let unsealed = [&written[..], &zeros[..]].concat();
        // A new file, and a spare's older records (stamped with another segment's number).
        let new_file = Vec::new();
        let reused = [&stamped_batch(9, 3)[..], &zeros[..]].concat();
        for empty in [&new_file, &reused] {
            // A rotation's new segment, once or twice (a crash, then another in the next open).
            assert_eq!(
                read_files(&[(7, sealed.clone()), (8, empty.clone())]).unwrap(),
                vec![1, 2]
            );
            // An earlier build started the next segment before it retired an unsealed one.
            assert_eq!(
                read_files(&[
                    (7, unsealed.clone()),
                    (8, empty.clone()),
                    (9, empty.clone())
                ])
                .unwrap(),
                vec![1, 2]
            );
            assert_eq!(
                read_files(&[(7, written.clone()), (8, empty.clone())]).unwrap(),
                vec![1, 2]
            );
            // Nothing but empty segments (a rekey killed in each of two opens).
            assert!(read_files(&[(7, empty.clone()), (8, empty.clone())])
                .unwrap()
                .is_empty());
            // An empty segment before one that holds batches is no crash's.
            let err = read_files(&[(7, empty.clone()), (8, stamped_batch(1, 8))]).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Corrupt, "{err}");
            // Damage before the seal of a segment that holds batches, followed by one a crash
            // left empty: corrupt, wherever it is.
            for at in [0, one.len() + 5] {
                let mut damaged = sealed.clone();
                damaged[at] ^= 0x40;
                let err = read_files(&[(7, damaged), (8, empty.clone())]).unwrap_err();
                assert_eq!(err.kind(), crate::ErrorKind::Corrupt, "{err}");
                assert!(err.to_string().contains("before its seal"), "{err}");
            }
        }
    }

    // Guards against a failed log write being forgotten (issue 32): the records of the failed
    // write were taken from `pending`, so a sync after it found nothing to write and returned
    // Ok, and a batch could be acknowledged that never reached the log.
    #[test]
    fn a_failed_log_write_fails_every_later_sync_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::start(dir.path()).unwrap();
        log.append(&batch(1));
        log.sync().unwrap();
        // A real write error: the segment's handle is swapped for a read-only one.
        break_writes(&log);
        log.append(&batch(2));
        assert!(log.sync().is_err());
        // Nothing is pending any more: without the sticky failure this was Ok.
        let later = log.sync().unwrap_err();
        assert!(
            later.to_string().contains("writing the redo log failed"),
            "{later}"
        );
        assert!(log.rotate().is_err());
        log.append(&batch(3));
        assert!(log.sync().is_err());
        assert!(log.check().is_err());
    }

    #[test]
    fn a_checkpoint_is_due_by_size_or_age_never_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::start(dir.path()).unwrap();
        assert!(!log.due());
        let aged = |log: &Log| {
            let mut segment = lock(&log.active);
            segment.started = segment.started.checked_sub(SEGMENT_AGE).unwrap();
        };
        log.append(&batch(1));
        log.sync().unwrap();
        assert!(!log.due(), "a young small segment is not due");
        aged(&log);
        assert!(log.due());
        log.rotate().unwrap();
        aged(&log);
        assert!(!log.due(), "an empty segment is never due");
        lock(&log.active).offset = SEGMENT_BYTES;
        assert!(log.due());
    }
}
