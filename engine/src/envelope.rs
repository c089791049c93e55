//! Envelope encryption: what opens a store.
//!
//! The master key (from a key file or a passphrase) never seals a record. It wraps the store's
//! *data key* — 32 random bytes made with the store — sealed under a key derived from the master
//! key, in the metadata entry `m‖data_key`. Opening that entry is the key check: a wrong master
//! key fails to open it ([`Error::WrongKey`]) before anything is read or written. Records, blind
//! indexes and the journal use keys derived from the data key, so rotating the master key
//! (`crm-server rekey`) re-wraps this one entry and re-seals nothing.
//!
//! A store made before the data key existed (layout 1) sealed its records with keys derived from
//! the master key itself; its upgrade wraps the master key's bytes as the data key, so every
//! record and index stays exactly as it was (`upgrade.rs`).

use crate::error::{Error, Result};
use crate::keys::{check_new_passphrase, KdfParams, KeySource, MasterKey, Purpose};
use crate::seal::Sealer;
use crate::trees::{bytes_key, meta, Space};
use rand::RngCore;

/// What a new passphrase store records beside its wrapped data key.
pub(crate) struct NewPassphrase {
    pub salt: Vec<u8>,
    pub params: KdfParams,
}

/// The master key for `key`: for a passphrase, stretched with the store's salt and parameters,
/// or — when `creating` — with fresh ones, after refusing a passphrase too short.
pub(crate) fn master_key(
    tree: &crate::storage::Tree,
    key: &KeySource,
    creating: bool,
) -> Result<(MasterKey, Option<NewPassphrase>)> {
    match key {
        KeySource::Passphrase(passphrase) if creating => {
            check_new_passphrase(passphrase)?;
            let mut salt = vec![0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut salt);
            let params = KdfParams::STRONG;
            let master = MasterKey::from_passphrase(passphrase, &salt, params)?;
            Ok((master, Some(NewPassphrase { salt, params })))
        }
        _ => {
            let salt = tree.get(bytes_key(Space::Meta, meta::KDF_SALT))?;
            let params = tree.get(bytes_key(Space::Meta, meta::KDF_PARAMS))?;
            Ok((stretched(key, salt.as_deref(), params.as_deref())?, None))
        }
    }
}

/// The master key `key` gives for a store whose passphrase salt and parameters (`m‖kdf_salt`,
/// `m‖kdf_params`) are these: a passphrase for a store without a salt (made with a key file)
/// is [`Error::WrongKey`].
pub(crate) fn stretched(
    key: &KeySource,
    salt: Option<&[u8]>,
    params: Option<&[u8]>,
) -> Result<MasterKey> {
    match key {
        KeySource::Key(master) => Ok(master.clone()),
        KeySource::File(path) => MasterKey::read_file(path),
        KeySource::Passphrase(passphrase) => {
            let Some(salt) = salt else {
                return Err(Error::WrongKey);
            };
            MasterKey::from_passphrase(passphrase, salt, parse_params(params)?)
        }
    }
}

/// The Argon2id parameters recorded with a passphrase store (older stores: the legacy ones).
pub(crate) fn stored_params(tree: &crate::storage::Tree) -> Result<KdfParams> {
    parse_params(
        tree.get(bytes_key(Space::Meta, meta::KDF_PARAMS))?
            .as_deref(),
    )
}

/// Reads `m‖kdf_params` (absent: the legacy parameters).
fn parse_params(bytes: Option<&[u8]>) -> Result<KdfParams> {
    match bytes {
        Some(bytes) => KdfParams::from_bytes(bytes)
            .ok_or_else(|| Error::Corrupt("metadata \"kdf_params\" is malformed".into())),
        None => Ok(KdfParams::LEGACY),
    }
}

fn wrapping(master: &MasterKey) -> Sealer {
    Sealer::new(&master.derive(Purpose::KeyWrap))
}

/// The data key sealed under the master key, bound to the entry it is stored at.
pub(crate) fn wrap(master: &MasterKey, name: &[u8], key: &MasterKey) -> Vec<u8> {
    wrapping(master).seal(&bytes_key(Space::Meta, name), key.expose())
}

/// Opens a wrapped key; a master key that does not open it is [`Error::WrongKey`].
pub(crate) fn unwrap(master: &MasterKey, name: &[u8], sealed: &[u8]) -> Result<MasterKey> {
    let plain = zeroize::Zeroizing::new(
        wrapping(master)
            .open(&bytes_key(Space::Meta, name), sealed)
            .map_err(|_| Error::WrongKey)?,
    );
    let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| {
        Error::Corrupt(format!(
            "the wrapped {} is malformed",
            String::from_utf8_lossy(name)
        ))
    })?;
    Ok(MasterKey::from_bytes(bytes))
}

/// The data key of an existing store.
pub(crate) fn open_data_key(tree: &crate::storage::Tree, master: &MasterKey) -> Result<MasterKey> {
    let sealed = tree
        .get(bytes_key(Space::Meta, meta::DATA_KEY))?
        .ok_or_else(|| Error::Corrupt("the store has no data key".into()))?;
    unwrap(master, meta::DATA_KEY, &sealed)
}

/// Stages the entries that make a new store — a fresh data key wrapped under the master key,
/// and for a passphrase store its salt and parameters — and returns the data key.
pub(crate) fn new_store_entries(
    master: &MasterKey,
    passphrase: Option<NewPassphrase>,
    batch: &mut crate::storage::Batch,
) -> MasterKey {
    let data = MasterKey::generate();
    batch.insert(
        bytes_key(Space::Meta, meta::DATA_KEY),
        wrap(master, meta::DATA_KEY, &data),
    );
    if let Some(new) = passphrase {
        batch.insert(bytes_key(Space::Meta, meta::KDF_SALT), new.salt);
        batch.insert(
            bytes_key(Space::Meta, meta::KDF_PARAMS),
            new.params.to_bytes().to_vec(),
        );
    }
    data
}

/// The journal's chaining key: unwrapped, or — for a store that has none yet (new, or just
/// upgraded from a layout without a journal) — made, wrapped and stored now.
pub(crate) fn journal_key(
    db: &crate::storage::Db,
    tree: &crate::storage::Tree,
    master: &MasterKey,
) -> Result<MasterKey> {
    let key = bytes_key(Space::Meta, meta::JOURNAL_KEY);
    if let Some(sealed) = tree.get(&key)? {
        return unwrap(master, meta::JOURNAL_KEY, &sealed);
    }
    let fresh = MasterKey::generate();
    tree.insert(key, wrap(master, meta::JOURNAL_KEY, &fresh))?;
    db.flush()?;
    Ok(fresh)
}
