//! The leader's upkeep of the log: new epochs now and then (`epochs.rs`), and trimming.
//!
//! PROTOCOL.md: "an entry is deleted from etcd once every live node has applied it and made
//! it durable in its own store, and it is older than `--log-retain`". Every
//! [`Pace::every`](crate::epochs::Pace), the leader (once ready) deletes the entries from the
//! log's first to the **cut**, the highest entry that is
//!
//! - at or below every live node's durable position (the registrations, read then, and the
//!   leader's own), so no live node, restarted, finds its next entry gone;
//! - below the log's head: the last entry is never deleted, or a new leader reading an empty
//!   log would number its entries from 1 again;
//! - older than `--log-retain` by the time the leader wrote in it (`at_ms`), as is every entry
//!   before it: the leader reads the entries in order from the first and stops at the first
//!   younger one. What it learns is kept for its leadership (an entry once old stays old; the
//!   first younger one is read again only once it may have aged), so each look reads only the
//!   entries new since the last.
//!
//! **Age marks.** Reading an entry's time means opening it, and a new leader would open every
//! entry the log holds once. So after each look the leader writes an age mark, `ages/HEAD` →
//! the time then (MACed: etcd cannot make entries look older than they are): every entry up
//! to the head was written by then. Any later leader reads the marks first (a few: one per
//! look that saw new entries, deleted with the entries they cover) and opens only the entries
//! after the newest old mark. A mark's time is at or after its entries', so it never makes an
//! entry look older than it is.
//!
//! The delete is one transaction guarded by the leader key's fence, so a deposed leader
//! deletes nothing; etcd's history before it is then compacted, so etcd can reuse the space
//! (the bytes stay on its disks until overwritten: the epoch keys are what make them
//! unreadable). A node whose position is trimmed away while it is down is refused at its next
//! start, with the advice to start it empty (identity.rs).
//!
//! A node copying a snapshot is not registered yet: the node sending it publishes the
//! snapshot's position as its own durable one while the copy runs and for a grace after
//! (`server/src/cluster/holds.rs`), so the joiner finds the entries after it however slow
//! the copy.

use crate::codec::{Decoder, Encoder};
use crate::entry::Entry;
use crate::epochs::Pace;
use crate::error::Result;
use crate::etcd::{Cmp, Compare, Op, Range, Txn};
use crate::log::{now_ms, Log};
use crate::registry::{Registration, Registry};
use std::sync::Arc;

/// Entries read per request while looking for the cut (at most 512 KiB each).
const PAGE: i64 = 16;

/// What the leader knows of the entries' ages, for one leadership.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ages {
    /// Every entry up to this one is older than `--log-retain`.
    old_through: u64,
    /// The first entry found younger, and when it was written: not read again before then.
    young: Option<(u64, i64)>,
    /// The head the last age mark of this leadership covers.
    marked: u64,
}

impl Ages {
    /// The first entry to read, at most `limit`, to learn more; `None` when nothing more can
    /// be learned now (`cutoff_ms`: entries written at or before it are old).
    pub fn next_to_read(&mut self, first: u64, limit: u64, cutoff_ms: i64) -> Option<u64> {
        if let Some((number, at_ms)) = self.young {
            if at_ms <= cutoff_ms {
                self.old_through = self.old_through.max(number);
                self.young = None;
            } else if number <= limit {
                return None;
            }
        }
        let from = first.max(self.old_through + 1);
        (from <= limit).then_some(from)
    }

    /// Takes what entry `number` (read in order) says: `false` when it is younger than the
    /// cutoff, so reading stops there.
    pub fn observe(&mut self, number: u64, at_ms: i64, cutoff_ms: i64) -> bool {
        if at_ms <= cutoff_ms {
            self.old_through = self.old_through.max(number);
            true
        } else {
            self.young = Some((number, at_ms));
            false
        }
    }

    /// Takes an age mark: every entry up to `number` was written at or before `at_ms`.
    pub fn observe_mark(&mut self, number: u64, at_ms: i64, cutoff_ms: i64) {
        if at_ms <= cutoff_ms {
            self.old_through = self.old_through.max(number);
            if self.young.is_some_and(|(young, _)| young <= number) {
                self.young = None;
            }
        }
    }

    /// The last entry to delete, if any, of a log from `first` to `head` whose live nodes
    /// hold `floor` durably.
    pub fn cut(&self, first: u64, head: u64, floor: u64) -> Option<u64> {
        let cut = self.old_through.min(floor).min(head.saturating_sub(1));
        (first > 0 && cut >= first).then_some(cut)
    }
}

