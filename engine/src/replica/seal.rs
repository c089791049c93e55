//! Sealing the replicated log: etcd sees sizes and timing, never a readable byte, and cannot
//! change, move, replay or inject an entry unnoticed.
//!
//! An entry is sealed (XChaCha20-Poly1305) under its epoch's entry key,
//! `BLAKE3-keyed(log key, "crm log entry key v1" ‖ epoch key ‖ epoch)`: the log key is derived
//! from the store's data key (so only nodes of this store can open entries), the epoch key is
//! random and destroyable (`epochs.rs`: once destroyed, what etcd's disks keep of the epoch
//! opens with no key anyone holds). The associated data binds the entry to its place:
//! `"crm log v1" ‖ cluster id ‖ cluster name ‖ entry number ‖ epoch`, each length-prefixed, so
//! an entry moved to another number, replayed at a later one, or taken from another cluster
//! (even one with the same data key: a restored copy) fails to open.
//!
//! A sealed entry is `version (1) ‖ epoch (u64) ‖ nonce ‖ ciphertext ‖ tag`.

use super::epochs::{EpochKey, Epochs};
use crate::error::{Error, Result};
use crate::keys::SubKey;
use crate::seal::Sealer;
use rand::RngCore;
use std::sync::Arc;
use zeroize::Zeroizing;

const VERSION: u8 = 1;
/// `version ‖ epoch`.
const FRAME_LEN: usize = 1 + 8;

/// Seals and opens a cluster's log entries, and keeps its epoch keys. Cheap to clone.
#[derive(Clone)]
pub struct LogSealer {
    log_key: Arc<SubKey>,
    epochs: Arc<Epochs>,
    /// `"crm log v1" ‖ u8 len ‖ cluster id ‖ u8 len ‖ cluster name`.
    binding: Arc<Vec<u8>>,
}

impl std::fmt::Debug for LogSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogSealer(..)")
    }
}

impl LogSealer {
    pub(super) fn new(
        log_key: SubKey,
        epochs: Arc<Epochs>,
        cluster_id: &[u8],
        cluster_name: &str,
    ) -> Result<LogSealer> {
        let mut binding = b"crm log v1".to_vec();
        for part in [cluster_id, cluster_name.as_bytes()] {
            let len = u8::try_from(part.len()).map_err(|_| {
                Error::invalid("cluster", "a cluster id or name longer than 255 bytes")
            })?;
            binding.push(len);
            binding.extend_from_slice(part);
        }
        Ok(LogSealer {
            log_key: Arc::new(log_key),
            epochs,
            binding: Arc::new(binding),
        })
    }

    fn associated(&self, number: u64, epoch: u64) -> Vec<u8> {
        let mut associated = Vec::with_capacity(self.binding.len() + 16);
        associated.extend_from_slice(&self.binding);
        associated.extend_from_slice(&number.to_be_bytes());
        associated.extend_from_slice(&epoch.to_be_bytes());
        associated
    }

    /// The sealer of an epoch's entries, if this node holds its key.
    fn entry_sealer(&self, epoch: u64) -> Result<Option<Sealer>> {
        let Some(key) = self.epochs.key(epoch)? else {
            return Ok(None);
        };
        let mut input = Zeroizing::new(Vec::with_capacity(20 + 32 + 8));
        input.extend_from_slice(b"crm log entry key v1");
        input.extend_from_slice(key.as_slice());
        input.extend_from_slice(&epoch.to_be_bytes());
        let derived = blake3::keyed_hash(&self.log_key.0, &input);
        Ok(Some(Sealer::new(&SubKey(*derived.as_bytes()))))
    }

    /// Seals the plain bytes of entry `number` under `epoch` (which this node must hold).
    pub fn seal(&self, epoch: u64, number: u64, plain: &[u8]) -> Result<Vec<u8>> {
        let sealer = self.entry_sealer(epoch)?.ok_or_else(|| {
            Error::Corrupt(format!(
                "log entry {number}: this node holds no key for epoch {epoch}"
            ))
        })?;
        let mut sealed = Vec::with_capacity(FRAME_LEN + crate::seal::SEAL_OVERHEAD + plain.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&epoch.to_be_bytes());
        sealer.seal_after(&mut sealed, &self.associated(number, epoch), plain);
        Ok(sealed)
    }

    /// The epoch a sealed entry names (`None`: not a sealed entry).
    pub fn epoch_of(sealed: &[u8]) -> Option<u64> {
        if sealed.first() != Some(&VERSION) {
            return None;
        }
        Some(u64::from_be_bytes(
            sealed.get(1..FRAME_LEN)?.try_into().ok()?,
        ))
    }

    /// Opens entry `number`: `CORRUPT` if it was changed, moved from another number, sealed
    /// for another cluster, or is in an epoch whose key this node does not hold (destroyed).
    pub fn open(&self, number: u64, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let failed = |why: &str| Error::Corrupt(format!("log entry {number} {why}"));
        let epoch = Self::epoch_of(sealed).ok_or_else(|| failed("is not a sealed log entry"))?;
        let sealer = self.entry_sealer(epoch)?.ok_or_else(|| {
            failed(&format!(
                "is in epoch {epoch}, whose key this node does not hold"
            ))
        })?;
        sealer
            .open_unframed(&self.associated(number, epoch), &sealed[FRAME_LEN..])
            .map(Zeroizing::new)
            .map_err(|e| {
                failed(&format!(
                    "failed its integrity check ({e}): changed, moved, replayed or from another cluster"
                ))
            })
    }

    /// Makes a new random key for `epoch` and keeps it (the leader, starting an epoch). The
    /// key travels to the other nodes in a log entry sealed under the epoch before it, where
    /// they learn it with [`LogSealer::learn_epoch`].
    pub fn new_epoch(&self, epoch: u64) -> Result<EpochKey> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        self.epochs.store(epoch, &key)?;
        Ok(key)
    }

    /// Keeps an epoch's key learned from the log (fsynced before this returns). Learning the
    /// key this node holds already changes nothing; a key for an epoch it destroyed, or
    /// another key for one it holds, is `CORRUPT`.
    pub fn learn_epoch(&self, epoch: u64, key: &[u8; 32]) -> Result<()> {
        self.epochs.store(epoch, key)
    }

    /// The epochs whose keys this node holds, ascending.
    pub fn epochs(&self) -> Vec<u64> {
        self.epochs.held()
    }

    /// Destroys the keys of every epoch before `epoch` (once the log holds no entry of them):
    /// their slots are overwritten with zeros in place and fsynced.
    pub fn destroy_epochs_before(&self, epoch: u64) -> Result<()> {
        self.epochs.destroy_before(epoch)
    }
}
