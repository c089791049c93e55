//! The two things the cluster needs from the engine, as small traits, so the election, the
//! log and the apply loop are tested with in-memory doubles and wired to the real store
//! (`Store::apply_replicated`, `Store::log_sealer`) in one place.

use crate::error::Result;

/// Applies committed write groups to the node's store.
pub trait Applier: Send + Sync + 'static {
    /// Applies one whole write group (the engine's group bytes), committed in the log with
    /// its last part at entry `position`. All or nothing; blocking. An error means the group
    /// cannot be applied (the node stops applying: `CORRUPT`).
    fn apply(&self, position: u64, group: &[u8]) -> Result<()>;

    /// The position of the last group applied (0: none), as the store keeps it.
    fn applied(&self) -> u64;
}

/// Seals and opens log entries (AEAD under the log key; the entry number and the cluster are
/// associated data, so a changed, moved, replayed or foreign entry fails to open).
pub trait Sealer: Send + Sync + 'static {
    /// The sealed bytes of entry `position`.
    fn seal(&self, position: u64, plain: &[u8]) -> Result<Vec<u8>>;

    /// The plain bytes of entry `position`; [`crate::Error::Corrupt`] when it does not open.
    fn open(&self, position: u64, sealed: &[u8]) -> Result<Vec<u8>>;
}
