//! A cluster of real `crm-server` nodes on a real etcd ([`crate::cluster::EtcdCluster`]):
//! each node on a free loopback port with its own data folder and one shared key file;
//! kill -9, SIGSTOP/SIGCONT and restart of single nodes; who leads, as the nodes say.

use crate::cluster::EtcdCluster;
use crate::{free_port, server_binary, ADMIN_PASSWORD};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The lease TTL the tests run nodes with (the contract's minimum: fast failovers).
pub const LEASE_TTL: u64 = 2;

/// One node.
pub struct CrmNode {
    pub name: String,
    pub port: u16,
    child: Option<Child>,
}

/// Nodes of one cluster.
pub struct CrmCluster {
    pub dir: tempfile::TempDir,
    pub name: String,
    pub endpoints: String,
    pub nodes: Vec<CrmNode>,
    /// Extra `serve` arguments for every node.
    pub extra: Vec<String>,
}

/// A `redis` connection to `port` logged in as admin, or the error.
pub fn connect(port: u16) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(format!("redis://admin:{ADMIN_PASSWORD}@127.0.0.1:{port}/"))?;
    let con = client.get_connection_with_timeout(Duration::from_secs(5))?;
    con.set_read_timeout(Some(Duration::from_secs(20)))?;
    Ok(con)
}

impl CrmNode {
    /// A node not started yet, on a free port.
    pub fn new(name: &str) -> CrmNode {
        CrmNode {
            name: name.to_string(),
            port: free_port(),
            child: None,
        }
    }
}

impl CrmCluster {
    /// `size` nodes on `etcd`, started one after the other (the first creates the cluster,
    /// the others join it empty), each ready (answering `PING`).
    pub fn start(etcd: &EtcdCluster, size: usize) -> CrmCluster {
        Self::start_with(etcd, size, &[])
    }

    pub fn start_with(etcd: &EtcdCluster, size: usize, extra: &[&str]) -> CrmCluster {
        let dir = tempfile::tempdir().unwrap();
        crm_engine::write_key_file(&dir.path().join("key")).unwrap();
        let mut cluster = CrmCluster {
            dir,
            name: "crm-test".into(),
            endpoints: etcd.endpoints_arg(),
            nodes: (1..=size)
                .map(|i| CrmNode {
                    name: format!("n{i}"),
                    port: free_port(),
                    child: None,
                })
                .collect(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        for i in 0..size {
            cluster.launch(i);
            if i == 0 {
                cluster.wait_leader(Duration::from_secs(60));
            }
        }
        for i in 0..size {
            cluster.wait_synced(i, Duration::from_secs(60));
        }
        cluster
    }

    /// Node `i`'s data folder.
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.path().join(&self.nodes[i].name)
    }

    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("key")
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("{}.log", self.nodes[i].name))
    }

    /// What node `i` wrote to stderr (every run of it).
    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.log_path(i)).unwrap_or_default()
    }

    /// The `serve` command of node `i` (not started).
    pub fn command(&self, i: usize) -> Command {
        self.command_with(i, &[])
    }

    /// The `serve` command of node `i` with some options' values replaced (or added).
    pub fn command_with(&self, i: usize, overrides: &[(&str, &str)]) -> Command {
        let node = &self.nodes[i];
        let mut options: Vec<(String, String)> = vec![
            ("--data".into(), self.data_dir(i).display().to_string()),
            ("--listen".into(), format!("127.0.0.1:{}", node.port)),
            ("--key-file".into(), self.key_file().display().to_string()),
            ("--cluster".into(), self.endpoints.clone()),
            ("--cluster-name".into(), self.name.clone()),
            ("--node".into(), node.name.clone()),
            ("--lease-ttl".into(), LEASE_TTL.to_string()),
        ];
        for (option, value) in overrides {
            match options.iter_mut().find(|(o, _)| o == option) {
                Some(found) => found.1 = value.to_string(),
                None => options.push((option.to_string(), value.to_string())),
            }
        }
        let mut command = Command::new(server_binary());
        command.arg("serve");
        for (option, value) in options {
            command.arg(option).arg(value);
        }
        command
            .args(&self.extra)
            .env("CRM_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("CRM_PASSPHRASE")
            .stdout(Stdio::null());
        command
    }

    /// Starts node `i` (again) on its folder and port; waits until it answers `PING`.
    pub fn launch(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(i))
            .unwrap();
        let child = self.command(i).stderr(log).spawn().unwrap();
        self.nodes[i].child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if crate::ping(self.nodes[i].port) {
                return;
            }
            if let Some(status) = self.nodes[i].child.as_mut().unwrap().try_wait().unwrap() {
                panic!("node {i} exited with {status}: {}", self.log(i));
            }
            assert!(
                Instant::now() < deadline,
                "node {i} not ready: {}",
                self.log(i)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// kill -9 of node `i`.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`) to node `i`.
    pub fn signal(&self, i: usize, signal: &str) {
        let pid = self.nodes[i].child.as_ref().unwrap().id();
        Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
    }

    /// Whether node `i`'s process is running.
    pub fn is_running(&mut self, i: usize) -> bool {
        self.nodes[i]
            .child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// A connection to node `i`, logged in as admin.
    pub fn connect(&self, i: usize) -> redis::Connection {
        connect(self.nodes[i].port).unwrap_or_else(|e| panic!("node {i}: {e}: {}", self.log(i)))
    }

    /// `ROLE`'s first word on node `i`, `None` when it does not answer.
    pub fn role(&self, i: usize) -> Option<String> {
        let mut con = connect(self.nodes[i].port).ok()?;
        let reply: Vec<redis::Value> = redis::cmd("ROLE").query(&mut con).ok()?;
        match reply.first()? {
            redis::Value::BulkString(word) => Some(String::from_utf8_lossy(word).into_owned()),
            _ => None,
        }
    }

    /// The index of the node that leads and accepts writes, waiting up to `within`.
    pub fn wait_leader(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            for i in 0..self.nodes.len() {
                if self.nodes[i].child.is_some() && self.role(i).as_deref() == Some("master") {
                    if let Ok(mut con) = connect(self.nodes[i].port) {
                        let info: String = redis::cmd("INFO").query(&mut con).unwrap_or_default();
                        if info.contains("leader_ready:1") {
                            return i;
                        }
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "no leader within {within:?}: {}",
                (0..self.nodes.len())
                    .map(|i| self.log(i))
                    .collect::<Vec<_>>()
                    .join("\n----\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The `# Replication` field `name` of node `i`.
    pub fn info_field(&self, i: usize, name: &str) -> Option<String> {
        let mut con = connect(self.nodes[i].port).ok()?;
        let info: String = redis::cmd("INFO").query(&mut con).ok()?;
        info.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_string())
    }

    /// Waits until node `i` answers reads (done syncing after its snapshot).
    pub fn wait_synced(&self, i: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.info_field(i, "sync_in_progress").as_deref() != Some("0") {
            assert!(
                Instant::now() < deadline,
                "node {i} never synced: {}",
                self.log(i)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until every running node has applied what the leader committed (the same
    /// `log_applied` on all, and no lag).
    pub fn wait_converged(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let applied: Vec<Option<String>> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].child.is_some())
                .map(|i| self.info_field(i, "log_applied"))
                .collect();
            let committed: Vec<Option<String>> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].child.is_some())
                .map(|i| self.info_field(i, "log_committed"))
                .collect();
            if applied.iter().all(Option::is_some)
                && applied.windows(2).all(|w| w[0] == w[1])
                && committed.iter().all(|c| c == &applied[0])
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nodes did not converge: applied {applied:?}, committed {committed:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for CrmCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
