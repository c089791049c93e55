//! The cluster crate's election, log and apply loop against a real 3-member etcd, with the
//! engine replaced by in-memory doubles (an applier that records groups, a sealer that
//! authenticates entries): two contenders, fencing of a deposed leader, the unknown-outcome
//! protocol under a frozen etcd, a follower catching up across a compaction, node names.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crm_cluster::config::{ClusterArgs, ClusterConfig};
use crm_cluster::election::{Campaign, Election};
use crm_cluster::entry::{Assembler, Entry, EpochKey};
use crm_cluster::etcd::{Client, Range};
use crm_cluster::handoff::Handoff;
use crm_cluster::identity::{random_id, Id};
use crm_cluster::keys::Keys;
use crm_cluster::log::{AppendOutcome, Log, Refusal};
use crm_cluster::mac::MacKey;
use crm_cluster::node::{self, Node, NodeSetup};
use crm_cluster::role::{ClusterView, NodeInfo, Role, ViewHandle};
use crm_cluster::{Applier, Error, Sealer};
use crm_tests::cluster::EtcdCluster;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

const MAC: [u8; 32] = [5; 32];

/// The store, reduced to the list of groups applied, in order, and the position passed.
#[derive(Default)]
struct MemoryStore {
    groups: Mutex<Vec<(u64, Vec<u8>)>>,
    passed: Mutex<u64>,
}

impl MemoryStore {
    fn groups(&self) -> Vec<(u64, Vec<u8>)> {
        self.groups.lock().unwrap().clone()
    }
}

impl Applier for MemoryStore {
    fn apply(&self, position: u64, group: &[u8]) -> crm_cluster::Result<()> {
        let mut groups = self.groups.lock().unwrap();
        assert!(
            groups.last().is_none_or(|(last, _)| *last < position),
            "group {position} applied out of order or twice: {:?}",
            groups.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
        groups.push((position, group.to_vec()));
        Ok(())
    }

    fn pass(&self, position: u64) -> crm_cluster::Result<()> {
        let mut passed = self.passed.lock().unwrap();
        *passed = (*passed).max(position);
        Ok(())
    }

    fn applied(&self) -> u64 {
        let last_group = self.groups.lock().unwrap().last().map_or(0, |(p, _)| *p);
        last_group.max(*self.passed.lock().unwrap())
    }
}

/// Seals by framing the epoch and appending a keyed hash of (entry number, epoch, bytes): a
/// moved or changed entry fails. Every epoch opens (the epoch keys are the engine's, tested
/// with it in `cluster_trim.rs`).
struct TestSealer;

impl TestSealer {
    fn tag(position: u64, epoch: u64, plain: &[u8]) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_keyed(&[9; 32]);
        hasher.update(&position.to_be_bytes());
        hasher.update(&epoch.to_be_bytes());
        hasher.update(plain);
        *hasher.finalize().as_bytes()
    }
}

impl Sealer for TestSealer {
    fn seal(&self, epoch: u64, position: u64, plain: &[u8]) -> crm_cluster::Result<Vec<u8>> {
        let mut sealed = epoch.to_be_bytes().to_vec();
        sealed.extend_from_slice(plain);
        sealed.extend_from_slice(&Self::tag(position, epoch, plain));
        Ok(sealed)
    }

    fn open(&self, position: u64, sealed: &[u8]) -> crm_cluster::Result<Zeroizing<Vec<u8>>> {
        let corrupt = || Error::Corrupt {
            position,
            message: "does not open".into(),
        };
        let epoch = self.epoch_of(sealed).ok_or_else(corrupt)?;
        let split = sealed.len().checked_sub(32).ok_or_else(corrupt)?;
        let (framed, tag) = sealed.split_at(split);
        let plain = &framed[8..];
        if tag == Self::tag(position, epoch, plain) {
            Ok(Zeroizing::new(plain.to_vec()))
        } else {
            Err(corrupt())
        }
    }

