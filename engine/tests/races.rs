//! Races: the last units of stock, one email twice at once, deletes racing orders.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use crm_engine::*;
use std::sync::{Arc, Barrier};

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    (dir, store)
}

#[test]
fn sixteen_buyers_never_oversell_the_last_units() {
    let (_dir, store) = fresh();
    let product = product(&store, "Scarce", "9.99", 50);
    let buyers: Vec<u64> = (0..16)
        .map(|i| customer(&store, "Buyer", &format!("b{i}@x.io")))
        .collect();
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = buyers
        .into_iter()
        .map(|buyer| {
            let store = store.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut bought = 0u64;
                loop {
                    match order(&store, buyer, product, 1 + (buyer % 2) as u32) {
                        Ok(_) => bought += 1 + buyer % 2,
                        Err(error) => {
                            assert_eq!(error.kind(), ErrorKind::Stock, "{error}");
                            // A 2-unit buyer may fail while 1 unit is left; try 1 before giving up.
                            if order(&store, buyer, product, 1).is_ok() {
                                bought += 1;
                                continue;
                            }
                            return bought;
                        }
                    }
                }
            })
        })
        .collect();
    let sold: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(sold, 50);
    assert_eq!(store.product(product).unwrap().unwrap().stock, 0);
    let units: u64 = store
        .product_rollups()
        .unwrap()
        .iter()
        .map(|(_, r)| r.units)
        .sum();
    assert_eq!(units, 50);
    store.check_consistency().unwrap();
}

#[test]
fn one_email_added_twice_at_once_has_exactly_one_winner() {
    let (_dir, store) = fresh();
    for round in 0..50 {
        let barrier = Arc::new(Barrier::new(2));
        let attempts: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    let new =
                        NewCustomer::parse("Twin", &format!("twin{round}@x.io"), None, None, None)
                            .unwrap();
                    store.write(Op::AddCustomer(new))
                })
            })
            .collect();
        let results: Vec<_> = attempts.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "round {round}: {results:?}"
        );
        assert_eq!(
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .next()
                .unwrap()
                .kind(),
            ErrorKind::Conflict
        );
    }
    assert_eq!(store.counts().unwrap().customers, 50);
}

#[test]
fn deleting_a_customer_while_ordering_for_it_never_leaves_an_orphan() {
    let (_dir, store) = fresh();
    let product = product(&store, "Pen", "1", 0);
    for round in 0..100 {
        let victim = customer(&store, "Victim", &format!("v{round}@x.io"));
        let barrier = Arc::new(Barrier::new(2));
        let (a, b) = (store.clone(), store.clone());
        let (ba, bb) = (barrier.clone(), barrier.clone());
        let deleter = std::thread::spawn(move || {
            ba.wait();
            a.write(Op::DeleteCustomer(victim))
        });
        let orderer = std::thread::spawn(move || {
            bb.wait();
            b.write(Op::AddOrder(NewOrder {
                id: None,
                customer_id: victim,
                product_id: product,
                quantity: 1,
                created_at: None,
                take_stock: false,
            }))
        });
        let deleted = deleter.join().unwrap();
        let ordered = orderer.join().unwrap();
        // Exactly one of them wins: the order first (then the delete is FKEY), or the delete
        // first (then the order is FKEY).
        assert!(
            deleted.is_ok() != ordered.is_ok(),
            "round {round}: {deleted:?} {ordered:?}"
        );
        if let Err(error) = deleted {
            assert_eq!(error.kind(), ErrorKind::ForeignKey);
            assert!(store.customer(victim).unwrap().is_some());
        } else {
            assert_eq!(ordered.unwrap_err().kind(), ErrorKind::ForeignKey);
        }
    }
    store.check_consistency().unwrap();
}

/// Every acknowledged durable write is counted by exactly one flush, and concurrent writers
/// share flushes (the committer applies the next group while the flusher syncs the last).
#[test]
fn concurrent_durable_writers_share_flushes() {
    let (_dir, store) = fresh();
    let product = product(&store, "Pen", "1.00", 1_000);
    let buyer = customer(&store, "Ada", "ada@x.io");
    let (flushes_before, writes_before) = store.group_commit_totals();
    let writers = 16;
    let each = 40;
    let start = Arc::new(Barrier::new(writers));
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let (store, start) = (store.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..each {
                    order(&store, buyer, product, 1).unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let (flushes, writes) = store.group_commit_totals();
    let (flushes, writes) = (flushes - flushes_before, writes - writes_before);
    assert_eq!(writes, (writers * each) as u64);
    assert!(
        flushes >= 1 && flushes < writes,
        "{flushes} flushes for {writes} writes"
    );
    assert_eq!(store.counts().unwrap().orders, (writers * each) as u64);
}

/// A lone blocking write commits on its own thread when nothing else is under way
/// (`write/committer.rs`, `commit_alone`); a write submitted before it, still queued, is under
/// way: the second add of one email must find the first one's.
#[test]
fn a_write_never_overtakes_one_submitted_before_it() {
    let (_dir, store) = fresh();
    let add = |name: &str, email: &str| {
        Op::AddCustomer(NewCustomer::parse(name, email, None, None, None).unwrap())
    };
    for i in 0..200 {
        let email = format!("c{i}@x.io");
        let first = store.submit(add("First", &email)).unwrap();
        let second = store.write(add("Second", &email));
        assert_eq!(
            second.map(|o| o.id()).unwrap_err().kind(),
            ErrorKind::Conflict,
            "round {i}"
        );
        assert!(first.wait().is_ok(), "round {i}");
    }
    assert_eq!(store.counts().unwrap().customers, 200);
}
