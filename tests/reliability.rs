//! Reliability over the wire: a SIGKILL crash loop with 16 writers, random bytes thrown at a
//! live connection, slowloris, brute-force AUTH, and nothing readable before AUTH.

#![allow(clippy::unwrap_used)]

use crm_engine::{KeySource, Options, Store};
use crm_tests::{TestServer, ADMIN_PASSWORD};
use proptest::prelude::*;
use rand::Rng;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn crash_loop_twenty_rounds_loses_no_acknowledged_write() {
    let mut server = TestServer::start();
    let acknowledged: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let mut rng = rand::thread_rng();
    {
        let mut con = server.admin_redis();
        let _: i64 = redis::cmd("PRODUCT.ADD")
            .arg("NAME")
            .arg("Pen")
            .arg("PRICE")
            .arg("1.50")
            .arg("STOCK")
            .arg(2_000_000_000)
            .query(&mut con)
            .unwrap();
    }
    for round in 0..20 {
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..16)
            .map(|w| {
                let url = server.url("admin", ADMIN_PASSWORD, false);
                let stop = stop.clone();
                let acknowledged = acknowledged.clone();
                std::thread::spawn(move || {
                    let Ok(mut con) = redis::Client::open(url).unwrap().get_connection() else {
                        return;
                    };
                    for i in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let customer: redis::RedisResult<i64> = redis::cmd("CUSTOMER.ADD")
                            .arg("NAME")
                            .arg("Crash")
                            .arg("EMAIL")
                            .arg(format!("r{round}-w{w}-{i}@x.io"))
                            .query(&mut con);
                        let Ok(customer) = customer else { return };
                        let order: redis::RedisResult<i64> = redis::cmd("ORDER.ADD")
                            .arg("CUSTOMER")
                            .arg(customer)
                            .arg("PRODUCT")
                            .arg(1)
                            .arg("QUANTITY")
                            .arg(1)
                            .query(&mut con);
                        let Ok(order) = order else { return };
                        acknowledged.lock().unwrap().push((customer, order));
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.gen_range(150..600)));
        let status = server.signal_and_wait("KILL");
        assert!(!status.success());
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
        // Check the data folder directly with the engine: every acknowledged write, every index
        // and every rollup.
        {
            let store = Store::open(
                &server.data_dir(),
                &KeySource::File(server.dir.path().join("key")),
                &Options::default(),
            )
            .unwrap();
            for (customer, order) in acknowledged.lock().unwrap().iter() {
                assert!(
                    store.customer(*customer as u64).unwrap().is_some(),
                    "round {round}: customer {customer} lost"
                );
                assert!(
                    store.order(*order as u64).unwrap().is_some(),
                    "round {round}: order {order} lost"
                );
            }
            // Every acknowledged write has its journal entry (the consistency check below also
            // verifies the chain: numbered without gaps, every hash linked).
            let added: std::collections::HashSet<(crm_engine::Kind, u64)> = store
                .journal(&crm_engine::journal::JournalFilter {
                    after: 0,
                    user: None,
                    kind: None,
                    id: None,
                    limit: usize::MAX,
                })
                .unwrap()
                .iter()
                .filter(|e| e.op == crm_engine::journal::JournalOp::Add)
                .filter_map(|e| Some((e.kind, e.id?)))
                .collect();
            for (customer, order) in acknowledged.lock().unwrap().iter() {
                assert!(
                    added.contains(&(crm_engine::Kind::Customer, *customer as u64))
                        && added.contains(&(crm_engine::Kind::Order, *order as u64)),
                    "round {round}: customer {customer} or order {order} has no journal entry"
                );
            }
            let report = store.check_consistency().unwrap();
            let stock = store.product(1).unwrap().unwrap().stock;
            assert_eq!(
                stock + report.orders,
                2_000_000_000,
                "round {round}: stock and orders disagree"
            );
        }
        server.launch();
    }
    let total = acknowledged.lock().unwrap().len();
    assert!(total > 100, "only {total} acknowledged writes in 20 rounds");
    println!("crash loop: 20 rounds, {total} acknowledged customer+order pairs, none lost");
}

fn fresh_connection_answers_ping(server: &TestServer) -> bool {
    let mut raw = server.raw();
    raw.roundtrip("PING\r\n") == "+PONG\r\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_get_replies_or_a_close_never_a_crash(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6), authed in any::<bool>()) {
        thread_local! {
            static SERVER: TestServer = TestServer::start();
        }
        SERVER.with(|server| {
            let mut raw = if authed { server.raw_admin() } else { server.raw() };
            raw.stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
            for chunk in &chunks {
                if raw.stream.write_all(chunk).is_err() {
                    break;
                }
            }
            // Drain whatever comes back until a pause or a close.
            let mut sink = [0u8; 4096];
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(2) {
                match raw.stream.read(&mut sink) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            prop_assert!(fresh_connection_answers_ping(server), "the server stopped answering");
            Ok(())
        })?;
    }
}

#[test]
fn slowloris_is_cut_off_and_others_are_served() {
    let server = TestServer::start_with(&["--idle-timeout", "1"]);
    let mut slow = server.raw();
    slow.send("*2\r\n$4\r\nPING\r\n$5\r\nab");
    let started = Instant::now();
    slow.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert!(slow.is_closed());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(fresh_connection_answers_ping(&server));
}

#[test]
fn brute_force_auth_is_slowed() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let started = Instant::now();
    for guess in 0..5 {
        assert!(raw
            .roundtrip(&format!("AUTH admin guess{guess}\r\n"))
            .starts_with("-WRONGPASS"));
    }
    // 100 + 200 + 400 + 800 + 1600 ms of back-off at least.
    assert!(
        started.elapsed() >= Duration::from_millis(3_100),
        "{:?}",
        started.elapsed()
    );
    // The right password still works on a new connection, without delay.
    let mut fresh = server.raw();
    assert_eq!(
        fresh.roundtrip(&format!("AUTH {ADMIN_PASSWORD}\r\n")),
        "+OK\r\n"
    );
}

#[test]
fn nothing_is_readable_before_auth() {
    let server = TestServer::start_with(&["--demo"]);
    let mut raw = server.raw();
    for request in [
        "CUSTOMER.GET 1",
        "CUSTOMER.LIST",
        "CUSTOMER.FIND NAME ada",
        "ORDER.LIST ALL",
        "STATS.CUSTOMERS",
        "INFO",
        "USER.LIST",
        "BACKUP.LIST",
    ] {
        assert_eq!(
            raw.roundtrip(&format!("{request}\r\n")),
            "-NOAUTH Authentication required.\r\n"
        );
    }
    // HELLO without AUTH describes the server but not the data.
    raw.send("HELLO 3\r\n");
    let mut reply = String::new();
    for _ in 0..17 {
        reply.push_str(&raw.read_reply());
    }
    assert!(!reply.contains('@'));
}