    fn epoch_of(&self, sealed: &[u8]) -> Option<u64> {
        Some(u64::from_be_bytes(sealed.get(..8)?.try_into().ok()?))
    }

    fn newest_epoch(&self) -> Option<u64> {
        Some(1)
    }

    fn learn_epoch(&self, _: u64, _: &EpochKey) -> crm_cluster::Result<()> {
        Ok(())
    }

    fn destroy_epochs_before(&self, _: u64) -> crm_cluster::Result<()> {
        Ok(())
    }
}

struct TestNode {
    node: Node,
    store: Arc<MemoryStore>,
}

fn config(etcd: &EtcdCluster, name: &str) -> ClusterConfig {
    ClusterConfig::from_args(&ClusterArgs {
        cluster: &etcd.endpoints_arg(),
        cluster_name: "t",
        node: name,
        advertise: None,
        listen: &format!("127.0.0.1:{}", crm_tests::free_port()),
        lease_ttl: Some(2),
        log_retain: None,
    })
    .unwrap()
}

async fn start(
    etcd: &EtcdCluster,
    name: &str,
    node_id: Id,
    store: Arc<MemoryStore>,
) -> crm_cluster::Result<TestNode> {
    let config = config(etcd, name);
    let client = node::connect(&config, None).await?;
    let node = Node::start(
        client,
        NodeSetup {
            config,
            credentials: None,
            node_id,
            runid: node::new_runid(),
            mac: MacKey::new(MAC),
            sealer: Arc::new(TestSealer),
            applier: Arc::clone(&store) as Arc<dyn Applier>,
            durable: Arc::new(|| 0),
            snapshot_addr: String::new(),
            eligible: true,
        },
    )
    .await?;
    Ok(TestNode { node, store })
}

/// What the engine's committer does: append, and apply the group itself once committed.
async fn write(node: &TestNode, group: &[u8]) -> AppendOutcome {
    let log = node.node.log().clone();
    let bytes = group.to_vec();
    // The real caller is the committer thread: `append` blocks on the runtime.
    let outcome = tokio::task::spawn_blocking(move || log.append(bytes))
        .await
        .unwrap();
    if let AppendOutcome::Committed { position } = outcome {
        node.store.apply(position, group).unwrap();
    }
    outcome
}

/// Waits (60 s at most) until the node's view satisfies `condition`.
async fn until(node: &TestNode, what: &str, condition: impl Fn(&ClusterView) -> bool) {
    let mut view = node.node.view();
    let waited =
        tokio::time::timeout(Duration::from_secs(60), view.wait_for(|v| condition(v))).await;
    assert!(
        matches!(waited, Ok(Ok(_))),
        "{what}: {:?}",
        node.node.snapshot()
    );
}

fn is_ready_leader(view: &ClusterView) -> bool {
    matches!(view.role, Role::Leader { ready: true, .. })
}

/// Waits until `store` holds `count` groups.
async fn until_groups(store: &MemoryStore, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.groups().len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} groups applied",
            store.groups().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every whole group in the log, read straight from etcd.
