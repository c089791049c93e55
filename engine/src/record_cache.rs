//! Decrypted customers, products and orders kept in memory for point reads.
//!
//! A point read from sled costs a tree lookup, an authenticated decryption and a `bincode`
//! decode: about two thirds of a `CUSTOMER.GET`. Hot records are therefore kept opened, as
//! SQLCipher keeps decrypted pages in its page cache. This adds no new exposure: the process
//! already holds the key that opens every record, and the cache never reaches the disk. Its
//! size is bounded (`Options::record_cache_bytes`, 0 turns it off) and its eviction is
//! scan-resistant (`quick_cache`'s S3-FIFO), so one `ORDER.LIST` does not flush it.
//!
//! # Why a read never sees a stale record
//!
//! Only the committer changes records, and it drops their entries right after the batch that
//! changes them is applied, before any writer is answered. A reader that misses loads from
//! sled and may only insert what it loaded if no invalidation of that record happened since it
//! started: each record maps to a stripe whose counter the committer bumps, under the stripe's
//! lock, while dropping the entry. The reader notes the counter before its sled read and
//! inserts, under the same lock, only if it is unchanged. So a value read before a batch is
//! either refused (the counter moved) or removed by the invalidation that follows it.

use crate::model::{Customer, Order, Product};
use crate::trees::{trailing_id, Space};
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many invalidation stripes; a power of two.
const STRIPES: usize = 64;

/// A record held by the cache and its weight, worked out once when it is inserted. Any kind of
/// record: the key's space says which, and a read takes it back out by downcasting.
#[derive(Clone)]
pub(crate) struct Cached {
    record: Arc<dyn Any + Send + Sync>,
    weight: u64,
}

/// The record kinds the cache holds.
pub(crate) trait CachedKind: Send + Sync + 'static {
    const SPACE: Space;
    /// Approximate bytes of the record's fields, inline and on the heap, for the cache budget.
    fn field_bytes(&self) -> u64;
}

/// Bytes an entry costs besides the record's fields: its slot in the table (key, value, hash
/// and queue links, its share of the table's spare room) and the `Arc`'s counts and allocation
/// header. Measured (`examples/cache_profile.rs`): with these weights a full 32 MiB cache adds
/// about 29 MiB to the resident memory.
const ENTRY_OVERHEAD: u64 = 144;

/// A string's heap allocation: its bytes, rounded up by the allocator, and a header.
fn text_bytes(text: &str) -> u64 {
    match text.len() as u64 {
        0 => 0,
        len => len.div_ceil(16) * 16 + 16,
    }
}

impl CachedKind for Customer {
    const SPACE: Space = Space::Customer;
    fn field_bytes(&self) -> u64 {
        std::mem::size_of::<Self>() as u64
            + text_bytes(&self.name)
            + text_bytes(&self.email)
            + self.phone.as_deref().map_or(0, text_bytes)
            + self.address.as_deref().map_or(0, text_bytes)
    }
}

impl CachedKind for Product {
    const SPACE: Space = Space::Product;
    fn field_bytes(&self) -> u64 {
        std::mem::size_of::<Self>() as u64 + text_bytes(&self.name)
    }
}

impl CachedKind for Order {
    const SPACE: Space = Space::Order;
    fn field_bytes(&self) -> u64 {
        std::mem::size_of::<Self>() as u64
    }
}

#[derive(Clone)]
struct RecordWeight;

impl Weighter<(u8, u64), Cached> for RecordWeight {
    fn weight(&self, _key: &(u8, u64), cached: &Cached) -> u64 {
        cached.weight
    }
}

/// Hits and misses since the store opened, and the bytes held now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordCacheStats {
    pub hits: u64,
    pub misses: u64,
    pub bytes: u64,
    pub capacity: u64,
}

/// The cache of opened records; see the module documentation for its consistency rule.
pub(crate) struct RecordCache {
    /// `None` when the budget is 0.
    cache: Option<Cache<(u8, u64), Cached, RecordWeight>>,
    capacity: u64,
    stripes: Box<[Mutex<u64>]>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl RecordCache {
    /// A cache holding about `capacity` bytes of records (none for 0).
    pub fn new(capacity: u64) -> RecordCache {
        // Entries weigh ~200 (an order) to ~450 bytes (a customer): size the table between, but
        // allocate no more than a million slots up front (the table grows past them).
        let estimated_items = usize::try_from(capacity / 300).map_or(1 << 20, |n| n.min(1 << 20));
        RecordCache {
            cache: (capacity > 0)
                .then(|| Cache::with_weighter(estimated_items.max(16), capacity, RecordWeight)),
            capacity,
            stripes: (0..STRIPES).map(|_| Mutex::new(0)).collect(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The stripe's generation counter, locked. A poisoned lock is taken over: the counter is
    /// a plain number, and skipping an invalidation would leave a stale record behind.
    fn stripe(&self, key: (u8, u64)) -> std::sync::MutexGuard<'_, u64> {
        let mixed = key.1.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(key.0);
        self.stripes[(mixed >> 58) as usize % STRIPES]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The record `id` of kind `T`: from the cache, or from `load` (then cached). Shared, so a
    /// hit copies nothing.
    pub fn get_or_load<T: CachedKind>(
        &self,
        id: u64,
        load: impl FnOnce() -> crate::Result<Option<T>>,
    ) -> crate::Result<Option<Arc<T>>> {
        let Some(cache) = &self.cache else {
            return Ok(load()?.map(Arc::new));
        };
        let key = (T::SPACE as u8, id);
        if let Some(record) = cache.get(&key).and_then(|c| c.record.downcast::<T>().ok()) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(record));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let before = *self.stripe(key);
        let Some(loaded) = load()?.map(Arc::new) else {
            return Ok(None);
        };
        let generation = self.stripe(key);
        if *generation == before {
            let weight = ENTRY_OVERHEAD + loaded.field_bytes();
            let record = loaded.clone();
            cache.insert(key, Cached { record, weight });
        }
        drop(generation);
        Ok(Some(loaded))
    }

    /// Drops the cached records among `keys` (storage keys a write group changed). Called by
    /// the committer after the group's batch is applied, before its writers are answered.
    pub fn invalidate(&self, keys: &[(u8, u64)]) {
        let Some(cache) = &self.cache else {
            return;
        };
        for &key in keys {
            let mut generation = self.stripe(key);
            *generation = generation.wrapping_add(1);
            cache.remove(&key);
        }
    }

    /// The cache keys among a group's storage keys.
    pub fn keys_of<'a>(&self, storage_keys: impl Iterator<Item = &'a [u8]>) -> Vec<(u8, u64)> {
        if self.cache.is_none() {
            return Vec::new();
        }
        storage_keys
            .filter(|key| key.len() == 9)
            .filter_map(|key| {
                let space = *key.first()?;
                let cached = [Space::Customer, Space::Product, Space::Order]
                    .iter()
                    .any(|s| *s as u8 == space);
                cached.then(|| trailing_id(key).map(|id| (space, id)))?
            })
            .collect()
    }

    /// Counters for `INFO`.
    pub fn stats(&self) -> RecordCacheStats {
        RecordCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bytes: self.cache.as_ref().map_or(0, Cache::weight),
            capacity: self.capacity,
        }
    }
}
