//! Data quality over real TCP: `CUSTOMER.UPSERT` (outcomes, fields, `DRYRUN`, races) and
//! `CUSTOMER.DUPLICATES` (the contract's score on a hand-made store).

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

use crm_server::request::{Command, Customer};
use crm_tests::words::call;
use crm_tests::{send_words as run, TestServer};
use redis::Value;
use serde_json::json;

/// `(id, outcome, fields)` of an upsert.
fn upsert(con: &mut redis::Connection, args: &[&str]) -> (i64, String, Vec<String>) {
    let mut full = vec!["CUSTOMER.UPSERT"];
    full.extend_from_slice(args);
    match run(con, &full).unwrap_or_else(|e| panic!("{args:?}: {e}")) {
        Value::Array(items) => match &items[..] {
            [Value::Int(id), Value::BulkString(outcome), Value::Array(fields)] => (
                *id,
                String::from_utf8(outcome.clone()).unwrap(),
                fields
                    .iter()
                    .map(|f| match f {
                        Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
                        other => panic!("{other:?}"),
                    })
                    .collect(),
            ),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn head(con: &mut redis::Connection) -> serde_json::Value {
    let text: String = redis::cmd("AUDIT.HEAD").query(con).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn get(con: &mut redis::Connection, id: i64) -> serde_json::Value {
    let text: String = redis::cmd("CUSTOMER.GET").arg(id).query(con).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn upsert_creates_updates_or_leaves_unchanged_and_dry_run_writes_nothing() {
    let server = TestServer::start();
    let mut con = server.admin_redis();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // A dry run of a create: :0, the fields, nothing written.
    let before = head(&mut con);
    assert_eq!(
        upsert(
            &mut con,
            &[
                "NAME",
                "Ada",
                "EMAIL",
                "Ada@Example.com",
                "PHONE",
                "+1 555 0100",
                "DRYRUN"
            ]
        ),
        (0, "created".into(), s(&["name", "email", "phone"]))
    );
    assert_eq!(head(&mut con), before);
    let listed: Vec<String> = redis::cmd("CUSTOMER.LIST").query(&mut con).unwrap();
    assert!(listed.is_empty());
    // Created, with the fields its journal entry lists.
    let (id, outcome, fields) = upsert(
        &mut con,
        &[
            "EMAIL",
            "ada@example.com",
            "NAME",
            "Ada",
            "PHONE",
            "+1 555 0100",
            "CREATED_AT",
            "2026-01-01",
        ],
    );
    assert_eq!(
        (outcome.as_str(), fields.clone()),
        ("created", s(&["name", "email", "phone", "created_at"]))
    );
    let log: Vec<String> = redis::cmd("AUDIT.LOG")
        .arg("KIND")
        .arg("customer")
        .query(&mut con)
        .unwrap();
    let entry: serde_json::Value = serde_json::from_str(log.last().unwrap()).unwrap();
    assert_eq!(
        (entry["op"].clone(), entry["fields"].clone()),
        (json!("add"), json!(fields))
    );
    // Unchanged: nothing appended. An absent phone leaves it as it is.
    let before = head(&mut con);
    assert_eq!(
        upsert(&mut con, &["EMAIL", "ADA@example.com", "NAME", "Ada"]),
        (id, "unchanged".into(), vec![])
    );
    assert_eq!(head(&mut con), before);
    // A dry update says what would change and changes nothing.
    assert_eq!(
        upsert(
            &mut con,
            &[
                "EMAIL",
                "ada@example.com",
                "NAME",
                "Ada King",
                "ADDRESS",
                "1 Main St",
                "DRYRUN"
            ]
        ),
        (id, "updated".into(), s(&["name", "address"]))
    );
    assert_eq!(head(&mut con), before);
    assert_eq!(get(&mut con, id)["name"], "Ada");
    // Updated; an empty PHONE clears; CREATED_AT is used only on create.
    assert_eq!(
        upsert(
            &mut con,
            &[
                "EMAIL",
                "ada@example.com",
                "NAME",
                "Ada King",
                "PHONE",
                "",
                "CREATED_AT",
                "2020-01-01"
            ]
        ),
        (id, "updated".into(), s(&["name", "phone"]))
    );
    let record = get(&mut con, id);
    assert_eq!(
        (record["name"].clone(), record["phone"].clone()),
        (json!("Ada King"), json!(null))
    );
    assert_eq!(record["created_at"], "2026-01-01T00:00:00Z");
    // ID: must be the email's customer; on create, must be free.
    let other = id + 1;
    let conflict = run(
        &mut con,
        &[
            "CUSTOMER.UPSERT",
            "EMAIL",
            "ada@example.com",
            "NAME",
            "A",
            "ID",
            &other.to_string(),
        ],
    )
    .unwrap_err();
    assert_eq!(conflict.code(), Some("CONFLICT"));
    let taken = run(
        &mut con,
        &[
            "CUSTOMER.UPSERT",
            "EMAIL",
            "new@example.com",
            "NAME",
            "N",
            "ID",
            &id.to_string(),
        ],
    )
    .unwrap_err();
    assert_eq!(taken.code(), Some("CONFLICT"));
    assert_eq!(
        upsert(
            &mut con,
            &["EMAIL", "new@example.com", "NAME", "N", "ID", "50"]
        )
        .0,
        50
    );
    // Bad input names the field; a reader may not upsert.
    let bad = run(&mut con, &["CUSTOMER.UPSERT", "EMAIL", "nope", "NAME", "N"]).unwrap_err();
    assert_eq!(bad.code(), Some("INVALID"));
    assert!(bad.detail().unwrap().contains("email"), "{bad}");
    run(&mut con, &["USER.ADD", "rita", "pw-rita", "ROLE", "reader"]).unwrap();
    let mut rita = redis::Client::open(server.url("rita", "pw-rita", false))
        .unwrap()
        .get_connection()
        .unwrap();
    assert_eq!(
        run(
            &mut rita,
            &["CUSTOMER.UPSERT", "EMAIL", "r@x.io", "NAME", "R"]
        )
        .unwrap_err()
        .code(),
        Some("NOPERM")
    );
}

#[test]
fn racing_upserts_of_one_email_make_one_customer() {
    let server = TestServer::start();
    let results: Vec<(i64, String, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let server = &server;
                scope.spawn(move || {
                    let mut con = server.admin_redis();
                    upsert(
                        &mut con,
                        &[
                            "EMAIL",
                            "race@example.com",
                            "NAME",
                            &format!("Racer {}", i % 2),
                        ],
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = results.iter().filter(|r| r.1 == "created").count();
    assert_eq!(created, 1, "{results:?}");
    let ids: std::collections::BTreeSet<i64> = results.iter().map(|r| r.0).collect();
    assert_eq!(ids.len(), 1);
    let mut con = server.admin_redis();
    let listed: Vec<String> = redis::cmd("CUSTOMER.LIST").query(&mut con).unwrap();
    assert_eq!(listed.len(), 1);
}

#[test]
fn duplicates_score_as_the_contract_says() {
    let server = TestServer::start();
    let mut con = server.admin_redis();
    let add = |con: &mut redis::Connection, name: &str, email: &str, phone: Option<&str>| -> i64 {
        let mut fields = vec![(Customer::NAME, name), (Customer::EMAIL, email)];
        fields.extend(phone.map(|p| (Customer::PHONE, p)));
        match call(con, &Command::customer_add(&fields)) {
            Value::Int(id) => id,
            other => panic!("{other:?}"),
        }
    };
    let a = add(&mut con, "Ada Lovelace", "ada@one.io", Some("+15550001"));
    let b = add(&mut con, "Ada Lovelace", "ada@two.io", Some("+15550001")); // 600+300+300 → 1.0
    let c = add(&mut con, "Ada King", "adaa@three.io", None); // with a: 100 + 200 = 0.3
    let d = add(&mut con, "Zed Zulu", "zed@four.io", Some("+15550002"));
    let e = add(&mut con, "Zed Other", "qqq@five.io", Some("+15550002")); // with d: 600 + 100 = 0.7
    let pairs = |con: &mut redis::Connection, args: &[&str]| -> Vec<serde_json::Value> {
        let mut full = vec!["CUSTOMER.DUPLICATES"];
        full.extend_from_slice(args);
        let items: Vec<String> = {
            let mut cmd = redis::cmd(full[0]);
            for x in &full[1..] {
                cmd.arg(*x);
            }
            cmd.query(con).unwrap()
        };
        items
            .iter()
            .map(|s| serde_json::from_str(s).unwrap())
            .collect()
    };
    assert_eq!(
        pairs(&mut con, &[]),
        vec![
            json!({"a": a, "b": b, "score": 1.0, "reasons": ["phone", "name", "email"]}),
            json!({"a": d, "b": e, "score": 0.7, "reasons": ["phone", "name"]}),
        ]
    );
    let low = pairs(&mut con, &["MIN", "0.3"]);
    assert_eq!(low.len(), 4, "{low:?}");
    assert_eq!(
        low[2],
        json!({"a": a, "b": c, "score": 0.3, "reasons": ["name", "email"]})
    );
    assert_eq!(
        low[3],
        json!({"a": b, "b": c, "score": 0.3, "reasons": ["name", "email"]})
    );
    assert_eq!(pairs(&mut con, &["MIN", "0.3", "LIMIT", "1"]).len(), 1);
    for bad in ["0.05", "1.5", "x", "-1"] {
        let error = run(&mut con, &["CUSTOMER.DUPLICATES", "MIN", bad]).unwrap_err();
        assert_eq!(error.code(), Some("INVALID"), "{bad}");
    }
    // A forgotten customer is skipped.
    run(&mut con, &["CUSTOMER.FORGET", &b.to_string()]).unwrap();
    assert_eq!(pairs(&mut con, &[])[0]["a"], json!(d));
}
