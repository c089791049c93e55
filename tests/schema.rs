//! Custom fields over real TCP (`PROTOCOL.md` "Schema"): declaring, listing, indexing and
//! dropping them, their values in every write and reply, masking, the journal, roles, and
//! the store's restart.

#![allow(clippy::unwrap_used, clippy::panic)]

use crm_tests::words::{code, connect, get, id, json_of, ok};
use crm_tests::TestServer;
use serde_json::json;

fn declare_company_and_stage(admin: &mut redis::Connection) {
    ok(
        admin,
        &["SCHEMA.FIELD.ADD", "customer", "Company", "TYPE", "text"],
    );
    ok(
        admin,
        &[
            "SCHEMA.FIELD.ADD",
            "CUSTOMER",
            "stage",
            "values",
            "3",
            " Lead ",
            "Customer",
            "Churned",
            "TYPE",
            "choice",
            "INDEXED",
        ],
    );
}

#[test]
fn custom_fields_are_declared_listed_and_carried_by_every_write_and_reply() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    let ada = id(ok(
        &mut admin,
        &["CUSTOMER.ADD", "NAME", "Ada", "EMAIL", "ada@example.com"],
    ));
    // Before any declaration, records carry an empty object.
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &ada])["fields"],
        json!({})
    );

    declare_company_and_stage(&mut admin);
    ok(
        &mut admin,
        &[
            "SCHEMA.FIELD.ADD",
            "customer",
            "secret",
            "TYPE",
            "text",
            "PERSONAL",
        ],
    );
    ok(
        &mut admin,
        &["SCHEMA.FIELD.ADD", "product", "weight_g", "TYPE", "integer"],
    );
    let listed = get(&mut admin, &["SCHEMA.LIST"]);
    let names: Vec<(String, String, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
                f["builtin"].as_bool().unwrap(),
            )
        })
        .collect();
    let custom: Vec<&str> = names
        .iter()
        .filter(|(_, _, builtin)| !builtin)
        .map(|(_, name, _)| name.as_str())
        .collect();
    assert_eq!(custom, ["company", "stage", "secret", "weight_g"]);
    assert_eq!(names[0], ("customer".into(), "id".into(), true));
    let stage = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "stage")
        .unwrap();
    assert_eq!(
        stage,
        &json!({"kind": "customer", "name": "stage", "type": "choice",
            "values": ["Lead", "Customer", "Churned"], "personal": false, "indexed": true,
            "builtin": false})
    );
    let products = get(&mut admin, &["SCHEMA.LIST", "product"]);
    assert!(products
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["kind"] == "product"));

    // Existing records show every declared field, unset.
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &ada])["fields"],
        json!({"company": null, "stage": null, "secret": null})
    );
    // Values in any order with the keywords, read by type, returned as declared.
    let bo = id(ok(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "stage",
            "lead",
            "NAME",
            "Bo",
            "company",
            "  Acme   Ltd ",
            "EMAIL",
            "bo@example.com",
            "secret",
            "s3",
        ],
    ));
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &bo])["fields"],
        json!({"company": "Acme Ltd", "stage": "Lead", "secret": "s3"})
    );
    ok(
        &mut admin,
        &["CUSTOMER.UPDATE", &bo, "COMPANY", "", "stage", "CUSTOMER"],
    );
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &bo])["fields"],
        json!({"company": null, "stage": "Customer", "secret": "s3"})
    );
    // A value of the wrong type names the field and the value, and changes nothing.
    let wrong = redis_error(&mut admin, &["CUSTOMER.UPDATE", &bo, "stage", "prospect"]);
    assert!(
        wrong.starts_with("INVALID") && wrong.contains("stage") && wrong.contains("prospect"),
        "{wrong}"
    );
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &bo])["fields"]["stage"],
        "Customer"
    );
    // An unknown word is ERR and lists the declared fields.
    let unknown = redis_error(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Cy",
            "EMAIL",
            "cy@example.com",
            "nickname",
            "C",
        ],
    );
    assert!(
        unknown.starts_with("ERR")
            && unknown.contains("nickname")
            && unknown.contains("company, stage, secret"),
        "{unknown}"
    );
    assert_eq!(
        code(&mut admin, &["CUSTOMER.UPDATE", &bo, "nickname", "C"]),
        "ERR"
    );

    // Products: add and update with values; integers are JSON numbers.
    let tea = id(ok(
        &mut admin,
        &[
            "PRODUCT.ADD",
            "NAME",
            "Tea",
            "PRICE",
            "2.50",
            "weight_g",
            "-0250",
        ],
    ));
    assert_eq!(
        get(&mut admin, &["PRODUCT.GET", &tea])["fields"],
        json!({"weight_g": -250})
    );
    ok(
        &mut admin,
        &["PRODUCT.UPDATE", &tea, "WEIGHT_G", "9007199254740991"],
    );
    assert_eq!(
        get(&mut admin, &["PRODUCT.GET", &tea])["fields"]["weight_g"],
        9_007_199_254_740_991_i64
    );
    assert_eq!(
        code(
            &mut admin,
            &["PRODUCT.UPDATE", &tea, "weight_g", "9007199254740992"]
        ),
        "INVALID"
    );

    // Upsert compares custom values too, and names them after the built-in ones.
    let upserted = ok(
        &mut admin,
        &[
            "CUSTOMER.UPSERT",
            "EMAIL",
            "bo@example.com",
            "NAME",
            "Bo",
            "company",
            "Initech",
        ],
    );
    assert_eq!(
        format!("{upserted:?}"),
        format!(
            "{:?}",
            redis::Value::Array(vec![
                redis::Value::Int(bo.parse().unwrap()),
                redis::Value::BulkString(b"updated".to_vec()),
                redis::Value::Array(vec![redis::Value::BulkString(b"company".to_vec())]),
            ])
        )
    );

    // The journal names custom fields after the built-in ones; schema changes are entries
    // of kind schema.
    let entries = json_of(ok(
        &mut admin,
        &["AUDIT.LOG", "KIND", "customer", "ID", &bo],
    ));
    let add = &entries.as_array().unwrap()[0];
    assert_eq!(
        add["fields"],
        json!(["name", "email", "company", "stage", "secret"])
    );
    let schema_log = json_of(ok(&mut admin, &["AUDIT.LOG", "KIND", "schema"]));
    let first = &schema_log.as_array().unwrap()[0];
    assert_eq!(first["kind"], "schema");
    assert_eq!(first["op"], "add");
    assert_eq!(first["id"], 0);
    assert_eq!(first["fields"], json!(["customer.company"]));
    assert_eq!(first["user"], "admin");

    // A masked user sees a personal custom field as ***, null as null.
    ok(
        &mut admin,
        &["USER.ADD", "mask", "pw-mask", "ROLE", "reader", "MASKED"],
    );
    ok(
        &mut admin,
        &["USER.ADD", "rita", "pw-rita", "ROLE", "reader"],
    );
    let mut masked = connect(&server, "mask", "pw-mask");
    let seen = get(&mut masked, &["CUSTOMER.GET", &bo]);
    assert_eq!(seen["fields"]["secret"], "***");
    assert_eq!(seen["fields"]["company"], "Initech");
    let unset = get(&mut masked, &["CUSTOMER.GET", &ada]);
    assert_eq!(unset["fields"]["secret"], serde_json::Value::Null);
    // Every role lists the schema; only an admin changes it.
    let mut reader = connect(&server, "rita", "pw-rita");
    assert!(get(&mut reader, &["SCHEMA.LIST"]).as_array().unwrap().len() > 10);
    assert_eq!(
        code(
            &mut reader,
            &["SCHEMA.FIELD.ADD", "customer", "tier", "TYPE", "text"]
        ),
        "NOPERM"
    );

    // Index on/off: a change that changes nothing appends nothing.
    let before = schema_log.as_array().unwrap().len();
    ok(
        &mut admin,
        &["SCHEMA.FIELD.INDEX", "customer", "stage", "ON"],
    );
    ok(
        &mut admin,
        &["SCHEMA.FIELD.INDEX", "customer", "company", "on"],
    );
    let after = json_of(ok(&mut admin, &["AUDIT.LOG", "KIND", "schema"]));
    assert_eq!(after.as_array().unwrap().len(), before + 1);
    assert_eq!(after.as_array().unwrap()[before]["op"], "update");

    // Dropping a field takes it out of every reply at once.
    ok(&mut admin, &["SCHEMA.FIELD.DROP", "customer", "company"]);
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &bo])["fields"],
        json!({"stage": "Customer", "secret": "s3"})
    );
    assert_eq!(
        code(&mut admin, &["CUSTOMER.UPDATE", &bo, "company", "X"]),
        "ERR"
    );
}

