//! The permits of work run off the async workers (see `cmd/offload.rs` for how they are used):
//! here on their own so that the server's shared state can hold them without depending on the
//! commands.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Concurrent page and search reads per core.
pub const READS_PER_CORE: usize = 4;

/// The permits of off-worker work, shared by every connection.
pub struct WorkLimits {
    pub(crate) reads: Semaphore,
    pub(crate) heavy: Arc<Semaphore>,
    /// Heavy commands running now, and waiting for a permit (`INFO`).
    pub(crate) heavy_running: Arc<AtomicUsize>,
    pub(crate) heavy_waiting: AtomicUsize,
}

/// Counts one unit while alive.
pub(crate) struct Counted(Arc<AtomicUsize>);

impl Counted {
    pub(crate) fn new(counter: &Arc<AtomicUsize>) -> Counted {
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
