//! The command line outside a running `serve`: `keygen`, `serve` refusals before anything is
//! created, the tools' messages without a terminal, a password or a server. (Also makes cargo build the `crm-server`
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

/// `crm-server ARGS`, run without a terminal (under `setsid`, where there is one, so no prompt
/// can reach the terminal of whoever runs the tests) and without any secret in its environment.
fn run_detached(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let binary = env!("CARGO_BIN_EXE_crm-server");
    let mut command = if std::path::Path::new("/usr/bin/setsid").exists() {
        let mut command = Command::new("/usr/bin/setsid");
        command.arg("-w").arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command
        .args(args)
        .env_remove("CRM_PASSWORD")
        .env_remove("CRM_PASSPHRASE")
        .env_remove("CRM_NEW_PASSWORD")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// Guards against `serve` on a taken port creating the store, the development key and an admin
// whose random password it never printed (the operator locked out of a new store).
#[test]
fn serve_on_a_taken_port_creates_nothing() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = run_detached(
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            &address,
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("listening on {address}")),
        "{stderr}"
    );
    assert!(!data.exists(), "the store was created: {stderr}");
    assert!(
        !dir.path().join("data.key").exists(),
        "the development key was created"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// Guards against `No such device or address (os error 6)` as the only word of a tool run with
// no terminal and no CRM_PASSWORD: it must say what to set.
#[test]
fn remote_tools_without_terminal_or_password_say_what_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "name,email\nAda,ada@example.com\n").unwrap();
    let connect = format!("127.0.0.1:{}", closed_port());
    for args in [
        vec![
            "import",
            "--connect",
            &connect,
            "customers",
            file.to_str().unwrap(),
        ],
        vec!["tail", "--connect", &connect],
        vec!["backup", "--connect", &connect],
    ] {
        let output = run_detached(&args, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("set CRM_PASSWORD or give --password-file FILE"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

// Guards against an error's cause said twice: `connection: Connection refused (os error 111):
// Connection refused (os error 111)`.
#[test]
fn a_refused_connection_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "secret\n").unwrap();
    let connect = format!("127.0.0.1:{}", closed_port());
    for args in [
        vec![
            "tail",
            "--connect",
            &connect,
            "--password-file",
            password.to_str().unwrap(),
        ],
        vec![
            "backup",
            "--connect",
            &connect,
            "--password-file",
            password.to_str().unwrap(),
        ],
    ] {
        let output = run_detached(&args, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("connecting to {connect}")),
            "{stderr}"
        );
        assert_eq!(stderr.matches("refused").count(), 1, "{stderr}");
    }
}

// Guards against `mybackup does not verify: io: No such file or directory (os error 2): No such
// file or directory (os error 2)`: a missing file is not a failed verification.
#[test]
fn verify_and_restore_of_a_missing_file_say_no_such_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    let missing = dir.path().join("mybackup");
    let restored = dir.path().join("restored");
    assert!(run_detached(&["keygen", key.to_str().unwrap()], &[])
        .status
        .success());
    for args in [
        vec![
            "verify",
            missing.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ],
        vec![
            "restore",
            missing.to_str().unwrap(),
            "--data",
            restored.to_str().unwrap(),
            "--key-file",
            key.to_str().unwrap(),
        ],
    ] {
        let output = run_detached(&args, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!("crm-server: {}: no such file", missing.display())
        );
    }
    assert!(!restored.exists());
    // A missing key file is the key's fault, said as plainly.
    let no_key = dir.path().join("no-key");
    let output = run_detached(
        &[
            "verify",
            missing.to_str().unwrap(),
            "--key-file",
            no_key.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        format!(
            "crm-server: the key file {}: no such file",
            no_key.display()
        )
    );
}

// Guards against `passwd` making a store, or a key that cannot open it, where there is none.
#[test]
fn passwd_refuses_a_folder_without_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = run_detached(
        &["passwd", "--data", data.to_str().unwrap(), "admin"],
        &[("CRM_NEW_PASSWORD", "new-password")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("holds no store"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
