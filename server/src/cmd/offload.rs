//! Running work off the async workers, so that one client's large request never delays
//! another's `PING`.
//!
//! Reads that may open many records (pages, searches) run on the blocking pool, at most
//! [`READS_PER_CORE`] per core at once. Heavy commands (the statistics over every order) run at
//! most max(1, CPUs − 1) at once, the others waiting in arrival order (`PROTOCOL.md`,
//! "Analytics"), and give up when their client leaves or the server stops.

use crate::parse::CmdResult;
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::{Cancel, Store};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Concurrent page and search reads per core.
pub const READS_PER_CORE: usize = 4;

/// The permits of off-worker work, shared by every connection.
pub struct WorkLimits {
    reads: Semaphore,
    heavy: Arc<Semaphore>,
    /// Heavy commands running now, and waiting for a permit (`INFO`).
    heavy_running: Arc<AtomicUsize>,
    heavy_waiting: AtomicUsize,
}

/// Counts one unit while alive.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(counter: &Arc<AtomicUsize>) -> Counted {
        counter.fetch_add(1, Ordering::Relaxed);
        Counted(counter.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl WorkLimits {
    /// Limits for this machine's cores.
    pub fn for_this_machine() -> WorkLimits {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        WorkLimits::new(cores)
    }

    /// Limits for `cores` cores: reads 4 per core, heavy commands max(1, cores − 1).
    pub fn new(cores: usize) -> WorkLimits {
        WorkLimits {
            reads: Semaphore::new(cores.max(1) * READS_PER_CORE),
            heavy: Arc::new(Semaphore::new(cores.saturating_sub(1).max(1))),
            heavy_running: Arc::new(AtomicUsize::new(0)),
            heavy_waiting: AtomicUsize::new(0),
        }
    }

    /// (heavy commands running, heavy commands waiting for their turn).
    pub fn heavy_commands(&self) -> (usize, usize) {
        (
            self.heavy_running.load(Ordering::Relaxed),
            self.heavy_waiting.load(Ordering::Relaxed),
        )
    }
}

impl Default for WorkLimits {
    fn default() -> Self {
        WorkLimits::for_this_machine()
    }
}

/// Runs a read that may open many records on the blocking pool.
pub async fn off_workers<T: Send + 'static>(
    shared: &Shared,
    work: impl FnOnce(&Store) -> crm_engine::Result<T> + Send + 'static,
) -> CmdResult<T> {
    let _permit = shared
        .work
        .reads
        .acquire()
        .await
        .map_err(|_| Reply::from(crm_engine::Error::Busy("the server is stopping".into())))?;
    let store = shared.store.clone();
    joined(tokio::task::spawn_blocking(move || work(&store)).await)
}

/// Runs a heavy command once one of the heavy permits is free (in arrival order); `cancel`
/// stops it (and it is never started once raised): the store it is given checks `cancel`
/// while it scans.
pub async fn heavy<T: Send + 'static>(
    shared: &Shared,
    cancel: &Cancel,
    work: impl FnOnce(&Store) -> crm_engine::Result<T> + Send + 'static,
) -> CmdResult<T> {
    shared.work.heavy_waiting.fetch_add(1, Ordering::Relaxed);
    let permit = shared.work.heavy.clone().acquire_owned().await;
    shared.work.heavy_waiting.fetch_sub(1, Ordering::Relaxed);
    let permit = permit
        .map_err(|_| Reply::from(crm_engine::Error::Busy("the server is stopping".into())))?;
    cancel.check().map_err(Reply::from)?;
    let running = Counted::new(&shared.work.heavy_running);
    let store = shared.store.cancellable(cancel.clone());
    // The permit goes with the work: it is released when the work ends, not when the waiting
    // request is dropped.
    joined(
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _running = running;
            work(&store)
        })
        .await,
    )
}

/// Runs one-off blocking work (a backup, a file listing) on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> crm_engine::Result<T> + Send + 'static,
) -> CmdResult<T> {
    joined(tokio::task::spawn_blocking(work).await)
}

fn joined<T>(result: Result<crm_engine::Result<T>, tokio::task::JoinError>) -> CmdResult<T> {
    match result {
        Ok(result) => result.map_err(Reply::from),
        Err(e) => Err(Reply::error("ERR", format!("the computation failed: {e}"))),
    }
}
