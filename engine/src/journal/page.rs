//! How entries are stored: one sealed page per write group (the index of entries by record is
//! kept in memory, `indexes/journal_by_record.rs`).
//!
//! # Packed pages (layout 7)
//!
//! A page used to be its entries as they are returned: every entry with its number, time,
//! author, the names of its fields as text and its 32-byte hash — some 95 bytes an entry,
//! more than half of a store's bytes (an imported order's entry was bigger than the order).
//! A page is now written *packed*: the numbers follow from the first, the times are
//! differences from the page's, the authors are named once in a table, the field names are
//! one-byte codes (each field's code is in its declaration, `schema/`; a name without one
//! is kept as text), and each entry keeps
//! only the first 8 bytes of its hash (its *check*). The page keeps the hash the chain had
//! before its first entry; reading it recomputes every hash from there under the journal key,
//! and an entry whose recomputed hash does not start with its check is where the chain breaks
//! (`AUDIT.VERIFY` names it). About 25 bytes an entry.
//!
//! A packed page's plain text starts with [`PACKED`]: bincode's variable-length integers never
//! start with it, and an older page's plain text starts with one (its feed count), so both
//! formats are read, and older stores and backups need no rewrite.

use super::{Entry, JournalKey, JournalOp};
use crate::error::{Error, Kind, Result};
use crate::trees::Space;
use serde::{Deserialize, Serialize};

/// The entries of one write group, sealed under their page key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Page {
    /// How many change-feed entries came before this page (so `XLEN` is the last page's count
    /// plus its own).
    pub feed_before: u64,
    pub entries: Vec<Entry>,
    /// The hash before the first entry, as a packed page records it (`None`: an older page).
    #[serde(skip)]
    pub chained_from: Option<[u8; 32]>,
    /// The first entry whose recomputed hash does not start with the check it was stored
    /// with (packed pages read with the journal key only).
    #[serde(skip)]
    pub broken_at: Option<u64>,
}

impl Page {
    /// The change-feed entries up to and including this page.
    pub fn feed_through(&self) -> u64 {
        self.feed_before + self.entries.iter().filter(|e| e.in_feed()).count() as u64
    }
}

impl Page {
    /// (kind, id, number) of this page's entries about records.
    pub fn about_records(&self) -> impl Iterator<Item = (Kind, u64, u64)> + '_ {
        self.entries
            .iter()
            .filter_map(|entry| Some((entry.kind, entry.id?, entry.seq)))
    }
}

/// The first byte of a packed page's plain text (bincode never starts an integer with it).
const PACKED: u8 = 0xFF;

#[derive(Serialize, Deserialize)]
struct Packed {
    feed_before: u64,
    first_seq: u64,
    at: i64,
    chained_from: [u8; 32],
    /// The authors, named once; entries point into this table.
    users: Vec<Option<String>>,
    entries: Vec<PackedEntry>,
}

#[derive(Serialize, Deserialize)]
struct PackedEntry {
    /// The entry's time minus the page's.
    at: i64,
    user: u32,
    op: JournalOp,
    kind: Kind,
    id: Option<u64>,
    name: Option<String>,
    fields: Vec<Field>,
    check: [u8; 8],
}

#[derive(Serialize, Deserialize)]
enum Field {
    Known(u8),
    Other(String),
}

/// A page's plain text, packed. Its entries carry their hashes (the checks are taken from
/// them) and it must know the hash it is chained from.
pub(crate) fn encode(page: &Page) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let chained_from = page
        .chained_from
        .ok_or_else(|| Error::Corrupt("a journal page to write knows no chain".into()))?;
    pack(page, chained_from)
        .ok_or_else(|| Error::Corrupt("a journal page to write holds no entry".into()))
}

/// [`encode`], for a page whose chain is known (`None`: the page holds no entry).
pub(crate) fn pack(page: &Page, chained_from: [u8; 32]) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let first = page.entries.first()?;
    let mut users: Vec<Option<String>> = Vec::new();
    let mut entries = Vec::with_capacity(page.entries.len());
    for entry in &page.entries {
        let user = match users.iter().position(|u| *u == entry.user) {
            Some(index) => index,
            None => {
                users.push(entry.user.clone());
                users.len() - 1
            }
        };
        let mut check = [0u8; 8];
        check.copy_from_slice(&entry.hash[..8]);
        entries.push(PackedEntry {
            at: entry.at.wrapping_sub(first.at),
            user: user as u32,
            op: entry.op,
            kind: entry.kind,
            id: entry.id,
            name: entry.name.clone(),
            fields: entry
                .fields
                .iter()
                .map(|name| match crate::schema::journal_code(name) {
                    Some(code) => Field::Known(code),
                    None => Field::Other(name.clone()),
                })
                .collect(),
            check,
        });
    }
    let packed = Packed {
        feed_before: page.feed_before,
        first_seq: first.seq,
        at: first.at,
        chained_from,
        users,
        entries,
    };
    let mut plain = zeroize::Zeroizing::new(vec![PACKED]);
    plain.extend_from_slice(&crate::codec::encode(&packed));
    Some(plain)
}

/// Opens a sealed page read at `key` (see [`decode`]).
pub(crate) fn open(
    codec: &crate::codec::Codec,
    key: &[u8],
    sealed: &[u8],
    chain: Option<&JournalKey>,
) -> Result<Page> {
    let plain = zeroize::Zeroizing::new(codec.open_plain(key, sealed)?);
    decode(codec, key, &plain, chain)
}

