//! Stock Redis clients with their defaults: redis-py (installed from PyPI by `.ci/run`) and,
//! where installed, `redis-cli`.

#![allow(clippy::unwrap_used)]

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

#[test]
fn redis_cli_sends_lower_case_commands_and_inline_auth() {
    let server = TestServer::start();
    let run = |args: &[&str]| {
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
    };
    let added = run(&["customer.add", "name", "Ada", "email", "ada@example.com"]);
    assert_eq!(String::from_utf8_lossy(&added.stdout).trim(), "1");
    let got = run(&["customer.get", "1"]);
    assert!(String::from_utf8_lossy(&got.stdout).contains("\"name\":\"Ada\""));
    let info = run(&["info"]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("crm_protocol:3"));
}