async fn groups_in_log(client: &Client, keys: &Keys) -> Vec<(u64, Vec<u8>)> {
    let range = client
        .range(Range::between(keys.log(), keys.log_end()))
        .await
        .unwrap();
    let mut assembler = Assembler::new();
    let mut groups = Vec::new();
    for kv in range.kvs {
        let number = keys.entry_number(&kv.key).unwrap();
        let plain = TestSealer.open(number, &kv.value).unwrap();
        if let Some(group) = assembler.take(number, Entry::decode(number, &plain).unwrap()) {
            groups.push((group.position, group.bytes));
        }
    }
    groups
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_contenders_one_leads_the_other_follows_then_takes_over() {
    let etcd = EtcdCluster::start();
    let (a, b) = tokio::join!(
        start(&etcd, "a", random_id(), Arc::default()),
        start(&etcd, "b", random_id(), Arc::default())
    );
    let nodes = [a.unwrap(), b.unwrap()];
    let deadline = Instant::now() + Duration::from_secs(60);
    let leader = loop {
        let leaders: Vec<usize> = (0..2)
            .filter(|&i| is_ready_leader(&nodes[i].node.snapshot()))
            .collect();
        assert!(leaders.len() <= 1, "two leaders at once");
        if let [leader] = leaders[..] {
            break leader;
        }
        assert!(Instant::now() < deadline, "no leader elected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let [first, second] = nodes;
    let (leader, follower) = if leader == 0 {
        (first, second)
    } else {
        (second, first)
    };
    let leader_name = leader.node.snapshot().leader.unwrap().node;
    until(&follower, "the follower knows the leader", |v| {
        v.role == Role::Follower && v.leader.as_ref().is_some_and(|l| l.node == leader_name)
    })
    .await;
    // The follower refuses writes: READONLY.
    assert_eq!(follower.node.log().may_write(), Err(Refusal::ReadOnly));
    assert_eq!(
        write(&follower, b"nope").await,
        AppendOutcome::Refused(Refusal::ReadOnly)
    );

    let mut positions = Vec::new();
    for i in 0..3u8 {
        match write(&leader, &[i; 100]).await {
            AppendOutcome::Committed { position } => positions.push(position),
            other => panic!("write {i}: {other:?}"),
        }
    }
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    until_groups(&follower.store, 3).await;
    assert_eq!(follower.store.groups(), leader.store.groups());

    // The leader crashes (its tasks stop; its lease runs out): the follower takes over after
    // applying every entry, and goes on writing after them.
    drop(leader);
    until(
        &follower,
        "the follower becomes the leader",
        is_ready_leader,
    )
    .await;
    // The old leader is still listed, as down, until --log-retain has passed.
    until(&follower, "the old leader listed as down", |v| {
        v.nodes.iter().any(|n| n.node == leader_name && !n.live)
            && v.nodes.iter().any(|n| n.node != leader_name && n.live)
    })
    .await;
    let AppendOutcome::Committed { position } = write(&follower, b"after").await else {
        panic!("the new leader could not write");
    };
    assert!(position > positions[2] + 1, "the start entry comes first");
    assert_eq!(follower.store.groups().len(), 4);
    // The new leader is recorded as the last one (named by SENTINEL while there is no leader).
    let reader = Election::new(
        follower.node.client().clone(),
        Keys::new("t"),
        MacKey::new(MAC),
        NodeInfo::default(),
        Duration::from_secs(2),
    );
    let last = reader.last_leader().await.unwrap().unwrap();
    assert_ne!(last.node, leader_name);
    assert_eq!(
        Some(last.node),
        follower.node.snapshot().leader.map(|l| l.node)
    );
    let log = groups_in_log(follower.node.client(), follower.node.keys()).await;
    assert_eq!(log, follower.store.groups());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposed_leader_cannot_append() {
    let etcd = EtcdCluster::start();
    let config = config(&etcd, "a");
    let client = node::connect(&config, None).await.unwrap();
    let keys = Keys::new("t");
    let mac = MacKey::new(MAC);
    let me = |name: &str| NodeInfo {
        node: name.into(),
        runid: node::new_runid(),
        advertise: "127.0.0.1:1".into(),
        live: true,
        ..NodeInfo::default()
    };
    // Node a wins, and its log becomes ready; nothing tells it later that it was deposed
    // (no election task runs for it).
    let ttl = Duration::from_secs(2);
    let lease_a = client.grant(ttl).await.unwrap();
    let election_a = Election::new(client.clone(), keys.clone(), mac.clone(), me("a"), ttl);
    let Campaign::Won { fence } = election_a.campaign(lease_a.id).await.unwrap() else {
        panic!("a lost an uncontested election");
    };
    let view = ViewHandle::new();
    view.update(|v| {
        v.role = Role::Leader {
            fence,
            ready: false,
        };
        v.leader = Some(me("a"));
        true
    });
    let log = Log::new(
        client.clone(),
        keys.clone(),
        Arc::new(TestSealer),
        view.clone(),
        me("a"),
        ttl,
        Handoff::new(),
    );
    let takeovers = tokio::spawn(log.clone().run_takeovers());
    let mut roles = view.subscribe();
    tokio::time::timeout(Duration::from_secs(30), roles.wait_for(is_ready_leader))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        log.append_async(b"one".to_vec()).await,
        AppendOutcome::Committed { position: 2 }
    );

    // a's lease is revoked (as if it had run out while a was paused) and b is elected.
    client.revoke(lease_a.id).await.unwrap();
    let lease_b = client.grant(ttl).await.unwrap();
    let election_b = Election::new(client.clone(), keys.clone(), mac, me("b"), ttl);
    assert!(matches!(
        election_b.campaign(lease_b.id).await.unwrap(),
        Campaign::Won { .. }
    ));

    // a still believes it leads; its append fails the fence, is answered READONLY, and a
    // steps down.
    assert!(log.may_write().is_ok());
    assert_eq!(
        log.append_async(b"two".to_vec()).await,
        AppendOutcome::Refused(Refusal::ReadOnly)
    );
    assert!(client.get(keys.entry(3)).await.unwrap().is_none());
    assert_eq!(view.get().role, Role::Follower);
    assert_eq!(
        log.may_write(),
        Err(Refusal::ClusterDown("no leader is known".into()))
    );
    takeovers.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_whose_outcome_is_unknown_is_resolved_and_never_doubled() {
    let etcd = EtcdCluster::start();
    let node = start(&etcd, "a", random_id(), Arc::default())
        .await
        .unwrap();
    until(&node, "leader", is_ready_leader).await;
    assert!(matches!(
        write(&node, b"before").await,
        AppendOutcome::Committed { .. }
    ));

    // Every etcd member frozen: the append is sent, and no answer comes within the lease TTL.
    for i in 0..3 {
        etcd.stop(i);
    }
    let outcome = write(&node, b"unknown").await;
    assert_eq!(outcome, AppendOutcome::Unknown);
    assert!(matches!(
        node.node.log().may_write(),
        Err(Refusal::ClusterDown(_))
    ));
    assert!(matches!(
        write(&node, b"refused").await,
        AppendOutcome::Refused(Refusal::ClusterDown(_))
    ));
    for i in 0..3 {
        etcd.cont(i);
    }

    // etcd back: the node learns the outcome by itself and writes again.
    let deadline = Instant::now() + Duration::from_secs(60);
    let after = loop {
        match write(&node, b"after").await {
            AppendOutcome::Committed { position } => break position,
            AppendOutcome::Refused(_) => {
                assert!(
                    Instant::now() < deadline,
                    "writes never resumed: {:?}",
                    node.node.snapshot()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            AppendOutcome::Unknown => panic!("a second unknown outcome"),
        }
    };
    // The log and the store agree: "unknown" is in both or in neither, once at most, and
    // "refused" is in neither. (Both cases happen: etcd may take the frozen request when it
    // resumes, or the resend may find the leader key gone with the lease that ran out.)
    let log = groups_in_log(node.node.client(), node.node.keys()).await;
    until_groups(&node.store, log.len()).await;
    assert_eq!(log, node.store.groups());
    let bodies: Vec<&[u8]> = log.iter().map(|(_, g)| g.as_slice()).collect();
    assert!(bodies.iter().filter(|b| **b == b"unknown").count() <= 1);
    assert!(!bodies.contains(&&b"refused"[..]));
    assert_eq!(log.last().unwrap(), &(after, b"after".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_catches_up_across_compaction_with_large_groups() {
    let etcd = EtcdCluster::start();
    let leader = start(&etcd, "a", random_id(), Arc::default())
        .await
        .unwrap();
    until(&leader, "leader", is_ready_leader).await;
    let large: Vec<u8> = (0..1_200_000u32).map(|i| (i % 253) as u8).collect();
    for group in [b"g1".to_vec(), large.clone(), b"g3".to_vec()] {
        assert!(matches!(
            write(&leader, &group).await,
            AppendOutcome::Committed { .. }
        ));
    }
    let compact = |client: Client| async move {
        let revision = client.put("/compact-mark", "x", 0).await.unwrap();
        client.compact(revision).await.unwrap();
    };
    compact(leader.node.client().clone()).await;

    // A node starting empty after the compaction reads everything, the 3-part group whole.
    let store = Arc::new(MemoryStore::default());
    let id = random_id();
    let follower = start(&etcd, "b", id, Arc::clone(&store)).await.unwrap();
    until_groups(&store, 3).await;
    assert_eq!(store.groups(), leader.store.groups());
    assert_eq!(store.groups()[1].1, large);

    // Down while more is written and compacted; back on its own data, it goes on from there.
    drop(follower);
    for group in [b"g4".to_vec(), large.clone()] {
        assert!(matches!(
            write(&leader, &group).await,
            AppendOutcome::Committed { .. }
        ));
    }
    compact(leader.node.client().clone()).await;
    let follower = start(&etcd, "b", id, Arc::clone(&store)).await.unwrap();
    until_groups(&store, 5).await;
    assert_eq!(store.groups(), leader.store.groups());
    until(&follower, "no lag", |v| {
        v.lag_entries() == 0 && v.lag_ms() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_name_is_taken_by_one_live_node_and_etcd_must_answer() {
    let etcd = EtcdCluster::start();
    let id = random_id();
    let first = start(&etcd, "a", id, Arc::default()).await.unwrap();
    // Another process with the same name is refused, in one line.
    let refused = start(&etcd, "a", random_id(), Arc::default())
        .await
        .err()
        .unwrap();
    let line = refused.to_string();
    assert!(line.contains("another live node is named \"a\""), "{line}");
    assert!(!line.contains('\n'));
    // The same node (same id: restarted on its own folder) replaces its registration at once.
    let again = start(&etcd, "a", id, Arc::default()).await;
    assert!(again.is_ok());
    drop(first);

    // Nothing listens: refused within the lease TTL, naming the URL.
    let nowhere = format!("http://127.0.0.1:{}", crm_tests::free_port());
    let config = ClusterConfig::from_args(&ClusterArgs {
        cluster: &nowhere,
        cluster_name: "t",
        node: "z",
        listen: "127.0.0.1:7379",
        lease_ttl: Some(2),
        ..ClusterArgs::default()
    })
    .unwrap();
    let refused = node::connect(&config, None).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .starts_with("etcd cannot be reached at http://127.0.0.1:"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_that_does_not_open_stops_applying_and_writing() {
    let etcd = EtcdCluster::start();
    let node = start(&etcd, "a", random_id(), Arc::default())
        .await
        .unwrap();
    until(&node, "leader", is_ready_leader).await;
    let AppendOutcome::Committed { position } = write(&node, b"good").await else {
        panic!("the first write failed");
    };
    // Someone with write access to etcd (but not the log key) puts an entry of their own:
    // sealed for another position, so it does not open as the next one.
    let forged = TestSealer.seal(1, position, b"forged").unwrap();
    let client = node.node.client();
    client
        .put(node.node.keys().entry(position + 1), forged, 0)
        .await
        .unwrap();
    until(&node, "stopped applying", |v| v.stopped.is_some()).await;
    let reason = node.node.snapshot().stopped.unwrap();
    assert!(
        reason.starts_with(&format!("CORRUPT log entry {}", position + 1)),
        "{reason}"
    );
    assert!(matches!(
        node.node.log().may_write(),
        Err(Refusal::ClusterDown(_))
    ));
    assert_eq!(node.store.groups().len(), 1);
}
