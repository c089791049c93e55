//! Privacy over real TCP: masked users, audited reveals, export, erasure (with restore
//! `--forget`), and offline key rotation with crashes injected.
//!
//! One file: the privacy operations act on one another (a reveal is audited, an export is of
//! what a reveal shows, an erasure must survive the restore and the rekey tested here), and the
//! tests share the server set-up with masked and unmasked users.

#![allow(clippy::unwrap_used)]

use crm_tests::words::{code, connect, get, id, ok};
use crm_tests::{
    opener, rekey_command, send_words as run, server_binary, TestServer, ADMIN_PASSWORD,
};
use redis::Value;
use serde_json::json;
use std::process::Command;

/// Ada (every field), Bo (a one-letter local part, a 7-digit phone, no address).
fn two_customers(admin: &mut redis::Connection) -> (String, String) {
    let ada = id(ok(
        admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Ada Lovelace",
            "EMAIL",
            "ada@example.com",
            "PHONE",
            "+123456789012345",
            "ADDRESS",
            "12 St James's Square",
        ],
    ));
    let bo = id(ok(
        admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Bo",
            "EMAIL",
            "b@b.co",
            "PHONE",
            "+1234567",
        ],
    ));
    (ada, bo)
}

fn users(admin: &mut redis::Connection) {
    for (name, role) in [("rita", "reader"), ("anna", "analyst"), ("wes", "writer")] {
        ok(
            admin,
            &["USER.ADD", name, &format!("pw-{name}"), "ROLE", role],
        );
    }
    ok(
        admin,
        &["USER.ADD", "mask", "pw-mask", "ROLE", "writer", "MASKED"],
    );
}

#[test]
fn masked_users_see_masked_customers_everywhere_and_reveal_is_journaled() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    let (ada, bo) = two_customers(&mut admin);
    users(&mut admin);
    let mut masked = connect(&server, "mask", "pw-mask");
    let ada_masked = json!({"id": ada.parse::<u64>().unwrap(), "name": "Ada Lovelace",
        "email": "a***@example.com", "phone": "+*************45", "address": "***", "fields": {}});
    let strip = |mut v: serde_json::Value| {
        v.as_object_mut().unwrap().remove("created_at");
        v
    };
    assert_eq!(strip(get(&mut masked, &["CUSTOMER.GET", &ada])), ada_masked);
    let bo_masked = get(&mut masked, &["CUSTOMER.GET", &bo]);
    assert_eq!(
        (
            &bo_masked["email"],
            &bo_masked["phone"],
            &bo_masked["address"]
        ),
        (&json!("b***@b.co"), &json!("+*****67"), &json!(null))
    );
    let listed = get(&mut masked, &["CUSTOMER.LIST"]);
    assert_eq!(strip(listed[0].clone()), ada_masked);
    // FIND by a value the user gives works as for anyone, and answers masked.
    let found = get(&mut masked, &["CUSTOMER.FIND", "EMAIL", "ada@example.com"]);
    assert_eq!(strip(found[0].clone()), ada_masked);
    let found = get(&mut masked, &["CUSTOMER.FIND", "PHONE", "+1234567"]);
    assert_eq!(found[0]["email"], "b***@b.co");
    // A conflict names the customer id only.
    let error = run(
        &mut masked,
        &["CUSTOMER.ADD", "NAME", "X", "EMAIL", "ada@example.com"],
    )
    .unwrap_err();
    assert_eq!(error.code(), Some("CONFLICT"));
    assert_eq!(
        error.detail().unwrap(),
        format!("email belongs to customer {ada}")
    );
    // The admin, unmasked, sees plain values; statistics are not masked.
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &ada])["email"],
        "ada@example.com"
    );

    // REVEAL: plain to a masked writer, journaled; nil (and nothing journaled) for no customer.
    let head = get(&mut admin, &["AUDIT.HEAD"])["seq"].as_u64().unwrap();
    let revealed = get(&mut masked, &["CUSTOMER.REVEAL", &ada]);
    assert_eq!(revealed, get(&mut admin, &["CUSTOMER.GET", &ada]));
    assert_eq!(ok(&mut masked, &["CUSTOMER.REVEAL", "999"]), Value::Nil);
    assert_eq!(ok(&mut masked, &["CUSTOMER.REVEAL", "abc"]), Value::Nil);
    let log = get(&mut admin, &["AUDIT.LOG", "AFTER", &head.to_string()]);
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    assert_eq!(
        (
            &log[0]["op"],
            &log[0]["kind"],
            &log[0]["id"],
            &log[0]["user"],
            &log[0]["fields"]
        ),
        (
            &json!("reveal"),
            &json!("customer"),
            &json!(ada.parse::<u64>().unwrap()),
            &json!("mask"),
            &json!([])
        )
    );
    // Reveals are not in the change feed.
    let feed: Vec<Value> = redis::cmd("XREVRANGE")
        .arg("crm:changes")
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query(&mut admin)
        .unwrap();
    assert!(!format!("{feed:?}").contains("reveal"));

    // Roles.
    let mut rita = connect(&server, "rita", "pw-rita");
    let mut anna = connect(&server, "anna", "pw-anna");
    let mut wes = connect(&server, "wes", "pw-wes");
    for con in [&mut rita, &mut anna] {
        assert_eq!(code(con, &["CUSTOMER.REVEAL", &ada]), "NOPERM");
    }
    assert_eq!(
        get(&mut wes, &["CUSTOMER.REVEAL", &ada])["email"],
        "ada@example.com"
    );
    for con in [&mut rita, &mut anna, &mut wes, &mut masked] {
        assert_eq!(code(con, &["CUSTOMER.EXPORT", &ada]), "NOPERM");
        assert_eq!(code(con, &["CUSTOMER.FORGET", &ada]), "NOPERM");
        assert_eq!(code(con, &["FORGET.LIST"]), "NOPERM");
    }

    // USER.MASK applies from the user's next request, on every connection.
    ok(&mut admin, &["USER.MASK", "mask", "OFF"]);
    assert_eq!(
        get(&mut masked, &["CUSTOMER.GET", &ada])["email"],
        "ada@example.com"
    );
    ok(&mut admin, &["USER.MASK", "wes", "ON"]);
    assert_eq!(
        get(&mut wes, &["CUSTOMER.GET", &ada])["email"],
        "a***@example.com"
    );
    assert_eq!(code(&mut admin, &["USER.MASK", "nobody", "ON"]), "NOTFOUND");
    assert_eq!(code(&mut admin, &["USER.MASK", "wes", "MAYBE"]), "INVALID");
    let _ = ADMIN_PASSWORD;
}

