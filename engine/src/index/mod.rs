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
//!
//! Every index lives in memory since layout 7 (`derived.rs`), rebuilt at open from the sealed
//! records: the blind ones from the customers, opened under their own keys.

pub mod email;
pub mod name_words;
pub mod orders_by_customer;
pub mod orders_by_product;
pub mod orders_by_time;
pub mod phone;

use crate::keys::{MasterKey, Purpose, SubKey};
use crate::model::Customer;

/// The blind index entries a customer owns (email, phone, each word of the name), so that
/// adding, changing, removing and rebuilding a customer's entries stay one computation.
pub(crate) fn customer_entries(keys: &BlindKeys, customer: &Customer) -> Vec<(Vec<u8>, Vec<u8>)> {
    let id = customer.id;
    let mut entries = vec![(email::key(keys, &customer.email), id.to_be_bytes().to_vec())];
    if let Some(number) = &customer.phone {
        entries.push((phone::key(keys, number, id), Vec::new()));
    }
    for key in name_words::keys_for(keys, &customer.name, id) {
        entries.push((key, Vec::new()));
    }
    entries
}

/// The keys of the blind indexes and of the users' blind names, each derived for its own
/// purpose from the data key.
#[derive(Clone)]
pub struct BlindKeys {
    email: SubKey,
    phone: SubKey,
    name_word: SubKey,
    user_name: SubKey,
}

/// Bytes of the blind hash a user is keyed by: names are unique, so collisions must not occur.
const USER_BLIND_LEN: usize = 16;

impl BlindKeys {
    /// Derives the keys from the store's data key.
    pub fn derive(data: &MasterKey) -> Self {
        BlindKeys {
            email: data.derive(Purpose::BlindEmail),
            phone: data.derive(Purpose::BlindPhone),
            name_word: data.derive(Purpose::BlindNameWord),
            user_name: data.derive(Purpose::BlindUserName),
        }
    }

    /// The storage key of a user: a blind hash of the name, so the disk holds no user name in
    /// plain (the name is inside the sealed record).
    pub fn user_key(&self, name: &str) -> Vec<u8> {
        crate::trees::bytes_key(
            crate::trees::Space::User,
            &blind::<USER_BLIND_LEN>(&self.user_name, name),
        )
    }
}

/// The first `N` bytes of the keyed BLAKE3 hash of `value`.
fn blind<const N: usize>(key: &SubKey, value: &str) -> [u8; N] {
    let hash = blake3::keyed_hash(&key.0, value.as_bytes());
    let mut out = [0u8; N];
    out.copy_from_slice(&hash.as_bytes()[..N]);
    out
}
