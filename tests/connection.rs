//! Connection and compatibility commands, with an independent client (the `redis` crate) in
//! RESP2 and RESP3, and exact bytes over raw TCP.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

use crm_tests::{TestServer, ADMIN_PASSWORD};
use redis::{RedisResult, Value};

fn error_code<T: std::fmt::Debug>(result: RedisResult<T>) -> String {
    let error = result.expect_err("expected an error reply");
    error.code().unwrap_or("?").to_string()
}

#[test]
fn resp2_and_resp3_clients_authenticate_and_talk() {
    let server = TestServer::start();
    for resp3 in [false, true] {
        let client = redis::Client::open(server.url("admin", ADMIN_PASSWORD, resp3)).unwrap();
        let mut con = client.get_connection().unwrap();
        let pong: String = redis::cmd("PING").query(&mut con).unwrap();
        assert_eq!(pong, "PONG");
        let echo: String = redis::cmd("PING")
            .arg("hello there")
            .query(&mut con)
            .unwrap();
        assert_eq!(echo, "hello there");
        let nil: Option<String> = redis::cmd("CUSTOMER.GET")
            .arg(424242)
            .query(&mut con)
            .unwrap();
        assert_eq!(nil, None);
        let id: i64 = redis::cmd("CUSTOMER.ADD")
            .arg("NAME")
            .arg("Ada Lovelace")
            .arg("EMAIL")
            .arg(if resp3 {
                "ada3@example.com"
            } else {
                "ada2@example.com"
            })
            .query(&mut con)
            .unwrap();
        let json: String = redis::cmd("CUSTOMER.GET").arg(id).query(&mut con).unwrap();
        let record: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(record["name"], "Ada Lovelace");
        assert_eq!(record["phone"], serde_json::Value::Null);
    }
}

#[test]
fn hello_describes_the_server_in_both_protocols() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.send("HELLO\r\n");
    let reply = raw.read_n(4);
    assert_eq!(reply, "*16\r");
    let mut raw = server.raw();
    raw.send(format!("HELLO 3 AUTH admin {ADMIN_PASSWORD}\r\n"));
    assert_eq!(raw.read_reply(), "%8\r\n");
    let mut fields = Vec::new();
    for _ in 0..8 {
        let key = raw.read_reply();
        let value = raw.read_reply();
        fields.push((key, value));
    }
    let find = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.contains(&format!("\r\n{name}\r\n")))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(find("server"), "$10\r\ncrm-server\r\n");
    assert_eq!(find("proto"), ":3\r\n");
    assert_eq!(find("mode"), "$10\r\nstandalone\r\n");
    assert_eq!(find("role"), "$6\r\nmaster\r\n");
    assert_eq!(find("modules"), "*0\r\n");
    assert_eq!(find("crm_protocol"), ":3\r\n");
    assert!(find("id").starts_with(':'));
    // RESP3 now: nil is `_`.
    assert_eq!(raw.roundtrip("CUSTOMER.GET 99\r\n"), "_\r\n");
    // HELLO 2 switches back.
    raw.send("HELLO 2\r\n");
    assert_eq!(raw.read_reply(), "*16\r\n");
    for _ in 0..16 {
        raw.read_reply();
    }
    assert_eq!(raw.roundtrip("CUSTOMER.GET 99\r\n"), "$-1\r\n");
    assert!(raw.roundtrip("HELLO 4\r\n").starts_with("-NOPROTO "));
    assert!(raw.roundtrip("HELLO abc\r\n").starts_with("-NOPROTO "));
}

#[test]
fn hello_with_a_wrong_password_keeps_the_protocol() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        raw.roundtrip("HELLO 3 AUTH admin wrong\r\n"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.roundtrip("CUSTOMER.GET 1\r\n"),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        raw.roundtrip(&format!("AUTH {ADMIN_PASSWORD}\r\n")),
        "+OK\r\n"
    );
    assert_eq!(raw.roundtrip("CUSTOMER.GET 1\r\n"), "$-1\r\n");
}

