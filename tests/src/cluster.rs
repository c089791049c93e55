//! A real etcd cluster for the cluster tests: members on free loopback ports, in a temporary
//! folder, with kill / stop / continue / restart of single members, all killed on drop.
//!
//! etcd is Debian's `etcd-server` (3.4), installed by `.ci/run`. A missing `etcd` fails the
//! test with the command to install it: a skipped test could not fail.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_ports;

/// One etcd member.
pub struct EtcdMember {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    child: Option<Child>,
}

/// A running etcd cluster.
pub struct EtcdCluster {
    dir: tempfile::TempDir,
    token: String,
    extra: Vec<String>,
    pub members: Vec<EtcdMember>,
}

/// The `etcd` binary: `$ETCD_BIN`, else `etcd` on the `PATH`.
pub fn etcd_binary() -> PathBuf {
    if let Ok(path) = std::env::var("ETCD_BIN") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("etcd"))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => path,
        None => panic!(
            "etcd is not installed: the cluster tests need a real etcd (3.4 or later); \
             install it with `apt-get install etcd-server` (or set ETCD_BIN)"
        ),
    }
}

impl EtcdCluster {
    /// Three members, healthy (about 2 s).
    pub fn start() -> EtcdCluster {
        EtcdCluster::start_with(3, &[])
    }

    /// `size` members with extra `etcd` arguments for each (e.g. `--auth-token-ttl`).
    ///
    /// A port found free may be taken before etcd binds it (by another test's client
    /// connection: the tests run in parallel), and etcd then exits with "address already in
    /// use": the whole cluster is started again on new ports, a few times at most.
    pub fn start_with(size: usize, extra: &[&str]) -> EtcdCluster {
        assert!(etcd_binary().exists());
        let mut failures = Vec::new();
        for _ in 0..5 {
            match EtcdCluster::try_start(size, extra) {
                Ok(cluster) => return cluster,
                Err(failure) if failure.contains("address already in use") => {
                    failures.push(failure)
                }
                Err(failure) => panic!("etcd did not start: {failure}"),
            }
        }
        panic!("etcd did not start on free ports in 5 tries: {failures:?}");
    }

    fn try_start(size: usize, extra: &[&str]) -> Result<EtcdCluster, String> {
        let dir = tempfile::tempdir().unwrap();
        let ports = free_ports(2 * size);
        let members: Vec<EtcdMember> = (1..=size)
            .map(|i| EtcdMember {
                name: format!("m{i}"),
                client_port: ports[2 * i - 2],
                peer_port: ports[2 * i - 1],
                child: None,
            })
            .collect();
        let mut cluster = EtcdCluster {
            token: format!("crm-test-{}", dir.path().display()),
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            members,
        };
        for i in 0..size {
            cluster.launch(i);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for i in 0..size {
            while !healthy(cluster.members[i].client_port) {
                let exited = cluster.members[i]
                    .child
                    .as_mut()
                    .is_some_and(|child| matches!(child.try_wait(), Ok(Some(_))));
                if exited || Instant::now() > deadline {
                    // Dropping the cluster kills the members that did start.
                    return Err(format!("member {i}: {}", cluster.log(i)));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(cluster)
    }

    fn initial_cluster(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A member's data folder.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(&self.members[i].name)
    }

    /// Every member's data folder.
    pub fn data_dirs(&self) -> Vec<PathBuf> {
        (0..self.members.len()).map(|i| self.data_dir(i)).collect()
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir
            .path()
            .join(format!("{}.log", self.members[i].name))
    }

    /// What member `i` logged.
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }

    /// Starts member `i` (the same command line every time: a restart keeps its data).
    fn launch(&mut self, i: usize) {
        let initial = self.initial_cluster();
        let data = self.data_dir(i);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .unwrap();
        let member = &self.members[i];
        let client = format!("http://127.0.0.1:{}", member.client_port);
        let peer = format!("http://127.0.0.1:{}", member.peer_port);
        let child = Command::new(etcd_binary())
            .arg("--name")
            .arg(&member.name)
            .arg("--data-dir")
            .arg(&data)
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args([
                "--initial-cluster",
                &initial,
                "--initial-cluster-state",
                "new",
            ])
            .args(["--initial-cluster-token", &self.token])
            .args(["--log-level", "warn"])
            .args(&self.extra)
            .env_remove("ETCD_NAME")
            .env_remove("ETCD_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", etcd_binary().display()));
        self.members[i].child = Some(child);
    }

    /// The client URLs, `http://127.0.0.1:PORT`.
    pub fn endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| format!("http://127.0.0.1:{}", m.client_port))
            .collect()
    }

    /// The client URLs joined by commas (`--cluster`'s form).
    pub fn endpoints_arg(&self) -> String {
        self.endpoints().join(",")
    }

    /// Member `i`'s process id, while it runs.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members[i].child.as_ref().map(Child::id)
    }

    fn signal(&self, i: usize, signal: rustix::process::Signal) {
        let pid = self.pid(i).expect("the member runs");
        let pid = rustix::process::Pid::from_raw(pid as i32).expect("a process id");
        rustix::process::kill_process(pid, signal).unwrap();
    }

    /// SIGKILLs member `i` and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOPs member `i` (it keeps its connections but answers nothing), and returns once
    /// every thread of it has stopped: `kill` returns when the signal is queued, and a thread
    /// running on another core could otherwise still answer a request meanwhile.
    pub fn stop(&self, i: usize) {
        self.signal(i, rustix::process::Signal::STOP);
        let Some(pid) = self.pid(i) else { return };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && !all_threads_stopped(pid) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGCONTs member `i`.
    pub fn cont(&self, i: usize) {
        self.signal(i, rustix::process::Signal::CONT);
    }

    /// Starts a killed member `i` again on its data and waits until it is healthy.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.launch(i);
        self.wait_healthy(&[i]);
    }

    /// Waits (60 s at most) until every member in `which` says it is healthy (it has a raft
    /// leader and its store answers).
    pub fn wait_healthy(&self, which: &[usize]) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for &i in which {
            let port = self.members[i].client_port;
            while !healthy(port) {
                if Instant::now() > deadline {
                    panic!("etcd member {i} not healthy in time: {}", self.log(i));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// etcd's `/health` on the client port: `{"health":"true"}` once the member has a leader.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for member in &mut self.members {
            if let Some(mut child) = member.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Whether any file under `dir` contains `needle` (for the byte scans of etcd's folders).
pub fn folder_contains(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            folder_contains(&path, needle)
        } else {
            std::fs::read(&path)
                .map(|bytes| memchr::memmem::find(&bytes, needle).is_some())
                .unwrap_or(false)
        }
    })
}

/// Whether every thread of process `pid` is in the stopped state (`T` in its `stat`).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    tasks.flatten().all(|task| {
        std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state == "T" || state == "t")
        })
    })
}
