//! A node joining a cluster with an empty data folder: it copies a snapshot of the store from
//! the leader (answering `LOADING` meanwhile) and opens it, then follows the log
//! (`serve_cluster.rs` decides when a node joins).

use super::serve::open_store;
use anyhow::bail;
use crm_cluster::config::ClusterConfig;
use crm_cluster::etcd::Client;
use crm_cluster::identity::Identity;
use crm_cluster::keys::Keys;
use crm_cluster::mac::MacKey;
use crm_cluster::meta::ClusterMeta;
use crm_engine::replica::{master_key_for, ClusterKeys};
use crm_engine::{KdfParams, KeySource, Options, Store};
use crm_server::state::Config;
use std::time::Duration;

/// The key that authenticates the cluster's own values in etcd (its meta, the nodes'
/// registrations).
pub(super) fn mac_of(keys: &ClusterKeys) -> MacKey {
    MacKey::new(*keys.etcd_value_key())
}

/// Copies a snapshot from the leader into the (empty) data folder, answering `LOADING`
/// meanwhile, and opens it; returns the store, the node's new identity and the position the
/// snapshot holds.
#[allow(clippy::too_many_arguments)]
pub(super) async fn join(
    listener: &tokio::net::TcpListener,
    client: &Client,
    keys: &Keys,
    key: &KeySource,
    cluster: &ClusterConfig,
    config: &Config,
    options: &Options,
    meta: ClusterMeta,
) -> anyhow::Result<(Store, Identity, u64)> {
    let dir = config.data_dir.clone();
    let (done, done_in) = tokio::sync::watch::channel(false);
    let copy = async {
        let salt = crm_cluster::join::read_kdf(client, keys).await?;
        let master = match &salt {
            Some((salt, params)) => master_key_for(key, salt, *params)?,
            None => master_key_for(key, &[], KdfParams::STRONG)?,
        };
        let cluster_keys = ClusterKeys::derive(&master);
        let mac = mac_of(&cluster_keys);
        let mut pause = Duration::from_millis(200);
        loop {
            let address = crm_cluster::join::leader_snapshot_address(client, keys, &mac).await;
            if let Ok(Some(address)) = address {
                tracing::info!(%address, "copying a snapshot of the store from the leader");
                let (key, keys_for, name, target) = (
                    key.clone(),
                    cluster_keys.clone(),
                    cluster.cluster_name.clone(),
                    dir.clone(),
                );
                let fetched = tokio::task::spawn_blocking(move || {
                    crm_server::cluster::snapshot::fetch(
                        &address,
                        &key,
                        &keys_for,
                        &name,
                        &target,
                        &|_| {},
                    )
                })
                .await?;
                match fetched {
                    Ok(position) => return anyhow::Ok(position),
                    Err(error) => {
                        tracing::warn!("copying the snapshot failed, trying again: {error:#}")
                    }
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    };
    let position = tokio::select! {
        position = copy => position?,
        () = crm_server::cluster::loading::answer_while_loading(listener, done_in) => {
            bail!("stopped answering while loading")
        }
    };
    let _ = done.send(true);
    let mut identity = Identity::new(&cluster.cluster_name, meta.cluster_id);
    identity.durable = position;
    identity.save(&dir)?;
    tracing::info!(position, "snapshot in place; following the log");
    let store = open_store(config, key, options)?;
    Ok((store, identity, position))
}
