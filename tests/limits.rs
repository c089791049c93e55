//! Limits that hold against hostile clients (`crm_protocol` 2, "Framing" and "Analytics"),
//! over real TCP: whole-request sizes before and after `AUTH`, clients that never read, the
//! authentication deadline, failed logins slowed per address, and bounded heavy commands.

#![allow(clippy::unwrap_used)]

use crm_tests::{RawConnection, TestServer, ADMIN_PASSWORD};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A raw connection made from a chosen loopback address (127.0.0.x), so tests can play
/// several clients' addresses.
fn raw_from(server: &TestServer, source: [u8; 4]) -> RawConnection {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from((source, 0)).into()).unwrap();
    socket
        .connect(&SocketAddr::from(([127, 0, 0, 1], server.port)).into())
        .unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    RawConnection { stream }
}

/// Reads one whole reply of an array of bulk strings (or any single-line reply).
fn read_array(raw: &mut RawConnection) -> String {
    let header = raw.read_reply();
    let Some(count) = header
        .strip_prefix('*')
        .and_then(|n| n.trim_end().parse::<usize>().ok())
    else {
        return header;
    };
    let mut whole = header;
    for _ in 0..count {
        whole.push_str(&raw.read_reply());
    }
    whole
}

/// Reads until the peer closes (or 30 s pass); returns every byte.
fn read_to_close(raw: &mut RawConnection) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = raw.stream.read_to_end(&mut all);
    all
}

/// Guards against unauthenticated connections holding memory: a request announcing more than
/// 64 KiB before `AUTH` is refused on the header that shows it, before its bytes arrive.
#[test]
fn before_auth_a_request_over_64_kib_is_refused_on_its_header() {
    let server = TestServer::start();
    let before = server.rss_kib();
    let mut hogs = Vec::new();
    for _ in 0..4 {
        let mut raw = server.raw();
        raw.send("*1024\r\n$1048576\r\n");
        assert_eq!(
            raw.read_reply(),
            "-ERR protocol error: request larger than 65536 bytes\r\n"
        );
        assert!(raw.is_closed());
        hogs.push(raw);
    }
    let mut raw = server.raw();
    raw.send("*2\r\n$4\r\nAUTH\r\n$65533\r\n");
    assert!(raw
        .read_reply()
        .starts_with("-ERR protocol error: request larger"));
    // Exactly at the limit is allowed: 4 + 65,532 bytes.
    let mut raw = server.raw();
    raw.send(format!(
        "*2\r\n$4\r\nAUTH\r\n$65532\r\n{}\r\n",
        "p".repeat(65_532)
    ));
    assert_eq!(
        raw.read_reply(),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert!(
        server.rss_kib() < before + 20 * 1024,
        "the refused requests were buffered"
    );
}

/// Guards against a whole request of many large bulks being buffered after `AUTH`: at most
/// 8 MiB, refused on the ninth 1 MiB bulk's header.
#[test]
fn after_auth_a_request_over_8_mib_is_refused_on_its_header() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    let bulk = format!("$1048576\r\n{}\r\n", "x".repeat(1_048_576));
    raw.send("*10\r\n$4\r\nPING\r\n");
    // 4 + 8 × 1 MiB would be over; the eighth bulk's header shows it.
    for _ in 0..7 {
        raw.send(&bulk);
    }
    raw.send("$1048576\r\n");
    assert_eq!(
        raw.read_reply(),
        "-ERR protocol error: request larger than 8388608 bytes\r\n"
    );
    assert!(raw.is_closed());
    // A request of exactly 8 MiB is answered: CONFIG GET takes any number of patterns.
    let mut raw = server.raw_admin();
    raw.send("*10\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n");
    for _ in 0..7 {
        raw.send(&bulk);
    }
    raw.send(format!("$1048567\r\n{}\r\n", "z".repeat(1_048_567)));
    assert_eq!(raw.read_reply(), "*0\r\n");
}

