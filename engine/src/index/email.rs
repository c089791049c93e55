//! Unique blind index on the normalised email: `e ‖ blind16(email) → customer id`.

use super::{blind, BlindKeys};
use crate::trees::{bytes_key, Space};

/// Bytes of the hash kept (see the module overview for why 16).
pub const EMAIL_BLIND_LEN: usize = 16;

/// The index key of an email (already normalised).
pub fn key(keys: &BlindKeys, email: &str) -> Vec<u8> {
    bytes_key(
        Space::EmailIndex,
        &blind::<EMAIL_BLIND_LEN>(&keys.email, email),
    )
}
