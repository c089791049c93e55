//! `CUSTOMER.QUERY`, `PRODUCT.QUERY`, `CUSTOMER.COUNT`, `PRODUCT.COUNT` over real TCP: every
//! clause, the error kinds in the router's order, a masked user's limits, and walks of pages
//! with writes between them and a restart in the middle.
//!
//! One file: the tests share one set of customers, products and orders.

#![allow(clippy::unwrap_used, clippy::panic)]

use crm_tests::words::{code, connect, id, json_of, ok};
use crm_tests::{send_words, TestServer};
use redis::Value;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The page a query answers: its cursor and its records.
fn query(con: &mut redis::Connection, args: &[&str]) -> (String, Vec<Json>) {
    match ok(con, args) {
        Value::Array(mut parts) if parts.len() == 2 => {
            let records = json_of(parts.pop().unwrap());
            let Value::BulkString(cursor) = parts.pop().unwrap() else {
                panic!("{args:?}: the cursor is not a bulk string");
            };
            let records = records.as_array().cloned().unwrap_or_default();
            (String::from_utf8(cursor).unwrap(), records)
        }
        other => panic!("{args:?} answered {other:?}"),
    }
}

/// The ids of a page.
fn ids(args: &[&str], con: &mut redis::Connection) -> Vec<u64> {
    let (cursor, records) = query(con, args);
    assert_eq!(cursor, "0", "{args:?}: one page holds every match");
    records.iter().map(|r| r["id"].as_u64().unwrap()).collect()
}

/// Asserts the ids of one-page answers, each request written with `|` between its words.
fn expect_all(con: &mut redis::Connection, cases: &[(&str, &[u64])]) {
    for (request, expected) in cases {
        let args: Vec<&str> = request.split('|').collect();
        assert_eq!(ids(&args, con), *expected, "{args:?}");
    }
}

/// Asserts the error code of each request (written with `|` between its words).
fn expect_codes(con: &mut redis::Connection, expected: &str, requests: &[&str]) {
    for request in requests {
        let args: Vec<&str> = request.split('|').collect();
        assert_eq!(code(con, &args), expected, "{args:?}");
    }
}

fn count(con: &mut redis::Connection, args: &[&str]) -> i64 {
    match ok(con, args) {
        Value::Int(n) => n,
        other => panic!("{args:?} answered {other:?}"),
    }
}

/// The error of a request: its code and message.
fn error(con: &mut redis::Connection, args: &[&str]) -> (String, String) {
    match send_words(con, args) {
        Err(e) => (
            e.code().unwrap_or("?").to_string(),
            e.detail().unwrap_or("").to_string(),
        ),
        Ok(v) => panic!("{args:?} answered {v:?}"),
    }
}

