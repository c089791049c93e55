//! `crm_protocol` 3 over real TCP: the self-description (`COMMAND ...`), the syntax in arity
//! errors, and the standalone part of the Cluster section (`ROLE`, `SENTINEL`, `INFO`'s
//! replication section, and `SUBSCRIBE` with Redis 7.0's subscribed state), with exact bytes
//! where the contract fixes them.

#![allow(clippy::unwrap_used, clippy::panic)]

use crm_tests::{RawConnection, TestServer};
use redis::Value;

/// Every command the contract names (the `SCHEMA.*`, `*.QUERY` and `*.COUNT` commands come
/// with their own section's work).
const CONTRACT_COMMANDS: &[&str] = &[
    "PING",
    "AUTH",
    "HELLO",
    "QUIT",
    "CLIENT",
    "SELECT",
    "CONFIG",
    "COMMAND",
    "CUSTOMER.ADD",
    "CUSTOMER.GET",
    "CUSTOMER.UPDATE",
    "CUSTOMER.DEL",
    "CUSTOMER.FIND",
    "CUSTOMER.LIST",
    "PRODUCT.ADD",
    "PRODUCT.GET",
    "PRODUCT.UPDATE",
    "PRODUCT.DEL",
    "PRODUCT.LIST",
    "ORDER.ADD",
    "ORDER.GET",
    "ORDER.DEL",
    "ORDER.LIST",
    "STATS.CUSTOMER",
    "STATS.CUSTOMERS",
    "STATS.PRODUCTS",
    "STATS.MONTHLY",
    "STATS.RFM",
    "STATS.CLUSTERS",
    "STATS.ANOMALIES",
    "STATS.FORECAST",
    "STATS.CHURN",
    "BACKUP",
    "BACKUP.LIST",
    "BACKUP.VERIFY",
    "USER.ADD",
    "USER.DEL",
    "USER.PASSWD",
    "USER.LIST",
    "USER.MASK",
    "INFO",
    "AUDIT.LOG",
    "AUDIT.VERIFY",
    "AUDIT.HEAD",
    "XRANGE",
    "XREVRANGE",
    "XREAD",
    "XLEN",
    "XADD",
    "XDEL",
    "XTRIM",
    "XSETID",
    "XGROUP",
    "XREADGROUP",
    "XACK",
    "XCLAIM",
    "XAUTOCLAIM",
    "CUSTOMER.REVEAL",
    "CUSTOMER.EXPORT",
    "CUSTOMER.FORGET",
    "FORGET.LIST",
    "CUSTOMER.UPSERT",
    "CUSTOMER.DUPLICATES",
    "CUSTOMER.MERGE",
    "CUSTOMER.UNMERGE",
    "ROLE",
    "SENTINEL",
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "UNSUBSCRIBE",
    "PUNSUBSCRIBE",
];

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(text) => text.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// A flat key/value array (RESP2) as pairs.
fn pairs(value: &Value) -> Vec<(String, Value)> {
    let Value::Array(items) = value else {
        panic!("not an array: {value:?}")
    };
    items
        .chunks(2)
        .map(|pair| (text(&pair[0]), pair[1].clone()))
        .collect()
}

fn field(value: &Value, key: &str) -> Value {
    pairs(value)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {key} in {value:?}"))
}