/// A page from its plain text, either format. With the journal key, every hash of a packed
/// page is recomputed (and checked); without it (index rebuilds), its hashes are zeros.
pub(crate) fn decode(
    codec: &crate::codec::Codec,
    key: &[u8],
    plain: &[u8],
    chain: Option<&JournalKey>,
) -> Result<Page> {
    let Some(packed) = plain.strip_prefix(&[PACKED]) else {
        return codec.decode(key, plain);
    };
    let packed: Packed = codec.decode(key, packed)?;
    let mut page = Page {
        feed_before: packed.feed_before,
        entries: Vec::with_capacity(packed.entries.len()),
        chained_from: Some(packed.chained_from),
        broken_at: None,
    };
    let mut previous = packed.chained_from;
    for (seq, stored) in (packed.first_seq..).zip(packed.entries) {
        let user = packed
            .users
            .get(stored.user as usize)
            .ok_or_else(|| Error::Corrupt(format!("journal entry {seq}: its author is missing")))?;
        let fields = stored
            .fields
            .into_iter()
            .map(|field| match field {
                Field::Known(code) => crate::schema::journal_name(code)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        Error::Corrupt(format!("journal entry {seq}: field code {code} is unknown"))
                    }),
                Field::Other(name) => Ok(name),
            })
            .collect::<Result<Vec<String>>>()?;
        let mut entry = Entry {
            seq,
            at: packed.at.wrapping_add(stored.at),
            user: user.clone(),
            op: stored.op,
            kind: stored.kind,
            id: stored.id,
            name: stored.name,
            fields,
            hash: [0; 32],
        };
        if let Some(chain) = chain {
            entry.hash = chain.link(&previous, &entry);
            if entry.hash[..8] != stored.check && page.broken_at.is_none() {
                page.broken_at = Some(seq);
            }
            previous = entry.hash;
        }
        page.entries.push(entry);
    }
    Ok(page)
}

/// `J ‖ first seq`: the page of the group whose first entry is `first`.
pub(crate) fn page_key(first: u64) -> [u8; 9] {
    crate::trees::id_key(Space::JournalPage, first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;

    fn codec() -> crate::codec::Codec {
        crate::codec::Codec::new(crate::seal::Sealer::new(
            &MasterKey::generate().derive(crate::keys::Purpose::RecordSeal),
        ))
    }

    /// A chained page of `n` entries after `previous`, as the committer stages them.
    fn page(chain: &JournalKey, previous: [u8; 32], first: u64, n: u64) -> Page {
        let mut hash = previous;
        let mut entries = Vec::new();
        for seq in first..first + n {
            let mut entry = Entry {
                seq,
                at: 1_800_000_000 + (seq % 3) as i64,
                user: (seq % 2 == 0).then(|| "Zoë-ops".to_string()),
                op: JournalOp::Add,
                kind: Kind::Order,
                id: Some(seq * 1_000),
                name: None,
                fields: if seq % 50 == 0 {
                    vec!["other:42".into()]
                } else {
                    vec!["customer_id".into(), "product_id".into(), "quantity".into()]
                },
                hash: [0; 32],
            };
            entry.hash = chain.link(&hash, &entry);
            hash = entry.hash;
            entries.push(entry);
        }
        Page {
            feed_before: 7,
            entries,
            chained_from: Some(previous),
            broken_at: None,
        }
    }

    #[test]
    fn a_packed_page_reads_back_as_written_with_every_hash_and_is_small() {
        let chain = JournalKey::new(MasterKey::generate());
        let written = page(&chain, [9; 32], 41, 500);
        let plain = encode(&written).unwrap();
        let read = decode(&codec(), b"J", &plain, Some(&chain)).unwrap();
        assert_eq!(read.entries, written.entries);
        assert_eq!(read.feed_before, 7);
        assert_eq!(read.broken_at, None);
        // The older format, every entry whole, reads too, and is over three times larger.
        let older = crate::codec::encode(&written);
        let read_older = decode(&codec(), b"J", &older, Some(&chain)).unwrap();
        assert_eq!(read_older.entries, written.entries);
        assert_eq!(read_older.chained_from, None);
        assert!(
            plain.len() * 3 < older.len(),
            "{} against {}",
            plain.len(),
            older.len()
        );
        // Without the key (index rebuilds) the entries come back, their hashes unknown.
        let unchained = decode(&codec(), b"J", &plain, None).unwrap();
        assert!(unchained.about_records().eq(written.about_records()));
    }

    #[test]
    fn an_entry_changed_without_the_key_is_where_the_chain_breaks() {
        let chain = JournalKey::new(MasterKey::generate());
        let mut changed = page(&chain, [0; 32], 1, 10);
        changed.entries[6].op = JournalOp::Delete;
        let plain = encode(&changed).unwrap();
        let read = decode(&codec(), b"J", &plain, Some(&chain)).unwrap();
        assert_eq!(read.broken_at, Some(7));
        // Under another key every entry breaks: the first is named.
        let other = JournalKey::new(MasterKey::generate());
        let read = decode(
            &codec(),
            b"J",
            &encode(&page(&chain, [0; 32], 1, 3)).unwrap(),
            Some(&other),
        )
        .unwrap();
        assert_eq!(read.broken_at, Some(1));
    }
}