/// Five customers, three products, orders for two customers:
///
/// | id | name | email | phone | address | created_at | orders |
/// | 1 | Ada Lovelace | ada@example.com | +15550100 | 1 Main St | 2024-01-01 | 2 (30.00) |
/// | 2 | Alan Turing | alan@example.com | – | – | 2024-02-01 | – |
/// | 3 | ada byron | byron@example.org | +15550199 | – | 2024-03-01 | 1 (12.50) |
/// | 4 | Grace Hopper | grace@navy.mil | +4420123456 | 2 Elm Rd | 2024-02-01 | – |
/// | 5 | Ada | ada.b@example.com | – | – | 2024-03-01 | – |
fn seed(admin: &mut redis::Connection) {
    let customers: [&[&str]; 5] = [
        &[
            "NAME",
            "Ada Lovelace",
            "EMAIL",
            "ada@example.com",
            "PHONE",
            "+15550100",
            "ADDRESS",
            "1 Main St",
            "CREATED_AT",
            "2024-01-01",
        ],
        &[
            "NAME",
            "Alan Turing",
            "EMAIL",
            "alan@example.com",
            "CREATED_AT",
            "2024-02-01",
        ],
        &[
            "NAME",
            "ada byron",
            "EMAIL",
            "byron@example.org",
            "PHONE",
            "+15550199",
            "CREATED_AT",
            "2024-03-01",
        ],
        &[
            "NAME",
            "Grace Hopper",
            "EMAIL",
            "grace@navy.mil",
            "PHONE",
            "+4420123456",
            "ADDRESS",
            "2 Elm Rd",
            "CREATED_AT",
            "2024-02-01",
        ],
        &[
            "NAME",
            "Ada",
            "EMAIL",
            "ada.b@example.com",
            "CREATED_AT",
            "2024-03-01",
        ],
    ];
    for fields in customers {
        let mut args = vec!["CUSTOMER.ADD"];
        args.extend_from_slice(fields);
        id(ok(admin, &args));
    }
    for (name, price, stock) in [
        ("Tea", "10", "5"),
        ("Coffee", "12.50", "0"),
        ("Green Tea", "3", "9"),
    ] {
        id(ok(
            admin,
            &["PRODUCT.ADD", "NAME", name, "PRICE", price, "STOCK", stock],
        ));
    }
    for (customer, product, quantity, at) in [
        ("1", "1", "1", "2024-05-01"),
        ("1", "1", "2", "2024-06-01"),
        ("3", "2", "1", "2024-04-01"),
    ] {
        let args = [
            "ORDER.ADD",
            "CUSTOMER",
            customer,
            "PRODUCT",
            product,
            "QUANTITY",
            quantity,
            "CREATED_AT",
            at,
            "NOSTOCK",
        ];
        id(ok(admin, &args));
    }
}

fn seeded() -> (TestServer, redis::Connection) {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    seed(&mut admin);
    (server, admin)
}

