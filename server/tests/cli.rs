//! The command line outside a running `serve`: `keygen`, `serve` options refused up front. (Also makes cargo build the `crm-server`
//! binary that the end-to-end tests in `tests/` start.)

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn keygen_writes_a_private_key_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let binary = env!("CARGO_BIN_EXE_crm-server");
    let first = Command::new(binary)
        .arg("keygen")
        .arg(&key)
        .output()
        .unwrap();
    assert!(first.status.success());
    assert_eq!(std::fs::read_to_string(&key).unwrap().trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let before = std::fs::read(&key).unwrap();
    let second = Command::new(binary)
        .arg("keygen")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert_eq!(String::from_utf8_lossy(&second.stderr).lines().count(), 1);
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

/// Runs `serve` with `args` on a data folder that does not exist yet; asserts it is refused
/// before anything is created, and returns what it said.
fn refused_serve(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_crm-server"))
        .arg("serve")
        .args(args)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(!data.exists());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `--demo` keeps the contract's minimum (10,000 orders) whatever `--demo-orders` asks, and the
/// refusal names the option and the value before anything is created.
#[test]
fn demo_orders_below_the_contract_minimum_are_refused() {
    let stderr = refused_serve(&["--demo", "--demo-orders", "500"]);
    assert!(
        stderr.contains("--demo-orders") && stderr.contains("500"),
        "{stderr}"
    );
}

/// A cache size past the limit is refused with the option and the value named, before the store
/// is opened (a budget near 2^64 bytes would otherwise reach the allocator).
#[test]
fn absurd_cache_sizes_are_refused() {
    for option in ["--cache-mib", "--record-cache-mib"] {
        let stderr = refused_serve(&[option, "18446744073709551615"]);
        assert!(
            stderr.contains(option) && stderr.contains("18446744073709551615"),
            "{stderr}"
        );
    }
}
