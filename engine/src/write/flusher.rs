//! The flusher: makes applied groups durable with one fsync for all of them, then answers
//! their writers in the order the groups were applied.

use super::{Applied, Job, Outcome};
use crate::error::{Error, Result};
use crate::shared::Shared;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Groups handed to the flusher and not answered yet: while there are none, the committer may
/// flush and answer a group itself (see `committer.rs`).
#[derive(Default)]
pub(super) struct InFlight(AtomicUsize);

impl InFlight {
    pub fn is_empty(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }

    pub fn sent(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    fn answered(&self, groups: usize) {
        self.0.fetch_sub(groups, Ordering::AcqRel);
    }
}

/// Flushes every group applied since the last flush with one fsync, then answers them in order
/// (also groups that changed nothing: their refusals may rest on the groups before them).
pub(super) fn run(shared: &Shared, queue: &mpsc::Receiver<Applied>, in_flight: &InFlight) {
    if shared.durability == super::Durability::Cluster {
        return run_cluster(shared, queue);
    }
    let mut last_flush = std::time::Instant::now();
    while let Ok(first) = queue.recv() {
        if shared.durability == super::Durability::Periodic {
            // Periodic durability flushes at most every 100 ms; writers were answered already.
            let next = last_flush + std::time::Duration::from_millis(100);
            std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
        }
        let mut groups = vec![first];
        while let Ok(more) = queue.try_recv() {
            groups.push(more);
        }
        let count = groups.len();
        flush_and_answer(shared, groups);
        last_flush = std::time::Instant::now();
        in_flight.answered(count);
        checkpoint_if_due(shared);
    }
    let _ = shared.db.flush();
}

/// How often a cluster node makes what it applied durable in its own files.
const CLUSTER_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The flusher of a cluster node: writes are durable in the replicated log before they are
/// applied (and answered), so the node's own files only catch up, every 100 ms; after each
/// flush the position it covers is the node's durable position (`Store::cluster_durable`),
/// which trimming the log waits for. The committer sends it no group.
fn run_cluster(shared: &Shared, queue: &mpsc::Receiver<Applied>) {
    loop {
        match queue.recv_timeout(CLUSTER_FLUSH_EVERY) {
            Ok(unexpected) => answer(unexpected, None),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        flush_cluster(shared);
        checkpoint_if_due(shared);
    }
    flush_cluster(shared);
}

/// Flushes what the node applied, if anything since the last flush, and records the position
/// the flush covers (every entry up to the position read before it began).
pub(crate) fn flush_cluster(shared: &Shared) {
    use std::sync::atomic::Ordering;
    let applied = shared.cluster_applied.load(Ordering::Acquire);
    if applied == shared.cluster_durable.load(Ordering::Acquire) || shared.health().is_err() {
        return;
    }
    match shared.db.flush() {
        Ok(()) => shared.cluster_durable.store(applied, Ordering::Release),
        Err(error) => shared.halt(&error),
    }
}

/// Makes the groups durable with one flush, then answers their writers in order.
pub(super) fn flush_and_answer(shared: &Shared, groups: Vec<Applied>) {
    let flushed = match shared.health() {
        Ok(()) if !groups.iter().any(|g| g.changed) => Ok(()),
        // An earlier flush failed: these groups were applied after it, on a store whose
        // disk state is unknown; their writers are told so.
        Err(error) => Err(error),
        // The batches are applied in memory but maybe not on disk: stop, rather than serve
        // writes whose writers were told they failed (see `Shared::halt`).
        Ok(()) => shared
            .db
            .flush()
            .map(|_| ())
            .inspect_err(|error| shared.halt(error)),
    };
    let failure = flushed.err().map(storage_message);
    if failure.is_none() {
        // Their journal entries are on disk now: readers of the change feed may see them.
        if let Some(latest) = groups.last() {
            shared.journal.durable_through(latest.journal);
        }
        let writes: usize = groups
            .iter()
            .flat_map(|g| g.results.iter().flatten())
            .filter(|r| r.is_ok())
            .count();
        shared.group_commit.record_flush(writes as u64);
    }
    for group in groups {
        answer(group, failure.clone());
    }
}

/// Runs the storage's checkpoint when one is due, after answering: the groups that arrive
/// meanwhile wait for the next flush, which then covers them all.
pub(super) fn checkpoint_if_due(shared: &Shared) {
    if shared.health().is_ok() && shared.db.checkpoint_due() {
        if let Err(error) = shared.db.checkpoint() {
            shared.halt(&error);
        }
    }
}

/// Sends each job its results; with `failure`, every success becomes that storage error.
pub(super) fn answer(applied: Applied, failure: Option<String>) {
    let Applied {
        jobs, mut results, ..
    } = applied;
    if let Some(message) = failure {
        fail_successes(&mut results, &message);
    }
    send_results(jobs, results);
}

/// Sends each job its results, in order.
pub(super) fn send_results(jobs: Vec<Job>, results: Vec<Vec<Result<Outcome>>>) {
    for (job, answer) in jobs.into_iter().zip(results) {
        let _ = job.reply.send(answer);
    }
}

pub(super) fn fail_successes(results: &mut [Vec<Result<Outcome>>], message: &str) {
    for result in results.iter_mut().flatten() {
        if result.is_ok() {
            *result = Err(Error::Storage(message.to_string()));
        }
    }
}

pub(super) fn storage_message(error: Error) -> String {
    match error {
        Error::Storage(message) => message,
        other => other.to_string(),
    }
}
