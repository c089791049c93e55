//! The server's life: many clients, the connection cap, idle timeouts, graceful shutdown.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

use crm_tests::{TestServer, ADMIN_PASSWORD};
use std::time::Duration;

#[test]
fn two_hundred_concurrent_clients() {
    let server = TestServer::start();
    let url = server.url("admin", ADMIN_PASSWORD, false);
    let workers: Vec<_> = (0..200)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                let id: i64 = redis::cmd("CUSTOMER.ADD")
                    .arg("NAME")
                    .arg(format!("Client {i}"))
                    .arg("EMAIL")
                    .arg(format!("c{i}@example.com"))
                    .query(&mut con)
                    .unwrap();
                let json: String = redis::cmd("CUSTOMER.GET").arg(id).query(&mut con).unwrap();
                assert!(json.contains(&format!("c{i}@example.com")));
                id
            })
        })
        .collect();
    let mut ids: Vec<i64> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200);
}

#[test]
fn the_connection_cap_refuses_politely() {
    let server = TestServer::start_with(&["--max-connections", "3"]);
    // Regression guard: the readiness probe's connection may still hold a slot for a moment, so
    // fill the three slots with connections that answer PING before testing the fourth.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let held = loop {
        let mut connections: Vec<_> = (0..3).map(|_| server.raw()).collect();
        if connections
            .iter_mut()
            .all(|c| c.roundtrip("PING\r\n") == "+PONG\r\n")
        {
            break connections;
        }
        drop(connections);
        assert!(
            std::time::Instant::now() < deadline,
            "the three slots never came free"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut refused = server.raw();
    assert_eq!(
        refused.read_reply(),
        "-ERR max number of clients reached\r\n"
    );
    assert!(refused.is_closed());
    drop(held);
    // The server notices the closes asynchronously; a slot frees up soon after.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let reply = server.raw().roundtrip("PING\r\n");
        if reply == "+PONG\r\n" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no slot freed: {reply}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn idle_connections_time_out() {
    let server = TestServer::start_with(&["--idle-timeout", "1"]);
    let mut idle = server.raw();
    std::thread::sleep(Duration::from_millis(2_500));
    idle.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(idle.is_closed());
}

#[test]
fn sigterm_finishes_in_flight_writes_and_loses_nothing() {
    let mut server = TestServer::start();
    let url = server.url("admin", ADMIN_PASSWORD, false);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let url = url.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let Ok(mut con) = redis::Client::open(url).unwrap().get_connection() else {
                    return acknowledged;
                };
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) && i > 10_000 {
                        break;
                    }
                    let result: redis::RedisResult<i64> = redis::cmd("CUSTOMER.ADD")
                        .arg("NAME")
                        .arg("W")
                        .arg("EMAIL")
                        .arg(format!("w{w}-{i}@example.com"))
                        .query(&mut con);
                    match result {
                        Ok(id) => acknowledged.push(id),
                        Err(_) => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    let status = server.signal_and_wait("TERM");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(status.success(), "exit status {status}: {}", server.log());
    let acknowledged: Vec<i64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(!acknowledged.is_empty());
    server.launch();
    let mut con = server.admin_redis();
    for id in &acknowledged {
        let found: Option<String> = redis::cmd("CUSTOMER.GET").arg(*id).query(&mut con).unwrap();
        assert!(found.is_some(), "acknowledged customer {id} lost");
    }
    let status = server.signal_and_wait("INT");
    assert!(status.success());
}

#[test]
fn periodic_durability_shows_in_info() {
    let server = TestServer::start_with(&["--durability", "periodic"]);
    let mut con = server.admin_redis();
    let info: String = redis::cmd("INFO").query(&mut con).unwrap();
    assert!(info.contains("durability:periodic\r\n"));
}

fn info_field(info: &str, name: &str) -> u64 {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no number {name}: {info}"))
}

/// Reads are served from the record cache and still see every acknowledged update; with
/// `--record-cache-mib 0` there is no cache and the same reads work.
#[test]
fn the_record_cache_serves_repeated_reads_and_never_an_old_record() {
    for (args, cached) in [(&[][..], true), (&["--record-cache-mib", "0"][..], false)] {
        let server = TestServer::start_with(args);
        let mut con = server.admin_redis();
        let id: i64 = redis::cmd("CUSTOMER.ADD")
            .arg("NAME")
            .arg("Ada")
            .arg("EMAIL")
            .arg("ada@example.com")
            .query(&mut con)
            .unwrap();
        for round in 0..5 {
            let name = format!("Ada {round}");
            let _: () = redis::cmd("CUSTOMER.UPDATE")
                .arg(id)
                .arg("NAME")
                .arg(&name)
                .query(&mut con)
                .unwrap();
            for _ in 0..3 {
                let json: String = redis::cmd("CUSTOMER.GET").arg(id).query(&mut con).unwrap();
                assert!(json.contains(&format!("\"name\":\"{name}\"")), "{json}");
            }
        }
        let info: String = redis::cmd("INFO").query(&mut con).unwrap();
        let hits = info_field(&info, "record_cache_hits");
        if cached {
            // Each update drops the record: one miss, then two hits per round.
            assert!(hits >= 10, "{info}");
            assert_eq!(info_field(&info, "record_cache_capacity"), 64 << 20);
        } else {
            assert_eq!(
                (hits, info_field(&info, "record_cache_bytes")),
                (0, 0),
                "{info}"
            );
        }
    }
}

/// `serve` runs with at most two glibc malloc arenas (it re-executes itself once to set it; see
/// `limit_malloc_arenas` in `server/src/main.rs`), under the same process id.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_server_limits_malloc_arenas_unless_told_otherwise() {
    let environment = |server: &TestServer| {
        let pid = server.child.as_ref().unwrap().id();
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap())
            .split('\0')
            .find(|entry| entry.starts_with("MALLOC_ARENA_MAX="))
            .map(str::to_string)
    };
    let server = TestServer::start();
    assert_eq!(server.raw_admin().roundtrip("PING\r\n"), "+PONG\r\n");
    // An operator's own value (inherited from this test's environment) is kept.
    let expected = std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "2".into());
    assert_eq!(
        environment(&server),
        Some(format!("MALLOC_ARENA_MAX={expected}"))
    );
}
