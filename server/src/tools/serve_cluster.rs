//! `crm-server serve --cluster ...`: one node of a cluster (PROTOCOL.md, "Cluster").
//!
//! The order matters, because a refused start must change no file and write nothing to
//! etcd: the options are checked, the port taken, etcd reached, and the node's admission
//! decided from the data folder's `cluster` file, its key check file and what etcd holds —
//! all without opening the store. Only then is the store created (the first node of a new
//! cluster), copied from the leader (a node joining empty) or opened (a node coming back).
//! The store is opened with its replicated log, the node started, and the server run.

use super::join_cluster::{join, mac_of};
use super::secrets::Secrets;
use super::serve::{load_demo, open_store, print_way_in};
use super::store_key::{store_key, DevKey};
use anyhow::{anyhow, bail, Context};
use crm_cluster::config::ClusterConfig;
use crm_cluster::engine::{EpochSealer, LateLog, StoreApplier, UsersChanged};
use crm_cluster::etcd::{Client, Credentials};
use crm_cluster::identity::{self, Admission, Identity};
use crm_cluster::keys::Keys;
use crm_cluster::meta::{self, ClusterMeta};
use crm_cluster::node::{self, Node, NodeSetup};
use crm_engine::replica::{cluster_keys_of_folder, master_key_for, ClusterKeys};
use crm_engine::{KdfParams, KeySource, Options, Store};
use crm_server::cluster::holds::SnapshotHolds;
use crm_server::cluster::ClusterState;
use crm_server::state::{Config, Shared};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How often the node's durable position is written to its `cluster` file.
const IDENTITY_EVERY: Duration = Duration::from_secs(2);

/// What `serve` was given besides the cluster options.
pub struct ServeArgs<'a> {
    pub config: Config,
    pub key_file: Option<std::path::PathBuf>,
    pub caches_mib: (u64, u64),
    pub demo: Option<usize>,
    pub secrets: &'a Secrets,
}

fn credentials(secrets: &Secrets) -> anyhow::Result<Option<Credentials>> {
    match (
        std::env::var("CRM_ETCD_USER").ok(),
        secrets.get("CRM_ETCD_PASSWORD"),
    ) {
        (Some(user), Some(password)) => Ok(Some(Credentials {
            user,
            password: zeroize::Zeroizing::new(password.to_string()),
        })),
        (None, None) => Ok(None),
        _ => bail!("set both CRM_ETCD_USER and CRM_ETCD_PASSWORD, or neither"),
    }
}

