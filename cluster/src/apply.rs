//! The apply loop every node runs, the leader included: read the log in order from the entry
//! after the last one applied, open each entry, gather a group's parts, apply whole groups to
//! the store, and keep the view's positions and lag.
//!
//! It reads with ranges first (pages of [`PAGE`] entries), then watches the log from the
//! revision of its last read. A gap in what the watch delivers, a watch that ends, or history
//! compacted under it all send it back to reading ranges from where it is: ranges read the
//! latest revision, so compaction cannot lose it anything. An entry that does not open or
//! decode stops the loop for good (`CORRUPT`: the node refuses writes until restarted), and so
//! does a log that no longer holds the next entry (trimmed past this node).
//!
//! An entry that carries no group (a new leader's start, a new epoch) moves the store's
//! position past it all the same ([`Applier::pass`]), so the node's durable position, which
//! trimming waits for, does not stop short of the log's last entries. A new epoch's key is
//! kept on disk before the next entry, the first that may be sealed under it, is opened.

use crate::entry::{Assembler, Entry, EpochKey};
use crate::error::{Error, Result};
use crate::etcd::{Client, EventKind, Range};
use crate::handoff::Handoff;
use crate::keys::Keys;
use crate::role::ViewHandle;
use crate::seam::{Applier, Sealer};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Entries read per range request (at most 512 KiB each: 32 MiB, under the client's 64 MiB
/// decode limit).
pub const PAGE: i64 = 64;

/// The loop's parts.
pub struct ApplyLoop {
    client: Client,
    keys: Keys,
    sealer: Arc<dyn Sealer>,
    applier: Arc<dyn Applier>,
    view: ViewHandle,
    handoff: Handoff,
}

/// Runs blocking store work (applying, fsyncing) off the runtime's threads.
async fn blocking(position: u64, work: impl FnOnce() -> Result<()> + Send + 'static) -> Result<()> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Corrupt {
            position,
            message: format!("the apply task failed: {e}"),
        })?
}

/// Where the loop is.
struct Position {
    /// The last entry taken into account (applied, skipped as the engine's, or a part).
    processed: u64,
    /// The highest entry number known to be committed.
    committed: u64,
    assembler: Assembler,
    /// When each newly learned committed head was learned, oldest first.
    learned: VecDeque<(u64, Instant)>,
}

impl ApplyLoop {
    pub fn new(
        client: Client,
        keys: Keys,
        sealer: Arc<dyn Sealer>,
        applier: Arc<dyn Applier>,
        view: ViewHandle,
        handoff: Handoff,
    ) -> ApplyLoop {
        ApplyLoop {
            client,
            keys,
            sealer,
            applier,
            view,
            handoff,
        }
    }

