//! Stock Redis clients with their defaults: redis-py (installed from PyPI by `.ci/run`) and,
//! where installed, `redis-cli`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crm_tests::{TestServer, ADMIN_PASSWORD};
use std::process::Command;

#[test]
fn redis_py_with_its_defaults() {
    let server = TestServer::start();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("redis_py_check.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(server.port.to_string())
        .arg(ADMIN_PASSWORD)
        .output()
        .expect("python3 is needed (with `pip install redis`) for this test");
    assert!(
        output.status.success(),
        "redis-py check failed (is redis-py installed? `pip install redis`):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `redis-cli` against the server, logged in as admin, with these words.
fn redis_cli(server: &TestServer, args: &[&str]) -> std::process::Output {
    Command::new("redis-cli")
        .args([
            "-p",
            &server.port.to_string(),
            "-a",
            ADMIN_PASSWORD,
            "--no-auth-warning",
        ])
        .args(args)
        .output()
        .expect("redis-cli is needed (apt-get install redis-tools) for this test")
}

#[test]
fn redis_cli_sends_lower_case_commands_and_inline_auth() {
    let server = TestServer::start();
    let run = |args: &[&str]| redis_cli(&server, args);
    let added = run(&["customer.add", "name", "Ada", "email", "ada@example.com"]);
    assert_eq!(String::from_utf8_lossy(&added.stdout).trim(), "1");
    let got = run(&["customer.get", "1"]);
    assert!(String::from_utf8_lossy(&got.stdout).contains("\"name\":\"Ada\""));
    let info = run(&["info"]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("crm_protocol:3"));
}

/// `crm_protocol` 3: redis-cli 7 builds `help` from `COMMAND DOCS`; without it, `help
/// customer.add` printed nothing at all.
#[test]
fn redis_cli_help_shows_our_commands_from_command_docs() {
    let server = TestServer::start();
    let help = |topic: &str| {
        let output = redis_cli(&server, &["help", topic]);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let add = help("customer.add");
    for expected in [
        "CUSTOMER.ADD",
        "NAME name EMAIL email [PHONE phone] [ADDRESS address] [CREATED_AT time] [ID id]",
        "Add a customer",
        "group:",
        "customer",
    ] {
        assert!(add.contains(expected), "{expected:?} not in {add:?}");
    }
    // The choice of CUSTOMER.FIND, as redis-cli writes choices.
    let find = help("CUSTOMER.FIND");
    assert!(
        find.contains("EMAIL email|PHONE phone|NAME word [AFTER id] [LIMIT count]"),
        "{find:?}"
    );
    // `help @group` lists the group's commands.
    let group = help("@customer");
    for expected in ["CUSTOMER.ADD", "CUSTOMER.FIND", "CUSTOMER.LIST"] {
        assert!(group.contains(expected), "{expected:?} not in {group:?}");
    }
    assert!(!group.contains("PRODUCT.ADD"), "{group:?}");
}
