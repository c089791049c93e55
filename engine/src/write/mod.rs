//! The write path: one committer thread, write groups, one batch and one flush per group.
//!
//! # Why this is atomic and correct
//!
//! * **One writer.** Every write is an [`Op`] sent to the committer thread, which alone changes
//!   the tree. Checks (unique email, stock, references, "has orders") therefore run with no other
//!   writer in between: a check and the write it guards cannot be split by another write, so two
//!   buyers of the last unit or two adds of one email cannot both pass.
//! * **One batch per group.** The committer takes every operation waiting (up to
//!   [`MAX_GROUP_OPS`]), plans each against a [`view::View`] — the tree overlaid with what the
//!   group's earlier operations staged — and applies all successful plans with a single
//!   `Tree::apply_batch`. A record, its product's stock, the id high-water mark, the counters
//!   and the group's journal page all live in that one tree (see `trees.rs`); the indexes and
//!   the rollups are functions of the records, kept in memory, changed from the group's record
//!   changes and rebuilt at open (`indexes/`, `rollup_table.rs`). The storage boundary
//!   applies a batch atomically, both for concurrent readers (it is staged in memory under one
//!   lock: they see all of it or none) and across a crash (it is one record of the redo log,
//!   and reaches sled's files inside one sled batch: recovery keeps all of it or none; see
//!   `storage/redo.rs` and `storage/staging.rs`).
//! * **A refused operation changes nothing.** A plan stages its writes privately and they join
//!   the view only if every check passed.
//! * **Durable before acknowledged.** In [`Durability::Sync`] a group's writers are answered
//!   only after a `Db::flush` that began after the group's batch: one write and one
//!   `fdatasync` of the redo log, which then holds the batch (sled's own flush is not a real
//!   fsync: `storage/redo.rs`). The flush runs on its own thread (the flusher), so the
//!   committer plans and applies the next group while the disk syncs the last one; the flusher
//!   takes every group applied since its previous flush and covers them all with one fsync
//!   (group commit, pipelined as in RocksDB). Groups are answered in the order they were
//!   applied. A lone writer skips the handoffs: when no group is being committed, none is
//!   queued and none waits for the flusher, a blocking writer ([`Writer::write`]) commits,
//!   flushes and answers its own group on its own thread, under the same turn the committer
//!   takes for each group (`committer.rs`, `commit_alone`), so groups are still planned one at
//!   a time in the order they were submitted; and when the flusher has answered every
//!   earlier group and no other writer waits, the committer flushes and answers its group
//!   itself. In [`Durability::Periodic`] the committer answers at once and the flusher syncs
//!   every 100 ms. Readers can see a group's writes between its batch and its flush; a crash
//!   in that window loses only writes that no writer was told had succeeded. Between groups,
//!   the flusher also runs the storage's checkpoints (sled's files synced, the log's older
//!   segments retired) when one is due.
//! * **Side state in step.** Under the backup gate, a running backup first saves the old values
//!   the group overwrites (`backup/snapshot.rs`); right after the batch, the in-memory
//!   indexes and rollup table take the group's changes and the record cache drops the records
//!   the group changed (`record_cache.rs`) — all before any writer hears back; the in-memory
//!   state not when the batch fails.
//!
//! No multi-tree transaction is used: measured here a sled transaction costs 0.1–0.7 ms against
//! ~18 µs for a batch, and both take the same process-wide lock.

mod committer;
mod customer;
mod customer_record;
mod flusher;
mod group_profile;
mod ids;
mod merge;
mod op;
mod order;
mod product;
mod replicated;
pub(crate) mod schema;
mod sweep;
mod user;
pub(crate) mod view;

pub(crate) use committer::apply_group;
pub use op::{Durability, Op, Outcome, UpsertKind, Write};

use crate::error::{shutting_down, Result};
use crate::shared::Shared;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;
use view::View;

/// The most operations one write group applies in one batch.
pub const MAX_GROUP_OPS: usize = 8192;

