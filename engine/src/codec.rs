//! Typed records to and from sealed bytes: `bincode` (serde) inside XChaCha20-Poly1305.
//!
//! Most values are sealed under the store's record key (`seal.rs` framing). A customer record
//! is sealed under the customer's own key from the keyring (`keyring.rs`), so that erasing that
//! key erases every stored copy of the record: `KEYED_VERSION ‖ slot (u64) ‖ nonce ‖ ciphertext
//! ‖ tag`, with the storage key and the slot as associated data (a record moved to another
//! customer's key, or pointed at another slot, fails to open).

use crate::error::{Error, Result};
use crate::seal::Sealer;
use crate::trees::{trailing_id, Space};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// The version byte of a record sealed under its own keyring key.
pub const KEYED_VERSION: u8 = 3;

/// Seals and opens the records of the store under the record key (customers: their own key).
#[derive(Clone)]
pub struct Codec {
    sealer: Sealer,
    keyring: Option<std::sync::Arc<crate::keyring::Keyring>>,
}

impl Codec {
    /// A codec for the record key (a store's older layouts, tests).
    pub fn new(sealer: Sealer) -> Self {
        Codec {
            sealer,
            keyring: None,
        }
    }

    /// A codec that opens customers with their keys from `keyring`.
    pub(crate) fn with_keyring(
        sealer: Sealer,
        keyring: std::sync::Arc<crate::keyring::Keyring>,
    ) -> Self {
        Codec {
            sealer,
            keyring: Some(keyring),
        }
    }

    /// The keyring, for the write paths that take and erase slots.
    pub(crate) fn keyring(&self) -> Result<&crate::keyring::Keyring> {
        self.keyring
            .as_deref()
            .ok_or_else(|| Error::Corrupt("this store handle has no keyring".into()))
    }

    /// Seals a customer record under the key in `slot`.
    pub(crate) fn seal_keyed(&self, key: &[u8], slot: u64, plain: &[u8]) -> Result<Vec<u8>> {
        let sealer = self.keyring()?.sealer(slot)?.ok_or_else(|| {
            Error::Corrupt(format!(
                "{} was to be sealed under erased key slot {slot}",
                describe_key(key)
            ))
        })?;
        let mut sealed = Vec::with_capacity(1 + 8 + crate::seal::SEAL_OVERHEAD + plain.len());
        sealed.push(KEYED_VERSION);
        sealed.extend_from_slice(&slot.to_be_bytes());
        sealer.seal_after(&mut sealed, &keyed_associated(key, slot), plain);
        Ok(sealed)
    }

    /// Opens a value's plain bytes, by the framing its first byte names.
    pub(crate) fn open_plain(&self, key: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        let failed = |e: &dyn std::fmt::Display| {
            Error::Corrupt(format!(
                "{} failed its integrity check: {e}",
                describe_key(key)
            ))
        };
        if sealed.first() != Some(&KEYED_VERSION) {
            return self.sealer.open(key, sealed).map_err(|e| failed(&e));
        }
        let slot = keyed_slot(sealed).ok_or_else(|| failed(&"truncated"))?;
        let sealer = self.keyring()?.sealer(slot)?.ok_or_else(|| {
            Error::Corrupt(format!(
                "{} is sealed under erased key slot {slot}",
                describe_key(key)
            ))
        })?;
        sealer
            .open_unframed(&keyed_associated(key, slot), &sealed[9..])
            .map_err(|e| failed(&e))
    }

    /// Encodes and seals a value stored at `key`.
    pub fn seal<T: Serialize>(&self, key: &[u8], value: &T) -> Vec<u8> {
        self.seal_encoded(key, &encode(value))
    }

    /// Seals a value already [`encode`]d.
    pub fn seal_encoded(&self, key: &[u8], plain: &[u8]) -> Vec<u8> {
        self.sealer.seal(key, plain)
    }

    /// Opens and decodes a value read at `key`; a failure is [`Error::Corrupt`] naming the key.
    pub fn open<T: DeserializeOwned>(&self, key: &[u8], sealed: &[u8]) -> Result<T> {
        let plain = zeroize::Zeroizing::new(self.open_plain(key, sealed)?);
        self.decode(key, &plain)
    }

    /// Decodes the plain text of a value stored at `key` (one staged, not yet sealed).
    pub fn decode<T: DeserializeOwned>(&self, key: &[u8], plain: &[u8]) -> Result<T> {
        let (value, used) = bincode::serde::decode_from_slice(plain, config())
            .map_err(|e| Error::Corrupt(format!("{} does not decode: {e}", describe_key(key))))?;
        if used != plain.len() {
            return Err(Error::Corrupt(format!(
                "{} has trailing bytes",
                describe_key(key)
            )));
        }
        Ok(value)
    }
}

/// The keyring slot a customer record is sealed under (`None`: not a keyed record).
pub fn keyed_slot(sealed: &[u8]) -> Option<u64> {
    if sealed.first() != Some(&KEYED_VERSION) {
        return None;
    }
    Some(u64::from_be_bytes(sealed.get(1..9)?.try_into().ok()?))
}

fn keyed_associated(key: &[u8], slot: u64) -> Vec<u8> {
    let mut associated = Vec::with_capacity(key.len() + 8);
    associated.extend_from_slice(key);
    associated.extend_from_slice(&slot.to_be_bytes());
    associated
}

/// The plain encoding of a record, wiped from memory when dropped.
pub fn encode<T: Serialize>(value: &T) -> zeroize::Zeroizing<Vec<u8>> {
    // Encoding our own plain structs into a Vec cannot fail.
    zeroize::Zeroizing::new(bincode::serde::encode_to_vec(value, config()).unwrap_or_default())
}

/// Names a storage key in words, for error messages (`customer 42`, `rollup of customer 7`).
pub fn describe_key(key: &[u8]) -> String {
    let id = || trailing_id(key).map_or_else(|| "?".to_string(), |id| id.to_string());
    match key.first().copied() {
        Some(b) if b == Space::Customer as u8 => format!("customer {}", id()),
        Some(b) if b == Space::Product as u8 => format!("product {}", id()),
        Some(b) if b == Space::Order as u8 => format!("order {}", id()),
        Some(b) if b == Space::CustomerRollup as u8 => format!("rollup of customer {}", id()),
        Some(b) if b == Space::ProductRollup as u8 => format!("rollup of product {}", id()),
        Some(b) if b == Space::Forgotten as u8 => format!("forgotten customer {}", id()),
        Some(b) if b == Space::KeptMerge as u8 => format!("kept merge of customer {}", id()),
        // Users are keyed by a blind hash of the name: there is no name to show.
        Some(b) if b == Space::User as u8 || b == Space::LegacyUser as u8 => {
            "a user record".to_string()
        }
        Some(b) if b == Space::Meta as u8 => {
            format!("metadata {:?}", String::from_utf8_lossy(&key[1..]))
        }
        _ => "a stored value".to_string(),
    }
}
