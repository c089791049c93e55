//! The third round's hardening over real TCP (`crm_protocol` 3): large replies produced in
//! pieces and never held whole, `XREAD` naming the feed once, a masked user's `DRYRUN`, and
//! passwords never quoted back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crm_tests::words::{code, get, id, ok};
use crm_tests::{RawConnection, TestServer};
use redis::Value;
use std::io::Write;
use std::time::{Duration, Instant};

/// A server with the demo data sized by `orders` (10 orders a customer, 100 a product): its
/// journal, and so the change feed, holds every record.
fn demo_server(orders: u64) -> TestServer {
    TestServer::start_with(&["--demo", "--demo-orders", &orders.to_string()])
}

fn ids_of(values: &[serde_json::Value]) -> Vec<u64> {
    values.iter().map(|v| v["id"].as_u64().unwrap()).collect()
}

fn stream_ids(value: &Value) -> Vec<String> {
    let Value::Array(entries) = value else {
        panic!("not an array: {value:?}")
    };
    entries
        .iter()
        .map(|entry| match entry {
            Value::Array(pair) => match &pair[0] {
                Value::BulkString(id) => String::from_utf8(id.clone()).unwrap(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Guards against a large reply built whole in memory: `LIST`, `ORDER.LIST`, `AUDIT.LOG`,
/// `STATS.CUSTOMERS`, the feed's ranges and a large `XREAD` over 1 MiB are now produced in
/// pieces, and must still be exactly the pages they stand for.
#[test]
fn large_replies_in_pieces_are_exactly_the_pages_they_stand_for() {
    let server = demo_server(30_000);
    let mut admin = server.admin_redis();
    // 3,000 customers, about 650 KB of replies: whole; 30,000 orders, about 5 MB: in pieces.
    let customers = get(&mut admin, &["CUSTOMER.LIST", "LIMIT", "100000"]);
    let customers = customers.as_array().unwrap();
    assert_eq!(customers.len(), 3_000);
    let orders = get(&mut admin, &["ORDER.LIST", "ALL", "LIMIT", "100000"]);
    let orders = orders.as_array().unwrap();
    assert_eq!(orders.len(), 30_000);
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = get(
            &mut admin,
            &[
                "ORDER.LIST",
                "ALL",
                "AFTER",
                &after.to_string(),
                "LIMIT",
                "7000",
            ],
        );
        let page = page.as_array().unwrap().clone();
        let Some(last) = page.last() else { break };
        after = last["id"].as_u64().unwrap();
        paged.extend(page);
    }
    assert_eq!(orders, &paged);
    // A window and an owner, in pieces too.
    let since = get(
        &mut admin,
        &[
            "ORDER.LIST",
            "ALL",
            "SINCE",
            "2025-01-01",
            "LIMIT",
            "100000",
        ],
    );
    let since = since.as_array().unwrap();
    let expected: Vec<u64> = orders
        .iter()
        .filter(|o| o["created_at"].as_str().unwrap() >= "2025-01-01")
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids_of(since), expected);
    // The whole feed (33,300 entries: every customer, product and order, and the users).
    let length: i64 = redis::cmd("XLEN")
        .arg("crm:changes")
        .query(&mut admin)
        .unwrap();
    let forward: Value = redis::cmd("XRANGE")
        .arg("crm:changes")
        .arg("-")
        .arg("+")
        .query(&mut admin)
        .unwrap();
    let forward = stream_ids(&forward);
    assert_eq!(forward.len() as i64, length);
    assert!(forward.len() > 33_000);
    let backward: Value = redis::cmd("XREVRANGE")
        .arg("crm:changes")
        .arg("+")
        .arg("-")
        .query(&mut admin)
        .unwrap();
    let mut backward = stream_ids(&backward);
    backward.reverse();
    assert_eq!(forward, backward);
    // A bounded range and COUNT across pieces.
    let middle: Value = redis::cmd("XRANGE")
        .arg("crm:changes")
        .arg("(5000")
        .arg("+")
        .arg("COUNT")
        .arg("12345")
        .query(&mut admin)
        .unwrap();
    let middle = stream_ids(&middle);
    let start = forward.iter().position(|id| id == "5001-0").unwrap();
    assert_eq!(middle, forward[start..start + 12_345]);
    // XREAD from 0: one stream, every entry.
    let read: Value = redis::cmd("XREAD")
        .arg("STREAMS")
        .arg("crm:changes")
        .arg("0")
        .query(&mut admin)
        .unwrap();
    let Value::Array(streams) = read else {
        panic!("{read:?}")
    };
    assert_eq!(streams.len(), 1);
    let Value::Array(pair) = &streams[0] else {
        panic!()
    };
    assert_eq!(pair[0], Value::BulkString(b"crm:changes".to_vec()));
    assert_eq!(stream_ids(&pair[1]), forward);
    // The journal read by AUDIT.LOG, in pieces.
    let audit = get(&mut admin, &["AUDIT.LOG", "LIMIT", "100000"]);
    assert!(audit.as_array().unwrap().len() > 33_000);
    // STATS.CUSTOMERS over every customer with orders.
    let table = get(
        &mut admin,
        &["STATS.CUSTOMERS", "BY", "ID", "LIMIT", "100000"],
    );
    let table = table.as_array().unwrap();
    assert!(table.len() > 2_000);
    assert!(table
        .windows(2)
        .all(|w| w[0]["customer_id"].as_u64() < w[1]["customer_id"].as_u64()));
    assert!(table.iter().all(|row| row["name"].is_string()));
}

/// An admin connection whose receive buffer is small, so that the kernel holds little of what
/// the server sends it: what the client does not read waits in the server.
/// Guards against a `QUERY` page built whole (`PROTOCOL.md` "Framing" names "a large
/// `QUERY`" among the replies produced in pieces): 6,000 customers sorted by name in one page
/// (about 1.3 MB, in pieces, in RESP2 and RESP3) are exactly the customers `LIST` gives, in
/// the order the contract says, and the same as the walk by small pages.
#[test]
fn a_query_page_over_a_mebibyte_is_exact_in_pieces() {
    let server = demo_server(60_000);
    let mut admin = server.admin_redis();
    let listed = get(&mut admin, &["CUSTOMER.LIST", "LIMIT", "100000"]);
    let mut expected: Vec<(String, u64)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap().to_lowercase();
            (name, c["id"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(expected.len(), 6_000);
    expected.sort();
    let expected: Vec<u64> = expected.into_iter().map(|(_, id)| id).collect();
    let page = |con: &mut redis::Connection, limit: &str, cursor: &str| {
        let reply: Value = redis::cmd("CUSTOMER.QUERY")
            .arg("SORT")
            .arg("name")
            .arg("LIMIT")
            .arg(limit)
            .arg("CURSOR")
            .arg(cursor)
            .query(con)
            .unwrap();
        let Value::Array(parts) = reply else {
            panic!("{reply:?}")
        };
        let Value::BulkString(next) = &parts[0] else {
            panic!("{parts:?}")
        };
        let Value::Array(records) = &parts[1] else {
            panic!("{parts:?}")
        };
        let records: Vec<serde_json::Value> = records
            .iter()
            .map(|r| match r {
                Value::BulkString(json) => serde_json::from_slice(json).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        let bytes: usize = records.iter().map(|r| r.to_string().len()).sum();
        (
            String::from_utf8(next.clone()).unwrap(),
            ids_of(&records),
            bytes,
        )
    };
    let (next, whole, bytes) = page(&mut admin, "100000", "0");
    assert_eq!(next, "0");
    assert!(bytes > 1024 * 1024, "only {bytes} bytes: not over 1 MiB");
    assert_eq!(whole, expected);
    let mut resp3 = redis::Client::open(server.url("admin", crm_tests::ADMIN_PASSWORD, true))
        .unwrap()
        .get_connection()
        .unwrap();
    assert_eq!(page(&mut resp3, "100000", "0").1, expected);
    let mut walked = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, ids, _) = page(&mut admin, "2500", &cursor);
        walked.extend(ids);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert_eq!(walked, expected);
}

fn small_window_admin(server: &TestServer) -> RawConnection {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4_096).unwrap();
    socket
        .connect(&std::net::SocketAddr::from(([127, 0, 0, 1], server.port)).into())
        .unwrap();
    let stream: std::net::TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut raw = RawConnection { stream };
    assert_eq!(
        raw.roundtrip(&format!("AUTH admin {}\r\n", crm_tests::ADMIN_PASSWORD)),
        "+OK\r\n"
    );
    raw
}

/// Guards against clients that ask for large replies and read slowly: ten of them each asking
/// for the whole feed (about 8 MB) held 8 MB of replies or more each; now each holds a piece
/// or two. The bound is half of what the twenty replies would take whole, so the feed is made
/// large enough that a piece or two each, plus the threads that make them, stay well below it.
#[test]
fn slow_readers_of_the_whole_feed_hold_little_memory() {
    let mut server = demo_server(60_000);
    // What is measured is the replies the server holds, not glibc's arenas: each blocking-pool
    // thread that makes a piece gets an arena of its own, and their free space swung the peak
    // from +26 to +46 MiB between runs of the same build (+16 to +20 MiB with two arenas).
    server.env.push(("MALLOC_ARENA_MAX".into(), "2".into()));
    assert!(server.signal_and_wait("TERM").success());
    server.launch();
    // A first whole read brings in what any read of the feed keeps (its pages' caches), so
    // that the baseline is a warm server's.
    let mut warm = server.admin_redis();
    let whole: Value = redis::cmd("XRANGE")
        .arg("crm:changes")
        .arg("-")
        .arg("+")
        .query(&mut warm)
        .unwrap();
    let reply_kib = payload_bytes(&whole) as u64 / 1024;
    let baseline = server.rss_kib();
    let mut slow: Vec<RawConnection> = (0..20).map(|_| small_window_admin(&server)).collect();
    for connection in &mut slow {
        connection.send("XRANGE crm:changes - +\r\n");
    }
    // Every client has its answer started and reads nothing: what waits is on the server.
    let mut peak = baseline;
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        peak = peak.max(server.rss_kib());
        std::thread::sleep(Duration::from_millis(100));
    }
    // The kernel holds part of each reply; the server holds at most a piece or two of each.
    eprintln!("twenty slow readers of {reply_kib} KiB each: {baseline} KiB -> {peak} KiB");
    assert!(
        peak < baseline + 20 * reply_kib / 2,
        "twenty slow readers of {reply_kib} KiB each took the server from {baseline} KiB to {peak} KiB"
    );
    // They still get their whole answers, once they read.
    for connection in &mut slow {
        let header = connection.read_reply();
        assert!(header.starts_with('*'), "{header}");
        let count: usize = header[1..].trim_end().parse().unwrap();
        assert!(count > 63_000);
    }
}

/// The bytes of a reply's strings (what any encoding of it holds at least).
fn payload_bytes(value: &Value) -> usize {
    match value {
        Value::BulkString(bytes) => bytes.len(),
        Value::Array(items) => items.iter().map(payload_bytes).sum(),
        _ => 8,
    }
}

/// Guards against an export built whole in memory: a customer with many orders is exported
/// in pieces, and the document is the same as the commands that read its parts.
#[test]
fn an_export_with_many_orders_is_whole_and_exact() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    let customer = id(ok(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Many Orders",
            "EMAIL",
            "many@example.com",
        ],
    ));
    let product = id(ok(
        &mut admin,
        &["PRODUCT.ADD", "NAME", "Bolt", "PRICE", "0.10"],
    ));
    let mut pipe = redis::pipe();
    for _ in 0..12_000 {
        pipe.cmd("ORDER.ADD")
            .arg("CUSTOMER")
            .arg(&customer)
            .arg("PRODUCT")
            .arg(&product)
            .arg("QUANTITY")
            .arg("1")
            .arg("NOSTOCK")
            .ignore();
    }
    pipe.query::<()>(&mut admin).unwrap();
    let raw = server
        .raw_admin()
        .roundtrip(&format!("CUSTOMER.EXPORT {customer}\r\n"));
    assert!(raw.len() > 1024 * 1024, "{} bytes", raw.len());
    let exported = get(&mut admin, &["CUSTOMER.EXPORT", &customer]);
    assert_eq!(
        exported["orders"],
        get(
            &mut admin,
            &["ORDER.LIST", "CUSTOMER", &customer, "LIMIT", "100000"]
        )
    );
    assert_eq!(exported["orders"].as_array().unwrap().len(), 12_000);
    assert_eq!(
        exported["customer"],
        get(&mut admin, &["CUSTOMER.GET", &customer])
    );
    let ops: Vec<&str> = exported["journal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["add", "export", "export"]);
}

/// Guards against `XREAD` reading the whole feed once per time it is named (up to 511 times
/// in one request): the feed may be named once.
#[test]
fn xread_names_the_feed_once() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    assert_eq!(
        raw.roundtrip("XREAD STREAMS crm:changes crm:changes 0 0\r\n"),
        "-ERR the change feed may be named once per XREAD\r\n"
    );
    assert!(raw
        .roundtrip("XREAD STREAMS crm:changes 0\r\n")
        .starts_with('*'));
}

/// Guards against a masked writer testing guesses of values it may not see: `UPSERT ...
/// DRYRUN` told whether a masked value equals a guess, and left no journal entry.
#[test]
fn a_masked_user_may_not_dry_run_an_upsert() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    ok(
        &mut admin,
        &[
            "USER.ADD",
            "masked",
            "masked-password",
            "ROLE",
            "writer",
            "MASKED",
        ],
    );
    ok(
        &mut admin,
        &["USER.ADD", "plain", "plain-password", "ROLE", "writer"],
    );
    ok(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Ada",
            "EMAIL",
            "ada@example.com",
            "PHONE",
            "+15550100",
        ],
    );
    let probe = [
        "CUSTOMER.UPSERT",
        "EMAIL",
        "ada@example.com",
        "NAME",
        "Ada",
        "PHONE",
        "+15550100",
        "DRYRUN",
    ];
    let mut masked = crm_tests::words::connect(&server, "masked", "masked-password");
    assert_eq!(code(&mut masked, &probe), "NOPERM");
    // Checked before values: a bad value still answers NOPERM.
    let mut bad = probe;
    bad[2] = "not-an-email";
    assert_eq!(code(&mut masked, &bad), "NOPERM");
    // Pipelined (upserts are submitted as they are read), the same.
    let mut raw = server.raw();
    raw.send(
        "AUTH masked masked-password\r\nCUSTOMER.UPSERT EMAIL ada@example.com NAME Ada DRYRUN\r\nPING\r\n",
    );
    assert_eq!(raw.read_reply(), "+OK\r\n");
    assert!(raw.read_reply().starts_with("-NOPERM"));
    assert_eq!(raw.read_reply(), "+PONG\r\n");
    // A masked user's plain upsert, and an unmasked user's dry run, still work.
    let mut plain = crm_tests::words::connect(&server, "plain", "plain-password");
    assert!(matches!(ok(&mut plain, &probe), Value::Array(_)));
    let upsert = ["CUSTOMER.UPSERT", "EMAIL", "bo@example.com", "NAME", "Bo"];
    assert!(matches!(ok(&mut masked, &upsert), Value::Array(_)));
}