    /// Runs until the loop must stop; returns why (a `CORRUPT` entry, or the log trimmed past
    /// this node). Starts right after the store's last applied group.
    pub async fn run(self) -> Error {
        let start = self.applier.applied();
        let mut at = Position {
            processed: start,
            committed: start,
            assembler: Assembler::new(),
            learned: VecDeque::new(),
        };
        self.publish(&mut at);
        let error = loop {
            let revision = match self.catch_up(&mut at).await {
                Ok(revision) => revision,
                Err(error @ (Error::Corrupt { .. } | Error::Config(_))) => break error,
                Err(error) => {
                    tracing::debug!("reading the log: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            match self.follow(&mut at, revision).await {
                Err(error @ (Error::Corrupt { .. } | Error::Config(_))) => break error,
                Err(error) => tracing::debug!("watching the log: {error}"),
                Ok(()) => {}
            }
        };
        tracing::error!("stopped applying the log: {error}");
        let reason = error.to_string();
        self.view.update(|v| {
            v.stopped = Some(reason);
            true
        });
        error
    }

    /// Reads every entry after `processed` with ranges; returns the revision of the last read.
    async fn catch_up(&self, at: &mut Position) -> Result<i64> {
        loop {
            let from = self.keys.entry(at.processed + 1);
            let page = self
                .client
                .range(Range::between(from, self.keys.log_end()).limit(PAGE))
                .await?;
            let count = u64::try_from(page.count).unwrap_or(0);
            self.learn(at, at.processed + count);
            for kv in page.kvs {
                let Some(number) = self.keys.entry_number(&kv.key) else {
                    continue;
                };
                if number != at.processed + 1 {
                    return Err(Error::Config(format!(
                        "this node's position (log entry {}) is no longer in the log (it goes on at entry {number}): start it with an empty --data folder",
                        at.processed
                    )));
                }
                self.take(at, number, &kv.value).await?;
            }
            if !page.more {
                return Ok(page.revision);
            }
        }
    }

    /// Takes entries from a watch of the log until it ends or shows a gap.
    async fn follow(&self, at: &mut Position, revision: i64) -> Result<()> {
        let mut watcher = self
            .client
            .watch(self.keys.log(), self.keys.log_end(), revision + 1)
            .await?;
        loop {
            let batch = watcher.next().await?;
            for event in batch.events {
                if event.kind != EventKind::Put {
                    continue;
                }
                let Some(number) = self.keys.entry_number(&event.kv.key) else {
                    continue;
                };
                if number <= at.processed {
                    continue;
                }
                self.learn(at, number);
                if number != at.processed + 1 {
                    // A gap: read what is missing.
                    return Ok(());
                }
                self.take(at, number, &event.kv.value).await?;
            }
        }
    }

    /// Notes that entries up to `head` are committed.
    fn learn(&self, at: &mut Position, head: u64) {
        if head > at.committed {
            at.committed = head;
            at.learned.push_back((head, Instant::now()));
            self.publish(at);
        }
    }

    /// Opens entry `number`, gathers it, applies the group it completes; learns the key of
    /// a new epoch before anything after it; moves the store's position past an entry that
    /// carries no group.
    async fn take(&self, at: &mut Position, number: u64, sealed: &[u8]) -> Result<()> {
        let plain = self.sealer.open(number, sealed)?;
        let entry = Entry::decode(number, &plain)?;
        drop(plain);
        if let Entry::Epoch { at_ms, epoch, key } = &entry {
            self.learn_epoch(number, sealed, *epoch, key).await?;
            let began = (*epoch, *at_ms);
            self.view.update(|v| {
                v.epoch_began = Some(began);
                false
            });
        }
        let is_part = entry.is_part();
        if let Some(group) = at.assembler.take(number, entry) {
            let ours = self.handoff.loop_applies(group.position).await;
            if ours && group.position > self.applier.applied() {
                let applier = Arc::clone(&self.applier);
                let position = group.position;
                blocking(position, move || applier.apply(position, &group.bytes)).await?;
            }
        } else if !is_part && number > self.applier.applied() {
            let applier = Arc::clone(&self.applier);
            blocking(number, move || applier.pass(number)).await?;
        }
        at.processed = number;
        self.publish(at);
        Ok(())
    }

    /// Keeps the key of the epoch entry `number` starts, on disk, before any entry sealed
    /// under it is opened. An epoch that does not come after the one the entry is sealed
    /// under is `CORRUPT` (no leader writes one).
    async fn learn_epoch(
        &self,
        number: u64,
        sealed: &[u8],
        epoch: u64,
        key: &EpochKey,
    ) -> Result<()> {
        let under = self.sealer.epoch_of_entry(number, sealed)?;
        if epoch <= under {
            return Err(Error::Corrupt {
                position: number,
                message: format!("starts epoch {epoch} but is sealed under epoch {under}"),
            });
        }
        let sealer = Arc::clone(&self.sealer);
        let key = key.clone();
        blocking(number, move || sealer.learn_epoch(epoch, &key))
            .await
            .map_err(|e| Error::Corrupt {
                position: number,
                message: format!("keeping the key of epoch {epoch}: {e}"),
            })
    }

    /// Puts the positions and the lag into the view.
    fn publish(&self, at: &mut Position) {
        while at
            .learned
            .front()
            .is_some_and(|(head, _)| *head <= at.processed)
        {
            at.learned.pop_front();
        }
        let behind_since = at.learned.front().map(|(_, when)| *when);
        let (applied, committed) = (at.processed, at.committed.max(at.processed));
        self.view.update(|v| {
            let changed = v.applied != applied || v.committed != committed;
            v.applied = applied;
            v.committed = committed;
            v.behind_since = behind_since;
            changed
        });
    }
}
