//! Key material: where the master key comes from and the sub-keys derived from it.
//!
//! One 32-byte master key opens a store. It comes from a key file (written by [`write_key_file`]
//! with mode 0600) or from a passphrase stretched with Argon2id, a per-store salt and the
//! store's own cost parameters ([`KdfParams`]). The master key does not seal records itself: it
//! wraps the store's *data key* (envelope encryption, see `envelope.rs`), from which the record,
//! blind-index and journal sub-keys are derived — so rotating the master key re-wraps one key
//! instead of re-sealing the data. Every use gets its own sub-key through `blake3::derive_key`
//! with a distinct context string, so a leak of one blind-index key says nothing about the
//! record key. All key material is zeroized on drop.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The length of every key, in bytes.
pub const KEY_LEN: usize = 32;

/// The 32-byte master key. Never printed, never stored in plain text by the engine.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; KEY_LEN]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        MasterKey(bytes)
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        MasterKey(bytes)
    }

    /// Stretches a passphrase with Argon2id, a salt and the store's cost parameters.
    pub fn from_passphrase(passphrase: &str, salt: &[u8], params: KdfParams) -> Result<Self> {
        let mut bytes = [0u8; KEY_LEN];
        let argon2_params =
            argon2::Params::new(params.memory_kib, params.passes, params.lanes, None)
                .map_err(|e| Error::Key(format!("passphrase cost parameters: {e}")))?;
        argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2_params,
        )
        .hash_password_into(passphrase.as_bytes(), salt, &mut bytes)
        .map_err(|e| Error::Key(format!("passphrase stretching failed: {e}")))?;
        Ok(MasterKey(bytes))
    }

    /// Reads a key file: 64 hex digits (whitespace around them ignored) or 32 raw bytes.
    pub fn read_file(path: &Path) -> Result<Self> {
        let contents =
            Zeroizing::new(std::fs::read(path).map_err(|e| {
                Error::Key(format!("cannot read key file {}: {e}", path.display()))
            })?);
        if contents.len() == KEY_LEN {
            let mut bytes = [0u8; KEY_LEN];
            bytes.copy_from_slice(&contents);
            return Ok(MasterKey(bytes));
        }
        let text = std::str::from_utf8(&contents).map(str::trim).unwrap_or("");
        decode_hex_key(text).map(MasterKey).ok_or_else(|| {
            Error::Key(format!(
                "key file {} does not hold a key (64 hex digits expected)",
                path.display()
            ))
        })
    }

    /// The raw bytes, to wrap this key under another (see `envelope.rs`).
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Derives the sub-key for one purpose.
    pub fn derive(&self, purpose: Purpose) -> SubKey {
        SubKey(blake3::derive_key(purpose.context(), &self.0))
    }

    /// A short public fingerprint of the key (first 8 bytes of a derived value, in hex), to tell
    /// which key a store or backup needs without revealing anything about it.
    pub fn fingerprint(&self) -> String {
        let id = self.derive(Purpose::Fingerprint);
        id.0[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn decode_hex_key(text: &str) -> Option<[u8; KEY_LEN]> {
    if text.len() != KEY_LEN * 2 {
        return None;
    }
    let mut bytes = [0u8; KEY_LEN];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(bytes)
}

/// The fewest characters a new passphrase may have (see SECURITY.md, "Passphrases": the key
/// check value and every backup header let an attacker with a copy test guesses offline, at
/// the cost of one Argon2id run each).
pub const MIN_PASSPHRASE_CHARS: usize = 16;

/// Refuses a passphrase too short to resist offline guessing, before a store or a new key is
/// made with it.
pub fn check_new_passphrase(passphrase: &str) -> Result<()> {
    let length = passphrase.chars().count();
    if length < MIN_PASSPHRASE_CHARS {
        return Err(Error::Key(format!(
            "the passphrase has {length} characters; a new one needs at least {MIN_PASSPHRASE_CHARS} (a copy of the store or of a backup lets anyone try guesses offline)"
        )));
    }
    Ok(())
}

/// Argon2id's cost parameters for a passphrase, stored with the store (and in every backup
/// header) so that a store's cost can rise later without locking out older copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

impl KdfParams {
    /// What new passphrase stores use: 128 MiB and 3 passes, about 0.4 s on the project
    /// machines — paid once at start, and by every offline guess.
    pub const STRONG: KdfParams = KdfParams {
        memory_kib: 128 * 1024,
        passes: 3,
        lanes: 1,
    };

    /// What stores made before the parameters were recorded used (the argon2 crate's
    /// defaults: 19 MiB, 2 passes).
    pub const LEGACY: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        passes: 2,
        lanes: 1,
    };

    /// The 12 bytes stored: memory, passes, lanes, big-endian.
    pub fn to_bytes(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..4].copy_from_slice(&self.memory_kib.to_be_bytes());
        out[4..8].copy_from_slice(&self.passes.to_be_bytes());
        out[8..].copy_from_slice(&self.lanes.to_be_bytes());
        out
    }

    /// Reads [`KdfParams::to_bytes`]; `None` if malformed.
    pub fn from_bytes(bytes: &[u8]) -> Option<KdfParams> {
        let word = |i: usize| -> Option<u32> {
            Some(u32::from_be_bytes(bytes.get(i..i + 4)?.try_into().ok()?))
        };
        (bytes.len() == 12).then_some(())?;
        Some(KdfParams {
            memory_kib: word(0)?,
            passes: word(4)?,
            lanes: word(8)?,
        })
    }
}