#[test]
fn bad_declarations_are_refused_with_the_contracts_codes() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    declare_company_and_stage(&mut admin);
    let cases: &[(&[&str], &str)] = &[
        (
            &["SCHEMA.FIELD.ADD", "customer", "company", "TYPE", "text"],
            "CONFLICT",
        ),
        (
            &["SCHEMA.FIELD.ADD", "customer", "EMAIL", "TYPE", "text"],
            "CONFLICT",
        ),
        (
            &["SCHEMA.FIELD.ADD", "customer", "price", "TYPE", "text"],
            "INVALID",
        ),
        (
            &["SCHEMA.FIELD.ADD", "customer", "fields", "TYPE", "text"],
            "INVALID",
        ),
        (
            &["SCHEMA.FIELD.ADD", "customer", "limit", "TYPE", "text"],
            "INVALID",
        ),
        (
            &["SCHEMA.FIELD.ADD", "customer", "where", "TYPE", "text"],
            "INVALID",
        ),
        (
            &["SCHEMA.FIELD.ADD", "customer", "2nd", "TYPE", "text"],
            "INVALID",
        ),
        (
            &["SCHEMA.FIELD.ADD", "customer", "a-b", "TYPE", "text"],
            "INVALID",
        ),
        (
            &["SCHEMA.FIELD.ADD", "customer", "tier", "TYPE", "blob"],
            "INVALID",
        ),
        (
            &[
                "SCHEMA.FIELD.ADD",
                "customer",
                "tier",
                "TYPE",
                "text",
                "VALUES",
                "1",
                "a",
            ],
            "INVALID",
        ),
        (
            &[
                "SCHEMA.FIELD.ADD",
                "customer",
                "tier",
                "TYPE",
                "choice",
                "VALUES",
                "2",
                "a",
            ],
            "ERR",
        ),
        (
            &[
                "SCHEMA.FIELD.ADD",
                "customer",
                "tier",
                "TYPE",
                "choice",
                "VALUES",
                "2",
                "a",
                "A",
            ],
            "INVALID",
        ),
        (
            &["SCHEMA.FIELD.ADD", "customer", "tier", "TYPE", "choice"],
            "INVALID",
        ),
        (&["SCHEMA.FIELD.ADD", "customer", "tier"], "ERR"),
        (
            &[
                "SCHEMA.FIELD.ADD",
                "customer",
                "tier",
                "TYPE",
                "text",
                "TYPE",
                "text",
            ],
            "ERR",
        ),
        (
            &[
                "SCHEMA.FIELD.ADD",
                "product",
                "owner",
                "TYPE",
                "text",
                "PERSONAL",
            ],
            "INVALID",
        ),
        (
            &["SCHEMA.FIELD.ADD", "order", "tier", "TYPE", "text"],
            "INVALID",
        ),
        (&["SCHEMA.FIELD.DROP", "customer", "nothing"], "NOTFOUND"),
        (&["SCHEMA.FIELD.DROP", "customer", "name"], "INVALID"),
        (
            &["SCHEMA.FIELD.INDEX", "customer", "nothing", "ON"],
            "NOTFOUND",
        ),
        (
            &["SCHEMA.FIELD.INDEX", "customer", "email", "ON"],
            "INVALID",
        ),
        (
            &["SCHEMA.FIELD.INDEX", "customer", "stage", "MAYBE"],
            "INVALID",
        ),
    ];
    for (words, expected) in cases {
        assert_eq!(&code(&mut admin, words), expected, "{words:?}");
    }
    // Nothing of that changed the schema.
    let custom = get(&mut admin, &["SCHEMA.LIST", "customer"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["builtin"] == false)
        .count();
    assert_eq!(custom, 2);
    // The sweep runs in the background, INFO shows it, and then the name is free again (that
    // it stays taken until then is the catalog's unit test: here the sweep may be done in a
    // moment).
    ok(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Ada",
            "EMAIL",
            "ada@example.com",
            "company",
            "Acme",
        ],
    );
    ok(&mut admin, &["SCHEMA.FIELD.DROP", "customer", "company"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let info = match ok(&mut admin, &["INFO"]) {
            redis::Value::BulkString(bytes) => String::from_utf8(bytes).unwrap(),
            other => panic!("INFO answered {other:?}"),
        };
        if info.contains("schema_sweep_progress:100\r\n") {
            break;
        }
        assert!(info.contains("schema_sweep_progress:"), "{info}");
        assert!(
            std::time::Instant::now() < deadline,
            "the sweep ends: {info}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ok(
        &mut admin,
        &["SCHEMA.FIELD.ADD", "customer", "company", "TYPE", "integer"],
    );
    let ada = get(&mut admin, &["CUSTOMER.FIND", "EMAIL", "ada@example.com"]);
    assert_eq!(ada[0]["fields"]["company"], serde_json::Value::Null);
}

#[test]
fn custom_values_survive_a_restart() {
    let mut server = TestServer::start();
    let mut admin = server.admin_redis();
    declare_company_and_stage(&mut admin);
    let ada = id(ok(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Ada",
            "EMAIL",
            "ada@example.com",
            "stage",
            "churned",
        ],
    ));
    drop(admin);
    server.signal_and_wait("TERM");
    server.launch();
    let mut admin = server.admin_redis();
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &ada])["fields"],
        json!({"company": null, "stage": "Churned"})
    );
}

