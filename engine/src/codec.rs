//! Typed records to and from sealed bytes: `bincode` (serde) inside XChaCha20-Poly1305.

use crate::error::{Error, Result};
use crate::seal::Sealer;
use crate::trees::{trailing_id, Space};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Seals and opens the records of the store under the record key.
#[derive(Clone)]
pub struct Codec {
    sealer: Sealer,
}

impl Codec {
    /// A codec for the record key.
    pub fn new(sealer: Sealer) -> Self {
        Codec { sealer }
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
        let plain = zeroize::Zeroizing::new(self.sealer.open(key, sealed).map_err(|e| {
            Error::Corrupt(format!(
                "{} failed its integrity check: {e}",
                describe_key(key)
            ))
        })?);
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
