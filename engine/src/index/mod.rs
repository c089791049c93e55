//! Secondary indexes: one file per index, each saying which keys a record owns in it.
//!
//! Blind indexes (email, phone, name words) key their entries by a keyed BLAKE3 hash of the
//! normalised value, so the disk holds no plain personal data, yet equality lookups stay one
//! `get` or one short prefix scan. Plain indexes (orders by customer, product, time) hold only
//! ids and times.
//!
//! Truncation: the unique email index keeps 16 bytes of the hash (128 bits: a collision between
//! two different emails needs about 2^64 customers, so uniqueness by hash is uniqueness by
//! value). The phone and name-word indexes keep 8 bytes: a lookup always opens the candidate
//! records and compares the real values, so a rare collision costs one extra decryption and is
//! never a wrong answer, and shorter entries keep the index small.

pub mod email;
pub mod name_words;
pub mod orders_by_customer;
pub mod orders_by_product;
pub mod orders_by_time;
pub mod phone;

use crate::keys::{MasterKey, Purpose, SubKey};

/// The keys of the three blind indexes, each derived for its own purpose.
#[derive(Clone)]
pub struct BlindKeys {
    email: SubKey,
    phone: SubKey,
    name_word: SubKey,
}

impl BlindKeys {
    /// Derives the three keys from the master key.
    pub fn derive(master: &MasterKey) -> Self {
        BlindKeys {
            email: master.derive(Purpose::BlindEmail),
            phone: master.derive(Purpose::BlindPhone),
            name_word: master.derive(Purpose::BlindNameWord),
        }
    }
}

/// The first `N` bytes of the keyed BLAKE3 hash of `value`.
fn blind<const N: usize>(key: &SubKey, value: &str) -> [u8; N] {
    let hash = blake3::keyed_hash(&key.0, value.as_bytes());
    let mut out = [0u8; N];
    out.copy_from_slice(&hash.as_bytes()[..N]);
    out
}
