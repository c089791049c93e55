//! The log's trimming and epochs against a real 3-member etcd, with real stores: nodes run
//! in this process (the cluster crate's node on the engine's store, as `serve --cluster`
//! wires them), with a `--log-retain` of seconds, which the command line does not allow (its
//! minimum is 60 s) but the node's configuration takes as it is.
//!
//! Shown: entries older than the retention and durable on every live node are deleted, and
//! an entry a live node has not made durable is kept; an epoch's key is destroyed on every
//! node once the log holds none of its entries, and an entry of it that etcd's history kept
//! then opens nowhere; a node joining after several epochs, and a node restarted after
//! epochs passed while it was down, follow the log; a node whose position was trimmed while
//! it was down is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crm_cluster::config::{ClusterArgs, ClusterConfig};
use crm_cluster::engine::{EpochSealer, LateLog, StoreApplier};
use crm_cluster::entry::Entry;
use crm_cluster::epochs::first_entry;
use crm_cluster::identity::{self, random_id, Id, Identity, LogFacts};
use crm_cluster::keys::Keys;
use crm_cluster::mac::MacKey;
use crm_cluster::meta::{self, ClusterMeta};
use crm_cluster::node::{self, Node, NodeSetup};
use crm_cluster::role::{ClusterView, Role};
use crm_engine::replica::{restore_snapshot, LogSealer};
use crm_engine::{KeySource, MasterKey, NewCustomer, Op, Options, Store};
use crm_tests::cluster::EtcdCluster;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const MAC: [u8; 32] = [6; 32];
const NAME: &str = "t";
const CLUSTER_ID: Id = [4; 16];

/// One node: its store, its log sealer (to look at its epoch keys), the running node.
struct EngineNode {
    dir: PathBuf,
    node_id: Id,
    store: Store,
    sealer: LogSealer,
    node: Node,
    /// The durable position the node publishes is at most this (a node slow to flush).
    hold: Arc<AtomicU64>,
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

fn config(etcd: &EtcdCluster, name: &str, retain: Duration) -> ClusterConfig {
    let mut config = ClusterConfig::from_args(&ClusterArgs {
        cluster: &etcd.endpoints_arg(),
        cluster_name: NAME,
        node: name,
        listen: &format!("127.0.0.1:{}", crm_tests::free_port()),
        lease_ttl: Some(2),
        ..ClusterArgs::default()
    })
    .unwrap();
    config.log_retain = retain;
    config
}

/// Opens the store in `dir` with its replicated log and starts its node; the cluster's
/// creator (`create`) makes the log's first epoch.
async fn start(
    etcd: &EtcdCluster,
    name: &str,
    node_id: Id,
    dir: &Path,
    key: &MasterKey,
    retain: Duration,
    create: bool,
) -> EngineNode {
    let late = LateLog::new();
    let options = Options {
        replication: Some(Arc::new(late.clone())),
        ..Options::default()
    };
    let store = Store::open(dir, &KeySource::Key(key.clone()), &options).unwrap();
    let sealer = store.log_sealer(&CLUSTER_ID, NAME).unwrap();
    let config = config(etcd, name, retain);
    let client = node::connect(&config, None).await.unwrap();
    if create {
        sealer.new_epoch(1).unwrap();
        let keys = Keys::new(NAME);
        let proposed = ClusterMeta {
            cluster_id: CLUSTER_ID,
        };
        let (_, created) = meta::create(&client, &keys, &MacKey::new(MAC), proposed)
            .await
            .unwrap();
        assert!(created);
    }
    let hold = Arc::new(AtomicU64::new(u64::MAX));
    let durable = {
        let (store, hold) = (store.clone(), Arc::clone(&hold));
        Arc::new(move || store.cluster_durable().min(hold.load(Ordering::SeqCst)))
    };
    let node = Node::start(
        client,
        NodeSetup {
            config,
            credentials: None,
            node_id,
            runid: node::new_runid(),
            mac: MacKey::new(MAC),
            sealer: Arc::new(EpochSealer::new(sealer.clone())),
            applier: Arc::new(StoreApplier::new(store.clone(), Arc::new(OnceLock::new()))),
            durable,
            snapshot_addr: String::new(),
            eligible: name == "a",
        },
    )
    .await
    .unwrap();
    late.set(node.log().clone());
    EngineNode {
        dir: dir.to_path_buf(),
        node_id,
        store,
        sealer,
        node,
        hold,
    }
}

/// A node joining empty: a snapshot of the leader's store, restored into `dir`, then started.
async fn join(
    etcd: &EtcdCluster,
    leader: &EngineNode,
    name: &str,
    dir: &Path,
    key: &MasterKey,
    retain: Duration,
) -> EngineNode {
    let source = leader.store.clone();
    let (target, restore_key) = (dir.to_path_buf(), KeySource::Key(key.clone()));
    blocking(move || {
        let mut bytes = Vec::new();
        source.snapshot_to(&mut bytes, &|_| {}).unwrap();
        restore_snapshot(&bytes[..], &restore_key, &target, &|_| {}).unwrap();
    })
    .await;
    start(etcd, name, random_id(), dir, key, retain, false).await
}

impl EngineNode {
    /// Stops the node cleanly (its registration goes at once) and closes its store; returns
    /// where it is, and the position its store holds.
    async fn stop(self) -> (PathBuf, Id, u64) {
        self.node.shutdown().await;
        let store = self.store;
        let position = blocking(move || {
            store.close().unwrap();
            store.cluster_applied()
        })
        .await;
        (self.dir, self.node_id, position)
    }

