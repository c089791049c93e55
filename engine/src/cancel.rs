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
pub struct Cancel(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    raised: AtomicBool,
    /// Wakes async waiters (a blocked `XREAD`) when raised.
    wake: tokio::sync::Notify,
}

impl Cancel {
    /// A flag that is never raised (work that nobody cancels: the engine's own callers).
    pub fn never() -> Cancel {
        Cancel::default()
    }

    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.0.raised.store(true, Ordering::SeqCst);
        self.0.wake.notify_waiters();
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.raised.load(Ordering::SeqCst)
    }

    /// Resolves once [`Cancel::cancel`] has been called (at once if it already was).
    pub async fn cancelled(&self) {
        loop {
            let woken = self.0.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            woken.await;
        }
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