#[test]
fn export_holds_the_record_every_order_the_statistics_and_the_journal() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    let (ada, _bo) = two_customers(&mut admin);
    let product = id(ok(
        &mut admin,
        &[
            "PRODUCT.ADD",
            "NAME",
            "Lamp",
            "PRICE",
            "12.50",
            "STOCK",
            "100",
        ],
    ));
    for quantity in ["1", "2", "3"] {
        ok(
            &mut admin,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                &ada,
                "PRODUCT",
                &product,
                "QUANTITY",
                quantity,
            ],
        );
    }
    ok(&mut admin, &["CUSTOMER.UPDATE", &ada, "NAME", "Ada King"]);
    let exported = get(&mut admin, &["CUSTOMER.EXPORT", &ada]);
    let keys: Vec<&String> = exported.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["customer", "orders", "stats", "journal"]);
    assert_eq!(
        exported["customer"],
        get(&mut admin, &["CUSTOMER.GET", &ada])
    );
    assert_eq!(
        exported["orders"],
        get(&mut admin, &["ORDER.LIST", "CUSTOMER", &ada])
    );
    assert_eq!(
        exported["stats"],
        get(&mut admin, &["STATS.CUSTOMER", &ada])
    );
    let journal = exported["journal"].as_array().unwrap();
    let ops: Vec<&str> = journal.iter().map(|e| e["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["add", "update", "export"]);
    assert!(journal
        .iter()
        .all(|e| e["kind"] == "customer" && e["id"] == json!(ada.parse::<u64>().unwrap())));
    assert_eq!(
        &journal[2],
        get(&mut admin, &["AUDIT.LOG", "KIND", "customer", "ID", &ada])
            .as_array()
            .unwrap()
            .last()
            .unwrap()
    );
    assert_eq!(code(&mut admin, &["CUSTOMER.EXPORT", "999"]), "NOTFOUND");
    assert_eq!(code(&mut admin, &["CUSTOMER.EXPORT", "x"]), "INVALID");
}

fn info_customers(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("customers:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_forgotten_customer_is_gone_its_orders_stay_and_a_restore_forgets_it_again() {
    let mut server = TestServer::start();
    let mut admin = server.admin_redis();
    let (ada, bo) = two_customers(&mut admin);
    let product = id(ok(
        &mut admin,
        &[
            "PRODUCT.ADD",
            "NAME",
            "Lamp",
            "PRICE",
            "2.00",
            "STOCK",
            "100",
        ],
    ));
    let order = id(ok(
        &mut admin,
        &[
            "ORDER.ADD",
            "CUSTOMER",
            &ada,
            "PRODUCT",
            &product,
            "QUANTITY",
            "2",
        ],
    ));
    let old_backup = get(&mut admin, &["BACKUP", "before"]);
    assert_eq!(old_backup["records"], 2 + 1 + 1);
    let stats_before = get(&mut admin, &["STATS.CUSTOMER", &ada]);
    assert_eq!(info_customers(&mut admin), 2);

    assert_eq!(ok(&mut admin, &["CUSTOMER.FORGET", &ada]), Value::Okay);
    assert_eq!(ok(&mut admin, &["CUSTOMER.GET", &ada]), Value::Nil);
    assert_eq!(ok(&mut admin, &["CUSTOMER.REVEAL", &ada]), Value::Nil);
    for args in [
        vec!["CUSTOMER.UPDATE", &ada, "NAME", "X"],
        vec!["CUSTOMER.DEL", &ada],
        vec!["CUSTOMER.EXPORT", &ada],
        vec!["CUSTOMER.FORGET", &ada],
    ] {
        assert_eq!(code(&mut admin, &args), "NOTFOUND", "{args:?}");
    }
    assert_eq!(
        get(&mut admin, &["CUSTOMER.FIND", "EMAIL", "ada@example.com"]),
        json!([])
    );
    assert_eq!(
        get(&mut admin, &["CUSTOMER.FIND", "NAME", "Ada"]),
        json!([])
    );
    assert_eq!(
        get(&mut admin, &["CUSTOMER.FIND", "PHONE", "+123456789012345"]),
        json!([])
    );
    let listed = get(&mut admin, &["CUSTOMER.LIST"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(info_customers(&mut admin), 1);
    assert_eq!(
        code(
            &mut admin,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                &ada,
                "PRODUCT",
                &product,
                "QUANTITY",
                "1"
            ]
        ),
        "FKEY"
    );
    assert_eq!(
        code(
            &mut admin,
            &["CUSTOMER.ADD", "NAME", "N", "EMAIL", "n@x.io", "ID", &ada]
        ),
        "CONFLICT"
    );
    // The orders stay, in every statistic, with no name.
    assert_eq!(
        get(&mut admin, &["ORDER.GET", &order])["customer_id"],
        json!(ada.parse::<u64>().unwrap())
    );
    assert_eq!(get(&mut admin, &["STATS.CUSTOMER", &ada]), stats_before);
    let rows = get(&mut admin, &["STATS.CUSTOMERS"]);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["customer_id"] == json!(ada.parse::<u64>().unwrap()))
        .unwrap();
    assert_eq!(row["name"], json!(null));
    // The email is free again.
    ok(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Another Ada",
            "EMAIL",
            "ada@example.com",
        ],
    );
    // The list, and its journal entry.
    let list = get(&mut admin, &["FORGET.LIST"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["customer_id"], json!(ada.parse::<u64>().unwrap()));
    assert!(list[0]["at"].as_str().unwrap().ends_with('Z'));
    let entries = get(&mut admin, &["AUDIT.LOG", "KIND", "customer", "ID", &ada]);
    assert_eq!(entries.as_array().unwrap().last().unwrap()["op"], "forget");
    assert_eq!(ok(&mut admin, &["AUDIT.VERIFY"]), Value::Okay);
    let _ = bo;

    // The list as `redis-cli --raw` writes it: one object per line.
    let list_file = server.dir.path().join("forget.jsonl");
    let lines: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.to_string())
        .collect();
    std::fs::write(&list_file, lines.join("\n") + "\n").unwrap();
    drop(admin);
    assert!(server.signal_and_wait("TERM").success());
    let backup_file = server.dir.path().join("backups").join("before.crmbak");
    let key = server.dir.path().join("key");
    let restore = |target: &std::path::Path, forget: Option<&std::path::Path>| {
        let mut command = Command::new(server_binary());
        command
            .arg("restore")
            .arg(&backup_file)
            .arg("--data")
            .arg(target)
            .arg("--key-file")
            .arg(&key);
        if let Some(list) = forget {
            command.arg("--forget").arg(list);
        }
        command.env_remove("CRM_PASSPHRASE").output().unwrap()
    };
    // A bad list exits non-zero and creates nothing.
    let bad = server.dir.path().join("bad.json");
    std::fs::write(&bad, "[{\"customer_id\": \"seven\"}]").unwrap();
    let refused_dir = server.dir.path().join("refused");
    let refused = restore(&refused_dir, Some(&bad));
    assert!(!refused.status.success());
    assert!(!refused_dir.exists());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr)
            .trim()
            .lines()
            .count(),
        1
    );

    let plain_dir = server.dir.path().join("plain");
    assert!(restore(&plain_dir, None).status.success());
    let forgetting_dir = server.dir.path().join("forgetting");
    let restored = restore(&forgetting_dir, Some(&list_file));
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );

    // Without the list the person is back (the flag matters); with it, no trace.
    let data = server.data_dir();
    std::fs::rename(&data, server.dir.path().join("original")).unwrap();
    std::fs::rename(&plain_dir, &data).unwrap();
    server.launch();
    let mut admin = server.admin_redis();
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &ada])["email"],
        "ada@example.com"
    );
    drop(admin);
    assert!(server.signal_and_wait("TERM").success());
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::rename(&forgetting_dir, &data).unwrap();
    server.launch();
    let mut admin = server.admin_redis();
    assert_eq!(ok(&mut admin, &["CUSTOMER.GET", &ada]), Value::Nil);
    assert_eq!(
        get(&mut admin, &["CUSTOMER.FIND", "EMAIL", "ada@example.com"]),
        json!([])
    );
    assert_eq!(
        get(&mut admin, &["FORGET.LIST"])[0]["customer_id"],
        json!(ada.parse::<u64>().unwrap())
    );
    let last = get(&mut admin, &["AUDIT.LOG", "KIND", "customer", "ID", &ada]);
    let last = last.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["op"], &last["user"]),
        (&json!("forget"), &json!(null))
    );
    assert_eq!(ok(&mut admin, &["AUDIT.VERIFY"]), Value::Okay);
    assert_eq!(get(&mut admin, &["STATS.CUSTOMER", &ada]), stats_before);
}

