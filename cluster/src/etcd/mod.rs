//! A thin etcd v3 client of our own, over the gRPC stubs `build.rs` generates from etcd's
//! `.proto` files (PROTOCOL.md: etcd 3.4 or later).
//!
//! It does what the cluster needs and no more: KV (range, put, delete-range, txn, compact),
//! leases with a keeper task, watches, a member's status, and logging in with a user and
//! password (token renewed when etcd says it expired). Every call has a timeout, moves to the
//! next endpoint when a member fails it, and fails with one of three classes the callers act
//! on: never sent, refused, unknown outcome (see [`crate::Error`]).

mod class;
mod client;
mod contact;
mod kv;
mod lease;
pub mod proto;
mod status;
mod watch;

pub use client::{Client, ClientOptions, Credentials, PASSWORD_VARIABLE, USER_VARIABLE};
pub use contact::QuorumContact;
pub use kv::{
    prefix_end, Cmp, Compare, KeyValue, Op, OpResult, Range, RangeResult, Txn, TxnResult,
};
pub use lease::{Lease, LeaseKeeper, LeaseState};
pub use status::{majority, Member, Status};
pub use watch::{Event, EventKind, WatchBatch, Watcher};