fn array(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items.clone(),
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn command_lists_every_command_of_the_contract_and_count_matches() {
    let server = TestServer::start();
    let mut con = server.admin_redis();
    let all: Value = redis::cmd("COMMAND").query(&mut con).unwrap();
    let names: Vec<String> = array(&all)
        .iter()
        .map(|entry| text(&array(entry)[0]))
        .collect();
    for name in CONTRACT_COMMANDS {
        assert!(
            names.contains(&name.to_ascii_lowercase()),
            "{name} is missing from COMMAND: {names:?}"
        );
    }
    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query(&mut con).unwrap();
    assert_eq!(count as usize, names.len());
    let docs: Value = redis::cmd("COMMAND").arg("DOCS").query(&mut con).unwrap();
    assert_eq!(pairs(&docs).len(), names.len());
    // Every name COMMAND gives is a command the server knows (no unknown-command reply).
    let mut raw = server.raw_admin();
    for name in &names {
        if name == "quit" {
            continue;
        }
        let reply = raw.roundtrip(&format!("{name} BOGUS BOGUS BOGUS BOGUS BOGUS BOGUS\r\n"));
        assert!(!reply.contains("unknown command"), "{name}: {reply}");
        // Drain what several-reply commands (SUBSCRIBE) send, and leave the subscribed state.
        if name.contains("subscribe") {
            let _ = raw.read_n(0);
            raw = server.raw_admin();
        }
    }
}

#[test]
fn command_info_describes_arity_flags_and_keys_as_redis_does() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    raw.send("COMMAND INFO customer.get NOSUCH\r\n");
    let expected = "*2\r\n*10\r\n$12\r\ncustomer.get\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n\
                    :0\r\n:0\r\n:0\r\n*2\r\n+@read\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n$-1\r\n";
    assert_eq!(raw.read_n(expected.len()), expected);

    let mut con = server.admin_redis();
    let info: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("customer.add")
        .arg("ORDER.ADD")
        .arg("xrange")
        .arg("user.del")
        .arg("subscribe")
        .query(&mut con)
        .unwrap();
    let entries = array(&info);
    let shape = |entry: &Value| {
        let items = array(entry);
        let int = |v: &Value| match v {
            Value::Int(n) => *n,
            other => panic!("{other:?}"),
        };
        let flags: Vec<String> = array(&items[2]).iter().map(text).collect();
        (
            text(&items[0]),
            int(&items[1]),
            flags,
            (int(&items[3]), int(&items[4]), int(&items[5])),
        )
    };
    assert_eq!(
        shape(&entries[0]),
        ("customer.add".into(), -5, vec!["write".into()], (0, 0, 0))
    );
    assert_eq!(shape(&entries[1]).1, -7);
    assert_eq!(
        shape(&entries[2]),
        ("xrange".into(), -4, vec!["readonly".into()], (1, 1, 1))
    );
    assert_eq!(
        shape(&entries[3]),
        (
            "user.del".into(),
            2,
            vec!["write".into(), "admin".into()],
            (0, 0, 0)
        )
    );
    assert_eq!(shape(&entries[4]).1, -2);
}

#[test]
fn command_docs_give_summary_since_group_and_arguments() {
    let server = TestServer::start();
    let mut con = server.admin_redis();
    let docs: Value = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg("customer.add")
        .arg("customer.find")
        .arg("nosuch")
        .arg("sentinel")
        .query(&mut con)
        .unwrap();
    let docs = pairs(&docs);
    let names: Vec<&str> = docs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["customer.add", "customer.find", "sentinel"]);
    let add = &docs[0].1;
    assert!(text(&field(add, "summary")).contains("customer"));
    assert_eq!(text(&field(add, "since")), "1");
    assert_eq!(text(&field(add, "group")), "customer");
    let arguments = array(&field(add, "arguments"));
    let described: Vec<(String, String, String, Vec<String>)> = arguments
        .iter()
        .map(|arg| {
            let flags = pairs(arg)
                .into_iter()
                .find(|(k, _)| k == "flags")
                .map(|(_, v)| array(&v).iter().map(text).collect())
                .unwrap_or_default();
            (
                text(&field(arg, "name")),
                text(&field(arg, "type")),
                text(&field(arg, "token")),
                flags,
            )
        })
        .collect();
    let optional = || vec!["optional".to_string()];
    assert_eq!(
        described,
        vec![
            ("name".into(), "string".into(), "NAME".into(), vec![]),
            ("email".into(), "string".into(), "EMAIL".into(), vec![]),
            ("phone".into(), "string".into(), "PHONE".into(), optional()),
            (
                "address".into(),
                "string".into(),
                "ADDRESS".into(),
                optional()
            ),
            (
                "time".into(),
                "string".into(),
                "CREATED_AT".into(),
                optional()
            ),
            ("id".into(), "integer".into(), "ID".into(), optional()),
        ]
    );
    // A choice: one of three keywords, each with its value.
    let find = &docs[1].1;
    let by = &array(&field(find, "arguments"))[0];
    assert_eq!(text(&field(by, "type")), "oneof");
    let tokens: Vec<String> = array(&field(by, "arguments"))
        .iter()
        .map(|choice| text(&field(choice, "token")))
        .collect();
    assert_eq!(tokens, ["EMAIL", "PHONE", "NAME"]);
    let sentinel = &docs[2].1;
    assert_eq!(text(&field(sentinel, "since")), "3");
    assert_eq!(text(&field(sentinel, "group")), "cluster");
}

