//! Running work off the async workers, so that one client's large request never delays
//! another's `PING`.
//!
//! Reads that may open many records (pages, searches) run on the blocking pool, at most
//! [`crate::work_limits::READS_PER_CORE`] per core at once. Heavy commands (the statistics over every order) run at
//! most max(1, CPUs − 1) at once, the others waiting in arrival order (`PROTOCOL.md`,
//! "Analytics"), and give up when their client leaves or the server stops.

use crate::parse::CmdResult;
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::{Cancel, Store};
use std::sync::atomic::Ordering;

use crate::work_limits::Counted;

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
