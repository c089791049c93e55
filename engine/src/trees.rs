//! Every key the store writes, in one place.
//!
//! The whole store lives in one sled tree, with a one-byte prefix per key space. One tree is
//! what makes a single `apply_batch` atomic across a record, its index entries, its rollups and
//! the id high-water marks: sled batches are atomic within a tree, and multi-tree transactions
//! cost 10–40× more (see `write/mod.rs`). Ids are big-endian so that key order is id order.

/// The name of the sled tree that holds everything.
pub const DATA_TREE: &[u8] = b"crm";

/// The key spaces (first byte of every key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Space {
    /// `c` ‖ id → sealed customer.
    Customer = b'c',
    /// `p` ‖ id → sealed product.
    Product = b'p',
    /// `o` ‖ id → sealed order.
    Order = b'o',
    /// `U` ‖ blind16(name) → sealed user (the name is inside the sealed record only).
    User = b'U',
    /// `u` ‖ name → sealed user: layout 1 only, rewritten by its upgrade.
    LegacyUser = b'u',
    /// `e` ‖ blind(email) → customer id (unique; in memory since layout 7).
    EmailIndex = b'e',
    /// `f` ‖ blind(phone) ‖ customer id → () (in memory since layout 7).
    PhoneIndex = b'f',
    /// `n` ‖ blind(word) ‖ customer id → () (in memory since layout 7).
    NameWordIndex = b'n',
    /// `C` ‖ customer id ‖ order id → created_at (in memory since layout 4).
    OrdersByCustomer = b'C',
    /// `P` ‖ product id ‖ order id → created_at (in memory since layout 4).
    OrdersByProduct = b'P',
    /// `T` ‖ created_at ‖ order id → () (in memory since layout 4).
    OrdersByTime = b'T',
    /// `R` ‖ customer id → sealed customer rollup: layouts up to 4 only (now in memory,
    /// `rollup_table.rs`).
    CustomerRollup = b'R',
    /// `Q` ‖ product id → sealed product rollup: layouts up to 4 only.
    ProductRollup = b'Q',
    /// `J` ‖ first seq → sealed journal page (one per write group).
    JournalPage = b'J',
    /// `j` ‖ kind ‖ id ‖ seq → (): the journal entries about one record (in memory since
    /// layout 4).
    JournalIndex = b'j',
    /// `F` ‖ customer id → sealed [`Forgotten`](crate::model::Forgotten): the ids erased by
    /// `CUSTOMER.FORGET` (`FORGET.LIST`), never reused.
    Forgotten = b'F',
    /// `M` ‖ merged-away customer id → [`KeptMerge`](crate::model::KeptMerge), sealed under
    /// that customer's own key: what `CUSTOMER.UNMERGE` needs, for 30 days.
    KeptMerge = b'M',
    /// `W` ‖ kept customer id ‖ merged-away customer id → (): the kept merges into a customer
    /// (what its `FORGET` erases too).
    MergesByKeep = b'W',
    /// `x` ‖ slot → (): a keyring slot whose key is destroyed once its batch is durable; a
    /// crash before the overwrite leaves this, and the next open finishes the erasure.
    PendingErasure = b'x',
    /// `K` ‖ slot → a keyring slot's bytes: only in backup files, never in the tree (the
    /// keyring lives in its own file, see `keyring.rs`).
    KeyringSlot = b'K',
    /// `E` ‖ epoch → a cluster log epoch's slot: only in a cluster node's snapshot, never in
    /// the tree (the keys live in `cluster-epochs`, see `replica/epochs.rs`).
    EpochSlot = b'E',
    /// `m` ‖ name → metadata (wrapped keys, salt, high-water marks, counts).
    Meta = b'm',
}

/// The index spaces older layouts wrote to the tree (the indexes are typed structures in
/// memory now, `indexes/`): blind indexes, order indexes, the journal's index by record.
pub(crate) const DERIVED: [Space; 7] = [
    Space::EmailIndex,
    Space::PhoneIndex,
    Space::NameWordIndex,
    Space::OrdersByCustomer,
    Space::OrdersByProduct,
    Space::OrdersByTime,
    Space::JournalIndex,
];

