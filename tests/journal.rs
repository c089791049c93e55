//! The journal and the change feed over real TCP: exact entries for a scripted sequence of
//! writes by two users, roles, the stream commands with the `redis` crate (RESP2 and RESP3) and
//! redis-py, blocked readers woken by writes and told at shutdown, no personal value in the
//! journal or on disk, and `crm-server tail`.
//!
//! One file: every test reads the same journal through the same wire helpers (`plain`,
//! `audit_log`), and the scripted sequence is the reference the others compare with.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

use crm_tests::{server_binary, RawConnection, TestServer, ADMIN_PASSWORD};
use redis::streams::{StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::Commands;
use serde_json::{json, Value};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(con: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn connect(server: &TestServer, user: &str, password: &str, resp3: bool) -> redis::Connection {
    redis::Client::open(server.url(user, password, resp3))
        .unwrap()
        .get_connection()
        .unwrap()
}

fn audit_log(con: &mut redis::Connection, args: &[&str]) -> Vec<Value> {
    let mut cmd = redis::cmd("AUDIT.LOG");
    for arg in args {
        cmd.arg(*arg);
    }
    let items: Vec<String> = cmd.query(con).unwrap();
    items
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect()
}

/// An entry without its time and hash (checked separately).
fn plain(entry: &Value) -> Value {
    let mut entry = entry.clone();
    let object = entry.as_object_mut().unwrap();
    let at = object.remove("at").unwrap();
    assert!(at.as_str().unwrap().ends_with('Z'), "{at}");
    let hash = object.remove("hash").unwrap();
    let hash = hash.as_str().unwrap();
    assert!(
        hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{hash}"
    );
    entry
}

#[test]
fn every_journaled_command_by_two_users_appends_exactly_its_entry() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    run(
        &mut admin,
        &["USER.ADD", "wendy", "pw-wendy", "ROLE", "writer"],
    );
    let mut wendy = connect(&server, "wendy", "pw-wendy", false);
    run(
        &mut wendy,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Ada",
            "EMAIL",
            "ada@example.com",
            "PHONE",
            "+44 555 0100",
        ],
    );
    run(
        &mut wendy,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Bob",
            "EMAIL",
            "bob@example.com",
            "PHONE",
            "",
            "CREATED_AT",
            "2026-01-01",
            "ID",
            "9",
        ],
    );
    // Refused: appends nothing.
    assert!(redis::cmd("CUSTOMER.ADD")
        .arg("NAME")
        .arg("Eve")
        .arg("EMAIL")
        .arg("ada@example.com")
        .query::<i64>(&mut wendy)
        .is_err());
    run(
        &mut wendy,
        &[
            "CUSTOMER.UPDATE",
            "1",
            "EMAIL",
            "ada@lovelace.org",
            "NAME",
            "Ada",
        ],
    );
    run(&mut wendy, &["CUSTOMER.UPDATE", "1", "NAME", "Ada"]);
    run(
        &mut admin,
        &["PRODUCT.ADD", "NAME", "Pen", "PRICE", "1.50", "STOCK", "10"],
    );
    run(&mut admin, &["PRODUCT.UPDATE", "1", "PRICE", "1.75"]);
    run(
        &mut wendy,
        &[
            "ORDER.ADD",
            "CUSTOMER",
            "1",
            "PRODUCT",
            "1",
            "QUANTITY",
            "2",
        ],
    );
    run(
        &mut wendy,
        &[
            "ORDER.ADD",
            "CUSTOMER",
            "9",
            "PRODUCT",
            "1",
            "QUANTITY",
            "1",
            "CREATED_AT",
            "2026-02-01",
            "NOSTOCK",
        ],
    );
    run(&mut wendy, &["ORDER.DEL", "1"]);
    run(&mut wendy, &["ORDER.DEL", "2"]);
    run(&mut admin, &["PRODUCT.DEL", "1"]);
    run(&mut wendy, &["CUSTOMER.DEL", "9"]);
    run(&mut admin, &["USER.PASSWD", "wendy", "pw-wendy-2"]);
    run(&mut admin, &["USER.MASK", "wendy", "ON"]);
    run(
        &mut admin,
        &["USER.ADD", "mia", "pw-mia", "ROLE", "reader", "MASKED"],
    );
    run(&mut admin, &["USER.DEL", "mia"]);
    run(&mut admin, &["BACKUP", "nightly"]);
    let entries = audit_log(&mut admin, &["LIMIT", "1000"]);
    let got: Vec<Value> = entries.iter().map(plain).collect();
    let record = |seq: u64, user: &str, op: &str, kind: &str, id: u64, fields: Value| json!({"seq": seq, "user": user, "op": op, "kind": kind, "id": id, "name": null, "fields": fields});
    let named = |seq: u64, user: Option<&str>, op: &str, kind: &str, name: &str, fields: Value| json!({"seq": seq, "user": user, "op": op, "kind": kind, "id": null, "name": name, "fields": fields});
    let expected = vec![
        named(1, None, "add", "user", "admin", json!(["password", "role"])),
        named(
            2,
            Some("admin"),
            "add",
            "user",
            "wendy",
            json!(["password", "role"]),
        ),
        record(
            3,
            "wendy",
            "add",
            "customer",
            1,
            json!(["name", "email", "phone"]),
        ),
        record(
            4,
            "wendy",
            "add",
            "customer",
            9,
            json!(["name", "email", "created_at", "id"]),
        ),
        record(5, "wendy", "update", "customer", 1, json!(["email"])),
        record(6, "wendy", "update", "customer", 1, json!([])),
        record(
            7,
            "admin",
            "add",
            "product",
            1,
            json!(["name", "price", "stock"]),
        ),
        record(8, "admin", "update", "product", 1, json!(["price"])),
        record(
            9,
            "wendy",
            "add",
            "order",
            1,
            json!(["customer_id", "product_id", "quantity"]),
        ),
        record(
            10,
            "wendy",
            "add",
            "order",
            2,
            json!(["customer_id", "product_id", "quantity", "created_at"]),
        ),
        record(11, "wendy", "delete", "order", 1, json!([])),
        record(12, "wendy", "delete", "order", 2, json!([])),
        record(13, "admin", "delete", "product", 1, json!([])),
        record(14, "wendy", "delete", "customer", 9, json!([])),
        named(
            15,
            Some("admin"),
            "update",
            "user",
            "wendy",
            json!(["password"]),
        ),
        named(
            16,
            Some("admin"),
            "update",
            "user",
            "wendy",
            json!(["masked"]),
        ),
        named(
            17,
            Some("admin"),
            "add",
            "user",
            "mia",
            json!(["password", "role", "masked"]),
        ),
        named(18, Some("admin"), "delete", "user", "mia", json!([])),
        named(19, Some("admin"), "add", "backup", "nightly", json!([])),
    ];
    assert_eq!(got, expected);
    // Keys in the contract's order.
    let first: String = redis::cmd("AUDIT.LOG")
        .arg("LIMIT")
        .arg("1")
        .query::<Vec<String>>(&mut admin)
        .unwrap()
        .remove(0);
    let keys: Vec<&str> = [
        "\"seq\"",
        "\"at\"",
        "\"user\"",
        "\"op\"",
        "\"kind\"",
        "\"id\"",
        "\"name\"",
        "\"fields\"",
        "\"hash\"",
    ]
    .to_vec();
    let positions: Vec<usize> = keys.iter().map(|k| first.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{first}");
    // Filters.
    let seqs = |con: &mut redis::Connection, args: &[&str]| -> Vec<u64> {
        audit_log(con, args)
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        seqs(&mut admin, &["KIND", "customer", "ID", "1"]),
        vec![3, 5, 6]
    );
    assert_eq!(
        seqs(&mut admin, &["ID", "1"]),
        vec![3, 5, 6, 7, 8, 9, 11, 13]
    );
    assert_eq!(
        seqs(&mut admin, &["USER", "admin", "KIND", "product"]),
        vec![7, 8, 13]
    );
    assert_eq!(
        seqs(&mut admin, &["AFTER", "16", "LIMIT", "2"]),
        vec![17, 18]
    );
    assert_eq!(seqs(&mut admin, &["USER", "nobody"]), Vec::<u64>::new());
    assert_eq!(seqs(&mut admin, &["ID", "x"]), Vec::<u64>::new());
    let mut raw = server.raw_admin();
    assert!(raw
        .roundtrip("AUDIT.LOG KIND robot\r\n")
        .starts_with("-INVALID kind:"));
    assert_eq!(raw.roundtrip("AUDIT.VERIFY\r\n"), "+OK\r\n");
    let head: String = redis::cmd("AUDIT.HEAD").query(&mut admin).unwrap();
    let head: Value = serde_json::from_str(&head).unwrap();
    assert_eq!(head["seq"], 19);
    assert_eq!(head["hash"], entries[18]["hash"]);
    // The change feed carries customers, products and orders only.
    let len: usize = admin.xlen("crm:changes").unwrap();
    assert_eq!(len, 12);
    // Nothing personal in the journal's replies.
    let text = serde_json::to_string(&entries).unwrap();
    for secret in [
        "ada@example.com",
        "ada@lovelace.org",
        "Ada",
        "+445550100",
        "pw-wendy",
        "Pen",
    ] {
        assert!(!text.contains(secret), "{secret} in AUDIT.LOG");
    }
}

