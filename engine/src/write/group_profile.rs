//! Where a cluster leader's write groups spend their time, for tuning the replicated write
//! path: with `CRM_PROFILE_GROUPS` set, the committer adds each group's phases here and a
//! summary line (groups, writes a group, mean milliseconds a phase) goes to stderr about every
//! two seconds. A line per group would itself slow the path it measures at thousands of groups
//! a second; sums cost a few additions.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The phases of a replicated group, in the order the committer runs them.
#[derive(Clone, Copy)]
pub(super) enum Phase {
    /// Waiting for more writes to join the group (`replicated.rs`, `gather`).
    Gather,
    /// The log's gate and the store's health checks.
    Gate,
    /// Planning every operation against the view.
    Plan,
    /// Encoding the group's delta (the log seals it inside `append`).
    Encode,
    /// `ReplicatedLog::append`: sealing, and etcd's round trip until it committed.
    Append,
    /// Applying the committed group to this node's store.
    Apply,
    /// Sending every writer its answer.
    Answer,
}

const PHASES: usize = 7;
const NAMES: [&str; PHASES] = [
    "gather", "gate", "plan", "encode", "append", "apply", "answer",
];

#[derive(Default)]
struct Sums {
    groups: u64,
    writes: u64,
    phases: [Duration; PHASES],
    since: Option<Instant>,
}

static SUMS: Mutex<Option<Sums>> = Mutex::new(None);

/// Whether profiling is on (read once).
pub(super) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("CRM_PROFILE_GROUPS").is_some())
}

/// One group's clock: each [`GroupClock::lap`] charges the time since the last to a phase.
pub(super) struct GroupClock {
    last: Instant,
    phases: [Duration; PHASES],
}

impl GroupClock {
    pub fn start() -> GroupClock {
        GroupClock {
            last: Instant::now(),
            phases: [Duration::ZERO; PHASES],
        }
    }

    pub fn lap(&mut self, phase: Phase) {
        let now = Instant::now();
        self.phases[phase as usize] += now - self.last;
        self.last = now;
    }

    /// Adds the group (`writes` operations) to the sums, and prints them when due.
    pub fn finish(self, writes: usize) {
        let mut sums = SUMS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sums = sums.get_or_insert_with(Sums::default);
        let since = *sums.since.get_or_insert(self.last);
        sums.groups += 1;
        sums.writes += writes as u64;
        for (sum, phase) in sums.phases.iter_mut().zip(self.phases) {
            *sum += phase;
        }
        if self.last.duration_since(since) < Duration::from_secs(2) {
            return;
        }
        let groups = sums.groups.max(1) as f64;
        let phases: Vec<String> = NAMES
            .iter()
            .zip(sums.phases)
            .map(|(name, sum)| format!("{name} {:.3}", sum.as_secs_f64() * 1e3 / groups))
            .collect();
        eprintln!(
            "replicated groups: {} in {:.1}s, {:.1} writes a group; ms a group: {}",
            sums.groups,
            self.last.duration_since(since).as_secs_f64(),
            sums.writes as f64 / groups,
            phases.join(", ")
        );
        *sums = Sums::default();
    }
}
