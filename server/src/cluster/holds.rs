//! Log positions a node holds for the joiners it sends snapshots to.
//!
//! A joining node copies a snapshot at some log position, opens it, and only then registers
//! and publishes how far it holds the log (`registry.rs` in the cluster crate); trimming waits
//! for every registered node. Until it registers, nothing would keep the entries after its
//! snapshot, and a copy slower than `--log-retain` would find them trimmed and have to start
//! over. So the node that sends a snapshot holds its position — what it publishes as durable
//! is no higher while a copy runs, and for [`GRACE`] after one completes, which covers the
//! joiner opening the store and registering. Whichever node leads trims no further, since
//! every leader reads the floor from the registrations.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a completed copy keeps its position held: the joiner opens its store (seconds
/// for millions of orders) and registers within it.
pub const GRACE: Duration = Duration::from_secs(600);

/// One copy's hold: its position, and when it ends once the copy completed.
struct Hold {
    id: u64,
    position: u64,
    until: Option<Instant>,
}

/// The holds of the snapshots this node sends.
#[derive(Default)]
pub struct SnapshotHolds {
    holds: Mutex<(u64, Vec<Hold>)>,
}

/// A copy in progress; dropped before [`HoldGuard::sent`] (a failed copy), it holds nothing.
pub struct HoldGuard {
    holds: Arc<SnapshotHolds>,
    id: u64,
    sent: bool,
}

impl SnapshotHolds {
    /// Holds `position` (at or below the snapshot's: entries after it are what the joiner
    /// needs) while a copy runs.
    pub fn hold(self: &Arc<Self>, position: u64) -> HoldGuard {
        let mut guard = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        let (next, holds) = &mut *guard;
        *next += 1;
        holds.push(Hold {
            id: *next,
            position,
            until: None,
        });
        HoldGuard {
            holds: Arc::clone(self),
            id: *next,
            sent: false,
        }
    }

    /// The lowest position held at `now` (`None`: none), forgetting holds past their grace.
    pub fn floor(&self, now: Instant) -> Option<u64> {
        let mut guard = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        let holds = &mut guard.1;
        holds.retain(|hold| hold.until.is_none_or(|until| now < until));
        holds.iter().map(|hold| hold.position).min()
    }

    /// `recorded` (what the node holds durably), lowered to the floor of the holds.
    pub fn lower(&self, recorded: u64) -> u64 {
        self.floor(Instant::now())
            .map_or(recorded, |floor| floor.min(recorded))
    }
}

impl HoldGuard {
    /// The copy completed: the position stays held for [`GRACE`], until the joiner has
    /// registered.
    pub fn sent(mut self) {
        self.sent = true;
        let mut guard = self.holds.holds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hold) = guard.1.iter_mut().find(|hold| hold.id == self.id) {
            hold.until = Some(Instant::now() + GRACE);
        }
    }
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        if self.sent {
            return;
        }
        let mut guard = self.holds.holds.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.retain(|hold| hold.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_holds_its_position_while_it_runs_and_for_the_grace_after_it_completes() {
        let holds = Arc::new(SnapshotHolds::default());
        assert_eq!(holds.lower(50), 50, "nothing held");
        let first = holds.hold(30);
        let second = holds.hold(40);
        assert_eq!(holds.lower(50), 30);
        assert_eq!(
            holds.lower(20),
            20,
            "never above what the node holds itself"
        );
        // A failed copy holds nothing any more.
        drop(first);
        assert_eq!(holds.lower(50), 40);
        // A completed one holds for the grace, then not.
        second.sent();
        let now = Instant::now();
        assert_eq!(holds.floor(now), Some(40));
        assert_eq!(holds.floor(now + GRACE + Duration::from_secs(1)), None);
        assert_eq!(holds.lower(50), 50);
    }
}
