//! Blind hashes: what the indexes of personal values (email, phone, name words) and the users'
//! storage keys are made of, so that no index, and no byte on disk, holds such a value in plain.
//!
//! A blind hash is the keyed BLAKE3 hash of the normalised value under a key derived for its
//! purpose from the data key. The unique email index keeps 16 bytes of it (a collision between
//! two different emails needs about 2^64 customers, so uniqueness by hash is uniqueness by
//! value); the phone and name-word indexes keep 8: a lookup opens every candidate and compares
//! the real values, so a rare collision costs one decryption and is never a wrong answer.

use crate::keys::{MasterKey, Purpose, SubKey};

/// The 16 bytes of an email's blind hash.
pub(crate) type EmailHash = [u8; 16];

/// Bytes of the blind hash a user is keyed by: names are unique, so collisions must not occur.
const USER_BLIND_LEN: usize = 16;

/// The keys of the blind hashes, each derived for its own purpose from the data key.
#[derive(Clone)]
pub struct BlindKeys {
    email: SubKey,
    phone: SubKey,
    name_word: SubKey,
    user_name: SubKey,
    /// Not a blind hash's key: the key that seals query cursors (`query/cursor.rs`), derived
    /// with these from the data key and needed by the same readers.
    query_cursor: SubKey,
}

impl BlindKeys {
    /// Derives the keys from the store's data key.
    pub fn derive(data: &MasterKey) -> Self {
        BlindKeys {
            email: data.derive(Purpose::BlindEmail),
            phone: data.derive(Purpose::BlindPhone),
            name_word: data.derive(Purpose::BlindNameWord),
            user_name: data.derive(Purpose::BlindUserName),
            query_cursor: data.derive(Purpose::QueryCursor),
        }
    }

    /// The key that seals query cursors.
    pub(crate) fn query_cursor(&self) -> &SubKey {
        &self.query_cursor
    }

    /// The storage key of a user: a blind hash of the name, so the disk holds no user name in
    /// plain (the name is inside the sealed record).
    pub fn user_key(&self, name: &str) -> Vec<u8> {
        crate::trees::bytes_key(
            crate::trees::Space::User,
            &blind::<USER_BLIND_LEN>(&self.user_name, name),
        )
    }

    /// An email's hash (the email already normalised).
    pub(crate) fn email(&self, email: &str) -> EmailHash {
        blind(&self.email, email)
    }

    /// A phone's hash (the phone already normalised).
    pub(crate) fn phone(&self, phone: &str) -> u64 {
        u64::from_be_bytes(blind(&self.phone, phone))
    }

    /// A name word's hash (one of [`crate::values::name_words`]).
    pub(crate) fn name_word(&self, word: &str) -> u64 {
        u64::from_be_bytes(blind(&self.name_word, word))
    }
}

/// The first `N` bytes of the keyed BLAKE3 hash of `value`.
fn blind<const N: usize>(key: &SubKey, value: &str) -> [u8; N] {
    let hash = blake3::keyed_hash(&key.0, value.as_bytes());
    let mut out = [0u8; N];
    out.copy_from_slice(&hash.as_bytes()[..N]);
    out
}

/// Hashes a blind hash by its first 8 bytes: they are already uniform and unknown to anyone
/// without the data key, so hashing them again (SipHash) would buy nothing.
#[derive(Clone, Copy, Default)]
pub(crate) struct ByBlindHash;

impl std::hash::BuildHasher for ByBlindHash {
    type Hasher = FirstEightBytes;
    fn build_hasher(&self) -> FirstEightBytes {
        FirstEightBytes(0)
    }
}

/// See [`ByBlindHash`].
pub(crate) struct FirstEightBytes(u64);

impl std::hash::Hasher for FirstEightBytes {
    fn write(&mut self, bytes: &[u8]) {
        // An array key is hashed as its bytes (no length prefix for arrays); the first write of
        // 8 or more bytes is the value, anything else folds in.
        let mut first = [0u8; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_be_bytes(first);
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = self.0.rotate_left(5) ^ value;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
