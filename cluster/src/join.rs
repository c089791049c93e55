//! What a node with no store yet reads from etcd before it can join: a passphrase store's salt
//! and cost (to derive the master key every other key comes from), and where the leader
//! serves snapshots.

use crate::codec::{Decoder, Encoder};
use crate::election::decode_leader;
use crate::error::{Error, Result};
use crate::etcd::{Client, Cmp, Compare, Op, Txn};
use crate::keys::Keys;
use crate::mac::MacKey;
use crate::registry::Registration;
use crm_engine::KdfParams;

const KDF_VERSION: u8 = 1;

/// The cluster's passphrase salt and cost (`None`: a key-file cluster, or one etcd does not
/// know).
pub async fn read_kdf(client: &Client, keys: &Keys) -> Result<Option<(Vec<u8>, KdfParams)>> {
    let Some(kv) = client.get(keys.kdf()).await? else {
        return Ok(None);
    };
    let mut decoder = Decoder::new(&kv.value, "cluster kdf");
    if decoder.u8()? != KDF_VERSION {
        return Err(Error::Config(
            "the cluster's kdf key has an unknown version".into(),
        ));
    }
    let params = KdfParams {
        memory_kib: decoder.u32()?,
        passes: decoder.u32()?,
        lanes: decoder.u32()?,
    };
    let salt = decoder.rest().to_vec();
    Ok(Some((salt, params)))
}

/// Writes the salt and cost of the creating node's passphrase store, unless a value is there.
pub async fn write_kdf(client: &Client, keys: &Keys, salt: &[u8], params: KdfParams) -> Result<()> {
    let value = Encoder::new()
        .u8(KDF_VERSION)
        .u32(params.memory_kib)
        .u32(params.passes)
        .u32(params.lanes)
        .rest(salt)
        .finish();
    let key = keys.kdf();
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), Cmp::Equal, 0)])
        .then([Op::put(key, value)]);
    client.txn(txn).await.map(|_| ())
}

/// Where the current leader serves snapshots (`None`: no leader, or it serves none yet).
pub async fn leader_snapshot_address(
    client: &Client,
    keys: &Keys,
    mac: &MacKey,
) -> Result<Option<String>> {
    let Some(leader) = client.get(keys.leader()).await? else {
        return Ok(None);
    };
    let leader = decode_leader(&keys.leader(), mac, &leader.value)?;
    let key = keys.node(&leader.node);
    let Some(registration) = client.get(key.clone()).await? else {
        return Ok(None);
    };
    let registration = Registration::decode(mac, &key, &registration.value)?;
    Ok(Some(registration.snapshot).filter(|address| !address.is_empty()))
}

/// Refuses, before anything is written, a node whose `--node` name another live node holds
/// (`own`: this node's id from its folder; a node restarted on its own folder replaces its
/// earlier registration, so that one is not another).
pub async fn check_name_free(
    client: &Client,
    keys: &Keys,
    mac: &MacKey,
    node: &str,
    own: Option<crate::identity::Id>,
) -> Result<()> {
    let key = keys.node(node);
    let Some(held) = client.get(key.clone()).await? else {
        return Ok(());
    };
    match Registration::decode(mac, &key, &held.value) {
        Ok(other) if Some(other.node_id) != own => Err(Error::Config(format!(
            "another live node is named {node:?} (at {}, node id {}): give this node another --node name",
            other.advertise,
            crate::identity::hex(&other.node_id)
        ))),
        _ => Ok(()),
    }
}

/// Makes a new cluster's log start after `position`, the log position the creating node's
/// store already holds (a store from an earlier cluster, or restored from a backup taken on a
/// leader): entry `position` is written as a start marker, so the first leader's takeover
/// reads it as the log's head and numbers its first group `position + 1`, and no node skips a
/// new entry as one it already holds. Nothing is written for a store at position 0.
pub async fn start_log_after(
    client: &Client,
    keys: &Keys,
    sealer: &dyn crate::seam::Sealer,
    position: u64,
    node: &str,
) -> Result<()> {
    if position == 0 {
        return Ok(());
    }
    let marker = crate::entry::Entry::LeaderStart {
        at_ms: crate::log::now_ms(),
        node: node.to_string(),
        runid: String::new(),
        fence: 0,
    };
    let sealed = sealer.seal(
        sealer.newest_epoch_for(position)?,
        position,
        &marker.encode(),
    )?;
    let key = keys.entry(position);
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), Cmp::Equal, 0)])
        .then([Op::put(key, sealed)]);
    client.txn(txn).await.map(|_| ())
}