/// The error reply's text (code first), or a panic when the request succeeds.
fn redis_error(con: &mut redis::Connection, args: &[&str]) -> String {
    match crm_tests::send_words(con, args) {
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
        Ok(v) => panic!("{args:?} answered {v:?}"),
    }
}

/// Runs `crm-server import` as the admin: (exit status, stdout, stderr).
fn import(
    server: &TestServer,
    flags: &[&str],
    kind: &str,
    csv: &str,
) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.csv");
    std::fs::write(&file, csv).unwrap();
    let output = std::process::Command::new(crm_tests::server_binary())
        .args(["import", "--connect", &server.address(), "--user", "admin"])
        .args(flags)
        .arg(kind)
        .arg(&file)
        .env("CRM_PASSWORD", crm_tests::ADMIN_PASSWORD)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_import_reads_columns_named_after_custom_fields() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    declare_company_and_stage(&mut admin);
    ok(
        &mut admin,
        &["SCHEMA.FIELD.ADD", "product", "weight_g", "TYPE", "integer"],
    );
    // Headers compared without case; an empty cell is unset; a bad value rejects its row.
    let (status, stdout, stderr) = import(
        &server,
        &[],
        "customers",
        "name,email,STAGE,Company\nAda,ada@example.com,lead,Acme\nBo,bo@example.com,,\nCy,cy@example.com,prospect,X\n",
    );
    assert_eq!(status, Some(3), "{stdout}{stderr}");
    assert!(stdout.contains("prospect"), "{stdout}");
    let found = |admin: &mut redis::Connection, email: &str| {
        let found = get(admin, &["CUSTOMER.FIND", "EMAIL", email]);
        found.as_array().unwrap()[0].clone()
    };
    assert_eq!(
        found(&mut admin, "ada@example.com")["fields"],
        json!({"company": "Acme", "stage": "Lead"})
    );
    assert_eq!(
        found(&mut admin, "bo@example.com")["fields"],
        json!({"company": null, "stage": null})
    );
    // Under --upsert an empty cell is not given: Ada keeps her company.
    let (status, stdout, _) = import(
        &server,
        &["--upsert"],
        "customers",
        "name,email,stage,company\nAda,ada@example.com,customer,\n",
    );
    assert_eq!(status, Some(0), "{stdout}");
    assert_eq!(
        found(&mut admin, "ada@example.com")["fields"],
        json!({"company": "Acme", "stage": "Customer"})
    );
    // A dry run decides a row that depends on an earlier row of the file (the same email)
    // with the custom fields too, and says what the real import then does.
    let file = "name,email,stage,company\nAda,ada@example.com,churned,\nAda,ada@example.com,churned,Beta\n";
    let (status, dry, _) = import(&server, &["--upsert", "--dry-run"], "customers", file);
    assert_eq!(status, Some(0), "{dry}");
    assert!(dry.contains("line 2: updated: stage"), "{dry}");
    assert!(dry.contains("line 3: updated: company"), "{dry}");
    assert_eq!(
        found(&mut admin, "ada@example.com")["fields"],
        json!({"company": "Acme", "stage": "Customer"}),
        "a dry run writes nothing"
    );
    let (status, real, _) = import(&server, &["--upsert"], "customers", file);
    assert_eq!(status, Some(0), "{real}");
    let report = |out: &str| {
        out.lines()
            .filter(|l| l.starts_with("line "))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(report(&dry), report(&real), "{dry}\n{real}");
    assert_eq!(
        found(&mut admin, "ada@example.com")["fields"],
        json!({"company": "Beta", "stage": "Churned"})
    );
    // An unknown column is refused before anything is written, the fields listed.
    let (status, _, stderr) = import(
        &server,
        &[],
        "customers",
        "name,email,tier\nDi,di@example.com,gold\n",
    );
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("tier") && stderr.contains("stage"),
        "{stderr}"
    );
    assert!(
        get(&mut admin, &["CUSTOMER.FIND", "EMAIL", "di@example.com"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Products too.
    let (status, stdout, _) = import(
        &server,
        &[],
        "products",
        "name,price,weight_g
Tea,2.50, 0250
",
    );
    assert_eq!(status, Some(0), "{stdout}");
    let tea = get(&mut admin, &["PRODUCT.LIST"]);
    assert_eq!(
        tea.as_array().unwrap()[0]["fields"],
        json!({"weight_g": 250})
    );
}

#[test]
fn merge_fills_keeps_unset_custom_fields_and_unmerge_clears_them() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    declare_company_and_stage(&mut admin);
    let keep = id(ok(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Ada",
            "EMAIL",
            "ada@example.com",
            "stage",
            "Lead",
        ],
    ));
    let other = id(ok(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Ada L",
            "EMAIL",
            "ada.l@example.com",
            "stage",
            "Churned",
            "company",
            "Acme",
        ],
    ));
    ok(&mut admin, &["CUSTOMER.MERGE", &keep, &other]);
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &keep])["fields"],
        json!({"company": "Acme", "stage": "Lead"})
    );
    let entries = json_of(ok(
        &mut admin,
        &["AUDIT.LOG", "KIND", "customer", "ID", &keep],
    ));
    let merge = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["op"] == "merge")
        .unwrap()
        .clone();
    assert_eq!(
        merge["fields"],
        json!([format!("other:{other}"), "company"])
    );
    ok(&mut admin, &["CUSTOMER.UNMERGE", &other]);
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &keep])["fields"],
        json!({"company": null, "stage": "Lead"})
    );
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &other])["fields"],
        json!({"company": "Acme", "stage": "Churned"})
    );
}

