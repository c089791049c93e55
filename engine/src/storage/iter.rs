//! Walks over a tree: the stored entries (staged writes laid over sled's, `merge.rs`), with
//! the orders of each page opened on the way as if each had its entry, and the redo marker
//! left out.

use super::{pages, Bytes, Entry, Physical, MARKER};
use crate::error::{Error, Result};

/// An ordered walk over a tree's entries (forwards, or backwards with `rev`).
pub(crate) struct Iter {
    inner: Box<dyn DoubleEndedIterator<Item = Entry> + Send>,
}

/// What one stored entry yields: itself, or the orders of a page.
enum Expanded {
    One(Option<Entry>),
    Page(std::vec::IntoIter<Entry>),
}

impl Expanded {
    fn of(entry: sled::Result<(sled::IVec, sled::IVec)>) -> Expanded {
        let (key, value) = match entry {
            Ok(pair) => pair,
            Err(error) => return Expanded::One(Some(Err(error.into()))),
        };
        if key == MARKER {
            return Expanded::One(None);
        }
        let Some(base) = pages::packed_id(&key).filter(|_| pages::is_page(&key, &value)) else {
            return Expanded::One(Some(Ok((key, value))));
        };
        match pages::entries(base, &value) {
            Ok(orders) => Expanded::Page(
                orders
                    .into_iter()
                    .map(|(id, range)| {
                        Ok((
                            Bytes::from(&pages::key_of(id)[..]),
                            value.subslice(range.start, range.len()),
                        ))
                    })
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            Err(error) => Expanded::One(Some(Err(error))),
        }
    }
}

impl Iterator for Expanded {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        match self {
            Expanded::One(entry) => entry.take(),
            Expanded::Page(orders) => orders.next(),
        }
    }
}

impl DoubleEndedIterator for Expanded {
    fn next_back(&mut self) -> Option<Entry> {
        match self {
            Expanded::One(entry) => entry.take(),
            Expanded::Page(orders) => orders.next_back(),
        }
    }
}

impl Iter {
    /// The keys only.
    pub fn keys(self) -> impl DoubleEndedIterator<Item = Result<Bytes>> {
        self.map(|entry| entry.map(|(key, _)| key))
    }
}

impl Iter {
    /// A walk of entries that cannot be pages.
    pub(super) fn physical(entries: Physical) -> Iter {
        Iter {
            inner: Box::new(
                entries
                    .filter(|entry| !matches!(entry, Ok((key, _)) if key == MARKER))
                    .map(|entry| entry.map_err(Error::from)),
            ),
        }
    }

    /// A walk that opens the pages it meets.
    /// The entries for which `keep` holds (a walk's bounds).
    pub(super) fn only(self, keep: impl FnMut(&Entry) -> bool + Send + 'static) -> Iter {
        Iter {
            inner: Box::new(self.inner.filter(keep)),
        }
    }

    pub(super) fn expanded(entries: Physical) -> Iter {
        Iter {
            inner: Box::new(entries.flat_map(Expanded::of)),
        }
    }
}

impl Iterator for Iter {
    type Item = Entry;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back()
    }
}
