//! Two defences against a hang in sled 0.34.7.
//!
//! When sled writes a large log message to a file of its own (a blob, over a quarter of a
//! segment) and that write fails — a full disk, a folder removed under the store — its
//! `reserve` returns the error after it has counted itself as a writer of the log buffer, and
//! never counts itself out (`pagecache/logger.rs`). That buffer then never reaches the disk,
//! and every later flush waits for it forever (`iobuf.rs`, `make_stable`): the flush of a
//! checkpoint, and the flush each tree makes when its last handle is dropped. sled's own
//! background thread can hit such a write too (segment cleaning rewrites pages), unseen.
//!
//! So a failed write keeps one handle of the folder's sled store alive forever: no tree of it
//! is ever dropped, so none flushes on the way out, and closing or dropping a failed store
//! returns (its memory and folder lock are given back when the process ends). And the
//! checkpoint's flush runs on a helper thread that it waits for at most [`FLUSH_LIMIT`]: past
//! that, the checkpoint fails (the store halts) instead of blocking the writers forever.

use crate::error::{Error, Result};
use std::time::Duration;

/// How long a checkpoint waits for sled's flush, which writes out at most a few log buffers
/// (MiBs): far beyond any healthy disk.
pub(super) const FLUSH_LIMIT: Duration = Duration::from_secs(60);

/// Passes on the result of a write into `db`; after a failure, first keeps a handle of `db`
/// forever (see the module's notes).
pub(super) fn written<T>(db: &sled::Db, result: sled::Result<T>) -> Result<T> {
    result.map_err(|error| {
        std::mem::forget(db.clone());
        Error::from(error)
    })
}

/// sled's flush, waited for at most `limit`. A flush still running then keeps its handle of
/// `db` on the helper thread, which therefore never drops the store.
pub(super) fn flush(db: &sled::Db, limit: Duration) -> Result<()> {
    let (done, outcome) = std::sync::mpsc::channel();
    let flushing = db.clone();
    std::thread::Builder::new()
        .name("crm-sled-flush".into())
        .spawn(move || {
            let _ = done.send(flushing.flush());
        })?;
    match outcome.recv_timeout(limit) {
        Ok(result) => written(db, result).map(|_| ()),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::Storage(format!(
            "sled's flush has not returned after {} s: its log is stuck behind a write to \
             its files that failed (a full or failing disk?)",
            limit.as_secs()
        ))),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(Error::Storage(
            "sled's flush stopped without an answer".into(),
        )),
    }
}
