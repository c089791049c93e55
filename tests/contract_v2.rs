//! What `crm_protocol` 2 changed, over real TCP: `HELLO AUTH` without a version, the arity
//! rule, `FIND` pages, `ORDER.LIST ALL` windows with `LIMIT`, an unclamped forecast, and churn
//! ordered as returned.

#![allow(clippy::unwrap_used, clippy::panic)]

use crm_tests::{TestServer, ADMIN_PASSWORD};
use serde_json::Value;

fn admin(server: &TestServer) -> redis::Connection {
    server.admin_redis()
}

fn run(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con)
}

fn json_list(con: &mut redis::Connection, args: &[&str]) -> Vec<Value> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    let items: Vec<String> = cmd.query(con).unwrap();
    items
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect()
}

fn ids(values: &[Value]) -> Vec<u64> {
    values.iter().map(|v| v["id"].as_u64().unwrap()).collect()
}

#[test]
fn hello_auth_without_a_version_authenticates_and_keeps_resp3() {
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.send("HELLO 3\r\n");
    assert_eq!(raw.read_reply(), "%8\r\n");
    for _ in 0..16 {
        raw.read_reply();
    }
    raw.send(format!("HELLO AUTH admin {ADMIN_PASSWORD}\r\n"));
    assert_eq!(raw.read_reply(), "%8\r\n");
    let mut fields = Vec::new();
    for _ in 0..16 {
        fields.push(raw.read_reply());
    }
    let proto = fields.iter().position(|f| f.contains("proto")).unwrap();
    assert_eq!(fields[proto + 1], ":3\r\n");
    // Authenticated, and still RESP3: nil is `_`.
    assert_eq!(raw.roundtrip("CUSTOMER.GET 5\r\n"), "_\r\n");
    // A failed HELLO AUTH changes nothing.
    let mut other = server.raw();
    assert!(other
        .roundtrip("HELLO AUTH admin wrong\r\n")
        .starts_with("-WRONGPASS"));
    assert_eq!(
        other.roundtrip("CUSTOMER.GET 5\r\n"),
        "-NOAUTH Authentication required.\r\n"
    );
}

#[test]
fn too_few_arguments_is_an_arity_error_before_any_other_check() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    let cases: &[(&str, usize)] = &[
        ("ORDER.ADD", 6),
        ("CUSTOMER.ADD", 4),
        ("PRODUCT.ADD", 4),
        ("USER.ADD", 4),
        ("CUSTOMER.UPDATE", 3),
        ("PRODUCT.UPDATE", 3),
        ("CUSTOMER.FIND", 2),
        ("STATS.CLUSTERS", 2),
        ("USER.PASSWD", 2),
        ("USER.MASK", 2),
        ("CONFIG", 2),
        ("CUSTOMER.GET", 1),
        ("PRODUCT.GET", 1),
        ("ORDER.GET", 1),
        ("CUSTOMER.DEL", 1),
        ("PRODUCT.DEL", 1),
        ("ORDER.DEL", 1),
        ("STATS.CUSTOMER", 1),
        ("USER.DEL", 1),
        ("BACKUP.VERIFY", 1),
        ("ORDER.LIST", 1),
        ("AUTH", 1),
        ("SELECT", 1),
        ("CLIENT", 1),
    ];
    for (name, minimum) in cases {
        let lower = name.to_ascii_lowercase();
        for given in 0..*minimum {
            // Words that would fail any later check (syntax, values) if the arity passed.
            let args = vec!["BOGUS"; given].join(" ");
            let reply = raw.roundtrip(&format!("{name} {args}\r\n"));
            let rest = reply
                .strip_prefix(&format!(
                    "-ERR wrong number of arguments for '{lower}' command"
                ))
                .unwrap_or_else(|| panic!("{name} with {given} arguments: {reply}"));
            // `crm_protocol` 3: the CRM's own (dotted) commands add their syntax; those Redis
            // also has keep Redis's text.
            if name.contains('.') {
                assert!(
                    rest.starts_with(&format!(" (syntax: {name} ")) && rest.ends_with(")\r\n"),
                    "{name} with {given} arguments: {reply}"
                );
            } else {
                assert_eq!(rest, "\r\n", "{name} with {given} arguments");
            }
        }
    }
    // With enough arguments, a missing required keyword is INVALID.
    assert_eq!(
        raw.roundtrip("CUSTOMER.ADD NAME n PHONE 5550100\r\n"),
        "-INVALID email: required\r\n"
    );
    // The arity rule comes after NOAUTH for a client that has not logged in.
    let mut anonymous = server.raw();
    assert_eq!(
        anonymous.roundtrip("CUSTOMER.GET\r\n"),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        anonymous.roundtrip("AUTH\r\n"),
        "-ERR wrong number of arguments for 'auth' command\r\n"
    );
}

