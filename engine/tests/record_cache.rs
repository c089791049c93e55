//! The record cache: point reads after writes never see an old record, with or without
//! concurrent readers filling the cache.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use crm_engine::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn open_with_cache(dir: &std::path::Path, bytes: u64) -> Store {
    let options = Options {
        record_cache_bytes: bytes,
        ..Options::default()
    };
    Store::open(dir, &KeySource::Key(MasterKey::generate()), &options).unwrap()
}

fn rename(store: &Store, id: u64, name: &str) {
    let mut patch = CustomerPatch::default();
    patch.set(Customer::NAME, name).unwrap();
    store.write(Op::UpdateCustomer(id, patch)).unwrap();
}

#[test]
fn reads_after_every_kind_of_write_see_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_cache(dir.path(), 1 << 20);
    let ada = customer(&store, "Ada", "ada@x.io");
    let lamp = product(&store, "Lamp", "12.50", 10);
    assert_eq!(store.customer(ada).unwrap().unwrap().name, "Ada");
    assert_eq!(store.customer(ada).unwrap().unwrap().name, "Ada");
    assert_eq!(store.product(lamp).unwrap().unwrap().stock, 10);

    rename(&store, ada, "Ada King");
    assert_eq!(store.customer(ada).unwrap().unwrap().name, "Ada King");

    // An order changes its product's stock: the cached product must not keep the old stock.
    let first = order(&store, ada, lamp, 3).unwrap();
    assert_eq!(store.product(lamp).unwrap().unwrap().stock, 7);
    assert_eq!(store.order(first).unwrap().unwrap().quantity, 3);

    store.write(Op::DeleteOrder(first)).unwrap();
    assert_eq!(store.order(first).unwrap(), None);
    assert_eq!(store.product(lamp).unwrap().unwrap().stock, 10);

    store.write(Op::DeleteCustomer(ada)).unwrap();
    assert_eq!(store.customer(ada).unwrap(), None);

    let stats = store.record_cache_stats();
    assert!(stats.hits >= 1, "{stats:?}");
    assert!(
        stats.bytes > 0 && stats.bytes <= stats.capacity,
        "{stats:?}"
    );
}

#[test]
fn a_store_without_a_cache_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_cache(dir.path(), 0);
    let ada = customer(&store, "Ada", "ada@x.io");
    rename(&store, ada, "Ada King");
    assert_eq!(store.customer(ada).unwrap().unwrap().name, "Ada King");
    assert_eq!(store.customer(ada).unwrap().unwrap().name, "Ada King");
    let stats = store.record_cache_stats();
    assert_eq!((stats.hits, stats.bytes, stats.capacity), (0, 0, 0));
}

#[test]
fn a_small_cache_stays_within_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_cache(dir.path(), 16 * 1024);
    let ids: Vec<u64> = (0..500)
        .map(|i| customer(&store, &format!("Customer {i}"), &format!("c{i}@x.io")))
        .collect();
    for _ in 0..3 {
        for &id in &ids {
            assert_eq!(store.customer(id).unwrap().unwrap().id, id);
        }
    }
    let stats = store.record_cache_stats();
    assert!(stats.bytes <= 16 * 1024, "{stats:?}");
    assert!(
        stats.misses > 500,
        "500 customers cannot all fit: {stats:?}"
    );
}

/// Readers keep loading a customer into the cache while a writer renames it; after each
/// acknowledged rename, a read must return that name, never one from before it.
#[test]
fn racing_readers_never_leave_an_old_record_behind_an_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with_cache(dir.path(), 1 << 20);
    let ids: Vec<u64> = (0..4)
        .map(|i| customer(&store, "v0", &format!("r{i}@x.io")))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (store, stop, ids) = (store.clone(), stop.clone(), ids.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for &id in &ids {
                        store.customer(id).unwrap();
                    }
                }
            })
        })
        .collect();
    for version in 1..=300 {
        let id = ids[version % ids.len()];
        let name = format!("v{version}");
        rename(&store, id, &name);
        assert_eq!(store.customer(id).unwrap().unwrap().name, name);
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().unwrap();
    }
    assert!(store.record_cache_stats().hits > 0);
}