/// Whether `dir` holds a store (an empty or missing folder does not).
fn holds_store(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// The cluster keys this node can derive before opening its store: from the key check file
/// of its store, or, without a store, from the key (with the cluster's passphrase salt when
/// it has one). `None`: a passphrase and no store and no salt in etcd (a cluster yet to be
/// created, whose keys come from the store it is created from).
async fn keys_before_open(
    dir: &Path,
    key: &KeySource,
    client: &Client,
    keys: &Keys,
) -> anyhow::Result<Option<ClusterKeys>> {
    if holds_store(dir) {
        return match cluster_keys_of_folder(dir, key)? {
            Some(found) => Ok(Some(found)),
            None => bail!(
                "{} has no key check file yet: start it once without --cluster, then again with it",
                dir.display()
            ),
        };
    }
    if let Some((salt, params)) = crm_cluster::join::read_kdf(client, keys).await? {
        return Ok(Some(ClusterKeys::derive(&master_key_for(
            key, &salt, params,
        )?)));
    }
    match key {
        KeySource::Passphrase(_) if client.get(keys.meta()).await?.is_none() => Ok(None),
        _ => Ok(Some(ClusterKeys::derive(&master_key_for(
            key,
            &[],
            KdfParams::STRONG,
        )?))),
    }
}

/// Serves one cluster node until SIGINT or SIGTERM.
pub fn serve_cluster(args: ServeArgs<'_>, cluster: ClusterConfig) -> anyhow::Result<()> {
    super::logging::init();
    let config = args.config;
    let listener = std::net::TcpListener::bind(&config.listen)
        .with_context(|| format!("listening on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let key = store_key(
        &config.data_dir,
        args.key_file.clone(),
        args.secrets,
        DevKey::Create,
    )?;
    let credentials = credentials(args.secrets)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let address = listener.local_addr()?;
        let client = node::connect(&cluster, credentials.clone()).await?;
        let keys = Keys::new(&cluster.cluster_name);
        let dir = config.data_dir.clone();
        let identity = Identity::load(&dir)?;
        let early_keys = keys_before_open(&dir, &key, &client, &keys).await?;
        let facts = match &early_keys {
            Some(found) => meta::read(&client, &keys, &mac_of(found)).await?.1,
            None => identity::LogFacts {
                cluster_id: None,
                first_entry: 0,
            },
        };
        let admission =
            identity::admit(&cluster.cluster_name, identity.as_ref(), !holds_store(&dir), facts)?;
        if let Some(found) = &early_keys {
            crm_cluster::join::check_name_free(
                &client,
                &keys,
                &mac_of(found),
                &cluster.node,
                identity.as_ref().map(|own| own.node_id),
            )
            .await?;
        }
        let late_log = LateLog::new();
        let options = Options {
            cache_capacity: args.caches_mib.0.saturating_mul(1024 * 1024),
            record_cache_bytes: args.caches_mib.1.saturating_mul(1024 * 1024),
            replication: Some(Arc::new(late_log.clone())),
            ..Options::default()
        };
        let mut sync_to = 0;
        let (store, identity, creating) = match admission {
            Admission::Create => {
                let was_empty = !holds_store(&dir);
                let store = open_store(&config, &key, &options)?;
                let cluster_keys = store.cluster_keys();
                let proposed = ClusterMeta {
                    cluster_id: identity::random_id(),
                };
                let (meta, created) =
                    meta::create(&client, &keys, &mac_of(&cluster_keys), proposed).await?;
                if !created {
                    store.close()?;
                    if was_empty {
                        // Another first node won the race: join it, as the contract says.
                        std::fs::remove_dir_all(&dir)
                            .with_context(|| format!("clearing {}", dir.display()))?;
                        let (store, identity, position) =
                            join(&listener, &client, &keys, &key, &cluster, &config, &options, meta)
                                .await?;
                        sync_to = position;
                        (store, identity, false)
                    } else {
                        bail!(
                            "another node created cluster {:?} at the same time: this data folder holds a store that never belonged to it; to join it, start with an empty --data folder",
                            cluster.cluster_name
                        );
                    }
                } else {
                    if let Some((salt, params)) = store.passphrase_kdf()? {
                        crm_cluster::join::write_kdf(&client, &keys, &salt, params).await?;
                    }
                    let identity = Identity::new(&cluster.cluster_name, meta.cluster_id);
                    identity.save(&dir)?;
                    tracing::info!(cluster = %cluster.cluster_name, "created the cluster from this node's store");
                    (store, identity, true)
                }
            }
            Admission::Join => {
                let (meta, _) = meta::read(
                    &client,
                    &keys,
                    &mac_of(early_keys.as_ref().ok_or_else(|| anyhow!("no key to join with"))?),
                )
                .await?;
                let meta = meta.ok_or_else(|| anyhow!("the cluster vanished from etcd"))?;
                let (store, identity, position) =
                    join(&listener, &client, &keys, &key, &cluster, &config, &options, meta).await?;
                sync_to = position;
                (store, identity, false)
            }
            Admission::Rejoin { from } => {
                tracing::info!(from, "following the log from this node's position");
                let store = open_store(&config, &key, &options)?;
                let identity = identity.ok_or_else(|| anyhow!("the cluster file vanished"))?;
                (store, identity, false)
            }
        };
        let cluster_keys = store.cluster_keys();
        let mac = mac_of(&cluster_keys);
        let sealer = store.log_sealer(&identity.cluster_id, &cluster.cluster_name)?;
        if sealer.epochs().is_empty() {
            if creating {
                sealer.new_epoch(1)?;
            } else {
                bail!("this node holds no key of the cluster's log: start it with an empty --data folder to copy them");
            }
        }
        let sealer = Arc::new(EpochSealer::new(sealer));
        if creating {
            crm_cluster::join::start_log_after(
                &client,
                &keys,
                sealer.as_ref(),
                store.cluster_applied(),
                &cluster.node,
            )
            .await?;
        }
        let listen_ip = address.ip();
        let holds = Arc::new(SnapshotHolds::default());
        let snapshot_address = crm_server::cluster::snapshot::serve(
            store.clone(),
            cluster_keys,
            cluster.cluster_name.clone(),
            listen_ip,
            Arc::clone(&holds),
        )?;
        let users_changed: UsersChanged = Arc::new(OnceLock::new());
        // What the node publishes as durable (and so what trimming waits for) is what its
        // `cluster` file records: a node killed at any moment restarts on a position the log
        // still holds, since admission reads that file, not the store. Lowered to the
        // positions of the snapshots it sends, until their joiners have registered.
        let recorded = Arc::new(AtomicU64::new(identity.durable));
        let published = Arc::clone(&recorded);
        let runid = node::new_runid();
        let setup = NodeSetup {
            config: cluster.clone(),
            credentials,
            node_id: identity.node_id,
            runid: runid.clone(),
            mac,
            sealer,
            applier: Arc::new(StoreApplier::new(store.clone(), users_changed.clone())),
            durable: Arc::new(move || holds.lower(published.load(Ordering::SeqCst))),
            // Joiners reach the snapshot listener where clients reach this node.
            snapshot_addr: format!(
                "{}:{}",
                cluster
                    .advertise
                    .rsplit_once(':')
                    .map_or(cluster.advertise.as_str(), |(host, _)| host),
                snapshot_address.port()
            ),
            eligible: true,
        };
        let quorum = client
            .members()
            .await
            .map(|members| crm_cluster::etcd::majority(&members))
            .unwrap_or(cluster.endpoints.len() / 2 + 1);
        let node = Node::start(client, setup).await?;
        late_log.set(node.log().clone());
        if sync_to > 0 {
            sync_to = sync_to.max(node.log().head().await.unwrap_or(sync_to));
        }
        let generated = if creating {
            wait_until_writable(&late_log, cluster.lease_ttl * 6).await?;
            let store_for_setup = store.clone();
            let demo = args.demo;
            let from_env = args
                .secrets
                .get("CRM_ADMIN_PASSWORD")
                .map(|p| zeroize::Zeroizing::new(p.to_string()));
            tokio::task::spawn_blocking(move || {
                load_demo(&store_for_setup, demo)?;
                crm_server::auth::bootstrap_admin(&store_for_setup, from_env)
            })
            .await??
        } else {
            None
        };
        let shared = Arc::new(
            Shared::new(
                store.clone(),
                Config {
                    listen: address.to_string(),
                    ..config
                },
            )
            .in_cluster(ClusterState::new(
                (
                    cluster.cluster_name.clone(),
                    cluster.node.clone(),
                    cluster.advertise.clone(),
                    runid,
                ),
                quorum,
                node.view(),
                late_log,
                sync_to,
            )),
        );
        let weak = Arc::downgrade(&shared);
        let _ = users_changed.set(Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.authenticator.users_changed();
            }
        }));
        let keeper = tokio::spawn(keep_identity(
            store.clone(),
            identity.clone(),
            dir.clone(),
            recorded,
        ));
        print_way_in(address, generated.as_deref());
        println!(
            "node {} of cluster {} (etcd {})",
            cluster.node,
            cluster.cluster_name,
            cluster.endpoints.join(",")
        );
        crm_server::server::run(shared, listener, crm_server::server::shutdown_signal()).await;
        keeper.abort();
        node.shutdown().await;
        // A checkpoint: everything applied is in the node's own files, so the next start
        // follows the log from here.
        store.close()?;
        let mut last = identity;
        last.durable = store.cluster_durable().max(store.cluster_applied());
        last.save(&dir)?;
        anyhow::Ok(())
    })?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Waits until this node (the cluster's creator) leads and accepts writes.
async fn wait_until_writable(log: &LateLog, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        match log.may_write() {
            Ok(()) => return Ok(()),
            Err(refusal) if Instant::now() >= deadline => {
                bail!(
                    "this node did not become the new cluster's leader within {}s: {refusal:?}",
                    within.as_secs()
                )
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Writes the node's durable position into its `cluster` file now and then, so a restart
/// knows, without opening the store, whether the log still holds where it is; `recorded`
/// follows the file once it is saved (the position the node publishes for trimming).
async fn keep_identity(
    store: Store,
    mut identity: Identity,
    dir: std::path::PathBuf,
    recorded: Arc<AtomicU64>,
) {
    loop {
        tokio::time::sleep(IDENTITY_EVERY).await;
        let durable = store.cluster_durable();
        if durable != identity.durable {
            identity.durable = durable;
            match identity.save(&dir) {
                Ok(()) => recorded.store(durable, Ordering::SeqCst),
                Err(error) => tracing::warn!("writing the cluster file: {error}"),
            }
        }
    }
}
