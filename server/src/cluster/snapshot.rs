//! Snapshots for joining nodes: every node serves them on a listener of its own (the `--listen`
//! IP, a port the system picks, advertised in the node's MACed registration), and a node that
//! starts with an empty data folder copies one from the leader.
//!
//! No user can ask for a snapshot — it is not a command. The server sends a challenge (the
//! cluster's name and 32 random bytes); only a node holding the master key can answer it
//! (`ClusterKeys::snapshot_proof`). The snapshot then travels in the backup format: sealed
//! under keys the master key derives, every chunk authenticated, its order and end checked,
//! so a listener in between learns sizes only and a forged server cannot feed a joiner data.
//!
//! ```text
//! server → joiner   "CRMSNAP1" ‖ nonce (32)
//! joiner → server   proof (32) = MAC(snapshot key, "crm snapshot v1" ‖ len ‖ name ‖ nonce)
//! server → joiner   "OK" ‖ the snapshot stream          (or the connection closes)
//! ```

use super::holds::SnapshotHolds;
use crm_engine::backup::Progress;
use crm_engine::replica::ClusterKeys;
use crm_engine::{KeySource, Store};
use std::io::{BufWriter, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const MAGIC: &[u8; 8] = b"CRMSNAP1";
/// Snapshots sent at once; a joiner over the limit is closed and retries.
const MAX_AT_ONCE: usize = 2;
/// How long a joiner may take to answer the challenge.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write to a joiner may block (a joiner that stopped reading is dropped).
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

fn challenge(name: &str, nonce: &[u8; 32]) -> Vec<u8> {
    let mut challenge = b"crm snapshot v1".to_vec();
    challenge.extend_from_slice(&(name.len() as u64).to_be_bytes());
    challenge.extend_from_slice(name.as_bytes());
    challenge.extend_from_slice(nonce);
    challenge
}

/// Starts serving snapshots of `store` on `ip`, port chosen by the system; returns where.
/// Each copy holds its log position in `holds` (`holds.rs`) until the joiner has registered.
pub fn serve(
    store: Store,
    keys: ClusterKeys,
    name: String,
    ip: std::net::IpAddr,
    holds: Arc<SnapshotHolds>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind((ip, 0))?;
    let address = listener.local_addr()?;
    let running = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("snapshot-server".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if running.fetch_add(1, Ordering::AcqRel) >= MAX_AT_ONCE {
                    running.fetch_sub(1, Ordering::AcqRel);
                    continue;
                }
                let (store, keys, name, running, holds) = (
                    store.clone(),
                    keys.clone(),
                    name.clone(),
                    running.clone(),
                    holds.clone(),
                );
                let spawned = std::thread::Builder::new()
                    .name("snapshot-send".into())
                    .spawn(move || {
                        if let Err(error) = send(stream, &store, &keys, &name, &holds) {
                            tracing::warn!("a snapshot was not sent: {error}");
                        }
                        running.fetch_sub(1, Ordering::AcqRel);
                    });
                if spawned.is_err() {
                    tracing::warn!("could not start a thread to send a snapshot");
                }
            }
        })?;
    Ok(address)
}

fn send(
    mut stream: TcpStream,
    store: &Store,
    keys: &ClusterKeys,
    name: &str,
    holds: &Arc<SnapshotHolds>,
) -> anyhow::Result<()> {
    let peer = stream.peer_addr()?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let nonce: [u8; 32] = rand::random();
    stream.write_all(MAGIC)?;
    stream.write_all(&nonce)?;
    let mut proof = [0u8; 32];
    stream.read_exact(&mut proof)?;
    if !keys.snapshot_proof_holds(&challenge(name, &nonce), &proof) {
        anyhow::bail!("{peer} did not prove it holds the master key");
    }
    tracing::info!(%peer, "sending a snapshot to a joining node");
    stream.write_all(b"OK")?;
    // The snapshot holds this position or a later one (it is taken after this read).
    let hold = holds.hold(store.cluster_applied());
    let mut out = BufWriter::with_capacity(1 << 20, stream);
    let position = store.snapshot_to(&mut out, &|_| {})?;
    out.flush()?;
    hold.sent();
    tracing::info!(%peer, position, "snapshot sent");
    Ok(())
}

/// Copies a snapshot from `address` into `dir` (which must not hold a store), proving the
/// master key; returns the log position the snapshot holds.
pub fn fetch(
    address: &str,
    key: &KeySource,
    keys: &ClusterKeys,
    name: &str,
    dir: &Path,
    on_progress: &dyn Fn(Progress),
) -> anyhow::Result<u64> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(WRITE_TIMEOUT))?;
    let mut hello = [0u8; 40];
    stream.read_exact(&mut hello)?;
    if &hello[..8] != MAGIC {
        anyhow::bail!("{address} is not a snapshot server");
    }
    let nonce: [u8; 32] = hello[8..].try_into()?;
    stream.write_all(&keys.snapshot_proof(&challenge(name, &nonce)))?;
    let mut ok = [0u8; 2];
    stream
        .read_exact(&mut ok)
        .map_err(|_| anyhow::anyhow!("{address} sent no snapshot (busy, or another master key)"))?;
    if &ok != b"OK" {
        anyhow::bail!("{address} sent no snapshot");
    }
    let info = crm_engine::replica::restore_snapshot(stream, key, dir, on_progress)?;
    Ok(info.position)
}
