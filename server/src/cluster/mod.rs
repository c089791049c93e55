//! The server as one node of a cluster (PROTOCOL.md, "Cluster: high availability on etcd"):
//! what connections ask of the node — may this write go ahead, which role to report, is the
//! node still catching up — and the tasks that serve other nodes (snapshots) and clients that
//! listen for failovers (`+switch-master`).
//!
//! The node itself (election, log, apply loop) is the `crm-cluster` crate's; this module only
//! reads its view, a `watch` channel, so answering `ROLE` or gating a write never waits.

pub mod announce;
pub mod holds;
pub mod loading;
pub mod sentinel;
pub mod snapshot;

use crm_cluster::engine::LateLog;
use crm_cluster::log::Refusal;
use crm_cluster::role::{ClusterView, Role};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::watch;

/// What a connection needs to know of the node.
pub struct ClusterState {
    /// The cluster's name (Sentinel's service name).
    pub name: String,
    /// This node's `--node` name.
    pub node: String,
    /// Where clients reach this node, `host:port`.
    pub advertise: String,
    /// 40 lower-case hex digits, new at each start.
    pub runid: String,
    /// The etcd members that make a majority (Sentinel's `quorum`).
    pub quorum: usize,
    view: watch::Receiver<ClusterView>,
    log: LateLog,
    /// A node that joined with a snapshot is `sync` until it has applied the log up to here
    /// (0: not syncing).
    sync_to: AtomicU64,
}

impl ClusterState {
    pub fn new(
        identity: (String, String, String, String),
        quorum: usize,
        view: watch::Receiver<ClusterView>,
        log: LateLog,
        sync_to: u64,
    ) -> ClusterState {
        let (name, node, advertise, runid) = identity;
        ClusterState {
            name,
            node,
            advertise,
            runid,
            quorum,
            view,
            log,
            sync_to: AtomicU64::new(sync_to),
        }
    }

    /// The node's view now.
    pub fn view(&self) -> ClusterView {
        self.view.borrow().clone()
    }

    /// A receiver of the node's view, for the tasks that follow it.
    pub fn subscribe(&self) -> watch::Receiver<ClusterView> {
        self.view.clone()
    }

    /// Whether this node leads and accepts writes.
    pub fn is_leader(&self) -> bool {
        matches!(self.view.borrow().role, Role::Leader { .. })
    }

    /// Whether the node joined with a snapshot and has not yet applied the log up to where
    /// it joined (every command but a few answers `LOADING`).
    pub fn syncing(&self) -> bool {
        let target = self.sync_to.load(Ordering::Acquire);
        if target == 0 {
            return false;
        }
        if self.view.borrow().applied >= target {
            self.sync_to.store(0, Ordering::Release);
            return false;
        }
        true
    }

    /// Why a write may not go ahead on this node now, in the contract's order (`CLUSTERDOWN`
    /// without quorum contact or a known leader, `READONLY` on a follower); `None`: it may.
    pub fn write_refusal(&self) -> Option<crm_engine::Error> {
        match self.log.may_write() {
            Ok(()) => None,
            Err(Refusal::ReadOnly) => Some(crm_engine::Error::ReadOnly),
            Err(Refusal::ClusterDown(reason)) => {
                tracing::debug!("a write is refused: {reason}");
                Some(crm_engine::Error::ClusterDown(reason))
            }
        }
    }
}

/// `host:port` split as Redis shows it; a malformed address gives `("", 0)`.
pub fn host_port(address: &str) -> (String, u16) {
    address
        .rsplit_once(':')
        .and_then(|(host, port)| {
            Some((
                host.trim_matches(['[', ']']).to_string(),
                port.parse().ok()?,
            ))
        })
        .unwrap_or_default()
}