/// Plans one operation against the group's view; its plan carries the operation's journal
/// entry.
fn plan(view: &View, op: &Op) -> Result<(view::Plan, Outcome)> {
    match op {
        Op::AddCustomer(new) => customer::add(view, new),
        Op::UpdateCustomer(id, patch) => customer::update(view, *id, patch),
        Op::DeleteCustomer(id) => customer::delete(view, *id),
        Op::AddProduct(new) => product::add(view, new),
        Op::UpdateProduct(id, patch) => product::update(view, *id, patch),
        Op::DeleteProduct(id) => product::delete(view, *id),
        Op::AddOrder(new) => order::add(view, new),
        Op::DeleteOrder(id) => order::delete(view, *id),
        Op::AddUser(user) => user::add(view, user),
        Op::BootstrapAdmin(admin) => user::bootstrap(view, admin),
        Op::SetPassword {
            name,
            password_hash,
        } => user::set_password(view, name, password_hash),
        Op::SetMasked { name, masked } => user::set_masked(view, name, *masked),
        Op::DeleteUser(name) => user::delete(view, name),
        Op::ForgetCustomer(id) => customer::forget(view, *id, crate::values::now()),
        Op::ForgetRestored { id, at } => customer::forget_restored(view, *id, *at),
        Op::RevealCustomer(id) => customer::disclose(view, *id, crate::journal::JournalOp::Reveal),
        Op::ExportCustomer(id) => customer::disclose(view, *id, crate::journal::JournalOp::Export),
        Op::UpsertCustomer(upsert) => customer::upsert(view, upsert),
        Op::MergeCustomers { keep, other, at } => merge::merge(view, *keep, *other, *at),
        Op::UnmergeCustomer { other, now } => merge::unmerge(view, *other, *now),
        Op::PurgeMerges { now } => merge::purge_expired(view, *now),
        Op::DeclareField(declaration) => schema::add_field(view, declaration),
        Op::DropField { kind, name } => schema::drop_field(view, *kind, name),
        Op::IndexField { kind, name, on } => schema::index_field(view, *kind, name, *on),
        Op::SweepFields { kind, ids } => sweep::sweep_records(view, *kind, ids),
        Op::FinishSweep { field } => sweep::finish(view, *field),
        Op::RecordBackup { name } => Ok((
            view::Plan::journaled(crate::journal::Draft::named(
                crate::journal::JournalOp::Add,
                crate::error::Kind::Backup,
                name,
                Vec::new(),
            )),
            Outcome::Done,
        )),
    }
}

/// The answer to one submission: one result per operation, in order.
pub type Reply = oneshot::Receiver<Vec<Result<Outcome>>>;

struct Job {
    writes: Vec<Write>,
    reply: oneshot::Sender<Vec<Result<Outcome>>>,
}

/// A group applied in memory, waiting for the flush that makes it durable.
struct Applied {
    jobs: Vec<Job>,
    results: Vec<Vec<Result<Outcome>>>,
    /// Whether the group changed the tree (else it needs no flush of its own).
    changed: bool,
    /// The journal's tail once this group is applied: durable after the flush.
    journal: crate::journal::Tail,
}

/// The handle to the committer and flusher threads.
pub(crate) struct Writer {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    turn: Arc<committer::Turn>,
    in_flight: Arc<flusher::InFlight>,
    shared: Arc<Shared>,
}