/// Guards against a client that pipelines and never reads holding memory for ever: once more
/// than 16 MiB of replies wait unsent, the next reply closes the connection; and a clean stop
/// does not wait on such a client.
#[test]
fn a_client_that_never_reads_is_closed_and_never_delays_shutdown() {
    let mut server = TestServer::start();
    let mut admin = server.raw_admin();
    let mut adds = String::new();
    for i in 0..2_000 {
        adds.push_str(&format!(
            "CUSTOMER.ADD NAME \"Reader {i} Neverread\" EMAIL r{i}@example.com ADDRESS \"{i} Long Street, Somewhere Far\"\r\n"
        ));
    }
    admin.send(adds);
    for _ in 0..2_000 {
        assert!(admin.read_reply().starts_with(':'));
    }
    let baseline = server.rss_kib();
    // Each reply is about 300 KB: 300 of them are 90 MB the client never reads.
    let mut silent = server.raw_admin();
    let requests = "CUSTOMER.LIST LIMIT 2000\r\n".repeat(300);
    let writer = {
        let mut stream = silent.stream.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = stream.write_all(requests.as_bytes());
        })
    };
    // Wait until the server has stopped answering it: closed, or (if it were not) done.
    let mut peak = server.rss_kib();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let info = admin.roundtrip("INFO\r\n");
        peak = peak.max(server.rss_kib());
        if info.contains("connected_clients:1\r\n") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let received = read_to_close(&mut silent);
    let _ = writer.join();
    assert!(
        received.len() < 60 * 1024 * 1024,
        "{} bytes were sent: the connection was not closed at 16 MiB",
        received.len()
    );
    assert!(
        peak < baseline + 80 * 1024,
        "the server grew from {baseline} KiB to {peak} KiB"
    );
    // A client with replies waiting (under the limit) does not hold up a clean stop.
    let mut stuck = server.raw_admin();
    stuck.send("CUSTOMER.LIST LIMIT 2000\r\n".repeat(30));
    std::thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    let status = server.signal_and_wait("TERM");
    assert!(status.success(), "{status}");
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "shutdown waited {:?} for a client that does not read",
        asked.elapsed()
    );
    drop(stuck);
}

/// Guards against connections holding slots without logging in (trickling a byte now and then
/// restarted the idle timeout): at the authentication deadline the server answers exactly
/// `-ERR authentication timeout` and closes, whatever the client sends.
#[test]
fn unauthenticated_connections_end_at_the_authentication_deadline() {
    let server = TestServer::start_with(&["--auth-timeout", "2", "--max-connections", "6"]);
    let mut tricklers: Vec<RawConnection> = (0..5).map(|_| server.raw()).collect();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1_500) {
        for raw in &mut tricklers {
            raw.send("x");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    // A logged-in connection is not subject to it.
    let mut logged_in = server.raw_admin();
    for mut raw in tricklers {
        // Keep sending while waiting: it changes nothing.
        let _ = raw.stream.write_all(b"yy");
        assert_eq!(read_to_close(&mut raw), b"-ERR authentication timeout\r\n");
    }
    // The slots are free again.
    let mut fresh = server.raw();
    assert_eq!(fresh.roundtrip("PING\r\n"), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(2_500));
    assert_eq!(logged_in.roundtrip("PING\r\n"), "+PONG\r\n");
    // An AUTH sent before the deadline is answered, and then the connection stays.
    let mut late = server.raw();
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        late.roundtrip(&format!("AUTH admin {ADMIN_PASSWORD}\r\n")),
        "+OK\r\n"
    );
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(late.roundtrip("PING\r\n"), "+PONG\r\n");
}

/// Guards against guessing by reconnecting (the slowing was per connection): the k-th failure
/// from one address waits min(100 ms × 2^(k−1), 2 s) on fresh connections too, and another
/// address is not delayed by them.
#[test]
fn failed_logins_are_slowed_per_address_across_connections() {
    let server = TestServer::start();
    let mut took = Vec::new();
    for _ in 0..5 {
        let mut raw = raw_from(&server, [127, 0, 0, 3]);
        let sent = Instant::now();
        assert!(raw
            .roundtrip("AUTH admin wrong\r\n")
            .starts_with("-WRONGPASS"));
        took.push(sent.elapsed());
    }
    // 100, 200, 400, 800, 1600 ms at least (lower bounds only: a busy machine is slower).
    for (k, elapsed) in took.iter().enumerate() {
        let floor = Duration::from_millis(100 << k);
        assert!(
            *elapsed >= floor,
            "failure {}: {elapsed:?} < {floor:?}",
            k + 1
        );
    }
    // While the sixth failure of 127.0.0.3 waits its 2 s, a login from 127.0.0.4 is answered
    // first: one address's failures never delay another's logins.
    let mut slow = raw_from(&server, [127, 0, 0, 3]);
    slow.send("AUTH admin wrong-again\r\n");
    std::thread::sleep(Duration::from_millis(50));
    let mut other = raw_from(&server, [127, 0, 0, 4]);
    assert_eq!(
        other.roundtrip(&format!("AUTH admin {ADMIN_PASSWORD}\r\n")),
        "+OK\r\n"
    );
    let mut pending = [0u8; 1];
    slow.stream.set_nonblocking(true).unwrap();
    assert!(
        slow.stream.read(&mut pending).is_err(),
        "the slowed failure was answered before the other address's login"
    );
    slow.stream.set_nonblocking(false).unwrap();
    assert!(slow.read_reply().starts_with("-WRONGPASS"));
    // Parallel connections gain nothing: two more failures at once take 2 s and 4 s.
    let start = Instant::now();
    let both: Vec<_> = (0..2)
        .map(|_| {
            let mut raw = raw_from(&server, [127, 0, 0, 3]);
            std::thread::spawn(move || {
                assert!(raw
                    .roundtrip("AUTH admin nope\r\n")
                    .starts_with("-WRONGPASS"));
                Instant::now()
            })
        })
        .collect();
    let mut done: Vec<Duration> = both
        .into_iter()
        .map(|t| t.join().unwrap() - start)
        .collect();
    done.sort();
    assert!(done[1] >= Duration::from_millis(4_000), "{done:?}");
}