#[test]
fn every_clause_and_operator_answers_as_the_contract_says() {
    let (_server, mut admin) = seeded();
    let con = &mut admin;
    // No clause: every customer by id, in one page.
    expect_all(
        con,
        &[
            ("CUSTOMER.QUERY", &[1, 2, 3, 4, 5]),
            // Texts: NFC, lower case, whitespace folded; WORD needs every word.
            ("CUSTOMER.QUERY|WHERE|name|WORD|ADA", &[1, 3, 5]),
            ("CUSTOMER.QUERY|WHERE|name|WORD|lovelace ada", &[1]),
            ("CUSTOMER.QUERY|WHERE|name|PREFIX| ADA ", &[1, 3, 5]),
            ("CUSTOMER.QUERY|WHERE|name|=|ada LOVELACE", &[1]),
            ("CUSTOMER.QUERY|WHERE|name|!=|ada", &[1, 2, 3, 4]),
            ("CUSTOMER.QUERY|WHERE|name|IN|2|ada|grace hopper", &[4, 5]),
            // Emails and phones are normalised as a write normalises them.
            ("CUSTOMER.QUERY|WHERE|email|=| ADA@Example.com", &[1]),
            ("CUSTOMER.QUERY|WHERE|email|PREFIX|ADA", &[1, 5]),
            ("CUSTOMER.QUERY|WHERE|phone|PREFIX|1 555", &[1, 3]),
            (
                "CUSTOMER.QUERY|WHERE|phone|IN|2|1-555-0199|+4420123456",
                &[3, 4],
            ),
            // Presence; a null passes only MISSING (`!=` too is false on it).
            ("CUSTOMER.QUERY|WHERE|phone|MISSING", &[2, 5]),
            ("CUSTOMER.QUERY|WHERE|address|EXISTS", &[1, 4]),
            ("CUSTOMER.QUERY|WHERE|phone|!=|+15550100", &[3, 4]),
            // Ids: any number; `id = 0` nothing, `id > 0` everything.
            ("CUSTOMER.QUERY|WHERE|id|=|0", &[]),
            ("CUSTOMER.QUERY|WHERE|id|>|0", &[1, 2, 3, 4, 5]),
            ("CUSTOMER.QUERY|WHERE|id|>=|2|AND|id|<|4", &[2, 3]),
            (
                "CUSTOMER.QUERY|WHERE|id|<|99999999999999999999999",
                &[1, 2, 3, 4, 5],
            ),
            // Times and statistics.
            (
                "CUSTOMER.QUERY|WHERE|created_at|>=|2024-02-01T00:00:00Z",
                &[2, 3, 4, 5],
            ),
            ("CUSTOMER.QUERY|WHERE|order_count|>|0", &[1, 3]),
            ("CUSTOMER.QUERY|WHERE|order_count|=|0", &[2, 4, 5]),
            ("CUSTOMER.QUERY|WHERE|total_amount|>=|30", &[1]),
            (
                "CUSTOMER.QUERY|WHERE|total_amount|<|100000000000",
                &[1, 2, 3, 4, 5],
            ),
            ("CUSTOMER.QUERY|WHERE|first_order|MISSING", &[2, 4, 5]),
            ("CUSTOMER.QUERY|WHERE|last_order|<|2024-05-15", &[3]),
            // Clauses in any order and case.
            (
                "customer.query|limit|10|sort|NAME|where|name|word|ada|and|id|!=|5|cursor|0",
                &[3, 1],
            ),
        ],
    );
    // COUNT.
    assert_eq!(count(con, &["CUSTOMER.COUNT"]), 5);
    assert_eq!(
        count(
            con,
            &[
                "CUSTOMER.COUNT",
                "WHERE",
                "name",
                "WORD",
                "ada",
                "AND",
                "phone",
                "EXISTS"
            ]
        ),
        2
    );
    // Products, with their statistics (zero without orders) and any integer for stock.
    expect_all(
        con,
        &[
            ("PRODUCT.QUERY|WHERE|name|WORD|tea", &[1, 3]),
            ("PRODUCT.QUERY|WHERE|stock|>|-5|AND|price|<=|10", &[1, 3]),
            ("PRODUCT.QUERY|SORT|revenue|DESC", &[1, 2, 3]),
            ("PRODUCT.QUERY|WHERE|units|=|0", &[3]),
        ],
    );
    assert_eq!(
        count(con, &["PRODUCT.COUNT", "WHERE", "order_count", ">=", "1"]),
        2
    );
}

#[test]
fn sorts_put_nulls_last_both_ways_and_break_ties_by_id() {
    let (_server, mut admin) = seeded();
    let con = &mut admin;
    expect_all(
        con,
        &[
            ("CUSTOMER.QUERY|SORT|name", &[5, 3, 1, 2, 4]),
            ("CUSTOMER.QUERY|SORT|name|DESC", &[4, 2, 1, 3, 5]),
            // Ties (two customers on each of two dates) by id ascending in both directions.
            ("CUSTOMER.QUERY|SORT|created_at|DESC", &[3, 5, 2, 4, 1]),
            ("CUSTOMER.QUERY|SORT|created_at|ASC", &[1, 2, 4, 3, 5]),
            // Nulls last, ascending and descending.
            ("CUSTOMER.QUERY|SORT|last_order", &[3, 1, 2, 4, 5]),
            ("CUSTOMER.QUERY|SORT|last_order|DESC", &[1, 3, 2, 4, 5]),
            ("CUSTOMER.QUERY|SORT|phone|DESC", &[4, 3, 1, 2, 5]),
            ("CUSTOMER.QUERY|SORT|id|DESC", &[5, 4, 3, 2, 1]),
        ],
    );
    // A page holds LIMIT records while that many remain; the page with the last carries "0".
    let (cursor, page) = query(con, &["CUSTOMER.QUERY", "SORT", "name", "LIMIT", "3"]);
    assert_eq!(page.len(), 3);
    assert_ne!(cursor, "0");
    let (last, page) = query(
        con,
        &[
            "CUSTOMER.QUERY",
            "SORT",
            "name",
            "LIMIT",
            "3",
            "CURSOR",
            &cursor,
        ],
    );
    assert_eq!((last.as_str(), page.len()), ("0", 2));
    let (last, page) = query(con, &["CUSTOMER.QUERY", "LIMIT", "5"]);
    assert_eq!((last.as_str(), page.len()), ("0", 5));
    // Records as GET shows them.
    let (_, page) = query(con, &["CUSTOMER.QUERY", "WHERE", "id", "=", "1"]);
    assert_eq!(page[0], json_of(ok(con, &["CUSTOMER.GET", "1"])));
}