#[test]
fn self_description_and_cluster_commands_need_auth() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for request in [
        "COMMAND",
        "COMMAND DOCS",
        "COMMAND DOCS customer.add",
        "COMMAND INFO customer.add",
        "COMMAND COUNT",
        "ROLE",
        "SENTINEL MASTERS",
        "SUBSCRIBE +switch-master",
        "PSUBSCRIBE *",
    ] {
        assert_eq!(
            raw.roundtrip(&format!("{request}\r\n")),
            "-NOAUTH Authentication required.\r\n",
            "{request}"
        );
    }
}

#[test]
fn a_standalone_server_is_a_lone_master_for_every_role() {
    let server = TestServer::start();
    let mut admin = server.raw_admin();
    assert_eq!(
        admin.roundtrip("USER.ADD viewer viewer-password ROLE reader\r\n"),
        "+OK\r\n"
    );
    let mut reader = server.raw();
    assert_eq!(
        reader.roundtrip("AUTH viewer viewer-password\r\n"),
        "+OK\r\n"
    );
    for raw in [&mut admin, &mut reader] {
        raw.send("ROLE\r\n");
        let role = "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n";
        assert_eq!(raw.read_n(role.len()), role);
        for request in [
            "SENTINEL MASTERS",
            "SENTINEL get-master-addr-by-name crm",
            "sentinel x",
        ] {
            assert_eq!(
                raw.roundtrip(&format!("{request}\r\n")),
                "-ERR this server is not part of a cluster\r\n"
            );
        }
    }
    for name in ["sentinel", "subscribe", "psubscribe"] {
        assert_eq!(
            admin.roundtrip(&format!("{name}\r\n")),
            format!("-ERR wrong number of arguments for '{name}' command\r\n")
        );
    }
    assert_eq!(
        admin.roundtrip("ROLE extra\r\n"),
        "-ERR wrong number of arguments for 'role' command\r\n"
    );
    let mut con = server.admin_redis();
    let info: String = redis::cmd("INFO").query(&mut con).unwrap();
    assert!(info.contains("# Replication\r\nrole:master\r\n"), "{info}");
    let hello: Value = redis::cmd("HELLO").query(&mut con).unwrap();
    assert_eq!(text(&field(&hello, "role")), "master");
    assert_eq!(text(&field(&hello, "mode")), "standalone");
}

/// Sends a request and checks the exact bytes of every reply it gets.
fn exchange(raw: &mut RawConnection, request: &str, expected: &str) {
    raw.send(format!("{request}\r\n"));
    assert_eq!(raw.read_n(expected.len()), expected, "{request}");
}

