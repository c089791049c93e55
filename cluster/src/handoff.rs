//! Who applies a group the leader appended: the engine's committer or the apply loop.
//!
//! The leader's committer applies a group itself once its append is committed (so it can
//! answer the writes), and the leader's own apply loop, which sees the same entry through its
//! watch, must then skip it; but a group whose append ended with an unknown outcome is applied
//! by the apply loop if it turns out to be in the log. The loop may see an entry before the
//! appender knows the outcome, so the appender marks the position *before* sending its last
//! part, and the loop waits for the verdict of a position still pending.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    /// The last part is being sent.
    Pending,
    /// The append was committed and the engine applies the group.
    Engine,
    /// The outcome was unknown: if the group is in the log, the apply loop applies it.
    Loop,
}

/// The marks shared by the appender and the apply loop (cheap to clone).
#[derive(Clone, Debug)]
pub struct Handoff {
    marks: Arc<Mutex<BTreeMap<u64, Mark>>>,
    changes: watch::Sender<u64>,
}

impl Default for Handoff {
    fn default() -> Self {
        Handoff::new()
    }
}

impl Handoff {
    pub fn new() -> Handoff {
        Handoff {
            marks: Arc::new(Mutex::new(BTreeMap::new())),
            changes: watch::Sender::new(0),
        }
    }

    fn set(&self, position: u64, mark: Option<Mark>) {
        if let Ok(mut marks) = self.marks.lock() {
            match mark {
                Some(mark) => marks.insert(position, mark),
                None => marks.remove(&position),
            };
        }
        self.changes
            .send_modify(|version| *version = version.wrapping_add(1));
    }

    /// The appender is about to send the last part of the group at `position`.
    pub(crate) fn sending(&self, position: u64) {
        self.set(position, Some(Mark::Pending));
    }

    /// The group at `position` was committed; the engine applies it.
    pub(crate) fn committed(&self, position: u64) {
        self.set(position, Some(Mark::Engine));
    }

    /// The group at `position` may or may not be in the log; the apply loop applies it if so.
    pub(crate) fn unknown(&self, position: u64) {
        self.set(position, Some(Mark::Loop));
    }

    /// The group at `position` is certainly not in the log.
    pub(crate) fn refused(&self, position: u64) {
        self.set(position, None);
    }

    /// Whether the apply loop applies the group at `position` (waiting while its append is
    /// being decided). A position this node never appended is the loop's.
    pub async fn loop_applies(&self, position: u64) -> bool {
        let mut changes = self.changes.subscribe();
        loop {
            let mark = self
                .marks
                .lock()
                .ok()
                .and_then(|marks| marks.get(&position).copied());
            match mark {
                None => return true,
                Some(Mark::Pending) => {
                    if changes.changed().await.is_err() {
                        return true;
                    }
                }
                Some(decided) => {
                    if let Ok(mut marks) = self.marks.lock() {
                        // Positions below this one are settled too: drop stale marks.
                        *marks = marks.split_off(&(position + 1));
                    }
                    return decided == Mark::Loop;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_loop_waits_for_a_pending_verdict() {
        let handoff = Handoff::new();
        assert!(handoff.loop_applies(3).await);
        handoff.sending(4);
        let waiting = tokio::spawn({
            let handoff = handoff.clone();
            async move { handoff.loop_applies(4).await }
        });
        tokio::task::yield_now().await;
        handoff.committed(4);
        assert!(!waiting.await.unwrap());
        handoff.sending(5);
        handoff.unknown(5);
        assert!(handoff.loop_applies(5).await);
    }
}