#[test]
fn find_pages_with_after_and_limit() {
    let server = TestServer::start();
    let mut con = admin(&server);
    for i in 1..=7 {
        run(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                &format!("Ada Pager{i}"),
                "EMAIL",
                &format!("ada{i}@example.com"),
                "PHONE",
                "+15550001111",
            ],
        )
        .unwrap();
    }
    assert_eq!(
        ids(&json_list(&mut con, &["CUSTOMER.FIND", "NAME", "ada"])),
        (1..=7).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&json_list(
            &mut con,
            &["CUSTOMER.FIND", "NAME", "ada", "LIMIT", "3"]
        )),
        vec![1, 2, 3]
    );
    assert_eq!(
        ids(&json_list(
            &mut con,
            &["CUSTOMER.FIND", "NAME", "ada", "LIMIT", "3", "AFTER", "3"]
        )),
        vec![4, 5, 6]
    );
    assert_eq!(
        ids(&json_list(
            &mut con,
            &["CUSTOMER.FIND", "PHONE", "+1 555 000 1111", "AFTER", "5"]
        )),
        vec![6, 7]
    );
    assert_eq!(
        ids(&json_list(
            &mut con,
            &["CUSTOMER.FIND", "EMAIL", "ada2@example.com", "AFTER", "2"]
        )),
        Vec::<u64>::new()
    );
    assert!(json_list(
        &mut con,
        &[
            "CUSTOMER.FIND",
            "NAME",
            "ada",
            "AFTER",
            "99999999999999999999999"
        ]
    )
    .is_empty());
    let mut raw = server.raw_admin();
    assert!(raw
        .roundtrip("CUSTOMER.FIND NAME ada AFTER x\r\n")
        .starts_with("-INVALID after:"));
    assert!(raw
        .roundtrip("CUSTOMER.FIND NAME ada LIMIT 0\r\n")
        .starts_with("-INVALID limit:"));
    assert!(raw
        .roundtrip("CUSTOMER.FIND NAME ada FOO 1\r\n")
        .starts_with("-ERR "));
    assert!(raw
        .roundtrip("CUSTOMER.FIND NAME ada LIMIT 1 LIMIT 2\r\n")
        .starts_with("-ERR "));
    // A query of a megabyte of words answers, and other clients are served meanwhile.
    let words: String = (0..100_000).map(|i| format!("w{i} ")).collect();
    let mut big = server.raw_admin();
    big.send(format!(
        "*3\r\n$13\r\nCUSTOMER.FIND\r\n$4\r\nNAME\r\n${}\r\n{words}\r\n",
        words.len()
    ));
    let mut pinger = server.raw();
    assert_eq!(pinger.roundtrip("PING\r\n"), "+PONG\r\n");
    assert_eq!(big.read_reply(), "*0\r\n");
}

#[test]
fn order_list_all_in_a_time_window_pages_by_id() {
    let server = TestServer::start();
    let mut con = admin(&server);
    run(
        &mut con,
        &["CUSTOMER.ADD", "NAME", "Buyer", "EMAIL", "b@example.com"],
    )
    .unwrap();
    run(&mut con, &["PRODUCT.ADD", "NAME", "Pen", "PRICE", "1.00"]).unwrap();
    // Orders whose times do not follow their ids.
    let mut times = Vec::new();
    for i in 0..40u32 {
        let day = 1 + (i * 7) % 27;
        let at = format!("2026-02-{day:02}");
        times.push((i + 1, day));
        run(
            &mut con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                "1",
                "PRODUCT",
                "1",
                "QUANTITY",
                "1",
                "CREATED_AT",
                &at,
                "NOSTOCK",
            ],
        )
        .unwrap();
    }
    for (since, until, after, limit) in [
        (5, 20, 0, 5),
        (5, 20, 10, 5),
        (1, 28, 0, 100),
        (27, 28, 0, 3),
        (10, 11, 30, 10),
    ] {
        let expected: Vec<u64> = times
            .iter()
            .filter(|(id, day)| *day >= since && *day < until && u64::from(*id) > after)
            .map(|(id, _)| u64::from(*id))
            .take(limit)
            .collect();
        let got = ids(&json_list(
            &mut con,
            &[
                "ORDER.LIST",
                "ALL",
                "SINCE",
                &format!("2026-02-{since:02}"),
                "UNTIL",
                &format!("2026-02-{until:02}"),
                "AFTER",
                &after.to_string(),
                "LIMIT",
                &limit.to_string(),
            ],
        ));
        assert_eq!(
            got, expected,
            "window {since}..{until} after {after} limit {limit}"
        );
    }
}