/// Guards against a holder of one account guessing another's password at full speed: a
/// success from the address (as any user) used to reset the count of failures, so a guesser
/// who logged in between guesses was answered after 100 ms every time.
#[test]
fn a_successful_login_does_not_forgive_failed_ones() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    redis::cmd("USER.ADD")
        .arg("mallory")
        .arg("mallory-password")
        .arg("ROLE")
        .arg("reader")
        .query::<()>(&mut admin)
        .unwrap();
    let mut took = Vec::new();
    for _ in 0..4 {
        let mut own = raw_from(&server, [127, 0, 0, 5]);
        assert_eq!(
            own.roundtrip("AUTH mallory mallory-password\r\n"),
            "+OK\r\n"
        );
        let mut guess = raw_from(&server, [127, 0, 0, 5]);
        let sent = Instant::now();
        assert!(guess
            .roundtrip("AUTH admin a-guess\r\n")
            .starts_with("-WRONGPASS"));
        took.push(sent.elapsed());
    }
    // 100, 200, 400, 800 ms at least: the count went on through the successes.
    for (k, elapsed) in took.iter().enumerate() {
        let floor = Duration::from_millis(100 << k);
        assert!(
            *elapsed >= floor,
            "guess {}: {elapsed:?} < {floor:?}",
            k + 1
        );
    }
}

/// Guards against statistics as a denial of service: `K` is at most 100, heavy commands run
/// within their permits, and a client that leaves has its queued requests dropped and its
/// running one stopped.
#[test]
fn heavy_commands_are_bounded_and_abandoned_with_their_client() {
    let server = TestServer::start_with(&["--demo"]);
    let mut admin = server.raw_admin();
    assert_eq!(
        admin.roundtrip("STATS.CLUSTERS K 101\r\n"),
        "-INVALID k: \"101\" is not a whole number from 1 to 100\r\n"
    );
    let processed = |admin: &mut RawConnection| -> (u64, u64, u64) {
        let info = admin.roundtrip("INFO\r\n");
        let field = |name: &str| -> u64 {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap()
        };
        (
            field("total_commands_processed"),
            field("heavy_commands_running"),
            field("heavy_commands_waiting"),
        )
    };
    let (before, _, _) = processed(&mut admin);
    // Fifty heavy requests pipelined, then the client leaves.
    {
        let mut leaver = server.raw_admin();
        let mut batch = String::new();
        for seed in 0..50 {
            batch.push_str(&format!("STATS.CLUSTERS K 100 SEED {seed}\r\n"));
        }
        leaver.send(batch);
        std::thread::sleep(Duration::from_millis(200));
    }
    // Several clients at once: never more running than the permits; PING keeps answering.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let permits = cores.saturating_sub(1).max(1) as u64;
    let busy: Vec<_> = (0..3)
        .map(|_| {
            let mut raw = server.raw_admin();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    raw.send("STATS.RFM\r\n");
                    let reply = read_array(&mut raw);
                    assert!(reply.starts_with("*7\r\n"), "{reply}");
                }
            })
        })
        .collect();
    let mut pinger = server.raw();
    for _ in 0..10 {
        let (_, running, _) = processed(&mut admin);
        assert!(running <= permits, "{running} heavy commands ran at once");
        let sent = Instant::now();
        assert_eq!(pinger.roundtrip("PING\r\n"), "+PONG\r\n");
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "PING took {:?}",
            sent.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for thread in busy {
        thread.join().unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, running, waiting) = processed(&mut admin);
        if running == 0 && waiting == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "heavy commands still running");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (after, _, _) = processed(&mut admin);
    // The leaver's first request (maybe its second) started; the other 48 never did. The
    // three busy clients ran 9, and the INFOs and PINGs here count too.
    let extra_infos_and_more = after - before;
    assert!(
        extra_infos_and_more < 9 + 2 + 40,
        "{extra_infos_and_more} commands ran: the leaver's queued requests were not dropped"
    );
}
