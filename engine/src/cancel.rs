//! Giving up long computations whose answer nobody waits for any more.
//!
//! A statistic over a million orders takes seconds of CPU. When its client disconnects, or the
//! server stops, the server raises the request's [`Cancel`]; the parallel scans and the
//! iterative models check it between ranges and iterations and stop with [`Error::Cancelled`],
//! so abandoned work ends within a fraction of a second instead of running to completion.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag shared by whoever may give up on a request and the code doing the work.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is never raised (work that nobody cancels: the engine's own callers).
    pub fn never() -> Cancel {
        Cancel::default()
    }

    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Error::Cancelled)` once cancelled: the work's check points call it.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}
