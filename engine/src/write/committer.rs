//! The committer: takes the waiting writers' operations as one group, plans each against the
//! group's view, applies the group as one batch, and hands it to the flusher (see `mod.rs`
//! for why this is atomic and correct). In a cluster the group goes to the replicated log
//! instead, and is applied once committed (`replicated.rs`).

use super::view::{Effects, View};
use super::{flusher, replicated};
use super::{plan, Applied, Durability, Job, Outcome, Write, MAX_GROUP_OPS};
use crate::error::{shutting_down, Error, Result};
use crate::shared::Shared;
use crate::trees::meta;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard, TryLockError};

/// Who commits the next group — the committer thread, or a lone writer on its own thread
/// ([`commit_alone`]) — and how many queued jobs no group has taken yet.
#[derive(Default)]
pub(super) struct Turn {
    committing: Mutex<()>,
    waiting: AtomicUsize,
}

impl Turn {
    /// A job is about to be queued.
    pub fn queued(&self) {
        self.waiting.fetch_add(1, Ordering::SeqCst);
    }

    /// `jobs` queued jobs joined a group (counted under the turn: see [`commit_alone`]).
    pub fn taken(&self, jobs: usize) {
        self.waiting.fetch_sub(jobs, Ordering::SeqCst);
    }

    pub fn lock(&self) -> MutexGuard<'_, ()> {
        self.committing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn try_lock(&self) -> Option<MutexGuard<'_, ()>> {
        match self.committing.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    fn idle(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) == 0
    }
}

/// Commits `writes` as a group of their own on the calling thread, flushes and answers it,
/// when nothing else is under way: no group being committed (the turn is free), none queued,
/// none waiting for the flusher. A lone durable writer then saves the two thread handoffs
/// (to the committer and back), ~20% of its write at 5,000 writes a second. The group is
/// planned, applied and flushed exactly as the committer would (one at a time: the turn), and
/// the checks see every acknowledged write. A job submitted earlier is counted as waiting from
/// before it is queued until a group takes it under the turn, so no write of the same client
/// overtakes it. `Err(writes)` when something else is under way: the caller queues them.
pub(super) fn commit_alone(
    shared: &Shared,
    turn: &Turn,
    in_flight: &flusher::InFlight,
    writes: Vec<Write>,
    is_open: impl FnOnce() -> bool,
) -> std::result::Result<Result<Vec<Result<Outcome>>>, Vec<Write>> {
    if shared.durability != Durability::Sync || !turn.idle() {
        return Err(writes);
    }
    let Some(_turn) = turn.try_lock() else {
        return Err(writes);
    };
    if !turn.idle() || !in_flight.is_empty() || !is_open() {
        return Err(writes);
    }
    let (reply, mut answer) = tokio::sync::oneshot::channel();
    let jobs = vec![Job { writes, reply }];
    flush_alone(shared, commit(shared, jobs));
    Ok(answer.try_recv().map_err(|_| shutting_down()))
}

