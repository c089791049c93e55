//! Sealing of stored values with XChaCha20-Poly1305.
//!
//! A sealed value is `version (1 byte) ‖ nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes)`. The
//! nonce is random for every write (192 bits, so random nonces never collide in practice). The
//! associated data is the value's full storage key — record kind and primary key — so a
//! ciphertext copied or moved to another key fails to open instead of passing as that record.

use crate::keys::SubKey;
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// The format version byte in front of every sealed value.
pub const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Bytes a sealed value adds to its plain text.
pub const SEAL_OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Why a sealed value did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Shorter than the fixed overhead.
    Truncated,
    /// A format version this build does not know.
    UnknownVersion(u8),
    /// The tag did not verify: tampered, moved, or sealed under another key.
    Forged,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Truncated => f.write_str("sealed value is truncated"),
            OpenError::UnknownVersion(v) => write!(f, "unknown format version {v}"),
            OpenError::Forged => f.write_str("authentication tag does not verify"),
        }
    }
}

/// Seals and opens values under one sub-key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// A sealer for a derived key.
    pub fn new(key: &SubKey) -> Self {
        Sealer {
            cipher: XChaCha20Poly1305::new((&key.0).into()),
        }
    }

    /// Seals `plain` bound to `associated` (the storage key), into one allocation.
    pub fn seal(&self, associated: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut sealed = Vec::with_capacity(SEAL_OVERHEAD + plain.len());
        sealed.push(SEAL_VERSION);
        self.seal_after(&mut sealed, associated, plain);
        sealed
    }

    /// Appends `nonce ‖ ciphertext ‖ tag` to `out`, behind whatever framing it already holds
    /// (the record version byte, a backup chunk's length).
    pub fn seal_after(&self, out: &mut Vec<u8>, associated: &[u8], plain: &[u8]) {
        let start = out.len();
        out.reserve(NONCE_LEN + plain.len() + TAG_LEN);
        out.extend_from_slice(&[0u8; NONCE_LEN]);
        rand::thread_rng().fill_bytes(&mut out[start..start + NONCE_LEN]);
        out.extend_from_slice(plain);
        let (head, body) = out.split_at_mut(start + NONCE_LEN);
        match self.cipher.encrypt_in_place_detached(
            XNonce::from_slice(&head[start..]),
            associated,
            body,
        ) {
            Ok(tag) => out.extend_from_slice(&tag),
            // Only messages over 256 GiB fail, which we never build; never leave plain text.
            Err(_) => out.truncate(start),
        }
    }

    /// Opens a value sealed by [`Sealer::seal`] with the same associated data.
    pub fn open(&self, associated: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(OpenError::Truncated);
        }
        if sealed[0] != SEAL_VERSION {
            return Err(OpenError::UnknownVersion(sealed[0]));
        }
        self.open_unframed(associated, &sealed[1..])
    }

    /// Opens `nonce ‖ ciphertext ‖ tag` as appended by [`Sealer::seal_after`].
    pub fn open_unframed(&self, associated: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Truncated);
        }
        let nonce = XNonce::from_slice(&sealed[..NONCE_LEN]);
        self.cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[NONCE_LEN..],
                    aad: associated,
                },
            )
            .map_err(|_| OpenError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKey, Purpose};

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(&MasterKey::from_bytes([byte; 32]).derive(Purpose::RecordSeal))
    }

    #[test]
    fn round_trip_and_every_failure() {
        let s = sealer(1);
        let sealed = s.seal(b"c\0\0\0\0\0\0\0\x07", b"hello");
        assert_eq!(s.open(b"c\0\0\0\0\0\0\0\x07", &sealed).unwrap(), b"hello");
        assert_eq!(
            s.open(b"c\0\0\0\0\0\0\0\x08", &sealed),
            Err(OpenError::Forged)
        );
        assert_eq!(
            sealer(2).open(b"c\0\0\0\0\0\0\0\x07", &sealed),
            Err(OpenError::Forged)
        );
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            s.open(b"c\0\0\0\0\0\0\0\x07", &flipped),
            Err(OpenError::Forged)
        );
        assert_eq!(s.open(b"x", &sealed[..10]), Err(OpenError::Truncated));
        let mut versioned = sealed;
        versioned[0] = 9;
        assert_eq!(
            s.open(b"c\0\0\0\0\0\0\0\x07", &versioned),
            Err(OpenError::UnknownVersion(9))
        );
    }
}
