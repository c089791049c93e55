//! `crm-server import` of the demo CSV files, and `STATS.CUSTOMERS BY ID` checked to the cent
//! against an independent SQL join over the same files (SQLite); the report's counts, lines,
//! exit status and rejects file on files as people make them (CRLF, blank lines, quoted line
//! breaks, stray quotes, extra columns, semicolons, unknown headers).

#![allow(clippy::unwrap_used)]

use crm_tests::{server_binary, TestServer, ADMIN_PASSWORD};
use std::path::Path;
use std::process::Command;

fn import(server: &TestServer, kind: &str, file: &Path) -> String {
    import_with(server, &[], kind, file)
}

/// Runs an import to its end: the report, after checking that the exit status says whether
/// rows were rejected (0: none, 3: some) and that the outcomes add up to `rows`.
fn import_with(server: &TestServer, flags: &[&str], kind: &str, file: &Path) -> String {
    let (status, stdout, stderr) = run_import(server, flags, kind, file);
    let counts = summary(&stdout);
    let outcomes: u64 = ["created", "updated", "unchanged", "merged", "rejected"]
        .iter()
        .map(|outcome| counts[outcome].as_u64().unwrap())
        .sum();
    assert_eq!(Some(outcomes), counts["rows"].as_u64(), "{stdout}");
    let rejected = counts["rejected"].as_u64().unwrap();
    assert_eq!(
        status,
        Some(if rejected == 0 { 0 } else { 3 }),
        "{stderr}\n{stdout}"
    );
    stdout
}

/// `crm-server import`: the exit status, stdout and stderr.
fn run_import(
    server: &TestServer,
    flags: &[&str],
    kind: &str,
    file: &Path,
) -> (Option<i32>, String, String) {
    let output = Command::new(server_binary())
        .args(["import", "--connect", &server.address(), "--user", "admin"])
        .args(flags)
        .arg(kind)
        .arg(file)
        .env("CRM_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
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
        assert!(report.contains("rejected 0;"), "{report}");
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
        report.contains("5 rows: created 2, updated 0, unchanged 0, merged 1, rejected 2; fixed 2"),
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
    // Line 5 is fixed (Dee's spaces and email) and created: counted as both.
    let expected = serde_json::json!({"rows":7,"created":2,"updated":2,"updated_fields":{"phone":1,"name":1,"address":1},
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
    // fixed row, Dee, is still fixed, and unchanged).
    let again = import_with(&server, &["--upsert", "--dry-run"], "customers", &file);
    assert_eq!(
        summary(&again),
        serde_json::json!({"rows":7,"created":0,"updated":2,"updated_fields":{"name":2},"unchanged":3,
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
        serde_json::json!({"rows":7,"created":2,"updated":0,"updated_fields":{},"unchanged":0,
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

/// The customers the store holds, as `CUSTOMER.LIST` gives them, and its journal's head:
/// what an import that writes nothing must leave as it was.
fn customers_and_head(server: &TestServer) -> (Vec<String>, String) {
    let mut admin = server.admin_redis();
    let customers: Vec<String> = redis::cmd("CUSTOMER.LIST").query(&mut admin).unwrap();
    let head: String = redis::cmd("AUDIT.HEAD").query(&mut admin).unwrap();
    (customers, head)
}

/// A file as spreadsheets and hands make them: CRLF, a blank line, an address whose quoted
/// line break spans two lines, a row with an extra column, a quote never closed, a row to fix.
const MESSY: &str = "name,email,address\r\n\
Ada,ada@example.com,London\r\n\
\r\n\
Bob,bob@example.com,\"1 Road\r\nFlat 2\"\r\n\
Cy,cy@example.com,Paris,extra\r\n\
Dee,\"dee@example.com,Rome\r\n\
Eve,eve@example.com,Oslo\r\n\
  Fay ,FAY@example.com,\r\n";

// Guards against the first report's faults: line numbers off on CRLF files and after blank
// lines, an unclosed quote swallowing the next row, an extra column dropped silently, fixed
// rows missing from `created`, exit 0 whatever was rejected, and no way to keep the rejected
// rows.
#[test]
fn the_report_names_physical_lines_and_the_rejects_file_keeps_the_rejected_rows() {
    let server = TestServer::start();
    let file = server.dir.path().join("messy.csv");
    std::fs::write(&file, MESSY).unwrap();
    let rejects = server.dir.path().join("rejects.csv");
    let report = import_with(
        &server,
        &["--rejects", rejects.to_str().unwrap()],
        "customers",
        &file,
    );
    assert_eq!(
        summary(&report),
        serde_json::json!({"rows":6,"created":4,"updated":0,"updated_fields":{},"unchanged":0,
            "fixed":2,"merged":0,"rejected":2}),
        "{report}"
    );
    // Ada on 2, Bob on 4 (his address spans 4-5), Cy on 6, Dee on 7, Eve on 8, Fay on 9.
    assert!(report.contains("created: lines 2, 4, 8-9"), "{report}");
    assert!(
        report.contains("line 6: rejected: the row has 4 fields, the header names 3 columns"),
        "{report}"
    );
    assert!(
        report.contains("line 7: rejected: unreadable CSV: a quote is not closed"),
        "{report}"
    );
    assert!(
        report
            .contains(r#"line 4: fixed: address: "1 Road\r\nFlat 2" -> "1 Road Flat 2"; created"#),
        "{report}"
    );
    assert!(report.contains("line 9: fixed: name:"), "{report}");
    let (customers, _) = customers_and_head(&server);
    let names: Vec<String> = customers
        .iter()
        .map(|c| {
            serde_json::from_str::<serde_json::Value>(c).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["Ada", "Bob", "Eve", "Fay"]);

    let kept = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(
        kept,
        "name,email,address,reason\r\n\
         Cy,cy@example.com,Paris,extra,\"the row has 4 fields, the header names 3 columns\"\r\n\
         Dee,\"dee@example.com,Rome,unreadable CSV: a quote is not closed before the end of the file\r\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&rejects).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The rejects file is never overwritten: the second run stops before writing anything.
    let before = customers_and_head(&server);
    let (status, _, stderr) = run_import(
        &server,
        &["--upsert", "--rejects", rejects.to_str().unwrap()],
        "customers",
        &file,
    );
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains("exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&rejects).unwrap(), kept);
    assert_eq!(customers_and_head(&server), before);
}

// Guards against a semicolon-separated file or an `E-Mail` header answered with "the name
// column is missing" and nothing of what was found: refused before anything is written,
// naming the delimiter or the unknown columns and listing the known ones.
#[test]
fn a_file_with_unknown_columns_or_another_delimiter_is_refused_before_writing() {
    let server = TestServer::start();
    let before = customers_and_head(&server);
    let cases = [
        (
            "semicolons.csv",
            "name;email;phone\nAda;ada@example.com;+15550100\n",
            "the file is not comma-separated CSV: its columns seem to be separated by \";\" (semicolon)",
        ),
        (
            "headers.csv",
            "Name,E-Mail,Phone,Notes\nAda,ada@example.com,,x\n",
            "unknown columns \"E-Mail\", \"Notes\"; the customers columns are: id, name, email, phone, address, created_at",
        ),
    ];
    for (name, text, expected) in cases {
        let file = server.dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let rejects = server.dir.path().join(format!("{name}.rejects"));
        let (status, stdout, stderr) = run_import(
            &server,
            &["--rejects", rejects.to_str().unwrap()],
            "customers",
            &file,
        );
        assert_eq!(status, Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(!rejects.exists());
    }
    assert_eq!(customers_and_head(&server), before);
}
