//! `ROLE`, `SENTINEL` and `INFO`'s `# Replication` of a cluster node, in the shapes of Redis
//! replication and Redis Sentinel, so stock client libraries find the leader (PROTOCOL.md,
//! "Stock clients find the leader and fail over unchanged"). Every value is read from the
//! node's view; nothing here waits for etcd.

use super::{host_port, ClusterState};
use crate::reply::Reply;
use crm_cluster::role::{ClusterView, Link, NodeInfo, Role};

fn bulk(text: impl Into<String>) -> Reply {
    Reply::Bulk(text.into().into_bytes())
}

/// `ROLE`.
pub fn role(cluster: &ClusterState) -> Reply {
    let view = cluster.view();
    if view.is_leader() {
        let followers = live_followers(cluster, &view)
            .map(|node| {
                let (host, port) = host_port(&node.advertise);
                Reply::Array(vec![
                    bulk(host),
                    bulk(port.to_string()),
                    bulk(node.applied.to_string()),
                ])
            })
            .collect();
        return Reply::Array(vec![
            bulk("master"),
            Reply::Integer(as_int(view.applied)),
            Reply::Array(followers),
        ]);
    }
    let (host, port) = view
        .leader
        .as_ref()
        .map(|leader| host_port(&leader.advertise))
        .unwrap_or_default();
    Reply::Array(vec![
        bulk("slave"),
        bulk(host),
        Reply::Integer(i64::from(port)),
        bulk(link(cluster, &view).as_str()),
        Reply::Integer(as_int(view.applied)),
    ])
}

fn as_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A follower's state: `sync` while it catches up after a snapshot.
fn link(cluster: &ClusterState, view: &ClusterView) -> Link {
    if cluster.syncing() {
        Link::Sync
    } else if view.leader.is_none() {
        Link::Connect
    } else {
        Link::Connected
    }
}

/// The live nodes other than the leader.
fn live_followers<'a>(
    cluster: &'a ClusterState,
    view: &'a ClusterView,
) -> impl Iterator<Item = &'a NodeInfo> + 'a {
    let leader = view.leader.as_ref().map(|l| l.node.clone());
    let me_leading = view.is_leader();
    view.nodes.iter().filter(move |node| {
        node.live
            && Some(&node.node) != leader.as_ref()
            && !(me_leading && node.node == cluster.node)
    })
}

/// The followers as `SENTINEL REPLICAS` lists them: live ones, and gone ones (`s_down`).
fn followers<'a>(view: &'a ClusterView) -> impl Iterator<Item = &'a NodeInfo> + 'a {
    let leader = view.leader.as_ref().map(|l| l.node.clone());
    view.nodes
        .iter()
        .filter(move |node| Some(&node.node) != leader.as_ref())
}

fn down(flag: &str, live: bool) -> String {
    if live {
        flag.to_string()
    } else {
        format!("{flag},s_down")
    }
}

fn instance(fields: Vec<(&str, String)>) -> Reply {
    Reply::Dict(
        fields
            .into_iter()
            .map(|(key, value)| (bulk(key), bulk(value)))
            .collect(),
    )
}

/// The master entry: the leader, or the last one (`master,s_down`) while there is none.
fn master_entry(cluster: &ClusterState, view: &ClusterView) -> Reply {
    let (node, live) = match (&view.leader, &view.last_leader) {
        (Some(leader), _) => (Some(leader), true),
        (None, last) => (last.as_ref(), false),
    };
    let (ip, port) = node
        .map(|n| host_port(&n.advertise))
        .unwrap_or_else(|| ("0.0.0.0".to_string(), 0));
    let num_slaves = live_followers(cluster, view).count();
    let others = view
        .nodes
        .iter()
        .filter(|n| n.live && n.node != cluster.node)
        .count();
    instance(vec![
        ("name", cluster.name.clone()),
        ("ip", ip),
        ("port", port.to_string()),
        ("runid", node.map(|n| n.runid.clone()).unwrap_or_default()),
        ("flags", down("master", live)),
        ("link-pending-commands", "0".into()),
        ("num-slaves", num_slaves.to_string()),
        ("num-other-sentinels", others.to_string()),
        ("quorum", cluster.quorum.to_string()),
    ])
}

fn replica_entry(view: &ClusterView, node: &NodeInfo) -> Reply {
    let (ip, port) = host_port(&node.advertise);
    let (master_host, master_port) = view
        .leader
        .as_ref()
        .map(|l| host_port(&l.advertise))
        .unwrap_or_default();
    let link_ok = node.live && view.leader.is_some();
    instance(vec![
        ("name", format!("{ip}:{port}")),
        ("ip", ip),
        ("port", port.to_string()),
        ("runid", node.runid.clone()),
        ("flags", down("slave", node.live)),
        ("link-pending-commands", "0".into()),
        (
            "master-link-status",
            if link_ok { "ok" } else { "err" }.into(),
        ),
        ("master-host", master_host),
        ("master-port", master_port.to_string()),
        ("slave-repl-offset", node.applied.to_string()),
    ])
}