    fn view(&self) -> ClusterView {
        self.node.snapshot()
    }
}

async fn add_customer(leader: &EngineNode, email: &str) {
    let store = leader.store.clone();
    let email = email.to_string();
    blocking(move || {
        let customer = NewCustomer::parse("Ada Lovelace", &email, None, None, None).unwrap();
        store.write(Op::AddCustomer(customer)).unwrap();
    })
    .await;
}

/// Evaluates `condition` (an `Option`, which may `.await`) every 50 ms until it is `Some`,
/// for 60 s at most, and gives what it holds.
macro_rules! until {
    ($what:expr, $condition:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(found) = $condition {
                break found;
            }
            assert!(Instant::now() < deadline, "waited in vain: {}", $what);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }};
}

/// The log's first entry and its epoch.
async fn first(node: &EngineNode) -> (u64, u64) {
    let sealer = EpochSealer::new(node.sealer.clone());
    // `None` only when the first entry went between the two reads: look again.
    until!(
        "the log's first entry",
        first_entry(node.node.client(), node.node.keys(), &sealer, None)
            .await
            .unwrap()
    )
}

/// The epoch entry `number` (still in the log) is sealed under.
async fn epoch_of(node: &EngineNode, number: u64) -> u64 {
    let kv = node.node.client().get(node.node.keys().entry(number));
    LogSealer::epoch_of(&kv.await.unwrap().unwrap().value).unwrap()
}

/// When the leader wrote entry `number` (still in the log), by its clock (unix ms).
async fn written_at(node: &EngineNode, number: u64) -> i64 {
    let kv = node.node.client().get(node.node.keys().entry(number));
    let sealed = kv.await.unwrap().unwrap().value;
    let plain = node.sealer.open(number, &sealed).unwrap();
    Entry::decode(number, &plain).unwrap().at_ms()
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap()
}

/// Waits until `node` has applied every entry the leader wrote and holds what it holds.
async fn until_same(leader: &EngineNode, node: &EngineNode) {
    let head = leader.node.log().head().await.unwrap();
    until!("the node catches up", {
        (node.view().applied >= head).then_some(())
    });
    assert_eq!(node.store.counts().unwrap(), leader.store.counts().unwrap());
    assert_eq!(node.store.journal_head(), leader.store.journal_head());
}

fn is_ready_leader(view: &ClusterView) -> bool {
    matches!(view.role, Role::Leader { ready: true, .. })
}

