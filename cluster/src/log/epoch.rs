//! The leader's log epochs (`epochs.rs` says why and how long): which epoch is in force when
//! a node takes over, and starting the next one. Entries are numbered and sent under the
//! log's `appending` lock, so an epoch's entry never falls between a group's parts.

use super::{now_ms, Log, Sent};
use crate::entry::{Entry, EpochKey};
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Log {
    /// The epoch in force after entry `head` (which this node has applied), and when it began
    /// if known: the epoch an epoch entry starts, else the one the entry is sealed under. An
    /// empty log is in the newest epoch this node holds (the creator's first).
    pub(super) async fn epoch_at(&self, head: u64) -> Result<(u64, Option<i64>)> {
        let sealer = &self.inner.sealer;
        if head == 0 {
            let epoch = sealer.newest_epoch_for(0)?;
            return Ok((epoch, Some(now_ms())));
        }
        let kv = self
            .inner
            .client
            .get(self.inner.keys.entry(head))
            .await?
            .ok_or_else(|| Error::NotSent(format!("log entry {head} is not there")))?;
        let plain = sealer.open(head, &kv.value)?;
        if let Entry::Epoch { epoch, at_ms, .. } = Entry::decode(head, &plain)? {
            return Ok((epoch, Some(at_ms)));
        }
        let epoch = sealer.epoch_of_entry(head, &kv.value)?;
        let began = self
            .inner
            .roles
            .borrow()
            .epoch_began
            .filter(|(known, _)| *known == epoch)
            .map(|(_, at_ms)| at_ms);
        Ok((epoch, began))
    }

    /// Whether the log's current epoch began at least `age` ago (or when is not known), so
    /// the leader should start a new one. `false` on a node not ready to write.
    pub fn epoch_is_older_than(&self, age: Duration) -> bool {
        if self.may_write().is_err() {
            return false;
        }
        let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        self.writer()
            .epoch_began
            .is_none_or(|began| now_ms().saturating_sub(began) >= age_ms)
    }

    /// Starts a new epoch (the leader, now and then): appends an [`Entry::Epoch`] with a new
    /// random key, sealed under the current epoch, and once etcd committed it keeps the key
    /// on disk and seals every later entry under it. Returns the new epoch, or `None` when
    /// this node may not write now. Its key is kept only once it is in the log: a key that
    /// never reached the log can never clash with the one another leader announces.
    ///
    /// The entry is sent for at most half the lease TTL (groups wait behind it). When its
    /// outcome cannot be learned, or the key cannot be kept, the node steps down: the next
    /// takeover finds the epoch in force from the log's head.
    pub async fn start_epoch(&self) -> Result<Option<u64>> {
        let _appending = self.inner.appending.lock().await;
        if self.may_write().is_err() {
            return Ok(None);
        }
        let (fence, number, current) = {
            let writer = self.writer();
            (writer.fence, writer.next, writer.epoch)
        };
        let epoch = current + 1;
        let key = EpochKey::random();
        let at_ms = now_ms();
        let entry = Entry::Epoch {
            at_ms,
            epoch,
            key: key.clone(),
        };
        let sealed = self.inner.sealer.seal(current, number, &entry.encode())?;
        let deadline = Instant::now() + self.inner.lease_ttl / 2;
        match self
            .send(number, &sealed, fence, Some(deadline), false)
            .await
        {
            Sent::Committed => {
                let sealer = Arc::clone(&self.inner.sealer);
                let kept = tokio::task::spawn_blocking(move || sealer.learn_epoch(epoch, &key))
                    .await
                    .map_err(|e| Error::Malformed {
                        what: format!("log epoch {epoch}"),
                        message: e.to_string(),
                    })
                    .and_then(|kept| kept);
                if let Err(e) = kept {
                    tracing::error!(
                        "epoch {epoch} is in the log but its key could not be kept: {e}"
                    );
                    self.step_down(fence);
                    return Err(e);
                }
                let mut writer = self.writer();
                if writer.fence == fence {
                    writer.next = number + 1;
                    writer.epoch = epoch;
                    writer.epoch_began = Some(at_ms);
                }
                tracing::info!("log epoch {epoch} begins after entry {number}");
                Ok(Some(epoch))
            }
            Sent::Deposed | Sent::Taken => {
                self.step_down(fence);
                Ok(None)
            }
            Sent::Refused(reason) => Err(Error::Refused(reason)),
            Sent::Unknown => {
                tracing::warn!(
                    "the outcome of log entry {number} (epoch {epoch}) is unknown; stepping down"
                );
                self.step_down(fence);
                Ok(None)
            }
        }
    }
}
