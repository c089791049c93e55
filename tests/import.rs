//! `crm-server import` of the demo CSV files, and `STATS.CUSTOMERS BY ID` checked to the cent
//! against an independent SQL join over the same files (SQLite).

#![allow(clippy::unwrap_used)]

use crm_tests::{server_binary, TestServer, ADMIN_PASSWORD};
use std::path::Path;
use std::process::Command;

fn import(server: &TestServer, kind: &str, file: &Path) -> String {
    let output = Command::new(server_binary())
        .args([
            "import",
            "--connect",
            &server.address(),
            "--user",
            "admin",
            kind,
        ])
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
