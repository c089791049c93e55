//! Recovery of the real binary: a wrong key changes no file of the data folder, and a
//! `rekey` or a start killed midway leaves a store that opens whole.
//!
//! One file: each test stops `crm-server` (or has it refuse) and then looks at the data folder
//! itself — its files' bytes, or what the engine opens of it.

#![allow(clippy::unwrap_used)]

use crm_tests::{free_port, opener, rekey_command, server_binary, TestServer};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const CUSTOMERS: u64 = 300;

/// Adds `count` customers from `first` (their emails numbered from it).
fn add_customers(server: &TestServer, first: u64, count: u64) {
    let mut admin = server.admin_redis();
    for i in first..first + count {
        let _: i64 = redis::cmd("CUSTOMER.ADD")
            .arg("NAME")
            .arg("Ada Lovelace")
            .arg("EMAIL")
            .arg(format!("ada{i}@example.com"))
            .query(&mut admin)
            .unwrap();
    }
}

/// Every file and folder under `dir`: its path, its size and the BLAKE3 hash of its bytes.
fn folder_state(dir: &Path) -> Vec<(String, u64, String)> {
    let mut state = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            state.push((path.display().to_string(), 0, "folder".to_string()));
            state.extend(folder_state(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let hash = blake3::hash(&bytes).to_hex().to_string();
            state.push((path.display().to_string(), bytes.len() as u64, hash));
        }
    }
    state.sort();
    state
}

