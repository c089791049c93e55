//! A cluster node's write groups (`replica/`): gathered, planned, appended to the replicated
//! log, and applied and answered once the log has committed them, one group at a time.
//!
//! **Why a group waits for writers.** The leader has one append in etcd at a time, and an
//! append costs etcd about the same whatever the group holds (measured on two loaded cores:
//! ~3.5 ms for 20 writes, ~8 ms for 450; keeping several appends in flight did not raise the
//! appends a second, etcd spending ~1.3 ms of CPU per transaction on each member), so the
//! writes a second are the writes a group holds. Under steady load the writers a group
//! answers write again within a fraction of a millisecond, but the committer, once it has
//! answered, would take at once what came while that group was in etcd: about half the
//! writers (20 of `redis-benchmark -c 50`), the other half waiting for the next group. So the
//! committer takes what came meanwhile as soon as it has answered a group, and the next group
//! waits, for at most [`LINGER`], until as many writes have come since as that group answered:
//! a lone writer never waits (its next write is the one), `-c 50` groups hold most of the 50
//! writers, when writers go away the wait ends at [`LINGER`], and a node that refuses writes
//! (a follower) never waits.
//!
//! **Why the next group is not planned while one is in etcd.** It was built and measured
//! (branch `pipeline-layered`: the next group planned on a view that reads the group in etcd
//! between its own overlay and the store, appends from a thread of their own, the next one
//! sent the moment the first is committed; tested like this path). On two cores shared with
//! three etcd members, two followers and the benchmark it ran no faster — `-c 50 -P 16`:
//! 63k and 52k writes a second against 71k and 69k without, alternating runs — because the
//! cores are busy either way, and groups planned ahead are smaller (more etcd transactions).
//! Where etcd has cores of its own it would shorten the leader's critical path (about 5 ms of
//! planning, applying and answering a group of 550 writes, run after its ~5 ms append).

use super::committer::{apply_group, plan_group, refuse, Planned, Turn};
use super::flusher;
use super::group_profile::{self, GroupClock, Phase};
use super::{Job, MAX_GROUP_OPS};
use crate::error::Error;
use crate::replica::{AppendOutcome, ReplicatedLog};
use crate::shared::Shared;
use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest a group waits for more writes: a fraction of an append's round trip.
const LINGER: Duration = Duration::from_millis(1);

/// The committer's loop in a cluster: one group at a time, until the writer closes.
pub(super) fn run(
    shared: &Shared,
    log: &dyn ReplicatedLog,
    receiver: &mpsc::Receiver<Job>,
    turn: &Turn,
) {
    // Jobs taken from the queue and not in a group yet: those that came while the last group
    // was in etcd, taken as soon as it was answered.
    let mut queued: VecDeque<Job> = VecDeque::new();
    // The writes the last group answered: their writers may be about to write again.
    let mut answered = 0;
    loop {
        // The writes that came since the last group was answered (and the queue drained).
        let mut arrived = 0;
        if queued.is_empty() {
            match receiver.recv() {
                Ok(job) => {
                    arrived += job.writes.len();
                    queued.push_back(job);
                }
                Err(_) => break,
            }
        }
        let _turn = turn.lock();
        let clock = gather(receiver, &mut queued, arrived, answered);
        let mut jobs = Vec::new();
        let mut writes = 0;
        while let Some(job) = queued.front() {
            if !jobs.is_empty() && writes + job.writes.len() > MAX_GROUP_OPS {
                break;
            }
            writes += job.writes.len();
            jobs.extend(queued.pop_front());
        }
        turn.taken(jobs.len());
        answered = commit(shared, log, jobs, clock);
        // What came while the group was in etcd, from other writers than those just answered.
        while let Ok(job) = receiver.try_recv() {
            queued.push_back(job);
        }
    }
}

/// Takes every job queued now and, for at most [`LINGER`], those that come until `answered`
/// writes have arrived since the last group was answered (`arrived` so far), or the group is
/// full ([`MAX_GROUP_OPS`]). Returns the group's profiling clock when `CRM_PROFILE_GROUPS` is
/// set.
fn gather(
    receiver: &mpsc::Receiver<Job>,
    queued: &mut VecDeque<Job>,
    mut arrived: usize,
    answered: usize,
) -> Option<GroupClock> {
    let mut clock = group_profile::enabled().then(GroupClock::start);
    let until = Instant::now() + LINGER;
    let mut pending: usize = queued.iter().map(|job| job.writes.len()).sum();
    while pending < MAX_GROUP_OPS {
        let left = until.saturating_duration_since(Instant::now());
        let next = match arrived < answered && !left.is_zero() {
            true => receiver.recv_timeout(left).ok(),
            false => receiver.try_recv().ok(),
        };
        let Some(job) = next else {
            break;
        };
        pending += job.writes.len();
        arrived += job.writes.len();
        queued.push_back(job);
    }
    if let Some(clock) = clock.as_mut() {
        clock.lap(Phase::Gather);
    }
    clock
}

