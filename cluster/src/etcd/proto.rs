//! The gRPC stubs generated from etcd's v3 `.proto` files by `build.rs`.

#![allow(
    clippy::all,
    clippy::pedantic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

/// `mvccpb`: keys, values and watch events.
pub mod mvccpb {
    tonic::include_proto!("mvccpb");
}

/// `authpb`: users and roles (referenced by the auth messages).
pub mod authpb {
    tonic::include_proto!("authpb");
}

/// `etcdserverpb`: the KV, Watch, Lease, Maintenance and Auth services.
pub mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
}
