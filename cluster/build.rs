//! Compiles etcd's vendored v3 `.proto` files (see `proto/NOTICE`) into the gRPC client stubs,
//! with `protox`, a protobuf compiler written in Rust, so building needs no `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/etcd/etcdserver/etcdserverpb/rpc.proto",
        "proto/etcd/mvcc/mvccpb/kv.proto",
        "proto/etcd/auth/authpb/auth.proto",
    ];
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
