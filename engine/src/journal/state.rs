//! The journal's moving parts: where the chain ends (kept by the committer), and how far it is
//! durable (raised by the flusher, watched by readers of the change feed).

use super::page::{page_key, Page};
use super::{Draft, Entry, Head, JournalKey};
use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::trees::Space;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Where the chain ends: the next number, the last hash, the feed entries so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tail {
    pub next_seq: u64,
    pub last_hash: [u8; 32],
    pub feed_count: u64,
}

impl Tail {
    /// The last entry's number and hash.
    pub fn head(&self) -> Head {
        Head {
            seq: self.next_seq.saturating_sub(1),
            hash: self.last_hash,
        }
    }
}

/// A group's entries, numbered and chained, ready to join its batch.
pub(crate) struct StagedPage {
    pub key: [u8; 9],
    /// The page's plain text, packed (`page.rs`), sealed with the group's batch.
    pub plain: zeroize::Zeroizing<Vec<u8>>,
    /// Shared with the recent pages once applied (a page of thousands of entries is not
    /// copied).
    pub page: Arc<Page>,
    /// The tail once this page is applied.
    pub tail: Tail,
}

/// The journal of an open store.
pub(crate) struct JournalState {
    key: JournalKey,
    /// Changed only by the committer, after a group's batch succeeded.
    tail: Mutex<Tail>,
    /// The tail as of the last flush: what readers may see.
    durable: watch::Sender<Tail>,
    /// The last pages applied, decoded: when a write wakes a thousand blocked `XREAD`s, they
    /// all read these instead of each fetching and decrypting the same page from the tree.
    recent: Mutex<VecDeque<Arc<Page>>>,
}

/// How many of the last pages stay decoded in memory.
const RECENT_PAGES: usize = 16;

impl JournalState {
    /// Loads where the chain ends from the last page on disk.
    pub fn load(
        tree: &crate::storage::Tree,
        codec: &Codec,
        key: JournalKey,
    ) -> Result<JournalState> {
        let tail = match tree.scan_prefix(Space::JournalPage.prefix()).next_back() {
            None => Tail {
                next_seq: 1,
                ..Tail::default()
            },
            Some(entry) => {
                let (page_key, sealed) = entry?;
                let page = super::page::open(codec, &page_key, &sealed, Some(&key))?;
                let last = page
                    .entries
                    .last()
                    .ok_or_else(|| Error::Corrupt("a journal page holds no entry".into()))?;
                Tail {
                    next_seq: last.seq + 1,
                    last_hash: last.hash,
                    feed_count: page.feed_through(),
                }
            }
        };
        let (durable, _) = watch::channel(tail);
        Ok(JournalState {
            key,
            tail: Mutex::new(tail),
            durable,
            recent: Mutex::new(VecDeque::with_capacity(RECENT_PAGES)),
        })
    }

    fn tail(&self) -> Tail {
        *self
            .tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Numbers and chains a group's drafts after the current tail. Nothing changes until
    /// [`JournalState::applied`] is called with the result's tail.
    pub fn stage(&self, drafts: Vec<(Draft, Option<String>, i64)>) -> Option<StagedPage> {
        if drafts.is_empty() {
            return None;
        }
        let start = self.tail();
        let mut tail = start;
        let mut entries = Vec::with_capacity(drafts.len());
        for (draft, user, at) in drafts {
            let mut entry = Entry {
                seq: tail.next_seq,
                at,
                user,
                op: draft.op,
                kind: draft.kind,
                id: draft.id,
                name: draft.name,
                fields: draft.fields,
                hash: [0; 32],
            };
            entry.hash = self.key.link(&tail.last_hash, &entry);
            if entry.in_feed() {
                tail.feed_count += 1;
            }
            tail.last_hash = entry.hash;
            tail.next_seq += 1;
            entries.push(entry);
        }
        let page = Page {
            feed_before: start.feed_count,
            entries,
            chained_from: Some(start.last_hash),
            broken_at: None,
        };
        Some(StagedPage {
            key: page_key(start.next_seq),
            plain: super::page::pack(&page, start.last_hash)?,
            page: Arc::new(page),
            tail,
        })
    }

    /// Moves the tail past a page whose batch was applied, and keeps the page decoded.
    pub fn applied(&self, tail: Tail, page: &Arc<Page>) {
        *self
            .tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = tail;
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if recent.len() == RECENT_PAGES {
            recent.pop_front();
        }
        recent.push_back(page.clone());
    }

    /// The entries from `first` on held by the recent pages, if they hold every entry from
    /// `first` to the last applied (`None`: older entries must be read from the tree).
    pub fn recent_from(&self, first: u64) -> Option<Vec<Arc<Page>>> {
        let recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let oldest = recent.front()?.entries.first()?.seq;
        if first < oldest {
            return None;
        }
        Some(
            recent
                .iter()
                .filter(|page| page.entries.last().is_some_and(|e| e.seq >= first))
                .cloned()
                .collect(),
        )
    }

    /// The tail as applied now (for the flusher to make durable).
    pub fn applied_tail(&self) -> Tail {
        self.tail()
    }

    /// Makes entries up to `tail` visible to readers, and wakes those waiting.
    pub fn durable_through(&self, tail: Tail) {
        self.durable.send_if_modified(|current| {
            if tail.next_seq > current.next_seq {
                *current = tail;
                true
            } else {
                false
            }
        });
    }

    /// What readers may see.
    pub fn durable(&self) -> Tail {
        *self.durable.borrow()
    }

    /// A receiver that changes whenever more entries become durable.
    pub fn subscribe(&self) -> watch::Receiver<Tail> {
        self.durable.subscribe()
    }

    /// The chaining key (for verification).
    pub fn chain_key(&self) -> &JournalKey {
        &self.key
    }
}
