//! What the server leaves on disk and in its environment: every file and folder its owner's
//! only, no user name in plain, no secret in `/proc/PID/environ`, backups that keep a margin
//! of free space, and remembered digests that notice a changed file.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

use crm_tests::{free_port, server_binary, TestServer};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every file and folder under `root`, with its mode.
fn modes(root: &Path) -> Vec<(String, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        found.push((entry.path().display().to_string(), mode));
        if entry.file_type().unwrap().is_dir() {
            found.extend(modes(&entry.path()));
        }
    }
    found
}

fn assert_private(root: &Path) {
    let mode = std::fs::metadata(root).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", root.display());
    for (path, mode) in modes(root) {
        let expected = if Path::new(&path).is_dir() {
            0o700
        } else {
            0o600
        };
        assert_eq!(mode, expected, "{path} is {mode:o}");
    }
}

fn bytes_under(root: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(bytes_under(&path));
        } else {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

/// Guards against world-readable stores and backups (0755/0644 before), and user names stored
/// in plain as keys.
#[test]
fn data_backups_and_restored_stores_are_private_and_hold_no_user_name() {
    let mut server = TestServer::start();
    let mut admin = server.raw_admin();
    assert_eq!(
        admin.roundtrip("USER.ADD operator-quux s3cret-pw ROLE reader\r\n"),
        "+OK\r\n"
    );
    assert!(admin.roundtrip("BACKUP nightly\r\n").starts_with('$'));
    let status = server.signal_and_wait("TERM");
    assert!(status.success());
    let data = server.data_dir();
    let backups = server.dir.path().join("backups");
    assert_private(&data);
    assert_private(&backups);
    let restored = server.dir.path().join("restored");
    let output = Command::new(server_binary())
        .arg("restore")
        .arg(backups.join("nightly.crmbak"))
        .arg("--data")
        .arg(&restored)
        .arg("--key-file")
        .arg(server.dir.path().join("key"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_private(&restored);
    for folder in [&data, &restored] {
        let bytes = bytes_under(folder);
        assert!(
            !bytes.windows(13).any(|w| w == b"operator-quux"),
            "a user name is in plain in {}",
            folder.display()
        );
    }
}

fn environ(pid: u32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap())
        .replace('\0', "\n")
}

fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reply = [0u8; 7];
            if stream.write_all(b"PING\r\n").is_ok()
                && stream.read_exact(&mut reply).is_ok()
                && &reply == b"+PONG\r\n"
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not start");
}

fn auth(port: u16, password: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(format!("AUTH admin {password}\r\n").as_bytes())
        .unwrap();
    let mut reply = vec![0u8; 64];
    let n = stream.read(&mut reply).unwrap();
    String::from_utf8_lossy(&reply[..n]).into_owned()
}

/// Guards against the passphrase and the first admin's password staying in the serving
/// process's environment (they went through its re-exec): they come through a pipe instead.
#[test]
fn secrets_given_in_the_environment_never_reach_the_serving_process_environment() {
    let dir = tempfile::tempdir().unwrap();
    let passphrase = "correct horse battery staple, twice";
    let admin_password = "first-admin-password-9";
    let port = free_port();
    let start = || {
        Command::new(server_binary())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(dir.path().join("data"))
            .env("CRM_PASSPHRASE", passphrase)
            .env("CRM_ADMIN_PASSWORD", admin_password)
            .env_remove("MALLOC_ARENA_MAX")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = start();
    wait_ready(port);
    let seen = environ(child.id());
    assert!(!seen.contains(passphrase), "{seen}");
    assert!(!seen.contains(admin_password), "{seen}");
    assert!(!seen.contains("CRM_PASSPHRASE="), "{seen}");
    assert!(seen.contains("MALLOC_ARENA_MAX=2"), "{seen}");
    assert_eq!(auth(port, admin_password), "+OK\r\n");
    child.kill().unwrap();
    child.wait().unwrap();
    // The passphrase opens the store again after a restart.
    let mut child = start();
    wait_ready(port);
    assert_eq!(auth(port, admin_password), "+OK\r\n");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Guards against weak passphrases on new stores: too short is refused before serving.
#[test]
fn a_new_store_refuses_a_short_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(server_binary())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--data",
        ])
        .arg(dir.path().join("data"))
        .env("CRM_PASSPHRASE", "short pass")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 16"), "{stderr}");
}

/// Guards against a backup filling the disk the store lives on, and `BACKUP.LIST` hashing
/// every file on every call (digests are remembered, and a changed file is hashed again).
#[test]
fn backups_keep_free_space_and_list_remembered_digests() {
    let refusing = TestServer::start_with(&["--backup-min-free-mib", "1048576"]);
    let mut admin = refusing.raw_admin();
    let reply = admin.roundtrip("BACKUP first\r\n");
    assert!(reply.starts_with("-ERR "), "{reply}");
    assert!(reply.contains("must leave"), "{reply}");
    assert_eq!(admin.roundtrip("BACKUP.LIST\r\n"), "*0\r\n");

    let server = TestServer::start();
    let mut admin = server.raw_admin();
    assert!(admin
        .roundtrip("CUSTOMER.ADD NAME Ada EMAIL ada@example.com\r\n")
        .starts_with(':'));
    let taken = admin.roundtrip("BACKUP one\r\n");
    let body = taken.split("\r\n").nth(1).unwrap();
    let summary: serde_json::Value = serde_json::from_str(body).unwrap();
    let list = |admin: &mut crm_tests::RawConnection| -> serde_json::Value {
        let header = admin.roundtrip("BACKUP.LIST\r\n");
        assert_eq!(header, "*1\r\n");
        let item = admin.read_reply();
        serde_json::from_str(item.split("\r\n").nth(1).unwrap()).unwrap()
    };
    assert_eq!(list(&mut admin)["blake3"], summary["blake3"]);
    let file = server.dir.path().join("backups/one.crmbak");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.push(0);
    std::fs::write(&file, &bytes).unwrap();
    let changed = list(&mut admin);
    assert_eq!(
        changed["blake3"],
        serde_json::json!(blake3::hash(&bytes).to_hex().to_string())
    );
    assert_ne!(changed["blake3"], summary["blake3"]);
}