fn sentinel_entry(node: &NodeInfo) -> Reply {
    let (ip, port) = host_port(&node.advertise);
    instance(vec![
        ("name", node.node.clone()),
        ("ip", ip),
        ("port", port.to_string()),
        ("runid", node.runid.clone()),
        ("flags", down("sentinel", node.live)),
        ("link-pending-commands", "0".into()),
    ])
}

fn no_such_master() -> Reply {
    Reply::error("ERR", "No such master with that name")
}

/// `SENTINEL subcommand [argument ...]`.
pub fn sentinel(cluster: &ClusterState, args: &[Vec<u8>]) -> Reply {
    let view = cluster.view();
    let sub = args
        .first()
        .map(|word| String::from_utf8_lossy(word).to_ascii_uppercase())
        .unwrap_or_default();
    let name_matches = || args.get(1).is_some_and(|n| n == cluster.name.as_bytes());
    let wants_name = |reply: Reply| {
        if args.len() != 2 {
            Reply::error(
                "ERR",
                format!(
                    "wrong number of arguments for 'sentinel|{}' command",
                    sub.to_ascii_lowercase()
                ),
            )
        } else if name_matches() {
            reply
        } else {
            no_such_master()
        }
    };
    match sub.as_str() {
        "MASTERS" if args.len() == 1 => Reply::Array(vec![master_entry(cluster, &view)]),
        "MASTER" => wants_name(master_entry(cluster, &view)),
        "GET-MASTER-ADDR-BY-NAME" if args.len() == 2 => match (&view.leader, name_matches()) {
            (Some(leader), true) => {
                let (host, port) = host_port(&leader.advertise);
                Reply::Array(vec![bulk(host), bulk(port.to_string())])
            }
            _ => Reply::NilArray,
        },
        "REPLICAS" | "SLAVES" => wants_name(Reply::Array(
            followers(&view)
                .map(|node| replica_entry(&view, node))
                .collect(),
        )),
        "SENTINELS" => wants_name(Reply::Array(
            view.nodes
                .iter()
                .filter(|node| node.node != cluster.node)
                .map(sentinel_entry)
                .collect(),
        )),
        "MASTERS" | "GET-MASTER-ADDR-BY-NAME" => Reply::error(
            "ERR",
            format!(
                "wrong number of arguments for 'sentinel|{}' command",
                sub.to_ascii_lowercase()
            ),
        ),
        _ => Reply::error(
            "ERR",
            format!(
                "unknown subcommand '{}'. Try SENTINEL HELP.",
                args.first()
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .unwrap_or_default()
            ),
        ),
    }
}

/// `INFO`'s `# Replication` fields of a cluster node.
pub fn info_fields(cluster: &ClusterState) -> Vec<(&'static str, String)> {
    let view = cluster.view();
    let leading = view.is_leader();
    let leader = view
        .leader
        .as_ref()
        .map(|l| l.advertise.clone())
        .unwrap_or_default();
    let mut fields = vec![
        ("role", if leading { "master" } else { "slave" }.to_string()),
        ("cluster_name", cluster.name.clone()),
        ("node", cluster.node.clone()),
        ("leader", leader),
        ("log_committed", view.committed.to_string()),
        ("log_applied", view.applied.to_string()),
        ("lag_entries", view.lag_entries().to_string()),
        ("lag_ms", view.lag_ms().to_string()),
    ];
    if leading {
        let ready = matches!(view.role, Role::Leader { ready: true, .. });
        fields.push((
            "connected_slaves",
            live_followers(cluster, &view).count().to_string(),
        ));
        fields.push(("leader_ready", u8::from(ready).to_string()));
    } else {
        let (host, port) = view
            .leader
            .as_ref()
            .map(|l| host_port(&l.advertise))
            .unwrap_or_default();
        let up = view.leader.is_some() && view.stopped.is_none();
        fields.push(("master_host", host));
        fields.push(("master_port", port.to_string()));
        fields.push((
            "master_link_status",
            if up { "up" } else { "down" }.to_string(),
        ));
    }
    fields.push(("etcd_db_size", view.etcd_db_size.to_string()));
    fields.push((
        "etcd_db_quota",
        crm_cluster::node::ETCD_DEFAULT_QUOTA.to_string(),
    ));
    let syncing = cluster.syncing();
    fields.push(("sync_in_progress", u8::from(syncing).to_string()));
    fields.push(("snapshot_progress", "100".to_string()));
    if let Some(stopped) = &view.stopped {
        fields.push(("apply_stopped", stopped.replace(['\r', '\n'], " ")));
    }
    fields
}