fn rekey(
    data: &std::path::Path,
    old: &std::path::Path,
    new: &std::path::Path,
    abort_at: Option<u64>,
) -> std::process::Output {
    let mut command = rekey_command(data, old, new);
    if let Some(step) = abort_at {
        command.env("CRM_TEST_REKEY_ABORT_AT", step.to_string());
    }
    command.output().unwrap()
}

/// Which key opens the folder whole (its consistency check passes): "old", "new" or
/// "neither (…)".
fn opens_with(data: &std::path::Path, old: &std::path::Path, new: &std::path::Path) -> String {
    opener(data, &[("old", old), ("new", new)], 2)
}

#[test]
fn rekey_rotates_the_master_key_offline_and_survives_a_crash_at_every_step() {
    let mut server = TestServer::start();
    let mut admin = server.admin_redis();
    two_customers(&mut admin);
    drop(admin);
    let old = server.dir.path().join("key");
    let new = server.dir.path().join("new-key");
    crm_engine::write_key_file(&new).unwrap();
    // Refused while the server has the folder open.
    let busy = rekey(&server.data_dir(), &old, &new, None);
    assert!(!busy.status.success());
    assert!(server.signal_and_wait("TERM").success());

    for step in 1..=5 {
        let copy = server.dir.path().join(format!("crash-{step}"));
        assert!(Command::new("cp")
            .arg("-a")
            .arg(server.data_dir())
            .arg(&copy)
            .status()
            .unwrap()
            .success());
        let crashed = rekey(&copy, &old, &new, Some(step));
        assert!(!crashed.status.success(), "step {step} did not abort");
        let opener = opens_with(&copy, &old, &new);
        assert!(
            opener == "old" || opener == "new",
            "after a crash at step {step}: {opener}"
        );
        // Running it again with the same two keys finishes.
        let again = rekey(&copy, &old, &new, None);
        assert!(
            again.status.success(),
            "step {step}: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_eq!(
            opens_with(&copy, &old, &new),
            "new",
            "after finishing step {step}"
        );
    }

    let done = rekey(&server.data_dir(), &old, &new, None);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(matches!(
        crm_engine::Store::open(
            &server.data_dir(),
            &crm_engine::KeySource::File(old.clone()),
            &crm_engine::Options::default()
        ),
        Err(crm_engine::Error::WrongKey)
    ));
    // The server starts with the new key, and the data and users are all there.
    std::fs::copy(&new, &old).unwrap();
    server.launch();
    let mut admin = server.admin_redis();
    assert_eq!(
        get(&mut admin, &["CUSTOMER.LIST"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(ok(&mut admin, &["AUDIT.VERIFY"]), Value::Okay);
}