/// Guards against a password being quoted back: a non-UTF-8 `AUTH` password was echoed in the
/// `INVALID` reply.
#[test]
fn a_password_that_is_not_utf8_is_not_quoted_back() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.send(b"*3\r\n$4\r\nAUTH\r\n$5\r\nadmin\r\n$4\r\n\xffpw\xfe\r\n");
    let reply = raw.read_reply();
    assert_eq!(reply, "-INVALID password: not valid UTF-8\r\n");
    raw.send(b"*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$5\r\nadmin\r\n$4\r\n\xffpw\xfe\r\n");
    assert_eq!(raw.read_reply(), "-INVALID password: not valid UTF-8\r\n");
}

/// The readable, writable memory of a process, region by region.
fn memory_of(pid: u32) -> Vec<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem"))
        .expect("reading the server's memory needs ptrace rights over it (same user, or root)");
    let mut regions = Vec::new();
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if !perms.starts_with("rw") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut region = vec![0u8; (end - start) as usize];
        if mem.seek(SeekFrom::Start(start)).is_ok() && mem.read_exact(&mut region).is_ok() {
            regions.push(region);
        }
    }
    regions
}

/// Guards against copies of a password left in freed memory: the read buffer grew (moved to
/// a larger allocation) while an `AUTH` was arriving, and the old allocation kept its bytes.
#[test]
fn a_password_received_in_pieces_leaves_no_copy_in_memory() {
    let server = TestServer::start();
    // A long password (under the 64 KiB limit before AUTH), its start marked: the buffer grows
    // several times while it arrives, each time after its start has been received.
    let marker = "Zq7-unique-password-marker";
    let password = format!("{marker}{}", "x".repeat(40_000));
    // Several connections at once, their pieces interleaved: each buffer's growth has to
    // move it (its neighbours hold the memory after it).
    let mut clients: Vec<_> = (0..12).map(|_| server.raw()).collect();
    let request = format!(
        "*3\r\n$4\r\nAUTH\r\n$5\r\nadmin\r\n${}\r\n{password}\r\n",
        password.len()
    );
    for piece in request.as_bytes().chunks(1_500) {
        for client in &mut clients {
            client.stream.write_all(piece).unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    for client in &mut clients {
        assert!(client.read_reply().starts_with("-WRONGPASS"));
    }
    let pid = server.child.as_ref().unwrap().id();
    let found = memory_of(pid)
        .iter()
        .filter(|region| {
            region
                .windows(marker.len())
                .any(|window| window == marker.as_bytes())
        })
        .count();
    assert_eq!(
        found, 0,
        "the password is still in {found} memory region(s)"
    );
}