/// The ids of a query's page and its cursor.
fn query(con: &mut redis::Connection, args: &[&str]) -> (Vec<u64>, String) {
    let mut words = vec!["CUSTOMER.QUERY"];
    words.extend_from_slice(args);
    match ok(con, &words) {
        redis::Value::Array(parts) => {
            let mut parts = parts.into_iter();
            let cursor = match parts.next() {
                Some(redis::Value::BulkString(bytes)) => String::from_utf8(bytes).unwrap(),
                other => panic!("no cursor: {other:?}"),
            };
            let records = json_of(parts.next().unwrap());
            let ids = records
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_u64().unwrap())
                .collect();
            (ids, cursor)
        }
        other => panic!("{words:?} answered {other:?}"),
    }
}

#[test]
fn queries_take_conditions_and_sorts_on_custom_fields() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    declare_company_and_stage(&mut admin);
    ok(
        &mut admin,
        &["SCHEMA.FIELD.ADD", "customer", "tier", "TYPE", "integer"],
    );
    ok(
        &mut admin,
        &["SCHEMA.FIELD.ADD", "customer", "vip", "TYPE", "bool"],
    );
    ok(
        &mut admin,
        &[
            "SCHEMA.FIELD.ADD",
            "customer",
            "secret",
            "TYPE",
            "text",
            "PERSONAL",
        ],
    );
    let people: [(&str, &[&str]); 5] = [
        (
            "a",
            &[
                "stage", "Churned", "tier", "3", "vip", "yes", "company", "Acme Ltd",
            ],
        ),
        ("b", &["stage", "Lead", "tier", "1", "secret", "s-b"]),
        ("c", &["stage", "Customer", "tier", "3", "vip", "no"]),
        ("d", &["tier", "7", "company", "acme works"]),
        ("e", &["stage", "lead"]),
    ];
    let mut ids = Vec::new();
    for (name, values) in people {
        let email = format!("{name}@example.com");
        let mut words = vec!["CUSTOMER.ADD", "NAME", name, "EMAIL", &email];
        words.extend_from_slice(values);
        ids.push(id(ok(&mut admin, &words)).parse::<u64>().unwrap());
    }
    let [a, b, c, d, e] = [ids[0], ids[1], ids[2], ids[3], ids[4]];
    assert_eq!(
        query(&mut admin, &["WHERE", "stage", "=", "LEAD"]).0,
        [b, e]
    );
    assert_eq!(
        query(
            &mut admin,
            &["WHERE", "tier", ">=", "3", "SORT", "tier", "DESC"]
        )
        .0,
        [d, a, c],
        "ties by id ascending"
    );
    // Choices sort in the order of their VALUES (Lead, Customer, Churned), nulls last.
    assert_eq!(query(&mut admin, &["SORT", "stage"]).0, [b, e, c, a, d]);
    assert_eq!(
        query(&mut admin, &["SORT", "stage", "DESC"]).0,
        [a, c, b, e, d]
    );
    assert_eq!(query(&mut admin, &["WHERE", "vip", "=", "TRUE"]).0, [a]);
    assert_eq!(query(&mut admin, &["WHERE", "vip", "MISSING"]).0, [b, d, e]);
    assert_eq!(
        query(&mut admin, &["WHERE", "company", "WORD", "ACME"]).0,
        [a, d]
    );
    assert_eq!(
        query(&mut admin, &["WHERE", "company", "PREFIX", "acme w"]).0,
        [d]
    );
    assert_eq!(
        ok(
            &mut admin,
            &[
                "CUSTOMER.COUNT",
                "WHERE",
                "stage",
                "IN",
                "2",
                "lead",
                "customer"
            ]
        ),
        redis::Value::Int(3)
    );
    // Values read as the field's type reads them; operators the type does not take refused.
    assert_eq!(
        code(
            &mut admin,
            &["CUSTOMER.QUERY", "WHERE", "stage", "=", "prospect"]
        ),
        "INVALID"
    );
    assert_eq!(
        code(
            &mut admin,
            &["CUSTOMER.QUERY", "WHERE", "stage", ">", "lead"]
        ),
        "INVALID"
    );
    assert_eq!(
        code(&mut admin, &["CUSTOMER.QUERY", "WHERE", "tier", "=", "x"]),
        "INVALID"
    );
    let unknown = redis_error(
        &mut admin,
        &["CUSTOMER.QUERY", "WHERE", "nothing", "EXISTS"],
    );
    assert!(
        unknown.starts_with("INVALID") && unknown.contains("tier"),
        "{unknown}"
    );

    // A masked user: equality on a personal custom field, no range, prefix or sort on it.
    ok(
        &mut admin,
        &["USER.ADD", "mask", "pw-mask", "ROLE", "reader", "MASKED"],
    );
    let mut masked = connect(&server, "mask", "pw-mask");
    assert_eq!(query(&mut masked, &["WHERE", "secret", "=", "s-b"]).0, [b]);
    assert_eq!(
        code(
            &mut masked,
            &["CUSTOMER.QUERY", "WHERE", "secret", "PREFIX", "s"]
        ),
        "NOPERM"
    );
    assert_eq!(
        code(&mut masked, &["CUSTOMER.QUERY", "SORT", "secret"]),
        "NOPERM"
    );

    // A cursor is valid while the schema does not change.
    let (first, cursor) = query(&mut admin, &["SORT", "tier", "LIMIT", "2"]);
    assert_eq!(first, [b, a]);
    let (next, _) = query(
        &mut admin,
        &["SORT", "tier", "LIMIT", "2", "CURSOR", &cursor],
    );
    assert_eq!(next, [c, d]);
    ok(
        &mut admin,
        &["SCHEMA.FIELD.ADD", "customer", "region", "TYPE", "text"],
    );
    let refused = redis_error(
        &mut admin,
        &[
            "CUSTOMER.QUERY",
            "SORT",
            "tier",
            "LIMIT",
            "2",
            "CURSOR",
            &cursor,
        ],
    );
    assert!(
        refused.starts_with("INVALID") && refused.contains("the schema changed since it was made"),
        "{refused}"
    );
}
