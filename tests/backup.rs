//! Backups over the wire and the offline `verify` / `restore` command line.

#![allow(clippy::unwrap_used)]

use crm_tests::{server_binary, TestServer};
use redis::{Connection, Value};
use std::process::Command;

fn backup(con: &mut Connection, name: Option<&str>) -> redis::RedisResult<serde_json::Value> {
    let mut command = redis::cmd("BACKUP");
    if let Some(name) = name {
        command.arg(name);
    }
    let json: String = command.query(con)?;
    Ok(serde_json::from_str(&json).unwrap())
}

#[test]
fn backup_list_verify_and_restore_through_the_command_line() {
    let mut server = TestServer::start_with(&["--demo"]);
    let mut con = server.admin_redis();
    let taken = backup(&mut con, Some("nightly")).unwrap();
    assert_eq!(taken["name"], "nightly");
    assert_eq!(taken["records"], 1_000 + 100 + 10_000);
    let file = server.dir.path().join("backups").join("nightly.crmbak");
    assert_eq!(taken["bytes"], std::fs::metadata(&file).unwrap().len());
    let b3 = blake3::hash(&std::fs::read(&file).unwrap())
        .to_hex()
        .to_string();
    assert_eq!(taken["blake3"], b3);
    assert!(taken["created_at"].as_str().unwrap().ends_with('Z'));

    // A default name, then the listing.
    let default = backup(&mut con, None).unwrap();
    assert!(default["name"].as_str().unwrap().starts_with("backup-"));
    let listed: Vec<String> = redis::cmd("BACKUP.LIST").query(&mut con).unwrap();
    assert_eq!(listed.len(), 2);
    let nightly: serde_json::Value =
        serde_json::from_str(listed.iter().find(|l| l.contains("nightly")).unwrap()).unwrap();
    assert_eq!(nightly, taken);

    // Errors.
    let code =
        |r: redis::RedisResult<serde_json::Value>| r.unwrap_err().code().unwrap().to_string();
    assert_eq!(code(backup(&mut con, Some("nightly"))), "CONFLICT");
    for bad in ["../x", "/etc/x", ".hidden", "a b", "x/y"] {
        assert_eq!(code(backup(&mut con, Some(bad))), "INVALID", "{bad}");
    }
    assert_eq!(
        redis::cmd("BACKUP.VERIFY")
            .arg("nightly")
            .query::<Value>(&mut con)
            .unwrap(),
        Value::Okay
    );
    let missing = redis::cmd("BACKUP.VERIFY")
        .arg("nope")
        .query::<Value>(&mut con)
        .unwrap_err();
    assert_eq!(missing.code(), Some("NOTFOUND"));
    let traversal = redis::cmd("BACKUP.VERIFY")
        .arg("../../etc/passwd")
        .query::<Value>(&mut con)
        .unwrap_err();
    assert_eq!(traversal.code(), Some("INVALID"));

    // A damaged copy is CORRUPT, with a message that says what failed.
    let mut damaged = std::fs::read(&file).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x10;
    std::fs::write(
        server.dir.path().join("backups").join("damaged.crmbak"),
        &damaged,
    )
    .unwrap();
    let corrupt = redis::cmd("BACKUP.VERIFY")
        .arg("damaged")
        .query::<Value>(&mut con)
        .unwrap_err();
    assert_eq!(corrupt.code(), Some("CORRUPT"));
    assert!(corrupt.detail().unwrap().contains("chunk"), "{corrupt}");

    // Offline: verify, then restore into a new folder and serve it.
    let key = server.dir.path().join("key");
    let verified = Command::new(server_binary())
        .arg("verify")
        .arg(&file)
        .arg("--key-file")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let restored_dir = server.dir.path().join("restored");
    // What a restore killed midway leaves beside the folder: cleared (and said so) first.
    let leftover = server.dir.path().join(".restored.restore-unfinished");
    std::fs::create_dir_all(leftover.join("redo")).unwrap();
    std::fs::write(leftover.join("customer-keys"), [7u8; 100]).unwrap();
    let restored = Command::new(server_binary())
        .args(["restore"])
        .arg(&file)
        .arg("--data")
        .arg(&restored_dir)
        .arg("--key-file")
        .arg(&key)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&restored.stderr);
    assert!(restored.status.success(), "{stderr}");
    assert!(
        stderr.contains("left by an interrupted restore"),
        "{stderr}"
    );
    assert!(!leftover.exists());
    // Without a key, and with the wrong key: exit non-zero, one line on stderr, nothing written.
    let no_key = Command::new(server_binary())
        .arg("verify")
        .arg(&file)
        .env_remove("CRM_PASSPHRASE")
        .output()
        .unwrap();
    assert!(!no_key.status.success());
    assert_eq!(
        String::from_utf8_lossy(&no_key.stderr)
            .trim()
            .lines()
            .count(),
        1
    );
    let wrong_key = server.dir.path().join("wrong.key");
    crm_engine::write_key_file(&wrong_key).unwrap();
    let elsewhere = server.dir.path().join("elsewhere");
    let refused = Command::new(server_binary())
        .arg("restore")
        .arg(&file)
        .arg("--data")
        .arg(&elsewhere)
        .arg("--key-file")
        .arg(&wrong_key)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(message.contains("wrong key"), "{message}");
    assert!(!elsewhere.exists());
    // Restoring over an existing folder is refused.
    let again = Command::new(server_binary())
        .arg("restore")
        .arg(&file)
        .arg("--data")
        .arg(&restored_dir)
        .arg("--key-file")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!again.status.success());

    // The restored store serves the same data (users included: admin logs in with its password).
    let before: String = redis::cmd("STATS.CUSTOMERS")
        .arg("LIMIT")
        .arg(5)
        .query::<Vec<String>>(&mut con)
        .unwrap()
        .join("\n");
    drop(con);
    let status = server.signal_and_wait("TERM");
    assert!(status.success());
    std::fs::remove_dir_all(server.data_dir()).unwrap();
    std::fs::rename(&restored_dir, server.data_dir()).unwrap();
    server.extra_args.clear();
    server.launch();
    let mut con = server.admin_redis();
    let after: String = redis::cmd("STATS.CUSTOMERS")
        .arg("LIMIT")
        .arg(5)
        .query::<Vec<String>>(&mut con)
        .unwrap()
        .join("\n");
    assert_eq!(before, after);
}

#[test]
fn info_reports_backup_state() {
    let server = TestServer::start();
    let mut con = server.admin_redis();
    let info: String = redis::cmd("INFO").query(&mut con).unwrap();
    assert!(info.contains("backup_in_progress:0\r\n"));
    assert!(info.contains("backup_progress:0\r\n"));
}