/// `crm_protocol` 2: the forecast is the line's value, negative included, never `-0.00`.
#[test]
fn a_falling_trend_is_forecast_below_zero() {
    let server = TestServer::start();
    let mut con = admin(&server);
    run(
        &mut con,
        &["CUSTOMER.ADD", "NAME", "Buyer", "EMAIL", "b@example.com"],
    )
    .unwrap();
    run(&mut con, &["PRODUCT.ADD", "NAME", "Gem", "PRICE", "100.00"]).unwrap();
    // 30, 20, 10 units in three months: 3000, 2000, 1000 of revenue; the line goes on falling.
    for (month, units) in [
        ("2026-01-15", "30"),
        ("2026-02-15", "20"),
        ("2026-03-15", "10"),
    ] {
        run(
            &mut con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                "1",
                "PRODUCT",
                "1",
                "QUANTITY",
                units,
                "CREATED_AT",
                month,
                "NOSTOCK",
            ],
        )
        .unwrap();
    }
    let text: String = redis::cmd("STATS.FORECAST")
        .arg("MONTHS")
        .arg("3")
        .query(&mut con)
        .unwrap();
    let forecast: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(forecast["slope"], serde_json::json!(-1000.0));
    assert_eq!(forecast["intercept"], serde_json::json!(3000.0));
    assert_eq!(forecast["r2"], serde_json::json!(1.0));
    assert_eq!(forecast["history"], 3);
    let revenues: Vec<&str> = forecast["forecast"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["revenue"].as_str().unwrap())
        .collect();
    assert_eq!(revenues, vec!["0.00", "-1000.00", "-2000.00"]);
    // Flat revenue has no variance: r2 is null.
    let flat = TestServer::start();
    let mut con = admin(&flat);
    run(
        &mut con,
        &["CUSTOMER.ADD", "NAME", "Buyer", "EMAIL", "b@example.com"],
    )
    .unwrap();
    run(&mut con, &["PRODUCT.ADD", "NAME", "Gem", "PRICE", "5.00"]).unwrap();
    for month in ["2026-01-15", "2026-02-15"] {
        run(
            &mut con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                "1",
                "PRODUCT",
                "1",
                "QUANTITY",
                "1",
                "CREATED_AT",
                month,
                "NOSTOCK",
            ],
        )
        .unwrap();
    }
    let text: String = redis::cmd("STATS.FORECAST").query(&mut con).unwrap();
    let forecast: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(forecast["r2"], Value::Null);
    assert_eq!(forecast["slope"], serde_json::json!(0.0));
}

/// `crm_protocol` 2: churn is ordered by the probability as returned (6 decimals), then id.
#[test]
fn churn_is_ordered_by_the_returned_probability_then_id() {
    let server = TestServer::start_with(&["--demo"]);
    let mut con = admin(&server);
    let text: String = redis::cmd("STATS.CHURN")
        .arg("ASOF")
        .arg("2027-01-01")
        .arg("LIMIT")
        .arg("1000")
        .query(&mut con)
        .unwrap();
    let churn: Value = serde_json::from_str(&text).unwrap();
    let rows: Vec<(f64, u64)> = churn["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["probability"].as_f64().unwrap(),
                r["customer_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(rows.len() > 100);
    for pair in rows.windows(2) {
        let ((p, a), (q, b)) = (pair[0], pair[1]);
        assert!(p > q || (p == q && a < b), "{pair:?} out of order");
        assert_eq!((p * 1e6).round() / 1e6, p, "{p} has more than 6 decimals");
    }
}
