//! Log entries: their plain format, the split of a large group into parts, and the follower's
//! reassembly of parts into whole groups.
//!
//! One etcd request carries at most 1.5 MiB by default (`--max-request-bytes`), so a group is
//! cut into parts of at most [`MAX_PART`] sealed bytes, appended as consecutive entries. A
//! group counts only once its last part is in the log; any other entry between its parts (a
//! new leader's [`Entry::LeaderStart`], a new [`Entry::Epoch`], another group) voids the parts
//! before it, the same way on every node, so a group is applied all together or not at all.
//!
//! Plain format (big-endian): `version u8 = 1 ‖ kind u8 ‖ leader time (unix ms) i64 ‖ body`;
//! a part's body is `first entry u64 ‖ index u16 ‖ count u16 ‖ bytes`, a leader start's
//! `node ‖ run id ‖ fence i64` (strings length-prefixed), a new epoch's
//! `epoch u64 ‖ key [32]`.

use crate::codec::{Decoder, Encoder};
use crate::error::{Error, Result};
use zeroize::Zeroizing;

/// The most sealed bytes one entry carries.
pub const MAX_PART: usize = 512 * 1024;
/// Room left in a part for the header and the seal (nonce, tag, epoch).
const OVERHEAD: usize = 1024;
/// The most group bytes one part carries.
pub const PART_BYTES: usize = MAX_PART - OVERHEAD;

const VERSION: u8 = 1;
const KIND_PART: u8 = 1;
const KIND_LEADER_START: u8 = 2;
const KIND_EPOCH: u8 = 3;

/// A log epoch's random key (`epochs.rs`), wiped from memory when dropped and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct EpochKey(Zeroizing<[u8; 32]>);

impl EpochKey {
    /// A new random key.
    pub fn random() -> EpochKey {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, key.as_mut());
        EpochKey(key)
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for EpochKey {
    fn from(bytes: [u8; 32]) -> EpochKey {
        EpochKey(Zeroizing::new(bytes))
    }
}

impl std::fmt::Debug for EpochKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EpochKey(..)")
    }
}

/// One log entry, opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Part `index` of `count` of the group whose part 0 is entry `first`.
    Part {
        at_ms: i64,
        first: u64,
        index: u16,
        count: u16,
        bytes: Vec<u8>,
    },
    /// A new leader starts writing here (after applying every earlier entry).
    LeaderStart {
        at_ms: i64,
        node: String,
        runid: String,
        fence: i64,
    },
    /// Every entry after this one is sealed under `epoch`, whose key it carries. It is sealed
    /// under the epoch before, so only nodes that hold that one learn the new key, and they
    /// learn it before they meet an entry sealed under it.
    Epoch {
        at_ms: i64,
        epoch: u64,
        key: EpochKey,
    },
}

impl Entry {
    /// The leader's clock when it wrote the entry (unix milliseconds).
    pub fn at_ms(&self) -> i64 {
        match self {
            Entry::Part { at_ms, .. }
            | Entry::LeaderStart { at_ms, .. }
            | Entry::Epoch { at_ms, .. } => *at_ms,
        }
    }

    /// Whether the entry is part of a write group (else it carries none: the node's position
    /// merely passes it).
    pub fn is_part(&self) -> bool {
        matches!(self, Entry::Part { .. })
    }

