//! Blind index on the normalised phone: `f ‖ blind8(phone) ‖ customer id → ()`.
//! Phones need not be unique (a household shares one).

use super::{blind, BlindKeys};
use crate::trees::{bytes_key, pair_key, Space};

const PHONE_BLIND_LEN: usize = 8;

/// The prefix all customers with this phone share.
pub fn prefix(keys: &BlindKeys, phone: &str) -> Vec<u8> {
    bytes_key(
        Space::PhoneIndex,
        &blind::<PHONE_BLIND_LEN>(&keys.phone, phone),
    )
}

/// The entry of one customer.
pub fn key(keys: &BlindKeys, phone: &str, customer_id: u64) -> Vec<u8> {
    pair_key(
        Space::PhoneIndex,
        &blind::<PHONE_BLIND_LEN>(&keys.phone, phone),
        customer_id,
    )
}
