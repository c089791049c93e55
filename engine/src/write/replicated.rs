//! A cluster node's write groups (`replica/`): gathered, planned, appended to the replicated
//! log, and applied and answered once the log has committed them. One group is in etcd at a
//! time; the next may be planned meanwhile.
//!
//! **Why the next group is planned while one is in etcd.** Measured on the leader under
//! `redis-benchmark -c 50 -P 16` (groups of ~550 writes), each phase ran after the other:
//! ~3.5 ms planning, ~5.5 ms in etcd, ~1.4 ms applying, ~0.9 ms answering. The appends now
//! go from a thread of their own ([`Appender`]); while one is in etcd, the committer applies
//! and answers the group before it, then plans the writes that came meanwhile on top of it
//! (`layer.rs`) and sends them as soon as it is committed: the etcd round trip overlaps the
//! node's own work. The group in etcd still comes first in every way: the next one is sent
//! only once it is committed (the log's rule: never `N + 1` while `N` is unsettled), applied
//! after it, and answered after it, refusals included (they may rest on it); when it is
//! refused or its outcome is unknown, the next one's plan is dropped and its writes are
//! planned again. The committer's turn is held from an append until its group is applied, so
//! the apply loop never applies this node's own entry first. A group is planned that way
//! only once as many writes wait as the group in etcd holds, and at least
//! [`PIPELINED_MIN_WRITES`]: etcd's cost is per transaction (see `run`). On two cores shared
//! with three etcd members and the benchmark this measured no faster (the cores are busy
//! either way, BENCHMARKS.md); it shortens the leader's critical path where etcd has CPU of
//! its own.
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

use super::committer::{apply_group, plan_group, refuse, Planned, Turn};
use super::flusher;
use super::group_profile::{self, GroupClock, Phase};
use super::layer::Layer;
use super::view::Effects;
use super::{Job, Outcome, MAX_GROUP_OPS};
use crate::error::{Error, Result};
use crate::replica::{AppendOutcome, ReplicatedLog};
use crate::shared::Shared;
use std::collections::VecDeque;
use std::sync::{mpsc, MutexGuard};
use std::time::{Duration, Instant};

/// The longest a group waits for more writes: a fraction of an append's round trip.
const LINGER: Duration = Duration::from_millis(1);

/// The fewest writes the committer plans as a group of their own while another group is in
/// etcd. Fewer wait for that group to be answered and go with its writers in the next one:
/// etcd's cost is per transaction, and under `redis-benchmark -c 50` all but a few writers
/// are in the group in etcd: sent alone, those few would start two half groups taking turns,
/// each append committing half as many writes.
const PIPELINED_MIN_WRITES: usize = 64;

/// How often the committer looks at the queue while a group is in etcd (the group's outcome
/// wakes it at once).
const POLL: Duration = Duration::from_micros(200);

/// The committer's loop in a cluster, until the writer closes.
pub(super) fn run(
    shared: &Shared,
    log: &dyn ReplicatedLog,
    receiver: &mpsc::Receiver<Job>,
    turn: &Turn,
) {
    std::thread::scope(|scope| {
        let (entries, queue) = mpsc::channel::<Vec<u8>>();
        let (answers, outcomes) = mpsc::channel::<AppendOutcome>();
        let appender = std::thread::Builder::new()
            .name("crm-appender".into())
            .spawn_scoped(scope, move || {
                for entry in queue {
                    if answers.send(log.append(entry)).is_err() {
                        break;
                    }
                }
            });
        let appender = match appender {
            Ok(_) => Appender::Thread { entries, outcomes },
            // No thread to be had (the process is out of them): append on this one.
            Err(_) => Appender::Inline { log, entry: None },
        };
        Committer {
            shared,
            log,
            appender,
        }
        .run(receiver, turn);
    });
}

/// Sends groups' entries to the replicated log, one at a time, and hands back their outcomes.
enum Appender<'a> {
    /// On a thread of its own: the committer plans the next group meanwhile.
    Thread {
        entries: mpsc::Sender<Vec<u8>>,
        outcomes: mpsc::Receiver<AppendOutcome>,
    },
    /// On the committer's thread, when [`Appender::outcome`] is asked for.
    Inline {
        log: &'a dyn ReplicatedLog,
        entry: Option<Vec<u8>>,
    },
}

impl Appender<'_> {
    fn send(&mut self, entry: Vec<u8>) {
        match self {
            Appender::Thread { entries, .. } => {
                // A send fails only when the appender thread ended: `outcome` says unknown.
                let _ = entries.send(entry);
            }
            Appender::Inline { entry: slot, .. } => *slot = Some(entry),
        }
    }

    /// The outcome of the entry sent last: waits until it is known, or for at most `within`
    /// (`None` then when it is not known yet).
    fn outcome(&mut self, within: Option<Duration>) -> Option<AppendOutcome> {
        match self {
            // The appender thread ended (it cannot tell what became of the entry).
            Appender::Thread { outcomes, .. } => match within {
                None => Some(outcomes.recv().unwrap_or(AppendOutcome::Unknown)),
                Some(within) => match outcomes.recv_timeout(within) {
                    Ok(outcome) => Some(outcome),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => Some(AppendOutcome::Unknown),
                },
            },
            Appender::Inline { log, entry } => {
                let entry = entry.take()?;
                Some(log.append(entry))
            }
        }
    }
}