/// A derived 32-byte key for one purpose.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SubKey(pub(crate) [u8; KEY_LEN]);

/// The purposes keys are derived for; each has its own context string, fixed forever.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    RecordSeal,
    BlindEmail,
    BlindPhone,
    BlindNameWord,
    BlindUserName,
    Backup,
    BackupHeader,
    Fingerprint,
    /// Sealing the data key (and the journal key) under the master key.
    KeyWrap,
    /// Sealing each customer's own key in the keyring file (see `keyring.rs`).
    CustomerKeyWrap,
    /// The cluster log's key (from the data key): the entries' keys derive from it.
    ClusterLog,
    /// Wraps the log's epoch keys in `cluster-epochs` (from the data key).
    EpochWrap,
    /// MACs a cluster node's registration in etcd (from the master key).
    ClusterRegistration,
    /// Proves the master key to a node that sends a snapshot (from the master key).
    SnapshotChallenge,
    /// Seals the cursors of `CUSTOMER.QUERY` and `PRODUCT.QUERY` (from the data key).
    QueryCursor,
}

impl Purpose {
    fn context(self) -> &'static str {
        match self {
            Purpose::RecordSeal => "crm-engine 2026-11-25 record seal v1",
            Purpose::BlindEmail => "crm-engine 2026-11-25 blind index email v1",
            Purpose::BlindPhone => "crm-engine 2026-11-25 blind index phone v1",
            Purpose::BlindNameWord => "crm-engine 2026-11-25 blind index name word v1",
            Purpose::BlindUserName => "crm-engine 2026-12-02 blind user name v1",
            Purpose::Backup => "crm-engine 2026-11-25 backup v1",
            Purpose::BackupHeader => "crm-engine 2026-11-25 backup header mac v1",
            Purpose::Fingerprint => "crm-engine 2026-11-25 key fingerprint v1",
            Purpose::KeyWrap => "crm-engine 2026-12-02 key wrap v1",
            Purpose::CustomerKeyWrap => "crm-engine 2026-12-02 customer key wrap v1",
            Purpose::ClusterLog => "crm-engine 2026-12-07 cluster log v1",
            Purpose::EpochWrap => "crm-engine 2026-12-07 cluster log epoch wrap v1",
            Purpose::ClusterRegistration => "crm-engine 2026-12-07 cluster registration mac v1",
            Purpose::SnapshotChallenge => "crm-engine 2026-12-07 cluster snapshot challenge v1",
            Purpose::QueryCursor => "crm-engine 2026-12-14 query cursor seal v1",
        }
    }
}

/// Where the master key of a store comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A key file written by [`write_key_file`].
    File(PathBuf),
    /// A passphrase, stretched with Argon2id and the salt and parameters kept in the store's
    /// metadata.
    Passphrase(Zeroizing<String>),
    /// A key already in memory (tests, embedding applications).
    Key(MasterKey),
}

/// Writes a new random key file with mode 0600; refuses to overwrite an existing file.
pub fn write_key_file(path: &Path) -> Result<()> {
    let key = MasterKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::Key(format!("cannot create key file {}: {e}", path.display())))?;
    let hex = Zeroizing::new(key.0.iter().map(|b| format!("{b:02x}")).collect::<String>());
    file.write_all(hex.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip_and_refuses_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write_key_file(&path).unwrap();
        let key = MasterKey::read_file(&path).unwrap();
        assert_eq!(
            key.fingerprint(),
            MasterKey::read_file(&path).unwrap().fingerprint()
        );
        assert!(write_key_file(&path).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn kdf_params_round_trip_and_short_passphrases_are_refused() {
        for params in [KdfParams::STRONG, KdfParams::LEGACY] {
            assert_eq!(KdfParams::from_bytes(&params.to_bytes()), Some(params));
        }
        assert_eq!(KdfParams::from_bytes(&[0; 11]), None);
        assert!(check_new_passphrase("fifteen chars!!").is_err());
        assert!(check_new_passphrase("sixteen chars!!!").is_ok());
        // Characters, not bytes: 15 two-byte letters are still too short.
        assert!(check_new_passphrase(&"é".repeat(15)).is_err());
    }

    #[test]
    fn sub_keys_differ_by_purpose() {
        let key = MasterKey::from_bytes([7; 32]);
        assert_ne!(
            key.derive(Purpose::BlindEmail).0,
            key.derive(Purpose::BlindPhone).0
        );
        assert_ne!(key.derive(Purpose::RecordSeal).0, [7; 32]);
    }
}