/// The spaces the current layout keeps in memory only, derived from the sealed customers,
/// orders and journal pages at open: never written to the tree, swept out of an older store
/// by its upgrade, skipped when an older backup is restored. The derived indexes and the
/// rollups (`rollup_table.rs`).
pub(crate) const MEMORY_ONLY: [Space; DERIVED.len() + 2] = {
    let mut all = [Space::CustomerRollup; DERIVED.len() + 2];
    let mut at = 0;
    while at < DERIVED.len() {
        all[at] = DERIVED[at];
        at += 1;
    }
    all[at + 1] = Space::ProductRollup;
    all
};

/// Whether a key belongs to a space kept in memory only.
pub(crate) fn is_memory_only(key: &[u8]) -> bool {
    in_spaces(key, &MEMORY_ONLY)
}

/// Whether a key's first byte is one of `spaces`.
pub(crate) fn in_spaces(key: &[u8], spaces: &[Space]) -> bool {
    key.first()
        .is_some_and(|b| spaces.iter().any(|s| *s as u8 == *b))
}

impl Space {
    /// The one-byte prefix, for prefix scans.
    pub fn prefix(self) -> [u8; 1] {
        [self as u8]
    }
}

/// `space ‖ id`.
pub fn id_key(space: Space, id: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = space as u8;
    key[1..].copy_from_slice(&id.to_be_bytes());
    key
}

/// `space ‖ a ‖ b`, for the two-id index keys.
pub fn pair_key(space: Space, first: &[u8], second: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + first.len() + 8);
    key.push(space as u8);
    key.extend_from_slice(first);
    key.extend_from_slice(&second.to_be_bytes());
    key
}

/// `space ‖ bytes`.
/// The key of the custom fields' declarations ([`meta::SCHEMA`]).
pub fn schema_key() -> Vec<u8> {
    bytes_key(Space::Meta, meta::SCHEMA)
}

pub fn bytes_key(space: Space, bytes: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + bytes.len());
    key.push(space as u8);
    key.extend_from_slice(bytes);
    key
}

/// The id in the last 8 bytes of a key.
pub fn trailing_id(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// A big-endian u64 value.
pub fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// Names of the metadata entries.
pub mod meta {
    /// Layout 1's key check: a fixed text sealed with the record key. Layout 2 checks the key
    /// by opening [`DATA_KEY`].
    pub const KEY_CHECK: &[u8] = b"key_check";
    /// The data key, sealed under the master key (see `envelope.rs`).
    pub const DATA_KEY: &[u8] = b"data_key";
    /// The journal's chaining key, sealed under the master key (see `journal/mod.rs`).
    pub const JOURNAL_KEY: &[u8] = b"journal_key";
    /// The Argon2id salt for passphrase-derived keys.
    pub const KDF_SALT: &[u8] = b"kdf_salt";
    /// The Argon2id cost parameters of a passphrase store (absent: the legacy ones).
    pub const KDF_PARAMS: &[u8] = b"kdf_params";
    /// The on-disk layout version.
    pub const LAYOUT_VERSION: &[u8] = b"layout_version";
    /// Present while the upgrade to layout 6 still has orders to fold into pages.
    pub const PACKING_ORDERS: &[u8] = b"packing_orders";
    /// The keyring slots taken so far (the next customer takes this one); sealed.
    pub const KEYRING_NEXT: &[u8] = b"keyring_next";
    /// The custom fields' declarations ([`Catalog`](crate::schema::Catalog)); sealed.
    pub const SCHEMA: &[u8] = b"schema";
    /// In a cluster, the position of the last log entry this node applied, written with that
    /// entry's batch; sealed. Node-local: never in an entry (`replica/`).
    pub const CLUSTER_APPLIED: &[u8] = b"cluster_applied";

    /// The largest id ever used for a kind (`hw/c`, `hw/p`, `hw/o`); sealed, like the counts,
    /// so that a changed value is caught (layout 2).
    pub fn high_water(kind_prefix: u8) -> Vec<u8> {
        vec![b'h', b'w', b'/', kind_prefix]
    }

    /// The number of live records of a kind (`n/c`, `n/p`, `n/o`).
    pub fn count(kind_prefix: u8) -> Vec<u8> {
        vec![b'n', b'/', kind_prefix]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_keys_sort_like_ids() {
        assert!(id_key(Space::Customer, 255) < id_key(Space::Customer, 256));
        assert_eq!(
            trailing_id(&pair_key(Space::OrdersByProduct, &7u64.to_be_bytes(), 9)),
            Some(9)
        );
    }
}
