//! The harness of the end-to-end tests: starts the real `crm-server` binary on a free port
//! with a temporary data folder, and stops it.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

pub mod cluster;
pub mod nodes;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "admin-test-password";

/// The built `crm-server` binary (built by `cargo test --workspace`: the server crate's own
/// integration tests make cargo build it).
pub fn server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("CRM_SERVER_BIN") {
        return PathBuf::from(path);
    }
    workspace_binary("crm-server")
}

/// A built binary of this workspace (`crm-server`, `crm-tui`), of the profile being tested:
/// a test runs from `target/<profile>/deps/`, and cargo puts the workspace's binaries of that
/// profile in `target/<profile>/` (so `cargo test --release` tests release binaries).
pub fn workspace_binary(name: &str) -> PathBuf {
    let profile_dir = std::env::current_exe()
        .ok()
        .and_then(|test| Some(test.parent()?.parent()?.to_path_buf()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let fallback = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"))
        .join("debug");
    let binary = profile_dir
        .map(|dir| dir.join(name))
        .filter(|path| path.exists())
        .unwrap_or_else(|| fallback.join(name));
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --workspace` (with the same profile) first",
        binary.display()
    );
    binary
}

/// A free TCP port on loopback.
/// `n` distinct free loopback ports: every listener is held until all are found (ports found
/// one at a time may repeat: the kernel can hand a just-released port out again).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether a server answers `PING` on `port` (with `+PONG`, or `LOADING`/`-` errors not).
pub fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A running server and its folders.
pub struct TestServer {
    pub child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub extra_args: Vec<String>,
    /// Environment variables set for the process at each (re)launch.
    pub env: Vec<(String, String)>,
}

impl TestServer {
    /// Starts a server with an empty store.
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// Starts a server with extra `serve` arguments.
    pub fn start_with(extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        crm_engine::write_key_file(&key).unwrap();
        let mut server = TestServer {
            child: None,
            port: free_port(),
            dir,
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
        };
        // A port found free may be taken before the server binds it (another test's client
        // connection: tests run in parallel); the server then exits having created nothing
        // (it binds first), and is started again on another port, a few times at most.
        for _ in 0..4 {
            match server.try_launch() {
                Ok(()) => return server,
                Err(log) if log.contains("Address already in use") => server.port = free_port(),
                Err(log) => panic!("{log}"),
            }
        }
        server.launch();
        server
    }

    /// The data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts (or restarts) the process on the same folder and port, and waits until ready.
    pub fn launch(&mut self) {
        if let Err(failure) = self.try_launch() {
            panic!("{failure}");
        }
    }

    /// [`TestServer::launch`], with the failure (and the server's log) as an error.
    fn try_launch(&mut self) -> Result<(), String> {
        let log = std::fs::File::create(self.dir.path().join("server.log")).unwrap();
        let child = Command::new(server_binary())
            .arg("serve")
            .arg("--data")
            .arg(self.data_dir())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--key-file")
            .arg(self.dir.path().join("key"))
            .args(&self.extra_args)
            .env("CRM_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("CRM_PASSPHRASE")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                if stream.write_all(b"PING\r\n").is_ok() {
                    let mut reply = [0u8; 7];
                    if stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n" {
                        return Ok(());
                    }
                }
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                self.child = None;
                return Err(format!("server exited early with {status}: {}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("server not ready in time: {}", self.log()))
    }

    /// The server process's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.as_ref().unwrap().id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    }

    /// What the server wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// `host:port`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A `redis://` URL logged in as `user`.
    pub fn url(&self, user: &str, password: &str, resp3: bool) -> String {
        let protocol = if resp3 { "?protocol=resp3" } else { "" };
        format!(
            "redis://{user}:{password}@127.0.0.1:{}/{protocol}",
            self.port
        )
    }

    /// A raw TCP connection.
    pub fn raw(&self) -> RawConnection {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        RawConnection { stream }
    }

    /// A raw connection already authenticated as admin.
    pub fn raw_admin(&self) -> RawConnection {
        let mut raw = self.raw();
        assert_eq!(
            raw.roundtrip(&format!("AUTH admin {ADMIN_PASSWORD}\r\n")),
            "+OK\r\n"
        );
        raw
    }

    /// A `redis` crate connection (RESP2), logged in as admin.
    pub fn admin_redis(&self) -> redis::Connection {
        redis::Client::open(self.url("admin", ADMIN_PASSWORD, false))
            .unwrap()
            .get_connection()
            .unwrap()
    }

    /// Our own client, authenticated as admin.
    pub fn client(&self) -> crm_server::client::Client {
        let mut client =
            crm_server::client::Client::connect(&self.address(), Duration::from_secs(30)).unwrap();
        client.auth("admin", ADMIN_PASSWORD).unwrap();
        client
    }

    /// Sends a signal and waits for the exit status.
    pub fn signal_and_wait(&mut self, signal: &str) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        child.wait().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A plain TCP connection for exact-byte tests.
pub struct RawConnection {
    pub stream: TcpStream,
}

impl RawConnection {
    /// Writes bytes.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).unwrap();
    }

    /// Reads until `expected_len` bytes arrived or the peer closed.
    pub fn read_n(&mut self, expected_len: usize) -> String {
        let mut buffer = vec![0u8; expected_len];
        let mut filled = 0;
        while filled < expected_len {
            match self.stream.read(&mut buffer[filled..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => filled += n,
            }
        }
        String::from_utf8_lossy(&buffer[..filled]).into_owned()
    }

    /// Reads one reply line or bulk (simple heuristic: enough for single-line replies, or a
    /// bulk whose length line tells how much to read).
    pub fn read_reply(&mut self) -> String {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            match self.stream.read(&mut byte) {
                Ok(1) => line.push(byte[0]),
                _ => break,
            }
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        if let Some(length) = text
            .strip_prefix('$')
            .and_then(|l| l.trim_end().parse::<i64>().ok())
        {
            if length >= 0 {
                return text + &self.read_n(length as usize + 2);
            }
        }
        text
    }

    /// Sends and reads one reply.
    pub fn roundtrip(&mut self, request: &str) -> String {
        self.send(request);
        self.read_reply()
    }

    /// Whether the server closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }
}

/// Sends a command given as words and returns the reply or the error (for tests that check
/// both).
pub fn send_words(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con)
}

/// Short helpers for tests that speak in words: the reply or a panic, the error code, JSON.
pub mod words {
    use super::TestServer;
    use redis::Value;

    pub fn ok(con: &mut redis::Connection, args: &[&str]) -> Value {
        crate::send_words(con, args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    pub fn code(con: &mut redis::Connection, args: &[&str]) -> String {
        match crate::send_words(con, args) {
            Err(e) => e.code().unwrap_or("?").to_string(),
            Ok(v) => panic!("{args:?} answered {v:?}"),
        }
    }

    pub fn json_of(value: Value) -> serde_json::Value {
        match value {
            Value::BulkString(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Value::Nil => serde_json::Value::Null,
            Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(json_of).collect())
            }
            other => panic!("not JSON: {other:?}"),
        }
    }

    /// Sends a request made by the server crate's typed builders (the ones the console and
    /// the import tool use); the reply or a panic.
    pub fn call(con: &mut redis::Connection, request: &crm_server::request::Command) -> Value {
        let args: Vec<&str> = request.words().iter().map(String::as_str).collect();
        ok(con, &args)
    }

    pub fn get(con: &mut redis::Connection, args: &[&str]) -> serde_json::Value {
        json_of(ok(con, args))
    }

    pub fn connect(server: &TestServer, user: &str, password: &str) -> redis::Connection {
        redis::Client::open(server.url(user, password, false))
            .unwrap()
            .get_connection()
            .unwrap()
    }

    pub fn id(value: Value) -> String {
        match value {
            Value::Int(n) => n.to_string(),
            other => panic!("not an id: {other:?}"),
        }
    }
}

/// `crm-server rekey` of `data` from the key file `old` to `new` (no passphrase from the
/// environment), stdout discarded, stderr captured.
pub fn rekey_command(data: &Path, old: &Path, new: &Path) -> Command {
    let mut command = Command::new(server_binary());
    command
        .arg("rekey")
        .arg("--data")
        .arg(data)
        .arg("--key-file")
        .arg(old)
        .arg("--new-key-file")
        .arg(new)
        .env_remove("CRM_PASSPHRASE")
        .env_remove("CRM_NEW_PASSPHRASE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Which of `keys` (name, key file) opens the stopped store in `data` whole — every invariant
/// holds and it has `customers` customers — checked in order with the engine: its name, or
/// "neither" with each key's error.
pub fn opener(data: &Path, keys: &[(&str, &Path)], customers: u64) -> String {
    let mut errors = Vec::new();
    for (name, key) in keys {
        let key = crm_engine::KeySource::File(key.to_path_buf());
        match crm_engine::Store::open(data, &key, &crm_engine::Options::default()) {
            Ok(store) => {
                store.check_consistency().unwrap();
                assert_eq!(store.counts().unwrap().customers, customers);
                store.close().unwrap();
                return name.to_string();
            }
            Err(error) => errors.push(format!("{name}: {error}")),
        }
    }
    format!("neither ({})", errors.join("; "))
}