impl Writer {
    /// Starts the committer and flusher threads.
    pub fn start(shared: Arc<Shared>) -> Result<Writer> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let (to_flusher, flusher_queue) = mpsc::channel::<Applied>();
        let flusher_shared = shared.clone();
        let in_flight = Arc::new(flusher::InFlight::default());
        let turn = Arc::new(committer::Turn::default());
        let flusher_in_flight = in_flight.clone();
        let flusher = std::thread::Builder::new()
            .name("crm-flusher".into())
            .spawn(move || flusher::run(&flusher_shared, &flusher_queue, &flusher_in_flight))?;
        let (committer_shared, committer_turn, committer_in_flight) =
            (shared.clone(), turn.clone(), in_flight.clone());
        let committer = std::thread::Builder::new()
            .name("crm-committer".into())
            .spawn(move || {
                committer::run(
                    &committer_shared,
                    &receiver,
                    to_flusher,
                    &committer_in_flight,
                    &committer_turn,
                )
            })?;
        Ok(Writer {
            sender: Mutex::new(Some(sender)),
            threads: Mutex::new(vec![committer, flusher]),
            turn,
            in_flight,
            shared,
        })
    }

    /// Applies `writes` as one job and waits for their results. A lone writer commits its
    /// group on its own thread (see [`committer::commit_alone`]); otherwise the job joins the
    /// committer's next group.
    pub fn write(&self, writes: Vec<Write>) -> Result<Vec<Result<Outcome>>> {
        let writes =
            match committer::commit_alone(&self.shared, &self.turn, &self.in_flight, writes, || {
                self.is_open()
            }) {
                Ok(results) => return results,
                Err(writes) => writes,
            };
        self.submit(writes)?
            .blocking_recv()
            .map_err(|_| shutting_down())
    }

    /// Applies a replicated log entry under the committer's turn (`replica/apply.rs`): no
    /// group is planned or applied meanwhile, so the entry lands between two groups. When the
    /// entry starts an index build (a field it indexed), the build then runs on a thread of
    /// its own ([`Writer::build_indexes`]).
    pub fn apply_replicated(&self, position: u64, entry: &[u8]) -> Result<crate::replica::Applied> {
        let _turn = self.turn.lock();
        if !self.is_open() {
            return Err(shutting_down());
        }
        // A build waiting already has its builder: the thread started for an earlier entry,
        // or on a leader the writer that indexed the field (which answers once it is built).
        let waiting = self.shared.indexes.unclaimed_custom();
        let applied = crate::replica::apply_entry(&self.shared, position, entry)?;
        if applied.applied && !waiting && self.shared.indexes.unclaimed_custom() {
            // Under the turn, which `close` takes before it joins the threads.
            self.build_indexes();
        }
        Ok(applied)
    }

    /// Builds the custom fields' indexes a replicated entry started, on a thread of its own:
    /// no writer of this node waits for them, and built in the apply loop, a million records'
    /// build held every later entry for seconds (the node's lag; reads meanwhile open the
    /// records, `Shared::build_indexes`). A build that fails or panics halts the store, as a
    /// failed apply does (the apply loop then stops at its next entry). [`Writer::close`]
    /// waits for it.
    fn build_indexes(&self) {
        let shared = self.shared.clone();
        // Until no build waits: one an entry started while this one ran, for a kind this
        // thread had claimed already, waits for it (no other thread is started meanwhile).
        let build = move || loop {
            let built =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shared.build_indexes()))
                    .unwrap_or_else(|_| {
                        Err(crate::error::Error::Storage(
                            "building a custom field's index failed (a bug)".into(),
                        ))
                    });
            if let Err(error) = built {
                shared.halt(&error);
                return;
            }
            if !shared.indexes.unclaimed_custom() {
                return;
            }
        };
        let mut threads = self
            .threads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match std::thread::Builder::new()
            .name("crm-index-build".into())
            .spawn(build.clone())
        {
            Ok(thread) => {
                threads.retain(|thread| !thread.is_finished());
                threads.push(thread);
            }
            // No thread to be had: built here, as before.
            Err(_) => {
                drop(threads);
                build();
            }
        }
    }

    fn is_open(&self) -> bool {
        self.sender.lock().is_ok_and(|sender| sender.is_some())
    }

    /// Queues operations for the next write group.
    pub fn submit(&self, writes: Vec<Write>) -> Result<Reply> {
        let (reply, answer) = oneshot::channel();
        let guard = self.sender.lock().map_err(|_| shutting_down())?;
        let sender = guard.as_ref().ok_or_else(shutting_down)?;
        // Counted before it is sent: a lone writer never commits ahead of a queued job.
        self.turn.queued();
        if sender.send(Job { writes, reply }).is_err() {
            self.turn.taken(1);
            return Err(shutting_down());
        }
        Ok(answer)
    }

    /// Lets the committer finish what is queued and the flusher flush it, then stops both.
    /// Later submissions get `BUSY`.
    pub fn close(&self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        // A lone writer committing now finishes first; later ones find the writer closed.
        drop(self.turn.lock());
        let threads = std::mem::take(
            &mut *self
                .threads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        // The committer first: when it ends, it drops the flusher's queue, which ends the
        // flusher once it has flushed and answered everything; then a replicated entry's index
        // build, if one runs (started under the turn taken above, so none starts after).
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}
