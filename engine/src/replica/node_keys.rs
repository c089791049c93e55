//! Keys every node of a cluster derives from the master key, for what it tells other nodes
//! outside the log: its registration in etcd (which clients are sent to through `SENTINEL`,
//! so etcd must not be able to forge it), and the proof a joining node gives before it is
//! sent a snapshot (no user can ask for one: only a node holding the master key).

use crate::error::{Error, Result};
use crate::keys::{KdfParams, KeySource, MasterKey, Purpose, SubKey};
use crate::store::Store;

/// The master key's cluster keys. A joining node, which has no store yet, derives them from
/// its master key ([`master_key_for`]).
#[derive(Clone)]
pub struct ClusterKeys {
    registration: SubKey,
    snapshot: SubKey,
}

impl std::fmt::Debug for ClusterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterKeys(..)")
    }
}

/// Compares two MACs in constant time (a wrong length is simply false).
fn same_mac(expected: [u8; 32], given: &[u8]) -> bool {
    <[u8; 32]>::try_from(given)
        .is_ok_and(|given| blake3::Hash::from(expected) == blake3::Hash::from(given))
}

impl ClusterKeys {
    pub fn derive(master: &MasterKey) -> ClusterKeys {
        ClusterKeys {
            registration: master.derive(Purpose::ClusterRegistration),
            snapshot: master.derive(Purpose::SnapshotChallenge),
        }
    }

    /// The MAC of a value this node writes to etcd (a registration, the leader key's value).
    pub fn registration_mac(&self, value: &[u8]) -> [u8; 32] {
        *blake3::keyed_hash(&self.registration.0, value).as_bytes()
    }

    /// The key that MACs the values a node keeps in etcd outside the sealed log (the
    /// cluster's meta, the leader key, registrations): the crm-cluster crate's `MacKey`.
    pub fn etcd_value_key(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.registration_mac(b"crm etcd value key v1"))
    }

    /// Whether `mac` is the MAC of `value` (a value whose MAC fails is ignored and logged).
    pub fn registration_is_genuine(&self, value: &[u8], mac: &[u8]) -> bool {
        same_mac(self.registration_mac(value), mac)
    }

    /// A joining node's answer to a snapshot challenge (the challenge should name who asks
    /// and who answers, so an answer is not replayed the other way).
    pub fn snapshot_proof(&self, challenge: &[u8]) -> [u8; 32] {
        *blake3::keyed_hash(&self.snapshot.0, challenge).as_bytes()
    }

    /// Whether `proof` answers `challenge`.
    pub fn snapshot_proof_holds(&self, challenge: &[u8], proof: &[u8]) -> bool {
        same_mac(self.snapshot_proof(challenge), proof)
    }
}

/// The master key a key source gives for a store whose passphrase salt and cost are
/// `kdf_salt` and `kdf_params` (empty salt: a key-file store): how a joining node, which has
/// no store yet, gets its key (the leader tells it the salt: [`Store::passphrase_kdf`]).
pub fn master_key_for(
    key: &KeySource,
    kdf_salt: &[u8],
    kdf_params: KdfParams,
) -> Result<MasterKey> {
    match key {
        KeySource::Key(master) => Ok(master.clone()),
        KeySource::File(path) => MasterKey::read_file(path),
        KeySource::Passphrase(passphrase) => {
            if kdf_salt.is_empty() {
                return Err(Error::Key(
                    "the cluster's store was made with a key file, not a passphrase: give --key-file".into(),
                ));
            }
            MasterKey::from_passphrase(passphrase, kdf_salt, kdf_params)
        }
    }
}

/// The cluster keys of the store in `dir`, checked against its key check file and reading
/// only (a node decides whether it may start before it opens, and so changes, its store):
/// `None` when the folder holds no store or no key check file; [`Error::WrongKey`] for a key
/// that does not open it.
pub fn cluster_keys_of_folder(
    dir: &std::path::Path,
    key: &KeySource,
) -> Result<Option<ClusterKeys>> {
    Ok(crate::key_check::check(dir, key)?.map(|master| ClusterKeys::derive(&master)))
}

impl Store {
    /// The cluster keys of this store's master key.
    pub fn cluster_keys(&self) -> ClusterKeys {
        ClusterKeys::derive(&self.shared.master)
    }

    /// The passphrase's salt and cost of a store made with a passphrase (`None`: a key-file
    /// store), which a joining node needs to derive the master key from the same passphrase.
    pub fn passphrase_kdf(&self) -> Result<Option<(Vec<u8>, KdfParams)>> {
        use crate::trees::{bytes_key, meta, Space};
        match self
            .shared
            .tree
            .get(bytes_key(Space::Meta, meta::KDF_SALT))?
        {
            None => Ok(None),
            Some(salt) => Ok(Some((
                salt.to_vec(),
                crate::envelope::stored_params(&self.shared.tree)?,
            ))),
        }
    }
}