#[test]
fn errors_come_in_the_routers_order() {
    let (_server, mut admin) = seeded();
    let con = &mut admin;
    // Grammar: ERR.
    expect_codes(
        con,
        "ERR",
        &[
            "CUSTOMER.QUERY|LIMIT|1|LIMIT|2",
            "CUSTOMER.QUERY|WHERE|name|=|a|WHERE|id|=|1",
            "CUSTOMER.QUERY|FROM|x",
            "CUSTOMER.QUERY|WHERE|name|LIKE|a",
            "CUSTOMER.QUERY|WHERE|name|=",
            "CUSTOMER.QUERY|WHERE|id|IN|3|1|2",
            "CUSTOMER.QUERY|SORT",
            "CUSTOMER.COUNT|SORT|name",
            "PRODUCT.COUNT|LIMIT|3",
        ],
    );
    // Values and fields: INVALID, naming the field and the value; an unknown field's
    // message lists the kind's fields.
    let (kind, message) = error(con, &["CUSTOMER.QUERY", "WHERE", "colour", "=", "red"]);
    assert_eq!(kind, "INVALID");
    let fields = "colour id name email phone address created_at order_count total_amount first_order last_order";
    for name in fields.split(' ') {
        assert!(message.contains(name), "{message}");
    }
    let (_, message) = error(con, &["PRODUCT.QUERY", "WHERE", "colour", "EXISTS"]);
    assert!(
        message.contains("revenue") && message.contains("units"),
        "{message}"
    );
    for (args, value) in [
        (
            &["CUSTOMER.QUERY", "WHERE", "created_at", ">", "yesterday"][..],
            "yesterday",
        ),
        (&["CUSTOMER.QUERY", "WHERE", "id", "=", "one"], "one"),
    ] {
        let (kind, message) = error(con, args);
        assert_eq!(kind, "INVALID");
        assert!(
            message.contains(args[2]) && message.contains(value),
            "{message}"
        );
    }
    let in_1001 = format!(
        "CUSTOMER.QUERY|WHERE|id|IN|1001|{}",
        (0..1001)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("|")
    );
    let sixteen = format!("CUSTOMER.COUNT|WHERE{}", "|id|>|0|AND".repeat(16));
    let sixteen = sixteen.trim_end_matches("|AND");
    assert_eq!(count(con, &sixteen.split('|').collect::<Vec<_>>()), 5);
    let seventeen = format!("{sixteen}|AND|id|>|0");
    expect_codes(
        con,
        "INVALID",
        &[
            "CUSTOMER.QUERY|WHERE|name|<|b",
            "CUSTOMER.QUERY|WHERE|email|WORD|ada",
            "CUSTOMER.QUERY|WHERE|id|PREFIX|1",
            "CUSTOMER.QUERY|WHERE|name|PREFIX|   ",
            "CUSTOMER.QUERY|WHERE|id|IN|0",
            &in_1001,
            &seventeen,
            "CUSTOMER.QUERY|SORT|address",
            "CUSTOMER.QUERY|SORT|colour",
            "CUSTOMER.QUERY|LIMIT|0",
            "CUSTOMER.QUERY|LIMIT|100001",
            "PRODUCT.QUERY|WHERE|price|=|100000000",
            "CUSTOMER.QUERY|CURSOR|not-a-cursor",
        ],
    );
    // A cursor is valid only with its own conditions and sort (in any order of conditions),
    // and for its own kind; a tampered one is refused.
    let walk = "CUSTOMER.QUERY|WHERE|id|>|0|AND|name|EXISTS|SORT|name|LIMIT|1";
    let (cursor, _) = query(con, &walk.split('|').collect::<Vec<_>>());
    let same = format!(
        "CUSTOMER.QUERY|WHERE|name|EXISTS|AND|id|>|0|SORT|name|ASC|LIMIT|2|CURSOR|{cursor}"
    );
    assert_eq!(query(con, &same.split('|').collect::<Vec<_>>()).1.len(), 2);
    let mut tampered = cursor.clone().into_bytes();
    tampered[50] = if tampered[50] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    let others: Vec<String> = [
        format!("CUSTOMER.QUERY|WHERE|id|>|1|AND|name|EXISTS|SORT|name|CURSOR|{cursor}"),
        format!("CUSTOMER.QUERY|WHERE|id|>|0|AND|name|EXISTS|SORT|name|DESC|CURSOR|{cursor}"),
        format!("CUSTOMER.QUERY|WHERE|id|>|0|AND|name|EXISTS|CURSOR|{cursor}"),
        format!("PRODUCT.QUERY|WHERE|id|>|0|AND|name|EXISTS|SORT|name|CURSOR|{cursor}"),
        format!("{walk}|CURSOR|{tampered}"),
    ]
    .into();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    expect_codes(con, "INVALID", &others);
}

