//! A full disk, for real where the machine allows it (root may mount a small tmpfs): writes get
//! an error reply, the server keeps serving reads, and it stays up. Where mounting is not
//! allowed, the engine's fault-injection test (`engine/tests/faults.rs`) covers the same path.

#![allow(clippy::unwrap_used)]

use crm_tests::{server_binary, ADMIN_PASSWORD};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Unmounts the tmpfs when the test ends, failed or not.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Kills the server when the test ends, failed or not (declared after the mount, so it is
/// dropped first: the folder is free to unmount).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn reply(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    if let Some(length) = line
        .strip_prefix('$')
        .and_then(|l| l.trim().parse::<usize>().ok())
    {
        let mut body = vec![0u8; length + 2];
        std::io::Read::read_exact(reader, &mut body).unwrap();
        line.push_str(&String::from_utf8_lossy(&body));
    }
    line
}

#[test]
fn a_full_disk_gives_error_replies_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("small");
    std::fs::create_dir_all(&data).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"])
        .arg(&data)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a tmpfs here; the injected-fault engine test covers this path");
        return;
    }
    let _mount = Mount(data.clone());
    let key = dir.path().join("key");
    crm_engine::write_key_file(&key).unwrap();
    let port = crm_tests::free_port();
    let mut server = Server(
        Command::new(server_binary())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data.join("store"))
            .arg("--key-file")
            .arg(&key)
            .env("CRM_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let stream = loop {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            break stream;
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut send = |line: String| writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    send(format!("AUTH {ADMIN_PASSWORD}"));
    assert_eq!(reply(&mut reader), "+OK\r\n");
    let padding = "x".repeat(200);
    let mut failure = None;
    for i in 1..100_000 {
        send(format!(
            "CUSTOMER.ADD NAME \"Customer {i}\" EMAIL c{i}@example.com ADDRESS \"{padding}\""
        ));
        let answer = reply(&mut reader);
        if !answer.starts_with(':') {
            failure = Some((i, answer));
            break;
        }
    }
    let (failed_at, answer) = failure.expect("6 MiB never filled up");
    assert!(answer.contains("No space left"), "{answer}");
    if answer.starts_with("-ERR io: ") {
        // The disk filled while the keyring made its next 1,024 key slots, which happens while
        // the write is planned: it is refused, nothing is applied, and the store serves on.
        send("CUSTOMER.GET 1".into());
        assert!(reply(&mut reader).starts_with('$'));
        send("INFO".into());
        assert!(!reply(&mut reader).contains("store_status:halted"));
    } else {
        // The group's batch may be in memory without being on disk: the store halts rather
        // than serve it. Connection commands and INFO still answer; data commands say why
        // they cannot.
        assert!(answer.starts_with("-ERR storage: "), "{answer}");
        send("CUSTOMER.GET 1".into());
        let refused = reply(&mut reader);
        assert!(
            refused.starts_with("-ERR storage: the store stopped after a failed write to disk"),
            "{refused}"
        );
        send("INFO".into());
        assert!(reply(&mut reader).contains("store_status:halted"));
        send("CUSTOMER.ADD NAME y EMAIL y@example.com".into());
        assert!(reply(&mut reader).starts_with("-ERR storage: "));
    }
    send("PING".into());
    assert_eq!(reply(&mut reader), "+PONG\r\n");
    assert!(server.0.try_wait().unwrap().is_none(), "the server died");
    drop(server);

    // With room again, a restart finds every acknowledged write and a consistent store; the
    // write that failed may or may not be there (it was never acknowledged).
    let grown = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(grown.success());
    let store = crm_engine::Store::open(
        &data.join("store"),
        &crm_engine::KeySource::File(key.clone()),
        &crm_engine::Options::default(),
    )
    .unwrap();
    for id in [1, failed_at / 2, failed_at - 1] {
        assert!(
            store.customer(id).unwrap().is_some(),
            "acknowledged customer {id} lost"
        );
    }
    let report = store.check_consistency().unwrap();
    assert!(
        report.customers == failed_at - 1 || report.customers == failed_at,
        "{report:?}"
    );
}