#[test]
fn audit_is_for_admins_and_the_feed_for_every_role_but_never_written() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    for role in ["reader", "analyst", "writer"] {
        run(
            &mut admin,
            &["USER.ADD", role, &format!("pw-{role}"), "ROLE", role],
        );
    }
    run(
        &mut admin,
        &["CUSTOMER.ADD", "NAME", "Ada", "EMAIL", "ada@example.com"],
    );
    for role in ["reader", "analyst", "writer"] {
        let mut raw = server.raw();
        assert_eq!(
            raw.roundtrip(&format!("AUTH {role} pw-{role}\r\n")),
            "+OK\r\n"
        );
        for command in ["AUDIT.LOG", "AUDIT.VERIFY", "AUDIT.HEAD"] {
            assert!(
                raw.roundtrip(&format!("{command}\r\n"))
                    .starts_with("-NOPERM"),
                "{role} {command}"
            );
        }
        assert_eq!(raw.roundtrip("XLEN crm:changes\r\n"), ":1\r\n");
        assert!(raw
            .roundtrip("XRANGE crm:changes - +\r\n")
            .starts_with("*1\r\n"));
        // The entry: `*2`, its id, `*10` and five field/value pairs.
        for _ in 0..13 {
            raw.read_reply();
        }
        assert_eq!(raw.roundtrip("XREAD STREAMS crm:changes $\r\n"), "*-1\r\n");
        assert_eq!(
            raw.roundtrip("XADD crm:changes * op add\r\n"),
            "-NOPERM the change feed is written by the server only\r\n"
        );
    }
    let mut raw = server.raw_admin();
    for command in [
        "XADD other * a b",
        "XDEL crm:changes 1-0",
        "XTRIM crm:changes MAXLEN 0",
        "XSETID crm:changes 5-0",
        "XGROUP CREATE crm:changes g $",
        "XREADGROUP GROUP g c STREAMS crm:changes >",
        "XACK crm:changes g 1-0",
        "XCLAIM crm:changes g c 0 1-0",
        "XAUTOCLAIM crm:changes g c 0 0",
    ] {
        assert_eq!(
            raw.roundtrip(&format!("{command}\r\n")),
            "-NOPERM the change feed is written by the server only\r\n",
            "{command}"
        );
    }
    assert!(raw
        .roundtrip("XINFO STREAM crm:changes\r\n")
        .starts_with("-ERR unknown command"));
    assert!(raw
        .roundtrip("XPENDING crm:changes g\r\n")
        .starts_with("-ERR unknown command"));
    assert!(raw
        .roundtrip("XLEN other\r\n")
        .starts_with("-ERR no such stream"));
    assert!(raw
        .roundtrip("XRANGE other - +\r\n")
        .starts_with("-ERR no such stream"));
    let mut anonymous = server.raw();
    assert_eq!(
        anonymous.roundtrip("XLEN crm:changes\r\n"),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        anonymous.roundtrip("XADD crm:changes * a b\r\n"),
        "-NOAUTH Authentication required.\r\n"
    );
}

