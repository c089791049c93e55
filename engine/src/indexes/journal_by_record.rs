//! The journal's entries about each record: `AUDIT.LOG ID n` reads the few pages that hold
//! them instead of walking the journal.

use crate::error::Kind;
use crate::journal::page::Page;
use std::collections::BTreeSet;
use std::ops::RangeInclusive;

/// Sorted (kind, id, entry number) triples: about 30 bytes an entry. Most records have one or
/// two entries, so a list per record (a map entry and a heap block each) would cost three
/// times as much.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct JournalByRecord {
    entries: BTreeSet<(Kind, u64, u64)>,
}

impl JournalByRecord {
    /// The numbers of the entries about one record within `seqs`, ascending.
    pub fn seqs(
        &self,
        kind: Kind,
        id: u64,
        seqs: RangeInclusive<u64>,
    ) -> impl Iterator<Item = u64> + '_ {
        let (first, last) = seqs.into_inner();
        // A range that ends before it starts holds nothing (and would panic in `range`).
        (first <= last)
            .then(|| self.entries.range((kind, id, first)..=(kind, id, last)))
            .into_iter()
            .flatten()
            .map(|(_, _, seq)| *seq)
    }

    /// How many entries about records it holds.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Adds a group's page.
    pub fn apply(&mut self, page: &Page) {
        self.entries.extend(page.about_records());
    }

    /// The index of these (kind, id, seq) entries, in any order.
    pub fn rebuild(mut entries: Vec<(Kind, u64, u64)>) -> JournalByRecord {
        // Collected from a sorted vector, the B-tree's nodes are built full.
        entries.sort_unstable();
        JournalByRecord {
            entries: entries.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_records_entries_come_back_within_the_range_asked() {
        let index = JournalByRecord::rebuild(vec![
            (Kind::Order, 7, 9),
            (Kind::Customer, 7, 3),
            (Kind::Customer, 7, 1),
            (Kind::Customer, 8, 2),
            (Kind::Customer, 7, 12),
        ]);
        let seqs = |kind, id, range| index.seqs(kind, id, range).collect::<Vec<_>>();
        assert_eq!(seqs(Kind::Customer, 7, 0..=u64::MAX), vec![1, 3, 12]);
        assert_eq!(seqs(Kind::Customer, 7, 2..=12), vec![3, 12]);
        assert_eq!(seqs(Kind::Customer, 7, 4..=11), Vec::<u64>::new());
        // `AUDIT.LOG ID 7 AFTER` a number beyond the journal's last asks for such a range.
        let (after_last, last) = (5, 4);
        assert_eq!(
            seqs(Kind::Customer, 7, after_last..=last),
            Vec::<u64>::new()
        );
        assert_eq!(seqs(Kind::Order, 7, 0..=u64::MAX), vec![9]);
        assert_eq!(seqs(Kind::Product, 7, 0..=u64::MAX), Vec::<u64>::new());
        assert_eq!(index.len(), 5);
    }
}
