//! One running cluster node: the tasks of election, registration, takeover, the apply loop,
//! the leader's upkeep of the log (new epochs, trimming) and the destruction of the keys of
//! epochs trimmed away, started together on the current tokio runtime, sharing one etcd
//! client and one view.
//!
//! `serve` decides admission first (meta.rs, identity.rs: refusals change nothing), opens the
//! store, then calls [`Node::start`], which fails with a one-line error when etcd cannot be
//! reached within `--lease-ttl` or another live node has this `--node` name.

use crate::apply::ApplyLoop;
use crate::config::ClusterConfig;
use crate::election::Election;
use crate::error::{Error, Result};
use crate::etcd::{Client, ClientOptions, Credentials, LeaseState, Range};
use crate::handoff::Handoff;
use crate::identity::Id;
use crate::keys::Keys;
use crate::log::Log;
use crate::mac::MacKey;
use crate::registry::{Registration, Registry};
use crate::role::{ClusterView, NodeInfo, Role, ViewHandle};
use crate::seam::{Applier, Sealer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Everything a node is made of.
pub struct NodeSetup {
    pub config: ClusterConfig,
    pub credentials: Option<Credentials>,
    /// The node id from the data folder's `cluster` file.
    pub node_id: Id,
    /// 40 lower-case hex digits, new at each start.
    pub runid: String,
    pub mac: MacKey,
    pub sealer: Arc<dyn Sealer>,
    pub applier: Arc<dyn Applier>,
    /// The last position made durable in the node's own files.
    pub durable: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// Where joiners fetch snapshots from (empty: nowhere yet).
    pub snapshot_addr: String,
    /// Whether the node may lead from the start (a node still copying a snapshot may not).
    pub eligible: bool,
}

/// A running node; its tasks stop when it is dropped.
pub struct Node {
    client: Client,
    keys: Keys,
    view: ViewHandle,
    log: Log,
    election: Election,
    eligible: watch::Sender<bool>,
    lease: watch::Receiver<Option<(i64, LeaseState)>>,
    tasks: Vec<JoinHandle<()>>,
}

/// A new run id: 40 lower-case hex digits.
pub fn new_runid() -> String {
    let bytes: [u8; 20] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Connects to etcd and proves a quorum answers within `--lease-ttl`, else refuses in one
/// line.
pub async fn connect(config: &ClusterConfig, credentials: Option<Credentials>) -> Result<Client> {
    let mut options = ClientOptions::for_lease_ttl(config.endpoints.clone(), config.lease_ttl);
    options.credentials = credentials;
    let unreachable = |reason: String| {
        Error::Config(format!(
            "etcd cannot be reached at {} within {}s ({reason}): start etcd or check --cluster",
            config.endpoints.join(","),
            config.lease_ttl.as_secs()
        ))
    };
    let deadline = Instant::now() + config.lease_ttl;
    let client = tokio::time::timeout_at(deadline.into(), Client::connect(options))
        .await
        .map_err(|_| unreachable("no answer".into()))?
        .map_err(|e| match e {
            refused @ Error::Refused(_) => refused,
            other => unreachable(other.to_string()),
        })?;
    let keys = Keys::new(&config.cluster_name);
    loop {
        match client.range(Range::key(keys.meta()).count_only()).await {
            Ok(_) => return Ok(client),
            Err(refused @ Error::Refused(_)) => return Err(refused),
            Err(e) if Instant::now() >= deadline => return Err(unreachable(e.to_string())),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

impl Node {
    /// Registers the node and starts its tasks on the current runtime.
    pub async fn start(client: Client, setup: NodeSetup) -> Result<Node> {
        let config = &setup.config;
        let keys = Keys::new(&config.cluster_name);
        let view = ViewHandle::new();
        let handoff = Handoff::new();
        let me = NodeInfo {
            node: config.node.clone(),
            advertise: config.advertise.clone(),
            runid: setup.runid.clone(),
            live: true,
            ..NodeInfo::default()
        };
        let registry = Registry::new(
            client.clone(),
            keys.clone(),
            setup.mac.clone(),
            config.lease_ttl,
            config.log_retain,
        );
        let registration = Registration {
            node: config.node.clone(),
            node_id: setup.node_id,
            runid: setup.runid.clone(),
            advertise: config.advertise.clone(),
            applied: setup.applier.applied(),
            durable: (setup.durable)(),
            snapshot: setup.snapshot_addr.clone(),
            seen_ms: 0,
        };
        let election = Election::new(
            client.clone(),
            keys.clone(),
            setup.mac.clone(),
            me.clone(),
            config.lease_ttl,
        );
        let lease = client.grant(config.lease_ttl).await?;
        let keeper = client.keep_alive(lease);
        if let Err(e) = registry.register(&registration, lease.id).await {
            let _ = client.revoke(lease.id).await;
            return Err(e);
        }
        if let Ok(Some(last)) = election.last_leader().await {
            view.update(|v| {
                v.last_leader = Some(last);
                true
            });
        }
        let (lease_out, lease_in) = watch::channel(Some((lease.id, keeper.state())));
        let (eligible, eligible_in) = watch::channel(setup.eligible);
        let log = Log::new(
            client.clone(),
            keys.clone(),
            Arc::clone(&setup.sealer),
            view.clone(),
            me,
            config.lease_ttl,
            handoff.clone(),
        );
        let apply = ApplyLoop::new(
            client.clone(),
            keys.clone(),
            Arc::clone(&setup.sealer),
            Arc::clone(&setup.applier),
            view.clone(),
            handoff,
        );
        let pace = crate::epochs::Pace::new(config.log_retain, config.lease_ttl);
        let trimmer = crate::trim::Trimmer::new(
            log.clone(),
            registry.clone(),
            Arc::clone(&setup.durable),
            pace,
        );
        let destroyer = crate::epochs::destroy_trimmed(
            client.clone(),
            keys.clone(),
            Arc::clone(&setup.sealer),
            pace.every,
        );
        let positions = {
            let view = view.subscribe();
            let durable = Arc::clone(&setup.durable);
            move || (view.borrow().applied, durable())
        };
        let tasks = vec![
            tokio::spawn(watch_etcd_size(client.clone(), view.clone())),
            tokio::spawn(follow_raft_leader(client.clone(), view.clone())),
            tokio::spawn(registry.clone().follow_nodes(view.clone())),
            tokio::spawn(registry.keep_registered(
                registration,
                lease_out,
                view.clone(),
                positions,
                Some(keeper),
            )),
            tokio::spawn(
                election
                    .clone()
                    .run(view.clone(), lease_in.clone(), eligible_in),
            ),
            tokio::spawn(log.clone().run_takeovers()),
            tokio::spawn(async move {
                apply.run().await;
            }),
            tokio::spawn(trimmer.run()),
            tokio::spawn(destroyer),
        ];
        Ok(Node {
            client,
            keys,
            view,
            log,
            election,
            eligible,
            lease: lease_in,
            tasks,
        })
    }

    /// The node's log (the engine's `ReplicatedLog` once wired).
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// A receiver of the node's view of the cluster.
    pub fn view(&self) -> watch::Receiver<ClusterView> {
        self.view.subscribe()
    }

    /// The view now.
    pub fn snapshot(&self) -> ClusterView {
        self.view.get()
    }

    /// The etcd client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The etcd keys of the cluster.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Allows or forbids this node to lead (a node that finished copying its snapshot).
    pub fn set_eligible(&self, eligible: bool) {
        self.eligible.send_replace(eligible);
    }

    /// Stops the node cleanly: resigns the leadership and revokes the lease (its registration
    /// goes at once), so the others need not wait for the lease to run out.
    pub async fn shutdown(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        if let Role::Leader { fence, .. } = self.view.get().role {
            let _ = self.election.resign(fence).await;
        }
        if let Some((lease, _)) = *self.lease.borrow() {
            let _ = self.client.revoke(lease).await;
        }
    }
}

/// etcd's default `--quota-backend-bytes`: past it etcd refuses every write (`NOSPACE`).
pub const ETCD_DEFAULT_QUOTA: u64 = 2 * 1024 * 1024 * 1024;
/// How often the database size is read.
const SIZE_EVERY: Duration = Duration::from_secs(10);

/// Keeps the view's `etcd_db_size` current and warns in the log past 80 % of etcd's default
/// quota (the log holds `write rate × entry size × --log-retain`: README, "etcd's limits").
async fn watch_etcd_size(client: Client, view: ViewHandle) {
    let mut warned = false;
    loop {
        if let Ok(status) = client.status().await {
            let size = u64::try_from(status.db_size).unwrap_or(0);
            view.update(|v| {
                let changed = v.etcd_db_size != size;
                v.etcd_db_size = size;
                changed
            });
            let high = size > ETCD_DEFAULT_QUOTA / 10 * 8;
            if high && !warned {
                tracing::warn!(
                    size,
                    quota = ETCD_DEFAULT_QUOTA,
                    "etcd's database is past 80 % of etcd's default quota: lower --log-retain, compact and defragment etcd, or raise its --quota-backend-bytes"
                );
            }
            warned = high;
            for alarm in &status.errors {
                tracing::warn!("etcd reports: {alarm}");
            }
        }
        tokio::time::sleep(SIZE_EVERY).await;
    }
}

/// How often the node checks which etcd member is the raft leader.
const RAFT_LEADER_EVERY: Duration = Duration::from_secs(2);

/// While this node leads, keeps its etcd calls on etcd's raft leader
/// (`Client::move_to_raft_leader`), which changes when a member fails or an election moves
/// it. Only the leader's calls move, its appends being what every acknowledgement waits for:
/// a follower's calls (its watch of the log, its reads) stay on the endpoint they use (the
/// first that answers; a node that led stays on the member it moved to, which costs nothing).
async fn follow_raft_leader(client: Client, view: ViewHandle) {
    loop {
        if matches!(view.get().role, Role::Leader { .. }) {
            match client.move_to_raft_leader().await {
                Ok(true) => tracing::debug!("etcd calls moved to the raft leader's member"),
                Ok(false) => {}
                Err(error) => tracing::debug!("etcd's raft leader not learned: {error}"),
            }
        }
        tokio::time::sleep(RAFT_LEADER_EVERY).await;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