pub(super) fn run(
    shared: &Shared,
    receiver: &mpsc::Receiver<Job>,
    flusher: mpsc::Sender<Applied>,
    in_flight: &flusher::InFlight,
    turn: &Turn,
) {
    if let Some(log) = &shared.replication {
        return replicated::run(shared, log.as_ref(), receiver, turn);
    }
    // A job taken to see whether another writer waits: the first of the next group.
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match receiver.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
        };
        let _turn = turn.lock();
        let mut pending = first.writes.len();
        let mut jobs = vec![first];
        while pending < MAX_GROUP_OPS {
            match receiver.try_recv() {
                Ok(job) => {
                    pending += job.writes.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        turn.taken(jobs.len());
        let mut applied = commit(shared, jobs);
        if shared.durability == Durability::Periodic {
            // Answered at once; the flusher still makes the group durable (and its journal
            // entries visible) at its next periodic flush.
            let answered = Applied {
                jobs: std::mem::take(&mut applied.jobs),
                results: std::mem::take(&mut applied.results),
                ..applied
            };
            flusher::answer(answered, None);
        } else if in_flight.is_empty() {
            // The flusher has answered every group before this one. With no other writer
            // waiting, this thread flushes and answers the group itself: a lone writer saves
            // the handoff to the flusher and back (the pipeline gains nothing with one).
            match receiver.try_recv() {
                Ok(job) => carried = Some(job),
                Err(_) => {
                    flush_alone(shared, applied);
                    continue;
                }
            }
        }
        in_flight.sent();
        if let Err(mpsc::SendError(applied)) = flusher.send(applied) {
            flusher::answer(applied, Some("the flusher stopped".into()));
        }
    }
}

/// Plans and applies the jobs as one group, for the flush that makes it durable.
fn commit(shared: &Shared, jobs: Vec<Job>) -> Applied {
    let (results, changed) = commit_group(shared, &jobs);
    Applied {
        jobs,
        results,
        changed,
        journal: shared.journal.applied_tail(),
    }
}

/// Answers every write of the jobs with the error `error` makes.
pub(super) fn refuse(jobs: Vec<Job>, error: &dyn Fn() -> Error) {
    let results = jobs
        .iter()
        .map(|job| job.writes.iter().map(|_| Err(error())).collect())
        .collect();
    flusher::send_results(jobs, results);
}

/// Flushes and answers a group on this thread (no other group waits for the flusher), then
/// runs a checkpoint if one is due.
fn flush_alone(shared: &Shared, applied: Applied) {
    flusher::flush_and_answer(shared, vec![applied]);
    flusher::checkpoint_if_due(shared);
}

/// Applies a group's batch; while a backup runs, first saves the old values it still needs
/// (see `backup/snapshot.rs`). The gate is held only for this, not for the flush.
fn apply_preserving_backup(
    shared: &Shared,
    batch: crate::storage::Batch,
    records: &crate::indexes::RecordChanges,
    page: Option<&crate::journal::page::Page>,
    ids: &[crate::record_ids::IdChange],
) -> Result<()> {
    let mut gate = shared
        .backup_gate
        .lock()
        .map_err(|_| Error::Storage("the backup gate is poisoned".into()))?;
    if let Some(snapshot) = gate.as_mut() {
        snapshot.preserve(&shared.tree, batch.keys())?;
    }
    // sled fails a batch once its log has hit an I/O error (a background flush may hit a full
    // disk first). The disk is failing either way: halt, as after a failed flush.
    shared
        .tree
        .apply_batch(batch)
        .inspect_err(|error| shared.halt(error))?;
    // Before any writer of the group is answered, so their checks and reads see it (see
    // `indexes/mod.rs`).
    shared.indexes.apply(records, page);
    shared.record_ids.apply(ids);
    Ok(())
}

/// Destroys the keys of the customers a group forgot or deleted, once the group is on disk.
///
/// The batch is flushed first, whatever the durability: erased before the batch is durable, a
/// crash could bring back a record whose key is gone. Erased after, a crash in between leaves
/// the key until the next open, which finishes the erasure of every forgotten customer
/// (`Store::finish_erasures`). In `sync` durability the flusher's fsync then finds nothing new.
fn erase_after_flush(shared: &Shared, slots: &[u64]) -> Result<()> {
    if slots.is_empty() {
        return Ok(());
    }
    let halting = |error: Error| {
        shared.halt(&error);
        error
    };
    shared.db.flush().map_err(halting)?;
    let keyring = shared.codec.keyring()?;
    let marks: Vec<Vec<u8>> = slots
        .iter()
        .map(|&slot| crate::trees::id_key(crate::trees::Space::PendingErasure, slot).to_vec())
        .collect();
    // A running backup still copies the records as they were when it started: it keeps the
    // slots' keys and the pending marks as they were.
    let mut gate = shared
        .backup_gate
        .lock()
        .map_err(|_| Error::Storage("the backup gate is poisoned".into()))?;
    if let Some(snapshot) = gate.as_mut() {
        for &slot in slots {
            if let Some(raw) = keyring.raw(slot) {
                snapshot.preserve_slot(slot, raw);
            }
        }
        snapshot.preserve(&shared.tree, marks.iter().map(Vec::as_slice))?;
    }
    keyring.erase(slots).map_err(halting)?;
    // The pending marks can go now; lost in a crash, the next open erases those slots again,
    // which changes nothing.
    let mut done = crate::storage::Batch::default();
    for mark in marks {
        done.remove(mark);
    }
    shared.tree.apply_batch(done).map_err(halting)
}

/// Plans and applies one group; returns each job's results and whether the tree changed.
fn commit_group(shared: &Shared, jobs: &[Job]) -> (Vec<Vec<Result<Outcome>>>, bool) {
    // `CRM_PROFILE_GROUPS=1` prints each group's plan and store times (write-path tuning).
    static PROFILE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let profile = *PROFILE.get_or_init(|| std::env::var_os("CRM_PROFILE_GROUPS").is_some());
    let t0 = std::time::Instant::now();
    let Planned {
        mut results,
        effects,
    } = plan_group(shared, jobs);
    let Some(effects) = effects else {
        return (results, false);
    };
    let t1 = std::time::Instant::now();
    let stored = apply_group(shared, effects, None);
    if profile {
        eprintln!(
            "group: {} jobs, plan {:?}, store {:?}",
            jobs.len(),
            t1 - t0,
            t1.elapsed()
        );
    }
    match stored {
        Ok(()) => (results, true),
        Err(error) => {
            flusher::fail_successes(&mut results, &flusher::storage_message(error));
            (results, false)
        }
    }
}

/// A group planned against the store as it stands, nothing of it applied yet.
pub(super) struct Planned {
    /// Each job's results, in order.
    pub results: Vec<Vec<Result<Outcome>>>,
    /// What applying the group changes; `None` when it changes nothing (every operation was
    /// refused, or its batch could not be built: the results say so).
    pub effects: Option<Effects>,
}

/// Plans every operation of the jobs against one view, numbers and chains the group's journal
/// entries, and seals the group's batch. Changes nothing but the keyring's made-ahead slots
/// (`keyring.rs`: untaken slots are taken later), so a group planned and then dropped leaves
/// the store as it was.
pub(super) fn plan_group(shared: &Shared, jobs: &[Job]) -> Planned {
    let mut view = View::new(shared);
    let mut results: Vec<Vec<Result<Outcome>>> = Vec::with_capacity(jobs.len());
    let mut drafts = Vec::new();
    // (job, write, draft) of the operations that are told their entry's number.
    let mut numbered = Vec::new();
    let at = crate::values::now();
    for (job_index, job) in jobs.iter().enumerate() {
        let mut job_results = Vec::with_capacity(job.writes.len());
        for (write_index, write) in job.writes.iter().enumerate() {
            job_results.push(match plan(&view, &write.op) {
                Ok((mut staged, outcome)) => {
                    if let Some(draft) = staged.take_journal() {
                        if matches!(outcome, Outcome::Journaled(_)) {
                            numbered.push((job_index, write_index, drafts.len()));
                        }
                        drafts.push((draft, write.author.clone(), at));
                    }
                    view.absorb(staged);
                    Ok(outcome)
                }
                Err(error) => Err(error),
            });
        }
        results.push(job_results);
    }
    // The group's journal page joins its batch: written together or not at all.
    let journal_page = shared.journal.stage(drafts);
    if let Some(page) = &journal_page {
        view.put_journal(page);
        for (job_index, write_index, draft_index) in numbered {
            if let (Some(Ok(outcome)), Some(entry)) = (
                results[job_index].get_mut(write_index),
                page.page.entries.get(draft_index),
            ) {
                *outcome = Outcome::Journaled(entry.seq);
            }
        }
    }
    // A read during planning can hit the storage failure first: halt then too — also when
    // that failure refused the group's only operation, so nothing is staged (the flaky
    // `disk_full` test: the store went on serving after the failure it had reported).
    if let Some(error) = results
        .iter()
        .flatten()
        .find_map(|r| r.as_ref().err().filter(|e| matches!(e, Error::Storage(_))))
    {
        shared.halt(error);
    }
    if view.is_empty() {
        return Planned {
            results,
            effects: None,
        };
    }
    let journal = journal_page.map(|page| (page.tail, page.page));
    match view.into_effects(journal) {
        Ok(effects) => Planned {
            results,
            effects: Some(effects),
        },
        Err(error) => {
            flusher::fail_successes(&mut results, &flusher::storage_message(error));
            Planned {
                results,
                effects: None,
            }
        }
    }
}

/// Applies a planned (or replicated) group: its batch (after saving what a running backup
/// still needs), the in-memory indexes, the erasure of the keys it destroys once it is on
/// disk, the rollups and the journal's tail; then drops the records it changed from the
/// cache. Nothing in memory changes when the batch fails. In a cluster, `position` is the
/// group's entry in the log, written with its batch (`replica/`).
pub(crate) fn apply_group(shared: &Shared, effects: Effects, position: Option<u64>) -> Result<()> {
    let Effects {
        mut batch,
        records,
        ids,
        rollups,
        erasures,
        journal,
        taken_slots: _,
    } = effects;
    if let Some(position) = position {
        let key = crate::trees::bytes_key(crate::trees::Space::Meta, meta::CLUSTER_APPLIED);
        let sealed = shared.codec.seal(&key, &position);
        batch.insert(key, sealed);
    }
    let changed_records = shared.record_cache.keys_of(batch.keys());
    let catalog_key = crate::trees::schema_key();
    let catalog_changed = batch.keys().any(|key| key == catalog_key.as_slice());
    let stored = shared
        .storage_guard()
        .and_then(|()| {
            let page = journal.as_ref().map(|(_, page)| page.as_ref());
            apply_preserving_backup(shared, batch, &records, page, &ids)
        })
        .and_then(|()| erase_after_flush(shared, &erasures))
        .map(|()| {
            shared.rollup_table.apply(rollups);
            if let Some((tail, page)) = &journal {
                shared.journal.applied(*tail, page);
            }
            if let Some(position) = position {
                shared
                    .cluster_applied
                    .store(position, std::sync::atomic::Ordering::Release);
            }
        });
    // Before any writer hears back, so no acknowledged write is followed by a stale read.
    shared.record_cache.invalidate(&changed_records);
    match stored {
        Ok(()) if catalog_changed => shared.reload_catalog(),
        other => other,
    }
}