    /// The plain bytes (wiped from memory when dropped: an epoch's carry its key).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.encode_plain())
    }

    fn encode_plain(&self) -> Vec<u8> {
        match self {
            Entry::Part {
                at_ms,
                first,
                index,
                count,
                bytes,
            } => Encoder::new()
                .u8(VERSION)
                .u8(KIND_PART)
                .i64(*at_ms)
                .u64(*first)
                .u16(*index)
                .u16(*count)
                .rest(bytes)
                .finish(),
            Entry::LeaderStart {
                at_ms,
                node,
                runid,
                fence,
            } => Encoder::new()
                .u8(VERSION)
                .u8(KIND_LEADER_START)
                .i64(*at_ms)
                .str(node)
                .str(runid)
                .i64(*fence)
                .finish(),
            Entry::Epoch { at_ms, epoch, key } => Encoder::new()
                .u8(VERSION)
                .u8(KIND_EPOCH)
                .i64(*at_ms)
                .u64(*epoch)
                .rest(key.bytes())
                .finish(),
        }
    }

    /// Reads entry `number`'s plain bytes; anything else than what [`Entry::encode`] writes is
    /// `CORRUPT` (the entry opened under the log key, so only a bug or a foreign version can
    /// make it so).
    pub fn decode(number: u64, plain: &[u8]) -> Result<Entry> {
        let corrupt = |message: String| Error::Corrupt {
            position: number,
            message,
        };
        let mut decoder = Decoder::new(plain, "log entry");
        let version = decoder.u8().map_err(|e| corrupt(e.to_string()))?;
        if version != VERSION {
            return Err(corrupt(format!("unknown entry version {version}")));
        }
        let read = |decoder: &mut Decoder<'_>| -> Result<Entry> {
            let kind = decoder.u8()?;
            let at_ms = decoder.i64()?;
            let entry = match kind {
                KIND_PART => Entry::Part {
                    at_ms,
                    first: decoder.u64()?,
                    index: decoder.u16()?,
                    count: decoder.u16()?,
                    bytes: decoder.rest().to_vec(),
                },
                KIND_LEADER_START => Entry::LeaderStart {
                    at_ms,
                    node: decoder.str()?,
                    runid: decoder.str()?,
                    fence: decoder.i64()?,
                },
                KIND_EPOCH => Entry::Epoch {
                    at_ms,
                    epoch: decoder.u64()?,
                    key: EpochKey::from(decoder.fixed::<32>()?),
                },
                other => {
                    return Err(Error::Malformed {
                        what: "log entry".into(),
                        message: format!("unknown kind {other}"),
                    })
                }
            };
            decoder.finish()?;
            Ok(entry)
        };
        let entry = read(&mut decoder).map_err(|e| corrupt(e.to_string()))?;
        if let Entry::Part {
            first,
            index,
            count,
            ..
        } = &entry
        {
            if *count == 0 || index >= count || first.checked_add(u64::from(*index)) != Some(number)
            {
                return Err(corrupt(format!(
                    "part {index} of {count} of the group from entry {first} cannot be entry {number}"
                )));
            }
        }
        Ok(entry)
    }
}

/// Cuts a group into the parts appended as entries `first`, `first + 1`, ...
/// (an empty group is one empty part). Errors when a group would need more than 65,535 parts.
pub fn split(group: &[u8], first: u64, at_ms: i64) -> Result<Vec<Entry>> {
    let chunks: Vec<&[u8]> = if group.is_empty() {
        vec![group]
    } else {
        group.chunks(PART_BYTES).collect()
    };
    let count = u16::try_from(chunks.len()).map_err(|_| {
        Error::Refused(format!(
            "a write group of {} bytes is too large for the log",
            group.len()
        ))
    })?;
    Ok(chunks
        .into_iter()
        .enumerate()
        .map(|(index, bytes)| Entry::Part {
            at_ms,
            first,
            index: u16::try_from(index).unwrap_or(u16::MAX),
            count,
            bytes: bytes.to_vec(),
        })
        .collect())
}

/// A whole group, ready to apply at `position` (its last part's entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub position: u64,
    pub bytes: Vec<u8>,
}

/// The follower's buffer of a group's parts.
#[derive(Debug, Default)]
pub struct Assembler {
    /// The group being gathered: its first entry, the next index expected, its count, bytes.
    open: Option<(u64, u16, u16, Vec<u8>)>,
}

impl Assembler {
    /// An empty buffer (a node starts at a group boundary: right after its last applied group).
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// Takes entry `number` (entries must come in order, none skipped); returns the group it
    /// completes, if any.
    pub fn take(&mut self, number: u64, entry: Entry) -> Option<Group> {
        match entry {
            Entry::LeaderStart { .. } | Entry::Epoch { .. } => {
                self.open = None;
                None
            }
            Entry::Part {
                first,
                index,
                count,
                bytes,
                ..
            } => {
                if index == 0 {
                    self.open = Some((first, 0, count, Vec::new()));
                }
                let continues = matches!(
                    &self.open,
                    Some((open_first, next, open_count, _))
                        if *open_first == first && *next == index && *open_count == count
                );
                if !continues {
                    self.open = None;
                    return None;
                }
                let (_, next, count, mut gathered) = self.open.take()?;
                gathered.extend_from_slice(&bytes);
                if next + 1 == count {
                    Some(Group {
                        position: number,
                        bytes: gathered,
                    })
                } else {
                    self.open = Some((first, next + 1, count, gathered));
                    None
                }
            }
        }
    }