/// A new cluster: etcd, a folder for the nodes, their key, and node `a`, which created the
/// cluster, leads it, and has written one customer.
async fn create(
    retain: Duration,
    email: &str,
) -> (EtcdCluster, tempfile::TempDir, MasterKey, EngineNode) {
    let etcd = EtcdCluster::start();
    let root = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let dir = root.path().join("a");
    let a = start(&etcd, "a", random_id(), &dir, &key, retain, true).await;
    until!("a leads", is_ready_leader(&a.view()).then_some(()));
    add_customer(&a, email).await;
    (etcd, root, key, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_durable_entries_are_trimmed_and_their_epochs_keys_destroyed_everywhere() {
    // An epoch of 1 s (a quarter of the retention); a look every 100 ms.
    let retain = Duration::from_secs(4);
    let (etcd, root, key, a) = create(retain, "early@x.example").await;
    // An entry of the first epoch, as etcd's history and disks keep it after a trim: the
    // log's head now, young, so neither trimmed nor its key destroyed for a while.
    let kept_number = a.node.log().head().await.unwrap();
    let kept = a
        .node
        .client()
        .get(a.node.keys().entry(kept_number))
        .await
        .unwrap()
        .unwrap()
        .value;
    let kept_epoch = epoch_of(&a, kept_number).await;
    assert!(a.sealer.open(kept_number, &kept).is_ok());
    let b = join(&etcd, &a, "b", &root.path().join("b"), &key, retain).await;
    until_same(&a, &b).await;

    // b publishes that it holds no more than this durably: nothing after it goes.
    let held = b.store.cluster_durable();
    b.hold.store(held, Ordering::SeqCst);
    for i in 0..5 {
        add_customer(&a, &format!("held{i}@x.example")).await;
    }
    until!("trimmed up to what b holds durably", {
        (first(&a).await.0 == held + 1).then_some(())
    });
    // Past the retention, with new epochs meanwhile: still kept. The leader's looks are
    // sequential (a new epoch if due, then a trim), so once an epoch began after entry
    // `held + 1` had aged past the retention and a later one began too, a look that found it
    // old has finished its trim.
    let aged_ms = written_at(&a, held + 1).await + millis(retain);
    let after_aging = until!("an epoch begun once entry held + 1 was old", {
        a.view()
            .epoch_began
            .filter(|(_, began_ms)| *began_ms >= aged_ms)
            .map(|(epoch, _)| epoch)
    });
    until!("one more epoch", {
        a.view()
            .epoch_began
            .filter(|(epoch, _)| *epoch > after_aging)
    });
    assert_eq!(
        first(&a).await.0,
        held + 1,
        "an entry b does not hold durably went"
    );
    let head = a.node.log().head().await.unwrap();
    assert!(head > held + 6, "the log did not go on: head {head}");

    // b catches up: the log goes past the first epochs, whose keys every node destroys.
    b.hold.store(u64::MAX, Ordering::SeqCst);
    let (_, first_epoch) = until!("the first epochs trimmed", {
        let (number, epoch) = first(&a).await;
        (number > held + 1 && epoch > kept_epoch).then_some((number, epoch))
    });
    for node in [&a, &b] {
        until!("the keys destroyed", {
            (node
                .sealer
                .epochs()
                .first()
                .is_some_and(|e| *e >= first_epoch))
            .then_some(())
        });
        let refused = node.sealer.open(kept_number, &kept).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("whose key this node does not hold"),
            "{refused}"
        );
    }
    assert!(a
        .node
        .client()
        .get(a.node.keys().entry(kept_number))
        .await
        .unwrap()
        .is_none());
    until_same(&a, &b).await;
    // The leader marks the log's ages as it looks (a later leader reads the marks instead of
    // opening the entries); the marks of trimmed entries go with them (in the same
    // transaction: read after the log's first entry, no mark is below it).
    let (first_now, _) = first(&a).await;
    let marks = a
        .node
        .client()
        .range(crm_cluster::etcd::Range::prefix(a.node.keys().age_marks()))
        .await
        .unwrap();
    let numbers: Vec<u64> = marks
        .kvs
        .iter()
        .filter_map(|kv| a.node.keys().age_mark_number(&kv.key))
        .collect();
    assert!(!numbers.is_empty(), "no age mark written");
    assert!(
        numbers.iter().all(|n| *n >= first_now),
        "marks of trimmed entries are left: {numbers:?}, the log starts at {first_now}"
    );

    // Idle: nothing is written, new epochs begin all the same; the nodes' positions pass
    // their entries, so the epoch of the last write (at or before the head's) ends, is
    // trimmed away, and its key goes.
    let head = a.node.log().head().await.unwrap();
    let last_epoch = epoch_of(&a, head).await;
    let idle_epoch = until!("the last write's epoch trimmed", {
        let (_, epoch) = first(&a).await;
        (epoch > last_epoch).then_some(epoch)
    });
    until!("its key destroyed", {
        (b.sealer.epochs().first().is_some_and(|e| *e >= idle_epoch)).then_some(())
    });

    // A node joining now gets the current epochs' keys and follows the next ones.
    let c = join(&etcd, &a, "c", &root.path().join("c"), &key, retain).await;
    let epoch_now = *a.sealer.epochs().last().unwrap();
    until!("two more epochs", {
        (*a.sealer.epochs().last().unwrap() >= epoch_now + 2).then_some(())
    });
    add_customer(&a, "after-join@x.example").await;
    until_same(&a, &c).await;
    assert_eq!(c.sealer.epochs().last(), a.sealer.epochs().last());
    assert_eq!(
        c.store
            .find_by_email("early@x.example", 0, 10)
            .unwrap()
            .len(),
        1
    );

    // c goes down, and the log is trimmed past it: back on its folder, it cannot follow, and
    // a start is refused, saying to start it empty.
    let (c_dir, c_id, c_position) = c.stop().await;
    for i in 0..3 {
        add_customer(&a, &format!("gone{i}@x.example")).await;
    }
    until!("trimmed past c", {
        (first(&a).await.0 > c_position + 1).then_some(())
    });
    let mut own = Identity::new(NAME, CLUSTER_ID);
    own.durable = c_position;
    let (_, facts): (_, LogFacts) = meta::read(a.node.client(), a.node.keys(), &MacKey::new(MAC))
        .await
        .unwrap();
    let refusal = identity::admit(NAME, Some(&own), false, facts).unwrap_err();
    assert!(
        refusal
            .to_string()
            .contains("start it with an empty --data folder"),
        "{refusal}"
    );
    let c = start(&etcd, "c", c_id, &c_dir, &key, retain, false).await;
    until!("c stops", c.view().stopped);
    let stopped = c.view().stopped.unwrap();
    assert!(stopped.contains("is no longer in the log"), "{stopped}");
    assert!(
        stopped.contains("start it with an empty --data folder"),
        "{stopped}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_after_epochs_passed_follows_the_log() {
    // An epoch of 5 s, a new one every 2.5 s: b is down for two, far less than the retention.
    let retain = Duration::from_secs(20);
    let (etcd, root, key, a) = create(retain, "one@x.example").await;
    let b = join(&etcd, &a, "b", &root.path().join("b"), &key, retain).await;
    until_same(&a, &b).await;
    let (b_dir, b_id, _) = b.stop().await;

    let epoch_then = *a.sealer.epochs().last().unwrap();
    let mut written = 0;
    until!("two new epochs while b is down", {
        add_customer(&a, &format!("down{written}@x.example")).await;
        written += 1;
        (*a.sealer.epochs().last().unwrap() >= epoch_then + 2).then_some(())
    });
    let b = start(&etcd, "b", b_id, &b_dir, &key, retain, false).await;
    until_same(&a, &b).await;
    assert!(*b.sealer.epochs().last().unwrap() >= epoch_then + 2);
    assert_eq!(
        b.store
            .find_by_email("down0@x.example", 0, 10)
            .unwrap()
            .len(),
        1
    );
    assert!(b.view().stopped.is_none());

    // And it goes on with the epochs begun after its restart.
    let epoch_now = *a.sealer.epochs().last().unwrap();
    until!("another epoch", {
        (*a.sealer.epochs().last().unwrap() > epoch_now).then_some(())
    });
    add_customer(&a, "after@x.example").await;
    until_same(&a, &b).await;
    assert!(b.view().stopped.is_none());
}
