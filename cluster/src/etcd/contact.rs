//! The quorum-contact clock: when this node last heard a quorum of etcd answer.
//!
//! Only answers that etcd gives after agreeing with a majority count: linearizable reads,
//! writes, transactions, lease grants. The time recorded is when the request was *sent*, so the
//! clock never claims a contact later than the one that was proven. A node whose last contact is
//! older than `--lease-ttl` answers writes `CLUSTERDOWN` (PROTOCOL.md, "Which error a write
//! gets").

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A shared clock of the latest proven quorum contact (cheap to clone, lock-free to read).
#[derive(Clone, Debug)]
pub struct QuorumContact {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The instant the stored offsets count from.
    base: Instant,
    /// Microseconds after `base` of the latest contact's send time, plus one (0: never).
    latest: AtomicU64,
}

impl Default for QuorumContact {
    fn default() -> Self {
        QuorumContact::new()
    }
}

impl QuorumContact {
    /// A clock with no contact yet.
    pub fn new() -> QuorumContact {
        QuorumContact {
            inner: Arc::new(Inner {
                base: Instant::now(),
                latest: AtomicU64::new(0),
            }),
        }
    }

    /// Records a quorum answer to a request sent at `sent_at` (older records never move the
    /// clock back).
    pub fn record(&self, sent_at: Instant) {
        let offset = sent_at.saturating_duration_since(self.inner.base);
        let micros = u64::try_from(offset.as_micros()).unwrap_or(u64::MAX - 1) + 1;
        self.inner.latest.fetch_max(micros, Ordering::AcqRel);
    }

    /// The send time of the latest request a quorum answered, if any.
    pub fn last(&self) -> Option<Instant> {
        match self.inner.latest.load(Ordering::Acquire) {
            0 => None,
            micros => Some(self.inner.base + Duration::from_micros(micros - 1)),
        }
    }

    /// Whether a quorum answered a request sent less than `within` ago.
    pub fn is_fresh(&self, within: Duration) -> bool {
        self.last().is_some_and(|last| last.elapsed() < within)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_keeps_the_latest_contact_and_starts_stale() {
        let clock = QuorumContact::new();
        assert!(!clock.is_fresh(Duration::from_secs(3600)));
        let early = Instant::now();
        let late = early + Duration::from_millis(5);
        clock.record(late);
        clock.record(early);
        let last = clock.last().expect("a contact");
        assert!(last >= late - Duration::from_micros(1));
        assert!(clock.is_fresh(Duration::from_secs(3600)));
    }
}
