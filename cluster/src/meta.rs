//! The cluster's meta key: created once, by the first node started for a name etcd does not
//! know, with the cluster's random id. If two first nodes race, one transaction creates it and
//! the other reads the winner's id in the same transaction (PROTOCOL.md: "exactly one creates
//! it and the other proceeds as below"). The value is MACed, so a node with another master key
//! is told so instead of failing on every entry.

use crate::codec::{Decoder, Encoder};
use crate::error::{Error, Result};
use crate::etcd::{Client, Cmp, Compare, Op, Txn};
use crate::identity::{Id, LogFacts};
use crate::keys::Keys;
use crate::mac::MacKey;

const VERSION: u8 = 1;

/// What the meta key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClusterMeta {
    pub cluster_id: Id,
}

fn encode(keys: &Keys, mac: &MacKey, meta: &ClusterMeta) -> Vec<u8> {
    mac.sign(
        &keys.meta(),
        &Encoder::new().u8(VERSION).rest(&meta.cluster_id).finish(),
    )
}

fn decode(keys: &Keys, mac: &MacKey, value: &[u8]) -> Result<ClusterMeta> {
    let payload = mac.verify(&keys.meta(), value).map_err(|_| {
        Error::Config(format!(
            "the cluster's meta key in etcd ({}) was not written with this node's master key: every node of a cluster needs the same key",
            String::from_utf8_lossy(&keys.meta())
        ))
    })?;
    let mut decoder = Decoder::new(payload, "cluster meta");
    if decoder.u8()? != VERSION {
        return Err(Error::Config(
            "the cluster's meta key has an unknown version".into(),
        ));
    }
    let cluster_id = decoder.fixed()?;
    decoder.finish()?;
    Ok(ClusterMeta { cluster_id })
}

/// Reads the cluster's meta (`None`: etcd does not know the cluster) and where its log starts.
pub async fn read(
    client: &Client,
    keys: &Keys,
    mac: &MacKey,
) -> Result<(Option<ClusterMeta>, LogFacts)> {
    let meta = match client.get(keys.meta()).await? {
        Some(kv) => Some(decode(keys, mac, &kv.value)?),
        None => None,
    };
    let first_entry = crate::epochs::first_number(client, keys)
        .await?
        .unwrap_or(0);
    Ok((
        meta,
        LogFacts {
            cluster_id: meta.map(|m| m.cluster_id),
            first_entry,
        },
    ))
}

/// Creates the cluster with `proposed` unless it exists; returns the meta in force and
/// whether this call created it.
pub async fn create(
    client: &Client,
    keys: &Keys,
    mac: &MacKey,
    proposed: ClusterMeta,
) -> Result<(ClusterMeta, bool)> {
    let key = keys.meta();
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), Cmp::Equal, 0)])
        .then([Op::put(key.clone(), encode(keys, mac, &proposed))])
        .otherwise([Op::get(key)]);
    let answer = match client.txn(txn).await {
        Ok(answer) => answer,
        // Lost answer: read what is there (ours if it landed).
        Err(Error::Unknown(_)) => {
            let (meta, _) = read(client, keys, mac).await?;
            return match meta {
                Some(meta) => Ok((meta, meta == proposed)),
                None => Err(Error::NotSent(
                    "creating the cluster: no answer from etcd".into(),
                )),
            };
        }
        Err(e) => return Err(e),
    };
    if answer.succeeded {
        return Ok((proposed, true));
    }
    match answer.get(0).and_then(|r| r.kvs.first()) {
        Some(kv) => Ok((decode(keys, mac, &kv.value)?, false)),
        None => Err(Error::NotSent(
            "creating the cluster: the meta key vanished".into(),
        )),
    }
}