/// Runs `crm-server serve` on `data` with `key_file` and waits for it to exit (at most 60 s:
/// one still serving then is killed, and fails the test).
fn serve_until_exit(data: &Path, key_file: &Path) -> Output {
    let mut child = Command::new(server_binary())
        .arg("serve")
        .arg("--data")
        .arg(data)
        .arg("--key-file")
        .arg(key_file)
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", free_port()))
        .env_remove("CRM_PASSPHRASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// The customers `INFO` counts.
fn info_customers(server: &TestServer) -> u64 {
    let info: String = redis::cmd("INFO").query(&mut server.admin_redis()).unwrap();
    info.lines()
        .find_map(|line| line.trim().strip_prefix("customers:")?.parse().ok())
        .unwrap()
}

// Guards against a wrong key writing before it is refused (issue 32: `serve` with a wrong key
// replayed the redo log into sled and renamed its segments, and the `db` file's hash changed,
// before it exited). After a clean stop and after `kill -9` (batches only the redo log holds),
// `serve` with a wrong key file exits non-zero and every file of the folder — names, sizes,
// bytes — is as it was; the right key then serves every customer.
#[test]
fn serve_with_a_wrong_key_exits_and_changes_no_file_of_the_data_folder() {
    let mut server = TestServer::start();
    add_customers(&server, 0, CUSTOMERS);
    let wrong = server.dir.path().join("wrong.key");
    crm_engine::write_key_file(&wrong).unwrap();
    let mut expected = CUSTOMERS;
    for stop in ["TERM", "KILL"] {
        if stop == "KILL" {
            add_customers(&server, expected, 20);
            expected += 20;
        }
        server.signal_and_wait(stop);
        let before = folder_state(&server.data_dir());
        let refused = serve_until_exit(&server.data_dir(), &wrong);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "after {stop}: {stderr}");
        assert!(stderr.contains("key"), "after {stop}: {stderr}");
        assert_eq!(
            folder_state(&server.data_dir()),
            before,
            "after {stop}: {stderr}"
        );
        server.launch();
        assert_eq!(info_customers(&server), expected, "after {stop}");
    }
}

fn copy_folder(from: &Path, to: &Path) {
    let copied = Command::new("cp").arg("-a").arg(from).arg(to).status();
    assert!(copied.unwrap().success());
}

// Guards against a `rekey` killed midway leaving a store that no key opens (issue 32: with a
// stopped store of 300 customers and `kill -9` 8 to 18 ms after the start, some runs left
// empty segments in redo/, and then both keys and a rerun failed with "the redo log segment
// … is damaged at byte 0, before its seal"). Killed after each of many delays, the folder
// opens whole with one of the two keys, and a rerun with the same keys finishes. (Each
// point's outcome depends on the machine's speed; the engine's rekey test kills it at every
// step deterministically.)
#[test]
fn rekey_killed_after_many_delays_leaves_a_store_one_key_opens_and_a_rerun_finishes() {
    let mut server = TestServer::start();
    add_customers(&server, 0, CUSTOMERS);
    assert!(server.signal_and_wait("TERM").success());
    let old = server.dir.path().join("key");
    let new = server.dir.path().join("new.key");
    crm_engine::write_key_file(&new).unwrap();
    let keys = [("old", old.as_path()), ("new", new.as_path())];
    let mut delays_us: Vec<u64> = (8_000..=18_000).step_by(1_000).collect();
    delays_us.extend((0..=60_000).step_by(4_000));
    delays_us.sort_unstable();
    delays_us.dedup();
    for delay in delays_us {
        let data = server.dir.path().join(format!("t-{delay}"));
        copy_folder(&server.data_dir(), &data);
        let mut child = rekey_command(&data, &old, &new).spawn().unwrap();
        std::thread::sleep(Duration::from_micros(delay));
        // SIGKILL; an error only if it has already exited.
        let _ = child.kill();
        child.wait().unwrap();
        let opened = opener(&data, &keys, CUSTOMERS);
        assert!(
            opened == "old" || opened == "new",
            "killed after {delay} µs: {opened}"
        );
        let again = rekey_command(&data, &old, &new).output().unwrap();
        assert!(
            again.status.success(),
            "the rerun after a kill at {delay} µs: {}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_eq!(
            opener(&data, &keys, CUSTOMERS),
            "new",
            "killed after {delay} µs"
        );
        std::fs::remove_dir_all(&data).unwrap();
    }
}

/// Whether `strace` can trace here (it needs ptrace, which some sandboxes forbid).
fn strace_works() -> bool {
    Command::new("strace")
        .args(["-f", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|status| status.success())
}

// Guards against a start killed during its recovery leaving a store that does not open (issue
// 32: killed between creating its new redo segment and retiring the old ones, the next start
// failed with "the redo log segment … is damaged … before its seal", reproduced with `strace
// -f -e inject=rename:signal=KILL`). A store killed with batches only its redo log holds is
// opened by `crm-server upgrade` (the open of `serve`, then a close), killed at the n-th
// rename, unlink or fdatasync for every n it makes; each time the folder then opens whole.
#[test]
fn a_start_killed_at_any_rename_unlink_or_sync_of_its_recovery_leaves_a_store_that_opens_whole() {
    if !strace_works() {
        eprintln!("strace cannot trace here; the engine's crash-point tests cover this path");
        return;
    }
    let mut server = TestServer::start();
    add_customers(&server, 0, CUSTOMERS);
    // Killed: the last batches are in the redo log only, for the next open to replay.
    server.signal_and_wait("KILL");
    let key = server.dir.path().join("key");
    for syscall in ["rename", "unlink", "fdatasync"] {
        let mut killed = 0;
        for n in 1..=40 {
            let data = server.dir.path().join(format!("{syscall}-{n}"));
            copy_folder(&server.data_dir(), &data);
            let status = Command::new("strace")
                .args(["-f", "-o", "/dev/null", "-e"])
                .arg(format!("trace={syscall}"))
                .arg("-e")
                .arg(format!("inject={syscall}:signal=KILL:when={n}"))
                .arg(server_binary())
                .arg("upgrade")
                .arg("--data")
                .arg(&data)
                .arg("--key-file")
                .arg(&key)
                .env_remove("CRM_PASSPHRASE")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            let opened = opener(&data, &[("the key", key.as_path())], CUSTOMERS);
            assert_eq!(opened, "the key", "killed at {syscall} #{n}");
            std::fs::remove_dir_all(&data).unwrap();
            if status.success() {
                break;
            }
            killed += 1;
        }
        assert!(killed > 0, "no {syscall} to kill at");
    }
}

/// A `crm-server serve` run under `strace` (its arguments first), killed when dropped.
struct Traced {
    strace: std::process::Child,
}

impl Traced {
    fn start(strace_args: &[String], data: &Path, key: &Path, port: u16) -> Traced {
        let strace = Command::new("strace")
            .args(strace_args)
            .arg(server_binary())
            .arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--key-file")
            .arg(key)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env_remove("CRM_PASSPHRASE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Traced { strace }
    }

    /// The server's process: the child of strace running the server's binary (strace forks
    /// a short-lived helper of its own too).
    fn server(&self) -> Option<u32> {
        let children = format!("/proc/{0}/task/{0}/children", self.strace.id());
        let binary = server_binary().canonicalize().ok()?;
        std::fs::read_to_string(children)
            .ok()?
            .split_whitespace()
            .filter_map(|pid| pid.parse::<u32>().ok())
            .find(|pid| {
                std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary)
            })
    }

    fn signal(&self, signal: &str) {
        if let Some(server) = self.server() {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(server.to_string())
                .status();
        }
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        match self.server() {
            Some(_) => self.signal("KILL"),
            // Not started (or gone): strace alone is left.
            None => {
                let _ = self.strace.kill();
            }
        }
        let _ = self.strace.wait();
    }
}

/// Waits until the server on `port` answers `PING`.
fn wait_ready(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let pong = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .and_then(|client| client.get_connection())
            .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con));
        if pong.is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

// Guards against a failed redo-log write going unnoticed (issue 32: the records of a failed
// write were dropped and no error was kept, so a later sync returned Ok). Every write of the
// server's active redo segment fails with EIO (strace inject): the write that meets it gets
// an error, INFO says `store_status:halted`, later writes are refused, and after a restart the
// acknowledged writes are all there.
#[test]
fn a_failed_redo_log_write_halts_the_server() {
    if !strace_works() {
        eprintln!("strace cannot trace here; the engine's injected write error covers this path");
        return;
    }
    let mut server = TestServer::start();
    add_customers(&server, 0, 5);
    assert!(server.signal_and_wait("TERM").success());
    // A stopped store keeps one empty segment; the next start retires it and starts the one
    // after it, whose every write is made to fail.
    let redo = server.data_dir().join("redo");
    let kept: Vec<String> = std::fs::read_dir(&redo)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("spare-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let next = u64::from_str_radix(&kept[0], 16).unwrap() + 1;
    let segment = redo.join(format!("{next:016x}"));
    let port = free_port();
    let args: Vec<String> = [
        "-f",
        "-o",
        "/dev/null",
        "-P",
        &segment.display().to_string(),
        "-e",
        "trace=pwrite64",
        "-e",
        "inject=pwrite64:error=EIO",
    ]
    .map(str::to_string)
    .to_vec();
    let key = server.dir.path().join("key");
    let traced = Traced::start(&args, &server.data_dir(), &key, port);
    assert!(wait_ready(port), "the traced server did not start");
    let url = format!(
        "redis://admin:{}@127.0.0.1:{port}/",
        crm_tests::ADMIN_PASSWORD
    );
    let mut admin = redis::Client::open(url).unwrap().get_connection().unwrap();
    let add = |admin: &mut redis::Connection, email: &str| {
        redis::cmd("CUSTOMER.ADD")
            .arg("NAME")
            .arg("Bo")
            .arg("EMAIL")
            .arg(email)
            .query::<i64>(admin)
    };
    let failed = add(&mut admin, "bo@example.com").unwrap_err();
    assert!(failed.to_string().contains("storage"), "{failed}");
    let info: String = redis::cmd("INFO").query(&mut admin).unwrap();
    assert!(info.contains("store_status:halted"), "{info}");
    let refused = add(&mut admin, "cy@example.com").unwrap_err();
    assert!(refused.to_string().contains("storage"), "{refused}");
    assert!(traced.server().is_some(), "the traced server is gone");
    drop(traced);
    server.launch();
    assert!(info_customers(&server) >= 5);
    add_customers(&server, 100, 1);
}
