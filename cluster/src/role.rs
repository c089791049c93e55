//! The node's view of the cluster, published in a `watch` channel: what `ROLE`, `INFO`'s
//! `# Replication`, `SENTINEL`, `HELLO`'s role and the write gate read, and what changes
//! (`+switch-master`) are announced from.
//!
//! Each task owns its part of the view (the election the role and the leader, the apply loop
//! the positions and the lag, the registry the nodes) and updates only that part.

use std::time::Instant;
use tokio::sync::watch;

/// This node's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Role {
    /// Holds the leader key. `ready`: it has applied the whole log and written its start entry,
    /// so it accepts writes.
    Leader { fence: i64, ready: bool },
    /// Any other node.
    #[default]
    Follower,
}

/// A follower's link to the log (`ROLE`'s state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Link {
    /// No leader known.
    #[default]
    Connect,
    /// Copying a snapshot, or applying the log up to where it joined.
    Sync,
    /// Following the log.
    Connected,
}

impl Link {
    /// `ROLE`'s spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Link::Connect => "connect",
            Link::Sync => "sync",
            Link::Connected => "connected",
        }
    }
}

/// A node as the cluster knows it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodeInfo {
    /// The `--node` name.
    pub node: String,
    /// Where clients reach it, `host:port`.
    pub advertise: String,
    /// 40 lower-case hex digits, new at each start.
    pub runid: String,
    /// The last entry it applied.
    pub applied: u64,
    /// The last entry it applied and made durable in its own files.
    pub durable: u64,
    /// Whether its lease is alive (else it is listed `s_down` until `--log-retain` passed).
    pub live: bool,
}

/// Everything a node knows of the cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterView {
    pub role: Role,
    pub link: Link,
    /// The leader, while there is one.
    pub leader: Option<NodeInfo>,
    /// The last leader known (the leader while there is one), for `master,s_down`.
    pub last_leader: Option<NodeInfo>,
    /// The last entry this node applied.
    pub applied: u64,
    /// The last entry this node knows to be committed.
    pub committed: u64,
    /// When this node learned of the oldest committed entry it has not applied.
    pub behind_since: Option<Instant>,
    /// Every node registered or recently seen (this one included).
    pub nodes: Vec<NodeInfo>,
    /// Why this node stopped applying (a `CORRUPT` entry), if it did.
    pub stopped: Option<String>,
    /// The size of etcd's database file as the member this node talks to reports it (0: not
    /// known yet); etcd refuses writes once it passes its quota.
    pub etcd_db_size: u64,
    /// The last epoch this node saw begin in the log, and when (the leader's clock, unix ms):
    /// a new leader goes on with it if it is recent, else starts a new one.
    pub epoch_began: Option<(u64, i64)>,
}

impl ClusterView {
    /// `lag_entries`.
    pub fn lag_entries(&self) -> u64 {
        self.committed.saturating_sub(self.applied)
    }

    /// `lag_ms`: 0 when nothing committed is waiting.
    pub fn lag_ms(&self) -> u64 {
        self.behind_since.map_or(0, |since| {
            u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
        })
    }

    /// Whether this node is the leader (ready or not).
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }
}

/// The sending side of the view (cheap to clone); receivers come from [`ViewHandle::subscribe`].
#[derive(Clone, Debug)]
pub struct ViewHandle {
    sender: watch::Sender<ClusterView>,
}

impl Default for ViewHandle {
    fn default() -> Self {
        ViewHandle::new()
    }
}

impl ViewHandle {
    /// A view of a node that knows nothing yet.
    pub fn new() -> ViewHandle {
        ViewHandle {
            sender: watch::Sender::new(ClusterView::default()),
        }
    }

    /// A receiver of every change.
    pub fn subscribe(&self) -> watch::Receiver<ClusterView> {
        self.sender.subscribe()
    }

    /// The view now.
    pub fn get(&self) -> ClusterView {
        self.sender.borrow().clone()
    }

    /// Changes the view; receivers are told only when `change` returns true.
    pub fn update(&self, change: impl FnOnce(&mut ClusterView) -> bool) {
        self.sender.send_if_modified(change);
    }
}