#[test]
fn the_stream_commands_answer_as_redis_does_in_resp2_and_resp3() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    for i in 1..=4 {
        run(
            &mut admin,
            &[
                "CUSTOMER.ADD",
                "NAME",
                &format!("C{i}"),
                "EMAIL",
                &format!("c{i}@example.com"),
            ],
        );
    }
    // Entries 2..=5 (entry 1 is the first admin, not in the feed).
    for resp3 in [false, true] {
        let mut con = connect(&server, "admin", ADMIN_PASSWORD, resp3);
        let all: StreamRangeReply = con.xrange_all("crm:changes").unwrap();
        let ids: Vec<&str> = all.ids.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, vec!["2-0", "3-0", "4-0", "5-0"]);
        let fields = &all.ids[0].map;
        let text =
            |name: &str| -> String { redis::from_redis_value(fields[name].clone()).unwrap() };
        assert_eq!(
            (text("op"), text("kind"), text("id"), text("fields")),
            (
                "add".into(),
                "customer".into(),
                "1".into(),
                "name,email".into()
            )
        );
        assert!(text("at").ends_with('Z'));
        let some: StreamRangeReply = con.xrange_count("crm:changes", "(2", "+", 2).unwrap();
        assert_eq!(
            some.ids.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            vec!["3-0", "4-0"]
        );
        let newest: StreamRangeReply = con.xrevrange_count("crm:changes", "+", "-", 1).unwrap();
        assert_eq!(newest.ids[0].id, "5-0");
        let len: usize = con.xlen("crm:changes").unwrap();
        assert_eq!(len, 4);
        let read: StreamReadReply = con.xread(&["crm:changes"], &["3-0"]).unwrap();
        assert_eq!(read.keys[0].key, "crm:changes");
        assert_eq!(
            read.keys[0]
                .ids
                .iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>(),
            vec!["4-0", "5-0"]
        );
        let limited: StreamReadReply = con
            .xread_options(
                &["crm:changes"],
                &["0"],
                &StreamReadOptions::default().count(1),
            )
            .unwrap();
        assert_eq!(limited.keys[0].ids.len(), 1);
        let none: Option<StreamReadReply> = con.xread(&["crm:changes"], &["5-0"]).unwrap();
        assert!(none.is_none_or(|r| r.keys.is_empty()));
    }
    // Exact bytes for the shapes and errors clients rely on.
    let mut raw = server.raw_admin();
    assert_eq!(
        raw.roundtrip("XRANGE crm:changes - + COUNT 0\r\n"),
        "*-1\r\n"
    );
    assert_eq!(raw.roundtrip("XRANGE crm:changes 5 (5\r\n"), "*1\r\n");
    let _ = raw.read_reply();
    for _ in 0..10 {
        raw.read_reply();
    }
    let mut raw = server.raw_admin();
    assert_eq!(raw.roundtrip("XRANGE crm:changes (3 3\r\n"), "*0\r\n");
    assert_eq!(
        raw.roundtrip("XRANGE crm:changes abc +\r\n"),
        "-ERR Invalid stream ID specified as stream command argument\r\n"
    );
    assert_eq!(
        raw.roundtrip("XRANGE crm:changes - (0-0\r\n"),
        "-ERR invalid end ID for the interval\r\n"
    );
    assert_eq!(
        raw.roundtrip("XRANGE crm:changes - + COUNT x\r\n"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.roundtrip("XRANGE crm:changes - + FOO 1\r\n"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        raw.roundtrip("XREAD STREAMS crm:changes\r\n"),
        "-ERR wrong number of arguments for 'xread' command\r\n"
    );
    assert_eq!(
        raw.roundtrip("XREAD BLOCK -1 STREAMS crm:changes 0\r\n"),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        raw.roundtrip("XREAD BLOCK x STREAMS crm:changes 0\r\n"),
        "-ERR timeout is not an integer or out of range\r\n"
    );
    assert_eq!(raw.roundtrip("XREAD STREAMS crm:changes >\r\n"), "-ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.\r\n");
    assert_eq!(raw.roundtrip("XREAD STREAMS crm:changes crm:changes 1\r\n"), "-ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.\r\n");
    assert_eq!(
        raw.roundtrip("XREAD FOO STREAMS crm:changes 0\r\n"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(raw.roundtrip("XREAD STREAMS crm:changes 5\r\n"), "*-1\r\n");
    assert_eq!(raw.roundtrip("HELLO 3\r\n"), "%8\r\n");
    for _ in 0..16 {
        raw.read_reply();
    }
    assert_eq!(raw.roundtrip("XREAD STREAMS crm:changes 5\r\n"), "_\r\n");
    assert_eq!(
        raw.roundtrip("XREAD COUNT 1 STREAMS crm:changes 4\r\n"),
        "%1\r\n"
    );
}

#[test]
fn a_blocked_xread_wakes_on_a_write_is_not_idle_and_is_told_at_shutdown() {
    let mut server = TestServer::start_with(&["--idle-timeout", "1"]);
    let mut reader = server.raw_admin();
    reader.send("XREAD BLOCK 3000 STREAMS crm:changes $\r\n");
    // Longer than the idle timeout: a blocked reader is not idle.
    std::thread::sleep(Duration::from_millis(1_500));
    let mut writer = server.raw_admin();
    assert_eq!(
        writer.roundtrip("CUSTOMER.ADD NAME Ada EMAIL ada@example.com\r\n"),
        ":1\r\n"
    );
    assert_eq!(reader.read_reply(), "*1\r\n");
    let mut rest = String::new();
    for _ in 0..15 {
        rest.push_str(&reader.read_reply());
    }
    assert!(rest.contains("2-0") && rest.contains("customer"), "{rest}");
    // BLOCK 0 waits for ever; the client is told when the server stops.
    let mut forever = server.raw_admin();
    forever.send("XREAD BLOCK 0 STREAMS crm:changes $\r\n");
    std::thread::sleep(Duration::from_millis(300));
    let status = server.signal_and_wait("TERM");
    assert!(status.success());
    assert_eq!(forever.read_reply(), "-BUSY shutting down\r\n");
}

#[test]
fn redis_py_follows_the_feed_with_its_stream_api() {
    let server = TestServer::start();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("redis_py_feed.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(server.port.to_string())
        .arg(ADMIN_PASSWORD)
        .output()
        .expect("python3 with redis-py is needed");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn tail_prints_one_json_line_per_change() {
    let server = TestServer::start();
    let mut tail = Command::new(server_binary())
        .args([
            "tail",
            "--connect",
            &server.address(),
            "--user",
            "admin",
            "--from",
            "0",
        ])
        .env("CRM_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut admin = server.raw_admin();
    assert_eq!(
        admin.roundtrip("CUSTOMER.ADD NAME Ada EMAIL ada@example.com\r\n"),
        ":1\r\n"
    );
    assert_eq!(
        admin.roundtrip("CUSTOMER.UPDATE 1 PHONE 5550100\r\n"),
        "+OK\r\n"
    );
    let mut lines = std::io::BufReader::new(tail.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let second: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    tail.kill().unwrap();
    let _ = tail.wait();
    assert_eq!(
        (
            first["seq"].clone(),
            first["op"].clone(),
            first["id"].clone()
        ),
        (json!(2), json!("add"), json!(1))
    );
    assert_eq!(second["fields"], json!(["phone"]));
}

#[test]
fn nothing_personal_reaches_the_data_folder_through_the_journal() {
    let mut server = TestServer::start();
    let mut admin = server.raw_admin();
    let secrets = [
        "Zebulon Quixotica",
        "zebulon.q@secret-example.org",
        "+447946000123",
        "77 Hidden Lane",
    ];
    assert_eq!(
        admin.roundtrip(&format!(
            "CUSTOMER.ADD NAME \"{}\" EMAIL {} PHONE {} ADDRESS \"{}\"\r\n",
            secrets[0], secrets[1], secrets[2], secrets[3]
        )),
        ":1\r\n"
    );
    assert_eq!(
        admin.roundtrip("CUSTOMER.UPDATE 1 EMAIL other.secret@secret-example.org\r\n"),
        "+OK\r\n"
    );
    let started = Instant::now();
    assert!(server.signal_and_wait("TERM").success());
    assert!(started.elapsed() < Duration::from_secs(30));
    let mut bytes = Vec::new();
    fn collect(dir: &std::path::Path, into: &mut Vec<u8>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, into);
            } else {
                into.extend(std::fs::read(&path).unwrap());
            }
        }
    }
    collect(&server.data_dir(), &mut bytes);
    for secret in secrets
        .iter()
        .chain(&["other.secret@secret-example.org", "Zebulon"])
    {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} on disk"
        );
    }
    let _ = RawConnection::is_closed;
}
