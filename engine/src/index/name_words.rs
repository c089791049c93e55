//! Blind index on each whole word of a name: `n ‖ blind8(word) ‖ customer id → ()`.
//!
//! Words are those of [`crate::values::name_words`] (NFC, lower case, runs of letters and
//! digits), so `FIND NAME ada` finds `Ada Lovelace` without the name being stored in plain.

use super::{blind, BlindKeys};
use crate::trees::{bytes_key, pair_key, Space};
use crate::values::name_words;

const WORD_BLIND_LEN: usize = 8;

/// The prefix all customers whose name has this word share.
pub fn prefix(keys: &BlindKeys, word: &str) -> Vec<u8> {
    bytes_key(
        Space::NameWordIndex,
        &blind::<WORD_BLIND_LEN>(&keys.name_word, word),
    )
}

/// Every entry a customer with this name owns.
pub fn keys_for(keys: &BlindKeys, name: &str, customer_id: u64) -> Vec<Vec<u8>> {
    name_words(name)
        .iter()
        .map(|word| {
            pair_key(
                Space::NameWordIndex,
                &blind::<WORD_BLIND_LEN>(&keys.name_word, word),
                customer_id,
            )
        })
        .collect()
}