#[test]
fn a_subscribed_resp2_connection_takes_only_the_subscription_commands_ping_and_quit() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    exchange(
        &mut raw,
        "SUBSCRIBE +switch-master other",
        "*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n\
         *3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:2\r\n",
    );
    exchange(&mut raw, "PING", "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    exchange(&mut raw, "PING hi", "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    let refused = |name: &str| {
        format!(
            "-ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        )
    };
    exchange(&mut raw, "CUSTOMER.GET 1", &refused("customer.get"));
    exchange(&mut raw, "info", &refused("info"));
    exchange(&mut raw, "CLIENT ID", &refused("client|id"));
    exchange(&mut raw, "XLEN crm:changes", &refused("xlen"));
    exchange(
        &mut raw,
        "PSUBSCRIBE *",
        "*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:3\r\n",
    );
    exchange(
        &mut raw,
        "UNSUBSCRIBE",
        "*3\r\n$11\r\nunsubscribe\r\n$14\r\n+switch-master\r\n:2\r\n\
         *3\r\n$11\r\nunsubscribe\r\n$5\r\nother\r\n:1\r\n",
    );
    exchange(
        &mut raw,
        "PUNSUBSCRIBE",
        "*3\r\n$12\r\npunsubscribe\r\n$1\r\n*\r\n:0\r\n",
    );
    // No subscription left: every command works again.
    exchange(&mut raw, "PING", "+PONG\r\n");
    exchange(
        &mut raw,
        "UNSUBSCRIBE",
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    );
    exchange(&mut raw, "CUSTOMER.GET 1", "$-1\r\n");
    exchange(
        &mut raw,
        "SUBSCRIBE a",
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n",
    );
    exchange(&mut raw, "QUIT", "+OK\r\n");
    assert!(raw.is_closed());
}

#[test]
fn a_subscribed_resp3_connection_runs_every_command_and_confirms_with_pushes() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    raw.send("HELLO 3\r\n");
    let mut byte = [0u8; 1];
    // Skip the HELLO map: its last field is `crm_protocol`.
    let mut seen = Vec::new();
    while !seen.ends_with(b"crm_protocol\r\n:3\r\n") {
        std::io::Read::read_exact(&mut raw.stream, &mut byte).unwrap();
        seen.push(byte[0]);
    }
    exchange(
        &mut raw,
        "SUBSCRIBE +switch-master",
        ">3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n",
    );
    exchange(&mut raw, "PING", "+PONG\r\n");
    exchange(&mut raw, "CUSTOMER.GET 1", "_\r\n");
    exchange(&mut raw, "ROLE", "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    exchange(
        &mut raw,
        "PUNSUBSCRIBE",
        ">3\r\n$12\r\npunsubscribe\r\n_\r\n:1\r\n",
    );
    exchange(
        &mut raw,
        "UNSUBSCRIBE +switch-master",
        ">3\r\n$11\r\nunsubscribe\r\n$14\r\n+switch-master\r\n:0\r\n",
    );
}

#[test]
fn arity_errors_quote_the_syntax_and_unknown_keywords_list_the_valid_ones() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    assert_eq!(
        raw.roundtrip("customer.find ada\r\n"),
        "-ERR wrong number of arguments for 'customer.find' command (syntax: CUSTOMER.FIND \
         EMAIL email | PHONE phone | NAME word [AFTER id] [LIMIT count])\r\n"
    );
    assert_eq!(
        raw.roundtrip("CUSTOMER.GET 1 2\r\n"),
        "-ERR wrong number of arguments for 'customer.get' command (syntax: CUSTOMER.GET id)\r\n"
    );
    assert_eq!(
        raw.roundtrip("customer.add name Jo email jo@example.com nickname JD\r\n"),
        "-ERR syntax error: unknown keyword 'nickname' for 'customer.add' \
         (NAME, EMAIL, PHONE, ADDRESS, CREATED_AT, ID)\r\n"
    );
    assert_eq!(
        raw.roundtrip("customer.update 1 nickname JD\r\n"),
        "-ERR syntax error: unknown field 'nickname' for 'customer.update' \
         (NAME, EMAIL, PHONE, ADDRESS)\r\n"
    );
    // Commands Redis also has answer Redis's exact text.
    assert_eq!(
        raw.roundtrip("XLEN\r\n"),
        "-ERR wrong number of arguments for 'xlen' command\r\n"
    );
}

/// A subscriber waits for a leader change for as long as it takes: `--idle-timeout` does not
/// close a connection that holds a subscription, as Redis keeps its subscribers (one that
/// holds none is closed as before).
#[test]
fn a_subscriber_is_not_closed_for_idling() {
    let server = TestServer::start_with(&["--idle-timeout", "1"]);
    let mut subscriber = server.raw_admin();
    exchange(
        &mut subscriber,
        "SUBSCRIBE +switch-master",
        "*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n",
    );
    let mut idle = server.raw_admin();
    // The idle one is closed after its second; then the subscriber, silent as long, answers.
    assert!(idle.is_closed());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    exchange(&mut subscriber, "PING", "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}