/// A group planned and encoded: appended, or waiting to be.
struct Group {
    jobs: Vec<Job>,
    results: Vec<Vec<Result<Outcome>>>,
    /// What applying it changes, and its layer for the next group; `None` when it changes
    /// nothing (every operation refused): it is only answered.
    planned: Option<(Effects, Layer)>,
    /// Its log entry, until it is sent.
    entry: Option<Vec<u8>>,
    writes: usize,
    /// Its entry's size, for the profile.
    bytes: usize,
    clock: Option<GroupClock>,
}

impl Group {
    fn lap(&mut self, phase: Phase) {
        if let Some(clock) = self.clock.as_mut() {
            clock.lap(phase);
        }
    }
}

struct Committer<'a> {
    shared: &'a Shared,
    log: &'a dyn ReplicatedLog,
    appender: Appender<'a>,
}

impl Committer<'_> {
    /// One group gathered, planned and appended at a time; while one is in etcd, the next is
    /// planned on top of it (`layer.rs`) and sent as soon as the first is committed, then the
    /// first is applied and answered.
    fn run(&mut self, receiver: &mpsc::Receiver<Job>, turn: &Turn) {
        // Jobs taken from the queue and not in a group yet.
        let mut queued: VecDeque<Job> = VecDeque::new();
        // The writes the last group answered: their writers may be about to write again.
        let mut answered = 0;
        // The group in etcd. The committer's turn is held from its append until it is
        // applied: the apply loop must not apply this node's own entry first.
        let mut flight: Option<Group> = None;
        let mut held: Option<MutexGuard<'_, ()>> = None;
        loop {
            // Settled already: nothing to plan the next group on top of.
            if let Some(group) = flight.take() {
                flight = match self.appender.outcome(Some(Duration::ZERO)) {
                    Some(outcome) => {
                        let settled;
                        (answered, settled) = self.settle(group, outcome, None, &mut queued, turn);
                        settled
                    }
                    None => Some(group),
                };
            }
            // The writes that came since the last group was answered (and the queue drained).
            let mut arrived = 0;
            if flight.is_none() {
                // Between groups the turn is free for the apply loop.
                held = None;
                if queued.is_empty() {
                    match receiver.recv() {
                        Ok(job) => {
                            arrived += job.writes.len();
                            queued.push_back(job);
                        }
                        Err(_) => break,
                    }
                }
            }
            if held.is_none() {
                held = Some(turn.lock());
            }
            let Some(in_flight) = flight.take() else {
                let clock = gather(receiver, &mut queued, arrived, answered);
                let jobs = take_group(&mut queued, turn);
                match self.prepare(jobs, clock, None) {
                    Ok(group) if group.planned.is_some() => flight = Some(self.send(group)),
                    Ok(group) => answered = answer(group),
                    // This node may not write now: its writers are not waited for, so a
                    // follower refusing writes does not hold the turn its apply loop needs.
                    Err(()) => answered = 0,
                }
                continue;
            };
            // The next group, planned while this one is in etcd once as many writes wait as
            // this group holds (looked at every [`POLL`]; the outcome ends the wait). Fewer
            // wait for the outcome and go with the writes that come meanwhile: etcd's cost is
            // per transaction, so a group planned early and small costs etcd CPU the writes
            // need (measured under `-P 16` on 2 cores: planned once 64 waited, groups held
            // ~325 writes and the cluster ran no faster than without planning ahead).
            let mut next = None;
            let outcome = loop {
                while let Ok(job) = receiver.try_recv() {
                    queued.push_back(job);
                }
                let waiting = queued_writes(&queued);
                if next.is_none()
                    && waiting >= in_flight.writes.max(PIPELINED_MIN_WRITES)
                    && self.gate().is_ok()
                {
                    let clock = group_profile::enabled().then(GroupClock::start);
                    let jobs = take_group(&mut queued, turn);
                    let under = in_flight.planned.as_ref().map(|(_, layer)| layer);
                    next = self.prepare(jobs, clock, under).ok();
                }
                let within = if next.is_some() { None } else { Some(POLL) };
                if let Some(outcome) = self.appender.outcome(within) {
                    break outcome;
                }
            };
            (answered, flight) = self.settle(in_flight, outcome, next, &mut queued, turn);
        }
        // The writer closed with nothing queued and nothing in etcd.
        drop(held);
    }

    /// Whether this node may append now: the log's gate, then the store's health (nothing is
    /// appended that this node could not apply). `Err` is the error to refuse writes with.
    fn gate(&self) -> std::result::Result<(), Box<dyn Fn() -> Error>> {
        if let Err(refusal) = self.log.may_write() {
            return Err(Box::new(move || refusal.to_error()));
        }
        if let Err(error) = self
            .shared
            .storage_guard()
            .and_then(|()| self.shared.replication_health())
        {
            let message = error.to_string();
            let corrupt = matches!(error, Error::Corrupt(_));
            return Err(Box::new(move || match corrupt {
                true => Error::Corrupt(message.clone()),
                false => Error::Storage(message.clone()),
            }));
        }
        Ok(())
    }

    /// Plans the jobs as one group on top of `under` (a group in etcd, not applied yet) and
    /// encodes its entry. `Err` when the gate refused them (they are answered so).
    fn prepare(
        &self,
        jobs: Vec<Job>,
        clock: Option<GroupClock>,
        under: Option<&Layer>,
    ) -> std::result::Result<Group, ()> {
        if let Err(refusal) = self.gate() {
            refuse(jobs, &refusal);
            return Err(());
        }
        let writes = jobs.iter().map(|job| job.writes.len()).sum();
        let mut group = Group {
            jobs,
            results: Vec::new(),
            planned: None,
            entry: None,
            writes,
            bytes: 0,
            clock,
        };
        group.lap(Phase::Gate);
        let Planned {
            mut results,
            effects,
            layer,
        } = plan_group(self.shared, &group.jobs, under);
        group.lap(Phase::Plan);
        if let (Some(effects), Some(layer)) = (effects, layer) {
            match self
                .shared
                .codec
                .keyring()
                .and_then(|keyring| crate::replica::delta_of(&effects, keyring))
                .and_then(|delta| delta.encode())
            {
                Ok(entry) => {
                    group.bytes = entry.len();
                    group.planned = Some((effects, layer));
                    group.entry = Some(entry);
                }
                Err(error) => {
                    flusher::fail_successes(&mut results, &flusher::storage_message(error))
                }
            }
        }
        group.results = results;
        group.lap(Phase::Encode);
        Ok(group)
    }

    /// Hands the group's entry to the appender.
    fn send(&mut self, mut group: Group) -> Group {
        group.lap(Phase::Wait);
        if let Some(entry) = group.entry.take() {
            self.appender.send(entry);
        }
        group
    }

    /// Settles the group in etcd with its append's outcome. When it was committed, `next`
    /// (planned on top of it) is sent at once, then the group is applied and answered; else
    /// the group's writers are told so (no write acknowledged that is not in the log, none
    /// refused that may be in it), and `next` is dropped, its jobs queued again in front (it
    /// was planned on a group that will never be applied). Returns the writes answered, and
    /// the group now in etcd.
    fn settle(
        &mut self,
        mut group: Group,
        outcome: AppendOutcome,
        next: Option<Group>,
        queued: &mut VecDeque<Job>,
        turn: &Turn,
    ) -> (usize, Option<Group>) {
        group.lap(Phase::Append);
        let refusal: Box<dyn Fn() -> Error> = match outcome {
            AppendOutcome::Committed { position } => {
                let (flight, after) = match next {
                    Some(next) if next.entry.is_some() => (Some(self.send(next)), None),
                    other => (None, other),
                };
                let mut answered = self.finish(group, position);
                // Refused on what the group before made: answered once that is applied.
                answered += after.map_or(0, answer);
                return (answered, flight);
            }
            AppendOutcome::Refused(refusal) => Box::new(move || refusal.to_error()),
            AppendOutcome::Unknown => Box::new(|| Error::TryAgain),
        };
        refuse(group.jobs, &refusal);
        if let Some(next) = next {
            for job in next.jobs.into_iter().rev() {
                turn.queued();
                queued.push_front(job);
            }
        }
        (0, None)
    }

    /// Applies a committed group and answers its writers; returns how many writes it held.
    fn finish(&self, mut group: Group, position: u64) -> usize {
        let shared = self.shared;
        if let Some((effects, _)) = group.planned.take() {
            match apply_group(shared, effects, Some(position)) {
                Ok(()) => {
                    // Durable in the log: the change feed may show it now.
                    shared
                        .journal
                        .durable_through(shared.journal.applied_tail());
                    let ok = group.results.iter().flatten().filter(|r| r.is_ok()).count();
                    shared.group_commit.record_flush(ok as u64);
                }
                Err(error) => {
                    // In the log but not in this store: it must not plan on top of it.
                    shared.halt(&error);
                    flusher::fail_successes(&mut group.results, &flusher::storage_message(error));
                }
            }
        }
        group.lap(Phase::Apply);
        let (writes, group_bytes) = (group.writes, group.bytes);
        let clock = group.clock.take();
        flusher::send_results(group.jobs, group.results);
        if let Some(mut clock) = clock {
            clock.lap(Phase::Answer);
            clock.finish(writes, group_bytes);
        }
        writes
    }
}

/// Answers a group that changed nothing; returns how many writes it held.
fn answer(group: Group) -> usize {
    flusher::send_results(group.jobs, group.results);
    group.writes
}

/// The writes of the queued jobs.
fn queued_writes(queued: &VecDeque<Job>) -> usize {
    queued.iter().map(|job| job.writes.len()).sum()
}

/// Takes the queued jobs for one group, up to [`MAX_GROUP_OPS`] writes (a first job larger
/// than that goes alone).
fn take_group(queued: &mut VecDeque<Job>, turn: &Turn) -> Vec<Job> {
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
    jobs
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