    /// Whether a group's parts are being gathered.
    pub fn is_gathering(&self) -> bool {
        self.open.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(group: &[u8], first: u64) -> Vec<(u64, Entry)> {
        split(group, first, 5)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(i, entry)| {
                let number = first + i as u64;
                let decoded = Entry::decode(number, &entry.encode()).unwrap();
                assert_eq!(decoded, entry);
                (number, decoded)
            })
            .collect()
    }

    #[test]
    fn a_large_group_is_split_and_reassembled_whole() {
        let group: Vec<u8> = (0..(PART_BYTES * 2 + 10))
            .map(|i| (i % 251) as u8)
            .collect();
        let parts = entries(&group, 7);
        assert_eq!(parts.len(), 3);
        let mut assembler = Assembler::new();
        let mut out = Vec::new();
        for (number, entry) in parts {
            out.extend(assembler.take(number, entry));
        }
        assert_eq!(
            out,
            vec![Group {
                position: 9,
                bytes: group
            }]
        );
        assert!(!assembler.is_gathering());
    }

    #[test]
    fn an_interrupted_group_is_voided_on_every_node_alike() {
        let group = vec![1u8; PART_BYTES + 1];
        let mut parts = entries(&group, 1);
        let last = parts.pop().unwrap();
        let mut assembler = Assembler::new();
        for (number, entry) in parts {
            assert_eq!(assembler.take(number, entry), None);
        }
        let start = Entry::LeaderStart {
            at_ms: 1,
            node: "n2".into(),
            runid: "r".into(),
            fence: 9,
        };
        assert_eq!(assembler.take(2, start), None);
        // The orphan last part (re-sent late) does not complete anything.
        assert_eq!(assembler.take(last.0 + 1, last.1), None);
        let single = entries(b"small", 4).remove(0);
        assert_eq!(
            assembler.take(single.0, single.1),
            Some(Group {
                position: 4,
                bytes: b"small".to_vec()
            })
        );
    }

    #[test]
    fn an_epoch_entry_round_trips_voids_open_parts_and_never_prints_its_key() {
        let key = EpochKey::from([7u8; 32]);
        let epoch = Entry::Epoch {
            at_ms: 12,
            epoch: 4,
            key: key.clone(),
        };
        let plain = epoch.encode();
        assert_eq!(Entry::decode(9, &plain).unwrap(), epoch);
        assert!(!epoch.is_part() && epoch.at_ms() == 12);
        assert!(!format!("{epoch:?}").contains("7, 7"), "{epoch:?}");
        for cut in 0..plain.len() - 1 {
            assert!(Entry::decode(9, &plain[..cut]).is_err());
        }
        // Between a group's parts (a new leader's epoch after a half-written group), it voids
        // them on every node alike.
        let mut parts = entries(&vec![3u8; PART_BYTES + 1], 1);
        let last = parts.pop().unwrap();
        let mut assembler = Assembler::new();
        for (number, entry) in parts {
            assert_eq!(assembler.take(number, entry), None);
        }
        assert_eq!(assembler.take(2, epoch), None);
        assert!(!assembler.is_gathering());
        assert_eq!(assembler.take(last.0 + 1, last.1), None);
        assert_ne!(EpochKey::random(), EpochKey::random());
    }

    #[test]
    fn a_part_at_the_wrong_number_or_garbage_is_corrupt() {
        let part = split(b"x", 3, 0).unwrap().remove(0).encode();
        assert!(matches!(
            Entry::decode(4, &part),
            Err(Error::Corrupt { position: 4, .. })
        ));
        for cut in 0..part.len() - 1 {
            assert!(Entry::decode(3, &part[..cut]).is_err());
        }
        assert!(Entry::decode(1, &[9, 9, 9]).is_err());
    }
}