#[test]
fn masked_users_may_only_match_personal_fields_whole() {
    let (server, mut admin) = seeded();
    ok(
        &mut admin,
        &[
            "USER.ADD",
            "mask",
            "pw-mask-user",
            "ROLE",
            "reader",
            "MASKED",
        ],
    );
    ok(
        &mut admin,
        &["USER.ADD", "reader", "pw-reader-user", "ROLE", "reader"],
    );
    let mut masked = connect(&server, "mask", "pw-mask-user");
    let con = &mut masked;
    // =, IN, EXISTS, MISSING on a personal field; the records come masked.
    let (_, page) = query(
        con,
        &["CUSTOMER.QUERY", "WHERE", "email", "=", "ada@example.com"],
    );
    assert_eq!(page.len(), 1);
    assert_eq!(page[0]["email"], "a***@example.com");
    assert_eq!(page[0]["address"], "***");
    assert_eq!(page[0]["name"], "Ada Lovelace");
    assert_eq!(
        ids(
            &["CUSTOMER.QUERY", "WHERE", "phone", "IN", "1", "+15550199"],
            con
        ),
        [3]
    );
    assert_eq!(
        ids(&["CUSTOMER.QUERY", "WHERE", "address", "MISSING"], con),
        [2, 3, 5]
    );
    assert_eq!(
        count(con, &["CUSTOMER.COUNT", "WHERE", "phone", "EXISTS"]),
        3
    );
    // Anything else on one is NOPERM, before its value is read (an empty prefix is not
    // INVALID for them), and so is a sort on one.
    expect_codes(
        con,
        "NOPERM",
        &[
            "CUSTOMER.QUERY|WHERE|email|PREFIX|ada",
            "CUSTOMER.QUERY|WHERE|email|PREFIX|",
            "CUSTOMER.QUERY|WHERE|phone|!=|not a phone",
            "CUSTOMER.QUERY|WHERE|address|WORD|main",
            "CUSTOMER.COUNT|WHERE|phone|PREFIX|+1",
            "CUSTOMER.QUERY|SORT|email",
            "CUSTOMER.QUERY|SORT|phone|DESC|LIMIT|0",
        ],
    );
    // Other fields as for anyone; a reader that is not masked may do all of it.
    assert_eq!(
        ids(&["CUSTOMER.QUERY", "WHERE", "name", "PREFIX", "ada"], con),
        [1, 3, 5]
    );
    let mut reader = connect(&server, "reader", "pw-reader-user");
    assert_eq!(
        ids(
            &["CUSTOMER.QUERY", "WHERE", "email", "PREFIX", "ada"],
            &mut reader
        ),
        [1, 5]
    );
    assert_eq!(
        ids(&["PRODUCT.QUERY", "SORT", "price"], &mut reader),
        [3, 1, 2]
    );
}

