//! The two things the cluster needs from the engine, as small traits, so the election, the
//! log and the apply loop are tested with in-memory doubles and wired to the real store
//! (`Store::apply_replicated`, `Store::log_sealer`) in one place.

use crate::entry::EpochKey;
use crate::error::Result;
use zeroize::Zeroizing;

/// Applies committed write groups to the node's store.
pub trait Applier: Send + Sync + 'static {
    /// Applies one whole write group (the engine's group bytes), committed in the log with
    /// its last part at entry `position`. All or nothing; blocking. An error means the group
    /// cannot be applied (the node stops applying: `CORRUPT`).
    fn apply(&self, position: u64, group: &[u8]) -> Result<()>;

    /// Moves the store's position past entry `position`, which carries no group (a leader's
    /// start, a new epoch), so that the node's durable position passes it too and the log can
    /// be trimmed past it. Blocking; an entry at or below [`Applier::applied`] changes
    /// nothing.
    fn pass(&self, position: u64) -> Result<()>;

    /// The position of the last entry applied or passed (0: none), as the store keeps it.
    fn applied(&self) -> u64;
}

/// Seals and opens log entries (AEAD under the log key; the entry number and the cluster are
/// associated data, so a changed, moved, replayed or foreign entry fails to open), and keeps
/// the log's epoch keys (`epochs.rs`).
pub trait Sealer: Send + Sync + 'static {
    /// The sealed bytes of entry `position`, under `epoch` (whose key this node must hold).
    fn seal(&self, epoch: u64, position: u64, plain: &[u8]) -> Result<Vec<u8>>;

    /// The plain bytes of entry `position`; [`crate::Error::Corrupt`] when it does not open
    /// (changed, moved, foreign, or in an epoch whose key this node does not hold).
    fn open(&self, position: u64, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>>;

    /// The epoch a sealed entry names, read without any key (`None`: not a sealed entry).
    fn epoch_of(&self, sealed: &[u8]) -> Option<u64>;

    /// [`Sealer::epoch_of`] for entry `position` of the log, where anything but a sealed
    /// entry is `CORRUPT`.
    fn epoch_of_entry(&self, position: u64, sealed: &[u8]) -> Result<u64> {
        self.epoch_of(sealed).ok_or_else(|| crate::Error::Corrupt {
            position,
            message: "is not a sealed log entry".into(),
        })
    }

    /// The newest epoch whose key this node holds (`None`: none).
    fn newest_epoch(&self) -> Option<u64>;

    /// The newest epoch whose key this node holds, to seal entry `position` under when the
    /// log says nothing newer (a new log); holding none is `CORRUPT`.
    fn newest_epoch_for(&self, position: u64) -> Result<u64> {
        self.newest_epoch().ok_or_else(|| crate::Error::Corrupt {
            position,
            message: "this node holds no epoch key of the log".into(),
        })
    }

    /// Keeps the key of `epoch`, learned from the log (or made by this node as leader), on
    /// disk before returning. The key it holds already changes nothing; another key for an
    /// epoch it holds, or one for an epoch it destroyed, is an error.
    fn learn_epoch(&self, epoch: u64, key: &EpochKey) -> Result<()>;

    /// Destroys the keys of every epoch before `epoch` (the log holds none of their entries
    /// any more), on disk before returning.
    fn destroy_epochs_before(&self, epoch: u64) -> Result<()>;
}