/// Commits a group: planned, appended to the replicated log, and applied and answered only
/// once the log has committed it. When the log refuses the append or its outcome is unknown,
/// nothing is applied (the plan is dropped) and every writer of the group is told so: no
/// write is acknowledged that is not in the log, and none that may be in it is refused.
///
/// Returns how many writes the group held, or 0 when it was refused (this node may not
/// write now: its writers are not waited for, so a follower refusing writes does not hold the
/// committer's turn, which its apply loop needs).
fn commit(
    shared: &Shared,
    log: &dyn ReplicatedLog,
    jobs: Vec<Job>,
    mut clock: Option<GroupClock>,
) -> usize {
    let writes = jobs.iter().map(|job| job.writes.len()).sum();
    let mut lap = |phase| {
        if let Some(clock) = clock.as_mut() {
            clock.lap(phase);
        }
    };
    if let Err(refusal) = log.may_write() {
        refuse(jobs, &|| refusal.to_error());
        return 0;
    }
    // Nothing is appended that this node could not apply.
    if let Err(error) = shared
        .storage_guard()
        .and_then(|()| shared.replication_health())
    {
        let message = error.to_string();
        let corrupt = matches!(error, Error::Corrupt(_));
        refuse(jobs, &|| match corrupt {
            true => Error::Corrupt(message.clone()),
            false => Error::Storage(message.clone()),
        });
        return 0;
    }
    lap(Phase::Gate);
    let Planned {
        mut results,
        effects,
    } = plan_group(shared, &jobs);
    lap(Phase::Plan);
    let Some(effects) = effects else {
        // Every operation was refused: nothing to append.
        flusher::send_results(jobs, results);
        return writes;
    };
    let entry = match shared
        .codec
        .keyring()
        .and_then(|keyring| crate::replica::delta_of(&effects, keyring))
        .and_then(|delta| delta.encode())
    {
        Ok(entry) => entry,
        Err(error) => {
            flusher::fail_successes(&mut results, &flusher::storage_message(error));
            flusher::send_results(jobs, results);
            return writes;
        }
    };
    lap(Phase::Encode);
    match log.append(entry) {
        AppendOutcome::Committed { position } => {
            lap(Phase::Append);
            match apply_group(shared, effects, Some(position)) {
                Ok(()) => {
                    // Durable in the log: the change feed may show it now.
                    shared
                        .journal
                        .durable_through(shared.journal.applied_tail());
                    let ok = results.iter().flatten().filter(|r| r.is_ok()).count();
                    shared.group_commit.record_flush(ok as u64);
                }
                Err(error) => {
                    // In the log but not in this store: it must not plan on top of it.
                    shared.halt(&error);
                    flusher::fail_successes(&mut results, &flusher::storage_message(error));
                }
            }
            lap(Phase::Apply);
            flusher::send_results(jobs, results);
            lap(Phase::Answer);
            if let Some(clock) = clock {
                clock.finish(writes);
            }
        }
        AppendOutcome::Refused(refusal) => {
            refuse(jobs, &|| refusal.to_error());
            return 0;
        }
        AppendOutcome::Unknown => {
            refuse(jobs, &|| Error::TryAgain);
            return 0;
        }
    }
    writes
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::write::{Op, Write};

    fn job(writes: usize) -> Job {
        let (reply, _) = tokio::sync::oneshot::channel();
        Job {
            writes: (0..writes)
                .map(|_| Write::from(Op::RecordBackup { name: "b".into() }))
                .collect(),
            reply,
        }
    }

    fn writes(jobs: &VecDeque<Job>) -> usize {
        jobs.iter().map(|job| job.writes.len()).sum()
    }

    // Guards against a group that leaves queued writes for the next one (each group costs
    // etcd a transaction) or grows past what one group may hold.
    #[test]
    fn a_group_takes_every_queued_write_up_to_the_limit() {
        let (sender, receiver) = mpsc::channel();
        for _ in 0..3 {
            sender.send(job(2)).unwrap();
        }
        let mut queued = VecDeque::from([job(1)]);
        gather(&receiver, &mut queued, 0, 0);
        assert_eq!(writes(&queued), 7);
        sender.send(job(MAX_GROUP_OPS)).unwrap();
        sender.send(job(1)).unwrap();
        gather(&receiver, &mut queued, 0, 0);
        assert_eq!(writes(&queued), 7 + MAX_GROUP_OPS);
        assert!(
            receiver.try_recv().is_ok(),
            "the job past the limit stays queued"
        );
    }

    // Guards against a wait with no end when the writers the last group answered do not come
    // back (they stopped writing, or went to another node): the group goes with what came.
    #[test]
    fn the_wait_for_the_writers_answered_ends() {
        let (sender, receiver) = mpsc::channel();
        sender.send(job(1)).unwrap();
        let mut queued = VecDeque::from([job(1)]);
        gather(&receiver, &mut queued, 0, 50);
        assert_eq!(writes(&queued), 2);
        drop(sender);
    }
}