#[test]
fn only_the_documented_commands_run_before_auth() {
    let server = TestServer::start();
    let mut raw = server.raw();
    let noauth = "-NOAUTH Authentication required.\r\n";
    for request in [
        "CUSTOMER.GET 1",
        "CUSTOMER.LIST",
        "STATS.CUSTOMERS",
        "USER.LIST",
        "INFO",
        "NOSUCHCOMMAND",
        "SELECT 0",
        "CONFIG GET save",
        "COMMAND",
        "CLIENT ID",
        "CLIENT GETNAME",
        "BACKUP.LIST",
    ] {
        assert_eq!(
            raw.roundtrip(&format!("{request}\r\n")),
            noauth,
            "{request}"
        );
    }
    assert_eq!(raw.roundtrip("PING\r\n"), "+PONG\r\n");
    assert_eq!(
        raw.roundtrip("CLIENT SETINFO LIB-NAME redis-py\r\n"),
        "+OK\r\n"
    );
    assert_eq!(raw.roundtrip("CLIENT SETNAME early\r\n"), "+OK\r\n");
    assert_eq!(
        raw.roundtrip("AUTH admin nope\r\n"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.roundtrip("AUTH nobody nope\r\n"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.roundtrip(&format!("AUTH admin {ADMIN_PASSWORD}\r\n")),
        "+OK\r\n"
    );
    assert_eq!(raw.roundtrip("CLIENT GETNAME\r\n"), "$5\r\nearly\r\n");
    assert_eq!(raw.roundtrip("QUIT\r\n"), "+OK\r\n");
    assert!(raw.is_closed());
}

#[test]
fn compatibility_commands() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    assert_eq!(raw.roundtrip("select 0\r\n"), "+OK\r\n");
    assert_eq!(
        raw.roundtrip("SELECT 1\r\n"),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(raw.roundtrip("config get save\r\n"), "*0\r\n");
    assert_eq!(raw.roundtrip("CONFIG GET *\r\n"), "*0\r\n");
    assert!(raw.roundtrip("CONFIG SET a b\r\n").starts_with("-ERR "));
    // Since `crm_protocol` 3, `COMMAND` describes every command (tests/contract_v3.rs).
    let count = raw.roundtrip("COMMAND COUNT\r\n");
    assert!(count.starts_with(':') && count != ":0\r\n", "{count}");
    assert_eq!(raw.roundtrip("CLIENT GETNAME\r\n"), "$-1\r\n");
    assert_eq!(raw.roundtrip("CLIENT SETNAME tool\r\n"), "+OK\r\n");
    assert_eq!(raw.roundtrip("CLIENT GETNAME\r\n"), "$4\r\ntool\r\n");
    assert!(raw.roundtrip("CLIENT ID\r\n").starts_with(':'));
    assert!(raw.roundtrip("CLIENT KILL x\r\n").starts_with("-ERR "));
    // The connection stays open after an unknown subcommand.
    assert_eq!(raw.roundtrip("PING\r\n"), "+PONG\r\n");
    assert!(raw
        .roundtrip("FLUSHALL\r\n")
        .starts_with("-ERR unknown command"));
    assert_eq!(raw.roundtrip("ping\r\n"), "+PONG\r\n");
}

#[test]
fn connection_ids_are_distinct() {
    let server = TestServer::start();
    let client = redis::Client::open(server.url("admin", ADMIN_PASSWORD, false)).unwrap();
    let mut a = client.get_connection().unwrap();
    let mut b = client.get_connection().unwrap();
    let id_a: i64 = redis::cmd("CLIENT").arg("ID").query(&mut a).unwrap();
    let id_b: i64 = redis::cmd("CLIENT").arg("ID").query(&mut b).unwrap();
    assert_ne!(id_a, id_b);
    let info: String = redis::cmd("INFO").query(&mut a).unwrap();
    for key in [
        "version",
        "crm_protocol",
        "uptime_seconds",
        "connected_clients",
        "total_commands_processed",
        "customers",
        "products",
        "orders",
        "data_bytes",
        "durability",
        "backup_in_progress",
        "backup_progress",
    ] {
        assert!(
            info.lines().any(|l| l.starts_with(&format!("{key}:"))),
            "INFO lacks {key}: {info}"
        );
    }
    assert!(info.contains("durability:sync"));
    assert!(info.contains("crm_protocol:3"));
    let wrong = redis::cmd("HELLO").arg(5).query::<Value>(&mut a);
    assert_eq!(error_code(wrong), "NOPROTO");
}