/// Walks `CUSTOMER.QUERY WHERE name WORD ada SORT name LIMIT 2` while another client adds,
/// renames and deletes customers, and the server restarts in the middle: every customer that
/// matched and never changed comes exactly once; the cursor outlives the restart.
#[test]
fn a_walk_returns_each_unchanged_match_once_across_writes_and_a_restart() {
    let mut server = TestServer::start();
    let mut admin = server.admin_redis();
    let names = [
        "Ada A", "Ada B", "Bob", "Ada C", "Ada D", "Eve", "Ada E", "Ada F", "Ada G", "Ada H",
    ];
    for (n, name) in names.iter().enumerate() {
        let email = format!("p{n}@example.com");
        id(ok(
            &mut admin,
            &["CUSTOMER.ADD", "NAME", name, "EMAIL", &email],
        ));
    }
    let walk = [
        "CUSTOMER.QUERY",
        "WHERE",
        "name",
        "WORD",
        "ada",
        "SORT",
        "name",
        "DESC",
        "LIMIT",
        "2",
    ];
    let expected: Vec<u64> = vec![10, 9, 8, 7, 5, 4, 2, 1];
    let (mut cursor, first) = query(&mut admin, &walk);
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    let mut record = |page: &[Json]| {
        for r in page {
            *seen.entry(r["id"].as_u64().unwrap()).or_default() += 1;
        }
    };
    record(&first);
    let mut changed = Vec::new();
    let mut step = 0;
    while cursor != "0" {
        match step {
            0 => {
                // A new match sorted before and after the cursor, a rename out of the walk.
                id(ok(
                    &mut admin,
                    &["CUSTOMER.ADD", "NAME", "Ada Z", "EMAIL", "z@example.com"],
                ));
                id(ok(
                    &mut admin,
                    &["CUSTOMER.ADD", "NAME", "Ada 0", "EMAIL", "zero@example.com"],
                ));
                ok(&mut admin, &["CUSTOMER.UPDATE", "5", "NAME", "Ada CC"]);
                changed.push(5);
            }
            1 => {
                server.signal_and_wait("TERM");
                server.launch();
                admin = server.admin_redis();
            }
            2 => {
                ok(&mut admin, &["CUSTOMER.DEL", "2"]);
                changed.push(2);
            }
            _ => {}
        }
        step += 1;
        let mut args = walk.to_vec();
        args.extend(["CURSOR", &cursor]);
        let (next, page) = query(&mut admin, &args);
        record(&page);
        cursor = next;
    }
    assert!(step >= 3, "the walk had pages enough for the writes");
    for id in expected.iter().filter(|id| !changed.contains(id)) {
        assert_eq!(seen.get(id), Some(&1), "{id}: {seen:?}");
    }
    assert!(!seen.contains_key(&3) && !seen.contains_key(&6), "{seen:?}");
}

#[test]
fn the_commands_describe_themselves_in_the_schema_group() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    for name in [
        "CUSTOMER.QUERY",
        "PRODUCT.QUERY",
        "CUSTOMER.COUNT",
        "PRODUCT.COUNT",
    ] {
        let docs = format!("{:?}", ok(&mut admin, &["COMMAND", "DOCS", name]));
        assert!(docs.contains("schema"), "{name}: {docs}");
    }
}