/// The position every live node holds durably: the lowest of theirs and the leader's own.
pub fn durable_floor(own: u64, live: &[Registration]) -> u64 {
    live.iter().map(|r| r.durable).fold(own, u64::min)
}

/// The leader's upkeep task.
pub struct Trimmer {
    log: Log,
    registry: Registry,
    durable: Arc<dyn Fn() -> u64 + Send + Sync>,
    pace: Pace,
}

impl Trimmer {
    pub fn new(
        log: Log,
        registry: Registry,
        durable: Arc<dyn Fn() -> u64 + Send + Sync>,
        pace: Pace,
    ) -> Trimmer {
        Trimmer {
            log,
            registry,
            durable,
            pace,
        }
    }

    /// Runs for as long as the node does; works only while it leads and accepts writes.
    pub async fn run(self) {
        let mut leadership: Option<(i64, Ages)> = None;
        loop {
            tokio::time::sleep(self.pace.every).await;
            let Some(fence) = self.log.ready_fence() else {
                leadership = None;
                continue;
            };
            let ages = match &mut leadership {
                Some((held, ages)) if *held == fence => ages,
                _ => &mut leadership.insert((fence, Ages::default())).1,
            };
            if self.log.epoch_is_older_than(self.pace.rotate_after) {
                if let Err(e) = self.log.start_epoch().await {
                    tracing::warn!("starting a new log epoch: {e}");
                }
            }
            match self.trim(fence, ages).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!("trimmed {deleted} entries from the log"),
                Err(e) => tracing::debug!("trimming the log: {e}"),
            }
            if let Err(e) = self.registry.forget_departed().await {
                tracing::debug!("forgetting departed nodes: {e}");
            }
        }
    }

    /// One look: deletes the entries up to the cut (see the module), if any; returns how many
    /// went.
    pub async fn trim(&self, fence: i64, ages: &mut Ages) -> Result<i64> {
        let floor = durable_floor((self.durable)(), &self.registry.live().await?);
        let head = self.log.head().await?;
        let keys = self.log.keys();
        let client = self.log.client();
        let Some(first) = crate::epochs::first_number(client, keys).await? else {
            return Ok(0);
        };
        let limit = floor.min(head.saturating_sub(1));
        let retain_ms = i64::try_from(self.pace.retain.as_millis()).unwrap_or(i64::MAX);
        let cutoff_ms = now_ms().saturating_sub(retain_ms);
        self.read_marks(ages, cutoff_ms).await?;
        'reading: while let Some(from) = ages.next_to_read(first, limit, cutoff_ms) {
            let page = client
                .range(Range::between(keys.entry(from), keys.entry(limit + 1)).limit(PAGE))
                .await?;
            let mut read_any = false;
            for kv in &page.kvs {
                // A key that is no entry (not this crate's) is passed over, not read again.
                let Some(number) = keys.entry_number(&kv.key).filter(|n| *n >= from) else {
                    continue;
                };
                read_any = true;
                let plain = self.log.sealer().open(number, &kv.value)?;
                let at_ms = Entry::decode(number, &plain)?.at_ms();
                if !ages.observe(number, at_ms, cutoff_ms) {
                    break 'reading;
                }
            }
            if !read_any {
                break;
            }
        }
        self.mark(fence, head, ages).await?;
        let Some(cut) = ages.cut(first, head, floor) else {
            return Ok(0);
        };
        let guarded = Txn::new()
            .when([Compare::create_revision(keys.leader(), Cmp::Equal, fence)])
            .then([
                Op::delete_range(keys.entry(first), keys.entry(cut + 1)),
                Op::delete_range(keys.age_mark(0), keys.age_mark(cut + 1)),
            ]);
        let answer = client.txn(guarded).await?;
        if !answer.succeeded {
            return Ok(0);
        }
        let deleted = match answer.results.first() {
            Some(crate::etcd::OpResult::Delete(deleted)) => *deleted,
            _ => 0,
        };
        tracing::debug!(first, cut, floor, head, "trimmed the log");
        // The history before the delete goes too, so etcd can reuse its space.
        if let Err(e) = client.compact(answer.revision).await {
            tracing::debug!("compacting etcd's history: {e}");
        }
        Ok(deleted)
    }

    /// Learns from the age marks (see the module) which entries are old without opening them;
    /// a mark whose MAC does not hold is passed over.
    async fn read_marks(&self, ages: &mut Ages, cutoff_ms: i64) -> Result<()> {
        let keys = self.log.keys();
        let marks = self
            .log
            .client()
            .range(Range::prefix(keys.age_marks()))
            .await?;
        for kv in &marks.kvs {
            let Some(number) = keys.age_mark_number(&kv.key) else {
                continue;
            };
            let Ok(payload) = self.registry.mac().verify(&kv.key, &kv.value) else {
                tracing::warn!(number, "an age mark in etcd does not verify: passed over");
                continue;
            };
            if let Ok(at_ms) = Decoder::new(payload, "age mark").i64() {
                ages.observe_mark(number, at_ms, cutoff_ms);
            }
        }
        Ok(())
    }

    /// Writes the age mark of `head` (fenced: a deposed leader writes none), once per head.
    async fn mark(&self, fence: i64, head: u64, ages: &mut Ages) -> Result<()> {
        if head == 0 || head <= ages.marked {
            return Ok(());
        }
        let keys = self.log.keys();
        let key = keys.age_mark(head);
        let value = self
            .registry
            .mac()
            .sign(&key, &Encoder::new().i64(now_ms()).finish());
        let fenced = Txn::new()
            .when([Compare::create_revision(keys.leader(), Cmp::Equal, fence)])
            .then([Op::put(key, value)]);
        if self.log.client().txn(fenced).await?.succeeded {
            ages.marked = head;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(durable: u64) -> Registration {
        Registration {
            node: "n".into(),
            node_id: [0; 16],
            runid: String::new(),
            advertise: String::new(),
            applied: durable + 5,
            durable,
            snapshot: String::new(),
            seen_ms: 0,
        }
    }

    #[test]
    fn an_old_age_mark_makes_its_entries_old_without_reading_them() {
        let mut ages = Ages::default();
        // A young mark teaches nothing.
        ages.observe_mark(9, 150, 100);
        assert_eq!(ages.next_to_read(5, 11, 100), Some(5));
        // An old one: entries up to 9 are old, only 10 and 11 are left to read.
        ages.observe_mark(9, 90, 100);
        assert_eq!(ages.next_to_read(5, 11, 100), Some(10));
        assert_eq!(ages.cut(5, 12, 11), Some(9));
        // Entry 10 read young; a later mark past it, old by now, clears it.
        assert!(!ages.observe(10, 140, 100));
        assert_eq!(ages.next_to_read(5, 11, 100), None);
        ages.observe_mark(11, 140, 150);
        assert_eq!(ages.next_to_read(5, 11, 150), None);
        assert_eq!(ages.cut(5, 12, 11), Some(11));
    }

    #[test]
    fn the_cut_stops_at_the_first_young_entry_a_live_nodes_durable_position_and_the_head() {
        // Entries 5..=12 written at these times; entries up to 100 are old (cutoff 100).
        let times = [
            (5, 10),
            (6, 20),
            (7, 90),
            (8, 100),
            (9, 150),
            (10, 30),
            (11, 40),
            (12, 50),
        ];
        let mut ages = Ages::default();
        let read = |ages: &mut Ages, limit: u64, cutoff: i64| {
            let mut read = Vec::new();
            while let Some(from) = ages.next_to_read(5, limit, cutoff) {
                let mut stopped = false;
                for &(number, at) in times.iter().filter(|(n, _)| *n >= from && *n <= limit) {
                    read.push(number);
                    if !ages.observe(number, at, cutoff) {
                        stopped = true;
                        break;
                    }
                }
                if !stopped {
                    break;
                }
            }
            read
        };
        assert_eq!(read(&mut ages, 11, 100), vec![5, 6, 7, 8, 9]);
        // Entry 9 is younger: 10 and 11, though old, stay behind it.
        assert_eq!(ages.cut(5, 12, 11), Some(8));
        // A live node holding only entry 6 durably holds the cut back.
        assert_eq!(
            ages.cut(5, 12, durable_floor(11, &[registration(6)])),
            Some(6)
        );
        // Nothing is read again until entry 9 may have aged.
        assert_eq!(read(&mut ages, 11, 120), Vec::<u64>::new());
        assert_eq!(read(&mut ages, 11, 150), vec![10, 11]);
        assert_eq!(ages.cut(5, 12, 11), Some(11));
        // The head stays, however old.
        assert_eq!(ages.cut(5, 12, 12), Some(11));
        assert_eq!(read(&mut ages, 11, 150), Vec::<u64>::new());
        // After a trim the log starts later; nothing before its first entry is cut.
        assert_eq!(ages.cut(12, 12, 12), None);
        assert_eq!(Ages::default().cut(0, 0, 0), None);
    }

    #[test]
    fn the_floor_is_the_lowest_durable_position_of_the_live_nodes_and_the_leader() {
        assert_eq!(durable_floor(9, &[]), 9);
        assert_eq!(durable_floor(9, &[registration(12), registration(4)]), 4);
        assert_eq!(durable_floor(3, &[registration(12)]), 3);
    }
}
