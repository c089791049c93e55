//! `crm-server import` of the demo CSV files, and `STATS.CUSTOMERS BY ID` checked to the cent
//! against an independent SQL join over the same files (SQLite).

#![allow(clippy::unwrap_used)]

use crm_tests::{server_binary, TestServer, ADMIN_PASSWORD};
use std::path::Path;
use std::process::Command;

fn import(server: &TestServer, kind: &str, file: &Path) -> String {
    import_with(server, &[], kind, file)
}

fn import_with(server: &TestServer, flags: &[&str], kind: &str, file: &Path) -> String {
    let output = Command::new(server_binary())
        .args(["import", "--connect", &server.address(), "--user", "admin"])
        .args(flags)
        .arg(kind)
        .arg(file)
        .env("CRM_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Loads a CSV file into an SQLite table with text columns.
fn load_table(db: &rusqlite::Connection, table: &str, file: &Path) {
    let mut reader = csv::Reader::from_path(file).unwrap();
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    db.execute_batch(&format!(
        "CREATE TABLE {table} ({});",
        headers.join(" TEXT, ") + " TEXT"
    ))
    .unwrap();
    let placeholders = vec!["?"; headers.len()].join(",");
    let mut insert = db
        .prepare(&format!("INSERT INTO {table} VALUES ({placeholders})"))
        .unwrap();
    for record in reader.records() {
        let record = record.unwrap();
        insert
            .execute(rusqlite::params_from_iter(record.iter()))
            .unwrap();
    }
}

#[test]
fn demo_csv_import_matches_an_independent_sql_join_to_the_cent() {
    let server = TestServer::start();
    let dir = server.dir.path().join("csv");
    crm_engine::demo::generate(5, 400, 40, 5_000)
        .write_csv(&dir)
        .unwrap();
    for (kind, file) in [
        ("customers", "customers.csv"),
        ("products", "products.csv"),
        ("orders", "orders.csv"),
    ] {
        let report = import(&server, kind, &dir.join(file));
        assert!(report.contains("rejected 0"), "{report}");
    }

    // The design notes' question, asked of SQLite: per customer, the number of orders and
    // Σ quantity × price (prices in cents, as integers, so the sum is exact).
    let db = rusqlite::Connection::open_in_memory().unwrap();
    load_table(&db, "customers", &dir.join("customers.csv"));
    load_table(&db, "products", &dir.join("products.csv"));
    load_table(&db, "orders", &dir.join("orders.csv"));
    let mut query = db
        .prepare(
            "SELECT o.customer_id + 0, COUNT(*), SUM((o.quantity + 0) * CAST(ROUND(p.price * 100) AS INTEGER)), c.name
             FROM orders o JOIN products p ON p.id = o.product_id JOIN customers c ON c.id = o.customer_id
             GROUP BY o.customer_id ORDER BY o.customer_id + 0",
        )
        .unwrap();
    let expected: Vec<(i64, i64, i64, String)> = query
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(expected.len() > 100);

    let mut con = redis::Client::open(server.url("admin", ADMIN_PASSWORD, false))
        .unwrap()
        .get_connection()
        .unwrap();
    let rows: Vec<String> = redis::cmd("STATS.CUSTOMERS")
        .arg("BY")
        .arg("ID")
        .arg("LIMIT")
        .arg(100_000)
        .query(&mut con)
        .unwrap();
    assert_eq!(rows.len(), expected.len());
    for (row, (id, count, cents, name)) in rows.iter().zip(&expected) {
        let row: serde_json::Value = serde_json::from_str(row).unwrap();
        assert_eq!(row["customer_id"], *id);
        assert_eq!(row["order_count"], *count);
        assert_eq!(
            row["total_amount"],
            format!("{}.{:02}", cents / 100, cents % 100)
        );
        assert_eq!(row["name"], name.as_str());
    }
}

#[test]
fn the_import_report_names_lines_and_reasons() {
    let server = TestServer::start();
    let file = server.dir.path().join("dirty.csv");
    std::fs::write(
        &file,
        "id,name,email,phone\n1,Ada,ada@example.com,\n2, Bob ,BOB@example.com,\n2,Bob,bob@example.com,\n3,Eve,eve@,\n4,Ada Again,ADA@example.com,\n",
    )
    .unwrap();
    let report = import(&server, "customers", &file);
    assert!(
        report.contains("accepted 1, fixed 1, merged 1, rejected 2"),
        "{report}"
    );
    assert!(report.contains("line 3: fixed: name:"), "{report}");
    assert!(
        report.contains("line 4: merged: same as line 3"),
        "{report}"
    );
    assert!(report.contains("line 5: rejected: email:"), "{report}");
    assert!(
        report
            .contains("line 6: rejected: CONFLICT email \"ada@example.com\" belongs to customer 1"),
        "{report}"
    );
}

/// The report's last line, parsed.
fn summary(report: &str) -> serde_json::Value {
    serde_json::from_str(report.lines().last().unwrap()).unwrap()
}

/// A store with Ada (with a phone) and Bob, and a file with every kind of row.
fn upsert_case() -> (TestServer, std::path::PathBuf) {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    for args in [
        [
            "CUSTOMER.ADD",
            "NAME",
            "Ada",
            "EMAIL",
            "ada@example.com",
            "PHONE",
            "+15550100",
        ],
        [
            "CUSTOMER.ADD",
            "NAME",
            "Bob",
            "EMAIL",
            "bob@example.com",
            "PHONE",
            "",
        ],
    ] {
        crm_tests::words::ok(&mut admin, &args);
    }
    let file = server.dir.path().join("people.csv");
    std::fs::write(
        &file,
        "id,name,email,phone,address\n\
         ,Ada,ada@example.com,+15550100,\n\
         ,Bob,bob@example.com,+15550199,\n\
         ,Cy,cy@example.com,,\n\
         ,  Dee  ,DEE@example.com,,\n\
         ,Cy,cy@example.com,,\n\
         ,Eve,eve@,,\n\
         ,Cy Two,cy@example.com,,1 Road\n",
    )
    .unwrap();
    (server, file)
}

/// Everything the store holds that an import could change.
fn state(server: &TestServer) -> (String, String) {
    let mut admin = server.admin_redis();
    let head: String = redis::cmd("AUDIT.HEAD").query(&mut admin).unwrap();
    let customers: Vec<String> = redis::cmd("CUSTOMER.LIST").query(&mut admin).unwrap();
    (head, customers.join("\n"))
}

#[test]
fn upsert_import_reports_every_kind_of_row_and_the_dry_run_says_the_same_writing_nothing() {
    let (server, file) = upsert_case();
    let before = state(&server);
    let dry = import_with(&server, &["--upsert", "--dry-run"], "customers", &file);
    assert_eq!(state(&server), before, "a dry run writes nothing");
    let expected = serde_json::json!({"created":1,"updated":2,"updated_fields":{"phone":1,"name":1,"address":1},
        "unchanged":1,"fixed":1,"merged":1,"rejected":1});
    assert_eq!(summary(&dry), expected, "{dry}");
    assert!(dry.contains("line 3: updated: phone"), "{dry}");
    assert!(dry.contains("line 8: updated: name, address"), "{dry}");
    assert!(dry.contains("line 5: fixed: name:"), "{dry}");
    assert!(dry.contains("line 6: merged: same as line 4"), "{dry}");
    assert!(dry.contains("line 7: rejected: email:"), "{dry}");
    assert!(dry.contains("unchanged: lines 2"), "{dry}");

    let real = import_with(&server, &["--upsert"], "customers", &file);
    assert_eq!(summary(&real), expected, "{real}");
    let mut admin = server.admin_redis();
    let found: Vec<String> = redis::cmd("CUSTOMER.FIND")
        .arg("EMAIL")
        .arg("cy@example.com")
        .query(&mut admin)
        .unwrap();
    let cy: serde_json::Value = serde_json::from_str(&found[0]).unwrap();
    assert_eq!(
        (cy["name"].as_str(), cy["address"].as_str()),
        (Some("Cy Two"), Some("1 Road"))
    );
    // Again: everyone is there; line 4 renames Cy Two back to Cy, line 8 renames again (the
    // fixed row still counts as fixed).
    let again = import_with(&server, &["--upsert", "--dry-run"], "customers", &file);
    assert_eq!(
        summary(&again),
        serde_json::json!({"created":0,"updated":2,"updated_fields":{"name":2},"unchanged":2,
            "fixed":1,"merged":1,"rejected":1}),
        "{again}"
    );
}

#[test]
fn a_plain_dry_run_reports_what_the_plain_import_then_does() {
    let (server, file) = upsert_case();
    let before = state(&server);
    let dry = import_with(&server, &["--dry-run"], "customers", &file);
    assert_eq!(state(&server), before);
    let real = import(&server, "customers", &file);
    assert_eq!(summary(&dry), summary(&real), "{dry}\n{real}");
    assert_eq!(
        summary(&real),
        serde_json::json!({"created":1,"updated":0,"updated_fields":{},"unchanged":0,
            "fixed":1,"merged":1,"rejected":4})
    );
    assert!(
        dry.contains("line 2: rejected: CONFLICT email \"ada@example.com\" belongs to customer 1"),
        "{dry}"
    );
    // Orders: references and ids are checked without writing.
    let orders = server.dir.path().join("orders.csv");
    std::fs::write(
        &orders,
        "id,customer_id,product_id,quantity,created_at\n,1,1,1,2026-01-01\n",
    )
    .unwrap();
    let dry = import_with(&server, &["--dry-run"], "orders", &orders);
    assert!(
        dry.contains("line 2: rejected: FKEY product 1 does not exist"),
        "{dry}"
    );
    assert_eq!(summary(&dry)["rejected"], 1);
}
