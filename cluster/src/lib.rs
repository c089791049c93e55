//! The cluster side of `crm-server` (PROTOCOL.md, "Cluster: high availability on etcd").
//!
//! etcd keeps the replicated write log and elects the leader; this crate talks to it and runs
//! a node's part:
//!
//! - [`etcd`]: a thin etcd v3 client (KV, leases, watches, status, login), with per-call
//!   timeouts, endpoint rotation and three error classes;
//! - [`config`]: the `serve` options and their one-line refusals; [`keys`]: the etcd key
//!   layout; [`identity`]: the data folder's `cluster` file and the start-up admission;
//! - [`election`]: the lease-bound leader key, fencing, stepping down;
//! - [`log`]: the write gate, the takeover, the append protocol (unknown outcomes included)
//!   and the leader's new epochs; [`entry`]: entries, parts and their reassembly;
//! - [`registry`]: node registrations and `s_down` listing; [`apply`]: the loop applying the
//!   log on every node; [`role`]: the node's view of the cluster, in a `watch` channel;
//! - [`epochs`]: how long a log epoch lasts, and every node's destruction of the keys of
//!   epochs trimmed away; [`trim`]: the leader's new epochs and trimming of the log.
//!
//! The engine is reached through two small traits ([`Applier`], [`Sealer`]), so every part is
//! testable with in-memory doubles.

pub mod apply;
mod codec;
pub mod config;
pub mod election;
pub mod engine;
pub mod entry;
pub mod epochs;
pub mod error;
pub mod etcd;
pub mod handoff;
pub mod identity;
pub mod join;
pub mod keys;
pub mod log;
pub mod mac;
pub mod meta;
pub mod node;
pub mod registry;
pub mod role;
mod seam;
pub mod trim;

pub use error::{Error, Result};
pub use seam::{Applier, Sealer};
