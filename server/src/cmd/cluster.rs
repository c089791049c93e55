//! `ROLE` and `SENTINEL` (every role, after `AUTH`): the part of Redis replication and
//! Sentinel that client libraries use to find the leader. A server without `--cluster` is a
//! lone master: `ROLE` says so, and `SENTINEL` refuses.

use super::spec::{value, Access, ArgKind, Group, Spec, PLAIN};
use crate::parse::{Args, CmdResult};
use crate::reply::Reply;
use crate::state::Shared;

#[derive(Clone, Copy)]
pub enum Verb {
    Role,
    Sentinel,
}

/// A parsed cluster command.
pub enum Cluster {
    Role,
    Sentinel(Vec<Vec<u8>>),
}

impl super::context::Verb for Verb {
    type Command = Cluster;

    const ALL: &'static [Verb] = &[Verb::Role, Verb::Sentinel];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Role => {
                const {
                    &Spec {
                    names: &["ROLE"],
                    summary: "This node's replication role: master (with its followers) or slave (with its leader)",
                    ..CLUSTER
                }
                }
            }
            Verb::Sentinel => {
                const {
                    &Spec {
                    names: &["SENTINEL"],
                    summary: "Redis Sentinel's view of the cluster: MASTERS, MASTER, GET-MASTER-ADDR-BY-NAME, REPLICAS, SENTINELS",
                    syntax: &[
                        value("subcommand", ArgKind::String),
                        value("argument", ArgKind::String).optional().multiple(),
                    ],
                    ..CLUSTER
                }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Cluster> {
        Ok(match self {
            Verb::Role => Cluster::Role,
            Verb::Sentinel => {
                let mut words = Vec::new();
                while let Some(word) = args.next() {
                    words.push(word);
                }
                Cluster::Sentinel(words)
            }
        })
    }
}

/// What the cluster commands share.
const CLUSTER: Spec = Spec {
    group: Group::Cluster,
    since: 3,
    access: Access::Connection,
    ..PLAIN
};

pub fn execute(shared: &Shared, command: Cluster) -> Reply {
    if let Some(cluster) = &shared.cluster {
        return match command {
            Cluster::Role => crate::cluster::sentinel::role(cluster),
            Cluster::Sentinel(words) => crate::cluster::sentinel::sentinel(cluster, &words),
        };
    }
    match command {
        Cluster::Role => Reply::Array(vec![
            Reply::Bulk(b"master".to_vec()),
            Reply::Integer(0),
            Reply::Array(Vec::new()),
        ]),
        Cluster::Sentinel(_) => Reply::error("ERR", "this server is not part of a cluster"),
    }
}
