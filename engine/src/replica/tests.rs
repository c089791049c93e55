//! A leader and a follower on one machine, the log a vector: every write kind planned on the
//! leader, appended, applied to both, and the two stores compared byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::journal::JournalOp;
use crate::journal::{FeedRange, JournalFilter};
use crate::keys::{KeySource, MasterKey};
use crate::model::*;
use crate::store::{Options, Store};
use crate::trees::{bytes_key, meta, Space};
use crate::write::{Durability, Op, Write};
use crate::Kind;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The replicated log as a vector: entry `i` (from 0) is at position `3 i + 1`, leaving gaps
/// where a real log has entries of its own (a leader's start, a new epoch).
#[derive(Default)]
pub(super) struct FakeLog {
    pub entries: Mutex<Vec<Vec<u8>>>,
    /// Makes `may_write` refuse.
    pub refuse: Mutex<Option<Refusal>>,
    /// The outcome of the next append instead of `Committed`; with `keep`, the entry is
    /// appended all the same (an outcome the leader could not learn, that landed).
    pub next: Mutex<Option<(AppendOutcome, bool)>>,
}

pub(super) fn position(index: usize) -> u64 {
    3 * index as u64 + 1
}

impl ReplicatedLog for FakeLog {
    fn append(&self, group: Vec<u8>) -> AppendOutcome {
        let mut entries = self.entries.lock().unwrap();
        match self.next.lock().unwrap().take() {
            Some((outcome, keep)) => {
                if keep {
                    entries.push(group);
                }
                outcome
            }
            None => {
                entries.push(group);
                AppendOutcome::Committed {
                    position: position(entries.len() - 1),
                }
            }
        }
    }

    fn may_write(&self) -> Result<(), Refusal> {
        match self.refuse.lock().unwrap().clone() {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        }
    }
}

impl FakeLog {
    pub fn entries(&self) -> Vec<Vec<u8>> {
        self.entries.lock().unwrap().clone()
    }

    /// A follower's log: it may never write.
    pub fn follower() -> Arc<FakeLog> {
        let log = FakeLog::default();
        *log.refuse.lock().unwrap() = Some(Refusal::ReadOnly);
        Arc::new(log)
    }
}

pub(super) fn open(dir: &Path, key: &MasterKey, log: Option<Arc<FakeLog>>) -> Store {
    let options = Options {
        replication: log.map(|log| log as Arc<dyn ReplicatedLog>),
        ..Options::default()
    };
    Store::open(dir, &KeySource::Key(key.clone()), &options).unwrap()
}

/// Copies a folder, recursively.
pub(super) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Feeds `follower` every entry of `log` from the first it lacks (earlier ones are skipped
/// by number), as a follower's apply loop does.
pub(super) fn catch_up(follower: &Store, log: &FakeLog) {
    for (index, entry) in log.entries().iter().enumerate() {
        let before = follower.cluster_applied();
        let applied = follower.apply_replicated(position(index), entry).unwrap();
        assert_eq!(applied.applied, position(index) > before);
        assert_eq!(follower.cluster_applied(), before.max(position(index)));
    }
}

/// One random operation of any kind, on ids near the ones in use.
fn random_op(store: &Store, rng: &mut StdRng) -> Write {
    let customers = store.high_water(Kind::Customer).unwrap() + 2;
    let products = store.high_water(Kind::Product).unwrap() + 2;
    let orders = store.high_water(Kind::Order).unwrap() + 2;
    let customer = rng.gen_range(1..customers);
    let email = format!("p{}@x.example", rng.gen_range(0..80));
    let user = format!("u{}", rng.gen_range(0..5));
    let now = crate::values::now();
    let op = match rng.gen_range(0..100) {
        0..=17 => Op::AddCustomer(
            NewCustomer::parse(
                &format!("Ada Lovelace {}", rng.gen_range(0..1000)),
                &email,
                rng.gen_bool(0.5).then_some("+44 20 7946 0000"),
                rng.gen_bool(0.5).then_some("12 Analytical Row"),
                None,
            )
            .unwrap(),
        ),
        18..=23 => {
            let mut patch = CustomerPatch::default();
            patch.set(Customer::NAME, "Grace Hopper").unwrap();
            if rng.gen_bool(0.5) {
                patch.set(Customer::EMAIL, &email).unwrap();
            }
            if rng.gen_bool(0.5) {
                patch.set(Customer::PHONE, "").unwrap();
            }
            Op::UpdateCustomer(customer, patch)
        }
        24..=26 => Op::DeleteCustomer(customer),
        27..=31 => {
            let mut upsert = CustomerUpsert::parse(
                &email,
                "Upserted Person",
                rng.gen_bool(0.5).then_some("+1 555 0100"),
                None,
                None,
            )
            .unwrap();
            upsert.dry_run = rng.gen_bool(0.1);
            Op::UpsertCustomer(upsert)
        }
        32..=34 => Op::ForgetCustomer(customer),
        35..=36 => Op::RevealCustomer(customer),
        37 => Op::ExportCustomer(customer),
        38..=41 => Op::MergeCustomers {
            keep: customer,
            other: rng.gen_range(1..customers),
            at: now,
        },
        42..=43 => {
            // A kept merge, if there is one.
            let kept: Vec<u64> = store
                .shared
                .tree
                .scan_prefix(Space::KeptMerge.prefix())
                .filter_map(|entry| crate::trees::trailing_id(&entry.unwrap().0))
                .collect();
            let other = match kept.is_empty() {
                true => rng.gen_range(1..customers),
                false => kept[rng.gen_range(0..kept.len())],
            };
            Op::UnmergeCustomer { other, now }
        }
        44 => Op::PurgeMerges {
            now: now + 31 * 86_400,
        },
        45..=50 => Op::AddProduct(
            NewProduct::parse(
                &format!("Widget {}", rng.gen_range(0..100)),
                "2.50",
                Some(&rng.gen_range(0..60).to_string()),
            )
            .unwrap(),
        ),
        51..=53 => Op::UpdateProduct(
            rng.gen_range(1..products),
            ProductPatch {
                name: None,
                price_cents: rng.gen_bool(0.5).then_some(199),
                stock: Some(rng.gen_range(0..80)),
                custom: Default::default(),
            },
        ),
        54 => Op::DeleteProduct(rng.gen_range(1..products)),
        55..=79 => Op::AddOrder(NewOrder {
            id: None,
            customer_id: customer,
            product_id: rng.gen_range(1..products),
            quantity: rng.gen_range(1..4),
            created_at: rng
                .gen_bool(0.5)
                .then(|| 1_700_000_000 + rng.gen_range(0..50_000_000)),
            take_stock: rng.gen_bool(0.7),
        }),
        80..=84 => Op::DeleteOrder(rng.gen_range(1..orders)),
        85..=87 => Op::AddUser(User {
            name: user,
            role: [Role::Reader, Role::Analyst, Role::Writer, Role::Admin][rng.gen_range(0..4)],
            password_hash: format!("$argon2id$fake-{}", rng.gen_range(0..1000)),
            masked: rng.gen_bool(0.5),
        }),
        88..=89 => Op::SetPassword {
            name: user,
            password_hash: format!("$argon2id$fake-{}", rng.gen_range(0..1000)),
        },
        90..=91 => Op::SetMasked {
            name: user,
            masked: rng.gen_bool(0.5),
        },
        92..=93 => Op::DeleteUser(user),
        94..=95 => Op::RecordBackup {
            name: format!("backup-{}", rng.gen_range(0..1000)),
        },
        _ => Op::BootstrapAdmin(User {
            name: "admin".into(),
            role: Role::Admin,
            password_hash: "$argon2id$fake-admin".into(),
            masked: false,
        }),
    };
    op.by(rng.gen_bool(0.5).then(|| "u1".to_string()))
}

/// One write group's worth of random writes on the leader: one write, a batch, or several
/// writers at once (so groups of many jobs are made too).
fn random_group(store: &Store, rng: &mut StdRng) {
    match rng.gen_range(0..10) {
        0..=4 => {
            let _ = store.write(random_op(store, rng));
        }
        5..=7 => {
            let count = rng.gen_range(2..12);
            let writes: Vec<Write> = (0..count).map(|_| random_op(store, rng)).collect();
            store.write_many(writes).unwrap();
        }
        _ => {
            let pending: Vec<_> = (0..rng.gen_range(2..6))
                .map(|_| store.submit(random_op(store, rng)).unwrap())
                .collect();
            for write in pending {
                let _ = write.wait();
            }
        }
    }
}

/// Every tree entry but the node-local ones.
fn tree_of(store: &Store) -> Vec<(Vec<u8>, Vec<u8>)> {
    let local = bytes_key(Space::Meta, meta::CLUSTER_APPLIED);
    store
        .shared
        .tree
        .iter()
        .map(|entry| {
            let (key, value) = entry.unwrap();
            (key.to_vec(), value.to_vec())
        })
        .filter(|(key, _)| *key != local)
        .collect()
}

/// Asserts that two stores hold the same data: the tree byte for byte (but the node's own
/// position), the in-memory indexes, rollups, the journal and its feed, the forgotten list,
/// the users, and the keys of every slot taken.
pub(super) fn assert_same_store(leader: &Store, follower: &Store) {
    assert_eq!(leader.cluster_applied(), follower.cluster_applied());
    let (a, b) = (tree_of(leader), tree_of(follower));
    assert_eq!(a.len(), b.len(), "tree sizes");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "tree entry {:?}", crate::codec::describe_key(&x.0));
    }
    assert_eq!(
        leader.shared.indexes.differences(&follower.shared.indexes),
        Vec::<&str>::new(),
        "in-memory indexes"
    );
    assert_eq!(leader.counts().unwrap(), follower.counts().unwrap());
    assert_eq!(leader.journal_head(), follower.journal_head());
    assert_eq!(leader.feed_len(), follower.feed_len());
    let all = JournalFilter {
        limit: usize::MAX,
        ..JournalFilter::default()
    };
    assert_eq!(
        leader.journal(&all).unwrap(),
        follower.journal(&all).unwrap()
    );
    let feed = FeedRange {
        first: 0,
        last: u64::MAX,
        count: usize::MAX,
        reverse: false,
    };
    assert_eq!(leader.feed(&feed).unwrap(), follower.feed(&feed).unwrap());
    assert_eq!(
        leader.customer_rollups().unwrap(),
        follower.customer_rollups().unwrap()
    );
    assert_eq!(
        leader.product_rollups().unwrap(),
        follower.product_rollups().unwrap()
    );
    assert_eq!(leader.forgotten().unwrap(), follower.forgotten().unwrap());
    assert_eq!(leader.users().unwrap(), follower.users().unwrap());
    let taken = leader.shared.meta_u64(meta::KEYRING_NEXT).unwrap();
    let (ring_a, ring_b) = (
        leader.shared.codec.keyring().unwrap(),
        follower.shared.codec.keyring().unwrap(),
    );
    for slot in 0..taken {
        assert_eq!(ring_a.raw(slot), ring_b.raw(slot), "keyring slot {slot}");
    }
    for forgotten in follower.forgotten().unwrap() {
        if let Some(slot) = forgotten.slot {
            assert!(
                ring_b
                    .raw(slot)
                    .is_some_and(|raw| crate::keyring::is_erased(&raw)),
                "the key of forgotten customer {} survives on the follower",
                forgotten.customer_id
            );
        }
    }
    follower.check_consistency().unwrap();
}

/// A leader with its log, and the folder of its follower: a store made once and copied, so
/// both start equal (same data key, journal key, empty keyring), as a joiner's restored
/// snapshot would.
pub(super) struct Pair {
    pub root: tempfile::TempDir,
    pub key: MasterKey,
    pub log: Arc<FakeLog>,
    pub leader: Store,
    pub follower_dir: std::path::PathBuf,
}

impl Pair {
    pub fn new() -> Pair {
        let root = tempfile::tempdir().unwrap();
        let key = MasterKey::generate();
        let (leader_dir, follower_dir) = (root.path().join("leader"), root.path().join("follower"));
        open(&leader_dir, &key, None).close().unwrap();
        copy_dir(&leader_dir, &follower_dir);
        let log = Arc::new(FakeLog::default());
        let leader = open(&leader_dir, &key, Some(log.clone()));
        Pair {
            root,
            key,
            log,
            leader,
            follower_dir,
        }
    }

    /// Opens a follower on `dir`.
    pub fn follower_on(&self, dir: &Path) -> Store {
        open(dir, &self.key, Some(FakeLog::follower()))
    }
}

#[test]
fn a_follower_fed_the_leaders_entries_holds_the_leaders_store_across_a_crash() {
    let pair = Pair::new();
    let (root, key, log, leader, follower_dir) = (
        &pair.root,
        &pair.key,
        &pair.log,
        &pair.leader,
        &pair.follower_dir,
    );
    assert_eq!(leader.durability(), Durability::Cluster);
    assert_eq!(leader.durability().as_str(), "cluster");
    let mut follower = pair.follower_on(follower_dir);
    let mut rng = StdRng::seed_from_u64(0x33);
    let mut crashed = None;
    for step in 0..260 {
        random_group(leader, &mut rng);
        catch_up(&follower, log);
        if step == 120 {
            // Everything so far is in the follower's own files: a copy now is what a crash
            // after this point leaves, whatever it applies next.
            follower.flush().unwrap();
            assert_eq!(follower.cluster_durable(), follower.cluster_applied());
            let copy = root.path().join("crashed");
            copy_dir(follower_dir, &copy);
            crashed = Some((copy, follower.cluster_applied()));
        }
        if step == 180 {
            let (copy, at) = crashed.take().unwrap();
            drop(follower);
            follower = pair.follower_on(&copy);
            assert_eq!(
                follower.cluster_applied(),
                at,
                "the crashed follower's position"
            );
            assert!(follower.cluster_applied() < leader.cluster_applied());
            // Catching up by number: the entries it holds are skipped, the rest applied.
            catch_up(&follower, log);
            assert_same_store(leader, &follower);
        }
    }
    assert!(log.entries().len() > 150, "{} entries", log.entries().len());
    assert_same_store(leader, &follower);
    // Every kind of write reached the follower.
    let counts = follower.counts().unwrap();
    assert!(counts.customers > 0 && counts.products > 0 && counts.orders > 0);
    assert!(!follower.forgotten().unwrap().is_empty());
    assert!(!follower.users().unwrap().is_empty());
    let all = JournalFilter {
        limit: usize::MAX,
        ..JournalFilter::default()
    };
    let journaled: std::collections::HashSet<(JournalOp, Kind)> = follower
        .journal(&all)
        .unwrap()
        .iter()
        .map(|entry| (entry.op, entry.kind))
        .collect();
    for kind in [
        (JournalOp::Add, Kind::Customer),
        (JournalOp::Update, Kind::Customer),
        (JournalOp::Delete, Kind::Customer),
        (JournalOp::Forget, Kind::Customer),
        (JournalOp::Reveal, Kind::Customer),
        (JournalOp::Export, Kind::Customer),
        (JournalOp::Merge, Kind::Customer),
        (JournalOp::Unmerge, Kind::Customer),
        (JournalOp::Add, Kind::Product),
        (JournalOp::Update, Kind::Product),
        (JournalOp::Add, Kind::Order),
        (JournalOp::Delete, Kind::Order),
        (JournalOp::Add, Kind::User),
        (JournalOp::Update, Kind::User),
        (JournalOp::Delete, Kind::User),
        (JournalOp::Add, Kind::Backup),
    ] {
        assert!(journaled.contains(&kind), "no {kind:?} was replicated");
    }
    // A write on the follower is refused and changes nothing.
    let before = tree_of(&follower);
    let refused = follower.write(Op::AddProduct(
        NewProduct::parse("X", "1.00", None).unwrap(),
    ));
    assert!(
        matches!(refused, Err(crate::Error::ReadOnly)),
        "{refused:?}"
    );
    assert_eq!(before, tree_of(&follower));
    // Reopened, the follower rebuilds the same indexes and rollups from its tree.
    let position = follower.cluster_applied();
    follower.close().unwrap();
    drop(follower);
    let follower = open(&root.path().join("crashed"), key, Some(FakeLog::follower()));
    assert_eq!(follower.cluster_applied(), position);
    assert_same_store(leader, &follower);
}

/// The store's state a refused write must leave as it was.
#[derive(Debug, PartialEq)]
struct State {
    tree: Vec<(Vec<u8>, Vec<u8>)>,
    head: crate::journal::Head,
    counts: crate::Counts,
    applied: u64,
}

fn state_of(store: &Store) -> State {
    State {
        tree: tree_of(store),
        head: store.journal_head(),
        counts: store.counts().unwrap(),
        applied: store.cluster_applied(),
    }
}

fn new_customer(email: &str) -> Op {
    Op::AddCustomer(NewCustomer::parse("Ada", email, None, None, None).unwrap())
}

#[test]
fn a_refused_or_unknown_append_applies_nothing_and_every_writer_of_the_group_is_told() {
    let pair = Pair::new();
    let (log, leader) = (&pair.log, &pair.leader);
    let product = leader
        .write(Op::AddProduct(
            NewProduct::parse("Pen", "1.00", Some("5")).unwrap(),
        ))
        .unwrap()
        .id();
    let customer = leader.write(new_customer("a@x.example")).unwrap().id();
    let group = || {
        vec![
            Write::from(new_customer("b@x.example")),
            Write::from(Op::AddOrder(NewOrder {
                id: None,
                customer_id: customer,
                product_id: product,
                quantity: 2,
                created_at: None,
                take_stock: true,
            })),
            Write::from(Op::ForgetCustomer(customer)),
            // Refused by the plan itself: its own error would rest on the group before it.
            Write::from(Op::DeleteProduct(999)),
        ]
    };
    let before = state_of(leader);
    let entries = log.entries().len();
    type Check = fn(&crate::Error) -> bool;
    type Case = (Option<Refusal>, Option<(AppendOutcome, bool)>, Check);
    let cases: [Case; 4] = [
        (Some(Refusal::ReadOnly), None, |e| {
            matches!(e, crate::Error::ReadOnly)
        }),
        (Some(Refusal::ClusterDown("no quorum".into())), None, |e| {
            matches!(e, crate::Error::ClusterDown(_))
        }),
        (
            None,
            Some((AppendOutcome::Refused(Refusal::ReadOnly), false)),
            |e| matches!(e, crate::Error::ReadOnly),
        ),
        (None, Some((AppendOutcome::Unknown, false)), |e| {
            matches!(e, crate::Error::TryAgain)
        }),
    ];
    for (gate, outcome, expected) in cases {
        let arm = || {
            *log.refuse.lock().unwrap() = gate.clone();
            *log.next.lock().unwrap() = outcome.clone();
        };
        arm();
        for result in leader.write_many(group()).unwrap() {
            let error = result.unwrap_err();
            assert!(expected(&error), "{error:?}");
        }
        arm();
        let single = leader.write(new_customer("c@x.example")).unwrap_err();
        assert!(expected(&single), "{single:?}");
        assert_eq!(
            state_of(leader),
            before,
            "a refused group changed the store"
        );
        assert!(leader.customer(customer).unwrap().is_some());
        *log.refuse.lock().unwrap() = None;
        *log.next.lock().unwrap() = None;
    }
    // Only the gate's and the log's refusals were tried: nothing was appended.
    assert_eq!(log.entries().len(), entries);
    // The store goes on from where it was: the group applies whole, numbered after the last.
    let results = leader.write_many(group()).unwrap();
    assert!(results[..3].iter().all(Result::is_ok), "{results:?}");
    assert!(results[3].is_err());
    assert_eq!(leader.journal_head().seq, before.head.seq + 3);
    assert_eq!(leader.counts().unwrap().orders, 1);
    assert!(leader.customer(customer).unwrap().is_none());
    assert_eq!(leader.cluster_applied(), position(log.entries().len() - 1));
}

/// Guards the one ambiguous reply: a group whose append outcome was unknown may still be in
/// the log, and the leader learns it from there like any follower.
#[test]
fn an_unknown_append_that_landed_is_applied_from_the_log() {
    let pair = Pair::new();
    let (log, leader) = (&pair.log, &pair.leader);
    let follower = pair.follower_on(&pair.follower_dir);
    leader.write(new_customer("a@x.example")).unwrap();
    *log.next.lock().unwrap() = Some((AppendOutcome::Unknown, true));
    let unknown = leader.write(new_customer("b@x.example"));
    assert!(
        matches!(unknown, Err(crate::Error::TryAgain)),
        "{unknown:?}"
    );
    assert!(leader
        .find_by_email("b@x.example", 0, 10)
        .unwrap()
        .is_empty());
    // The apply loop finds it in the log: the leader applies its own entry, as does everyone.
    catch_up(leader, log);
    catch_up(&follower, log);
    assert_eq!(leader.find_by_email("b@x.example", 0, 10).unwrap().len(), 1);
    let next = leader.write(new_customer("c@x.example")).unwrap().id();
    assert_eq!(next, 3);
    catch_up(&follower, log);
    assert_same_store(leader, &follower);
}

#[test]
fn an_entry_that_cannot_be_applied_stops_the_node_and_changes_nothing() {
    let pair = Pair::new();
    let (log, leader, follower_dir) = (&pair.log, &pair.leader, &pair.follower_dir);
    leader.write(new_customer("a@x.example")).unwrap();
    leader.write(new_customer("b@x.example")).unwrap();
    let entries = log.entries();
    {
        let follower = pair.follower_on(follower_dir);
        follower.apply_replicated(position(0), &entries[0]).unwrap();
        follower.close().unwrap();
    }
    let mut garbled = entries[1].clone();
    garbled[3] ^= 0x40;
    let cases = [
        ("garbled", garbled, "more than its"),
        (
            "truncated",
            entries[1][..entries[1].len() / 2].to_vec(),
            "truncated",
        ),
        ("not an entry", b"not an entry".to_vec(), "format version"),
        // The first entry again, at a new position: its journal page does not continue.
        (
            "replayed",
            entries[0].clone(),
            "do not continue this node's journal",
        ),
    ];
    for (case, bad, says) in cases {
        let dir = pair.root.path().join(case);
        copy_dir(follower_dir, &dir);
        let follower = pair.follower_on(&dir);
        let before = state_of(&follower);
        let error = follower.apply_replicated(position(1), &bad).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Corrupt, "{case}: {error}");
        assert!(error.to_string().contains(says), "{case}: {error}");
        assert_eq!(state_of(&follower), before, "{case}");
        // Stopped: nothing more is applied, not even a good entry, and writes are refused;
        // reads go on.
        assert!(follower.replication_stopped().is_some());
        let error = follower
            .apply_replicated(position(1), &entries[1])
            .unwrap_err();
        assert!(error.to_string().contains("stopped applying"), "{error}");
        assert_eq!(state_of(&follower), before);
        assert_eq!(
            follower.find_by_email("a@x.example", 0, 10).unwrap().len(),
            1
        );
        follower.close().unwrap();
        drop(follower);
        // Reopened, it goes on from where it was.
        let follower = pair.follower_on(&dir);
        catch_up(&follower, log);
        assert_same_store(leader, &follower);
    }
    // A leader whose node stopped appends nothing more.
    leader.stop_replication("entry 9: tampered");
    let error = leader.write(new_customer("c@x.example")).unwrap_err();
    assert_eq!(error.kind(), crate::ErrorKind::Corrupt, "{error}");
    assert_eq!(log.entries().len(), entries.len());
}

#[test]
fn the_nodes_own_files_catch_up_by_themselves_and_say_how_far() {
    let Pair {
        root,
        key,
        log,
        leader,
        ..
    } = Pair::new();
    for i in 0..5 {
        leader
            .write(new_customer(&format!("p{i}@x.example")))
            .unwrap();
    }
    let applied = leader.cluster_applied();
    assert_eq!(applied, position(4));
    // The periodic local flush (every 100 ms) gets there with no write to wake it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while leader.cluster_durable() < applied {
        assert!(std::time::Instant::now() < deadline, "no local flush");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(leader.cluster_durable(), applied);
    leader.close().unwrap();
    drop(leader);
    let reopened = open(&root.path().join("leader"), &key, Some(log));
    assert_eq!(reopened.cluster_applied(), applied);
    assert_eq!(reopened.cluster_durable(), applied);
    // A single node has no position.
    let single = open(&root.path().join("single"), &key, None);
    single.write(new_customer("a@x.example")).unwrap();
    assert_eq!((single.cluster_applied(), single.cluster_durable()), (0, 0));
    assert_eq!(single.durability(), Durability::Sync);
    drop(single);
    let refused = Store::open(
        &root.path().join("single"),
        &KeySource::Key(key),
        &Options {
            durability: Durability::Cluster,
            ..Options::default()
        },
    );
    assert!(matches!(
        refused,
        Err(crate::Error::Invalid { field, .. }) if field == "durability"
    ));
}

/// Guards against a log whose last entries carry no group (a leader's start, an epoch's key)
/// never being trimmable: the node's position, durable one included, must pass them.
#[test]
fn entries_without_a_group_move_the_position_and_the_durable_one() {
    let pair = Pair::new();
    let (log, leader) = (&pair.log, &pair.leader);
    let follower = pair.follower_on(&pair.follower_dir);
    leader.write(new_customer("a@x.example")).unwrap();
    catch_up(&follower, log);
    let before = state_of(&follower);
    // The entries between the fake log's groups: a leader's start, an epoch.
    let passed = follower.pass_replicated(position(0) + 1).unwrap();
    assert!(passed.applied && !passed.users_changed);
    let moved = State {
        applied: position(0) + 1,
        ..before
    };
    assert_eq!(state_of(&follower), moved, "passing an entry changed data");
    // Behind the node: nothing.
    assert!(!follower.pass_replicated(position(0)).unwrap().applied);
    assert_eq!(follower.cluster_applied(), position(0) + 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while follower.cluster_durable() < position(0) + 1 {
        assert!(std::time::Instant::now() < deadline, "no local flush");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The next group applies on top, and the position survives a reopen.
    leader.write(new_customer("b@x.example")).unwrap();
    catch_up(&follower, log);
    assert_same_store(leader, &follower);
    let caught_up = state_of(&follower);
    follower.pass_replicated(position(1) + 2).unwrap();
    follower.close().unwrap();
    drop(follower);
    let reopened = pair.follower_on(&pair.follower_dir);
    let passed = State {
        applied: position(1) + 2,
        ..caught_up
    };
    assert_eq!(state_of(&reopened), passed);
}

/// Guards against a node purging kept merges at open on its own: in a cluster the purge is
/// the leader's logged write, or the nodes would differ.
#[test]
fn a_cluster_node_does_not_purge_kept_merges_at_open() {
    let root = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let dir = root.path().join("store");
    let store = open(&dir, &key, None);
    let keep = store.write(new_customer("a@x.example")).unwrap().id();
    let other = store.write(new_customer("b@x.example")).unwrap().id();
    let long_ago = crate::values::now() - 40 * 86_400;
    store
        .write(Op::MergeCustomers {
            keep,
            other,
            at: long_ago,
        })
        .unwrap();
    assert_eq!(store.kept_merge_count(), 1);
    store.close().unwrap();
    drop(store);
    let node = open(&dir, &key, Some(FakeLog::follower()));
    assert_eq!(node.kept_merge_count(), 1, "purged at open in a cluster");
    node.close().unwrap();
    drop(node);
    assert_eq!(open(&dir, &key, None).kept_merge_count(), 0);
}

/// A cluster id as the cluster crate makes one.
const CLUSTER: &[u8] = b"0123456789abcdef";

#[test]
fn a_tampered_moved_replayed_or_foreign_entry_does_not_open() {
    let pair = Pair::new();
    let sealer = pair.leader.log_sealer(CLUSTER, "crm").unwrap();
    sealer.new_epoch(0).unwrap();
    let plain = b"a group's effects".to_vec();
    let sealed = sealer.seal(0, 7, &plain).unwrap();
    assert_eq!(LogSealer::epoch_of(&sealed), Some(0));
    assert_eq!(*sealer.open(7, &sealed).unwrap(), plain);
    assert!(
        !sealed.windows(plain.len()).any(|w| w == plain),
        "the entry is in clear"
    );
    let corrupt = |result: crate::Result<zeroize::Zeroizing<Vec<u8>>>, case: &str| {
        let error = result.err().unwrap_or_else(|| panic!("{case} opened"));
        assert_eq!(error.kind(), crate::ErrorKind::Corrupt, "{case}: {error}");
    };
    let mut tampered = sealed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    corrupt(sealer.open(7, &tampered), "a tampered entry");
    corrupt(sealer.open(8, &sealed), "an entry moved to another number");
    // Replayed later: the same bytes at a later number.
    corrupt(sealer.open(70, &sealed), "a replayed entry");
    let mut other_epoch = sealed.clone();
    other_epoch[8] = 1;
    corrupt(
        sealer.open(7, &other_epoch),
        "an entry relabelled to another epoch",
    );
    corrupt(sealer.open(7, &sealed[..20]), "a truncated entry");
    corrupt(sealer.open(7, b""), "nothing");
    // Another cluster of the same store (a restored copy started under another name or id).
    let renamed = pair.leader.log_sealer(CLUSTER, "crm2").unwrap();
    corrupt(renamed.open(7, &sealed), "another cluster name");
    let other_id = pair.leader.log_sealer(b"fedcba9876543210", "crm").unwrap();
    corrupt(other_id.open(7, &sealed), "another cluster id");
    // Another store with the same master key and epoch key: another data key.
    let other = open(&pair.root.path().join("other"), &pair.key, None);
    let foreign = other.log_sealer(CLUSTER, "crm").unwrap();
    let key = sealer.new_epoch(1).unwrap();
    foreign.learn_epoch(1, &key).unwrap();
    corrupt(
        foreign.open(9, &sealer.seal(1, 9, &plain).unwrap()),
        "another store's entry",
    );
    // A follower that learned the epoch's key from the log opens it.
    let follower = pair.follower_on(&pair.follower_dir);
    let follower_sealer = follower.log_sealer(CLUSTER, "crm").unwrap();
    corrupt(
        follower_sealer.open(7, &sealed),
        "an epoch the node never learned",
    );
    let zero = sealer.new_epoch(2).unwrap();
    follower_sealer.learn_epoch(2, &zero).unwrap();
    follower_sealer.learn_epoch(2, &zero).unwrap();
    let in_two = sealer.seal(2, 11, &plain).unwrap();
    assert_eq!(*follower_sealer.open(11, &in_two).unwrap(), plain);
    assert!(
        follower_sealer.learn_epoch(2, &[9; 32]).is_err(),
        "another key for a held epoch"
    );
}

#[test]
fn a_destroyed_epoch_key_is_gone_from_the_disk_and_its_entries_do_not_open() {
    let pair = Pair::new();
    let dir = pair.root.path().join("leader");
    let sealer = pair.leader.log_sealer(CLUSTER, "crm").unwrap();
    for epoch in 0..3 {
        sealer.new_epoch(epoch).unwrap();
    }
    let old = sealer.seal(0, 1, b"carried a forgotten person").unwrap();
    let new = sealer.seal(2, 40, b"still needed").unwrap();
    let stored = std::fs::read(dir.join(epochs::FILE_NAME)).unwrap();
    sealer.destroy_epochs_before(2).unwrap();
    assert_eq!(sealer.epochs(), vec![2]);
    let error = sealer.open(1, &old).unwrap_err().to_string();
    assert!(
        error.contains("whose key this node does not hold"),
        "{error}"
    );
    assert_eq!(&*sealer.open(40, &new).unwrap(), b"still needed");
    // On disk: the destroyed slots are zeros in place, the file as long as it was.
    let after = std::fs::read(dir.join(epochs::FILE_NAME)).unwrap();
    assert_eq!(after.len(), stored.len());
    let slot = |bytes: &[u8], epoch: usize| {
        let start = 16 + epoch * epochs::SLOT_LEN;
        bytes[start..start + epochs::SLOT_LEN].to_vec()
    };
    for epoch in 0..2 {
        assert!(slot(&after, epoch).iter().all(|b| *b == 0));
        assert!(slot(&stored, epoch).iter().any(|b| *b != 0));
    }
    assert_eq!(slot(&after, 2), slot(&stored, 2));
    // Nothing brings a destroyed epoch back, across a reopen too.
    let key = [5u8; 32];
    assert!(sealer.learn_epoch(1, &key).is_err());
    pair.leader.close().unwrap();
    let Pair {
        leader,
        key: master,
        ..
    } = pair;
    drop(leader);
    let reopened = open(&dir, &master, None);
    let sealer = reopened.log_sealer(CLUSTER, "crm").unwrap();
    assert_eq!(sealer.epochs(), vec![2]);
    assert!(sealer.open(1, &old).is_err());
    assert!(sealer.learn_epoch(0, &key).is_err());
    assert_eq!(&*sealer.open(40, &new).unwrap(), b"still needed");
}

#[test]
fn a_joiner_restored_from_a_snapshot_holds_the_source_and_follows_the_log() {
    let pair = Pair::new();
    let (log, leader) = (&pair.log, &pair.leader);
    let sealer = leader.log_sealer(CLUSTER, "crm").unwrap();
    sealer.new_epoch(0).unwrap();
    sealer.new_epoch(1).unwrap();
    sealer.destroy_epochs_before(1).unwrap();
    let mut rng = StdRng::seed_from_u64(0x5e);
    for _ in 0..80 {
        random_group(leader, &mut rng);
    }
    // Taken while writes go on: the snapshot holds the store as of one position.
    let mut stream = Vec::new();
    let position = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut rng = StdRng::seed_from_u64(0x5f);
            for _ in 0..40 {
                random_group(leader, &mut rng);
            }
        });
        let position = leader.snapshot_to(&mut stream, &|_| {}).unwrap();
        writer.join().unwrap();
        position
    });
    assert!(position > 0);
    let joined_dir = pair.root.path().join("joined");
    let progress = std::sync::Mutex::new(Vec::new());
    let info = restore_snapshot(
        stream.as_slice(),
        &KeySource::Key(pair.key.clone()),
        &joined_dir,
        &|p| progress.lock().unwrap().push(p),
    )
    .unwrap();
    assert_eq!(info.position, position);
    let progress = progress.into_inner().unwrap();
    let last = progress.last().unwrap();
    assert_eq!(last.records_total, info.header.records());
    assert_eq!(last.records_done, last.records_total);
    assert!(last.bytes > 0 && last.bytes <= stream.len() as u64);
    let joined = pair.follower_on(&joined_dir);
    assert_eq!(joined.cluster_applied(), position);
    // It wrote nothing of its own: its journal ends where the source's did at that position,
    // and following the log from there makes it the leader's store.
    let at = log
        .entries()
        .iter()
        .enumerate()
        .position(|(index, _)| super::tests::position(index) == position)
        .unwrap();
    assert!(joined.journal_head().seq > 0);
    catch_up(&joined, log);
    assert!(joined.cluster_applied() > position || at + 1 == log.entries().len());
    assert_same_store(leader, &joined);
    // The joiner holds the epochs the source held, and opens its entries.
    let joined_sealer = joined.log_sealer(CLUSTER, "crm").unwrap();
    assert_eq!(joined_sealer.epochs(), vec![1]);
    let entry = sealer.seal(1, 99, b"next").unwrap();
    assert_eq!(&*joined_sealer.open(99, &entry).unwrap(), b"next");
}

#[test]
fn a_snapshot_restored_without_writes_has_the_sources_head_counts_and_position() {
    let pair = Pair::new();
    let leader = &pair.leader;
    let mut rng = StdRng::seed_from_u64(0x60);
    for _ in 0..60 {
        random_group(leader, &mut rng);
    }
    // A kept merge past its 30 days: a node's own purge at open would remove it (and so
    // would diverge from the leader, which purges only by a logged write).
    let keep = leader.write(new_customer("keep@x.example")).unwrap().id();
    let other = leader.write(new_customer("other@x.example")).unwrap().id();
    let long_ago = crate::values::now() - 40 * 86_400;
    leader
        .write(Op::MergeCustomers {
            keep,
            other,
            at: long_ago,
        })
        .unwrap();
    let kept = leader.kept_merge_count();
    let mut stream = Vec::new();
    let position = leader.snapshot_to(&mut stream, &|_| {}).unwrap();
    assert_eq!(position, leader.cluster_applied());
    let key = KeySource::Key(pair.key.clone());
    let dir = pair.root.path().join("copy");
    restore_snapshot(stream.as_slice(), &key, &dir, &|_| {}).unwrap();
    let copy = pair.follower_on(&dir);
    assert_eq!(copy.journal_head(), leader.journal_head());
    assert_eq!(copy.counts().unwrap(), leader.counts().unwrap());
    assert_eq!(copy.cluster_applied(), leader.cluster_applied());
    assert_eq!(copy.kept_merge_count(), kept);
    assert_same_store(leader, &copy);
    // A changed or cut stream restores nothing and leaves no folder.
    for (case, bad) in [
        ("flipped", {
            let mut bad = stream.clone();
            let middle = bad.len() / 2;
            bad[middle] ^= 1;
            bad
        }),
        ("cut", stream[..stream.len() - 10].to_vec()),
    ] {
        let target = pair.root.path().join(case);
        let error = restore_snapshot(bad.as_slice(), &key, &target, &|_| {}).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Corrupt, "{case}: {error}");
        assert!(!target.exists(), "{case}: a folder was left");
        assert!(!pair
            .root
            .path()
            .join(format!(".{case}.restore-unfinished"))
            .exists());
    }
    // Another key does not open it; an existing store is never overwritten.
    let error = restore_snapshot(
        stream.as_slice(),
        &KeySource::Key(MasterKey::generate()),
        &pair.root.path().join("wrong"),
        &|_| {},
    )
    .unwrap_err();
    assert!(error.to_string().contains("wrong key"), "{error}");
    let error = restore_snapshot(stream.as_slice(), &key, &dir, &|_| {}).unwrap_err();
    assert!(error.to_string().contains("not empty"), "{error}");
    // A snapshot waits for a running backup (the joiner retries).
    let backup_dir = pair.root.path().join("backups");
    std::fs::create_dir(&backup_dir).unwrap();
    let busy = std::sync::atomic::AtomicBool::new(false);
    leader
        .backup_to(&backup_dir.join("b"), &|_| {
            let refused = leader.snapshot_to(std::io::sink(), &|_| {});
            busy.store(
                matches!(refused, Err(crate::Error::Busy(_))),
                std::sync::atomic::Ordering::Relaxed,
            );
        })
        .unwrap();
    assert!(busy.load(std::sync::atomic::Ordering::Relaxed));
}

#[test]
fn registrations_and_snapshot_proofs_hold_only_under_the_same_master_key() {
    let root = tempfile::tempdir().unwrap();
    let passphrase = KeySource::Passphrase(zeroize::Zeroizing::new(
        "a long enough passphrase".to_string(),
    ));
    let store = Store::open(&root.path().join("store"), &passphrase, &Options::default()).unwrap();
    let keys = store.cluster_keys();
    let value = b"node n1 at 127.0.0.1:7379";
    let mac = keys.registration_mac(value);
    assert!(keys.registration_is_genuine(value, &mac));
    assert!(!keys.registration_is_genuine(b"node n1 at 10.6.6.6:7379", &mac));
    assert!(!keys.registration_is_genuine(value, &mac[..31]));
    // A joiner has no store: it derives the key from its passphrase and the leader's salt.
    let (salt, params) = store.passphrase_kdf().unwrap().unwrap();
    let joiner = ClusterKeys::derive(&master_key_for(&passphrase, &salt, params).unwrap());
    let challenge = b"leader n1 asks joiner n3: 0f1e2d3c";
    assert!(keys.snapshot_proof_holds(challenge, &joiner.snapshot_proof(challenge)));
    assert!(!keys.snapshot_proof_holds(b"another challenge", &joiner.snapshot_proof(challenge)));
    let stranger = ClusterKeys::derive(&MasterKey::generate());
    assert!(!keys.snapshot_proof_holds(challenge, &stranger.snapshot_proof(challenge)));
    assert!(!keys.registration_is_genuine(value, &stranger.registration_mac(value)));
    // A key-file store has no passphrase salt, and a passphrase cannot stand for its key.
    let key_file = open(&root.path().join("keyed"), &MasterKey::generate(), None);
    assert_eq!(key_file.passphrase_kdf().unwrap(), None);
    assert!(master_key_for(&passphrase, &[], crate::KdfParams::STRONG).is_err());
}

/// Whether `store`'s queries use an index of the customers' `tier` (built, not only declared).
fn tier_indexed(store: &Store) -> bool {
    store
        .catalog()
        .field(Kind::Customer, "tier")
        .is_some_and(|field| field.indexed)
}

// Guards the follower's build of an index the log turned on: it runs off the apply (later
// entries apply meanwhile), ends with the leader's indexes, and closing the follower waits
// for it (the same folder opens again at once, with the index).
#[test]
fn a_follower_builds_an_index_the_log_turned_on_and_closing_waits_for_the_build() {
    use crate::schema::{CustomType, FieldDeclaration, Value};
    let pair = Pair::new();
    let (root, log, leader) = (&pair.root, &pair.log, &pair.leader);
    let untouched = root.path().join("second");
    copy_dir(&pair.follower_dir, &untouched);
    leader
        .write(Op::DeclareField(FieldDeclaration {
            kind: Kind::Customer,
            name: "tier".into(),
            ty: CustomType::Integer,
            personal: false,
            indexed: false,
        }))
        .unwrap();
    let tier = leader.catalog().field(Kind::Customer, "tier").unwrap().id;
    let adds = (0..3000).map(|i| new_customer(&format!("c{i}@x.example")));
    let ids: Vec<u64> = leader
        .write_many(adds)
        .unwrap()
        .into_iter()
        .map(|added| added.unwrap().id())
        .collect();
    let tiers = ids.iter().map(|&id| {
        let mut patch = CustomerPatch::default();
        patch
            .custom
            .give(tier, Some(Value::Number(i64::try_from(id % 10).unwrap())));
        Op::UpdateCustomer(id, patch)
    });
    assert!(leader.write_many(tiers).unwrap().iter().all(Result::is_ok));
    leader
        .write(Op::IndexField {
            kind: Kind::Customer,
            name: "tier".into(),
            on: true,
        })
        .unwrap();
    assert!(tier_indexed(leader));
    // Writes after the index, applied while the follower may still be building it.
    for i in 0..20 {
        leader
            .write(new_customer(&format!("late{i}@x.example")))
            .unwrap();
    }
    let follower = pair.follower_on(&pair.follower_dir);
    catch_up(&follower, log);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !tier_indexed(&follower) {
        assert!(std::time::Instant::now() < deadline, "the index is built");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_same_store(leader, &follower);
    // Closed at once after catching up: the close waits for the build, and the folder opens.
    let second = pair.follower_on(&untouched);
    catch_up(&second, log);
    second.close().unwrap();
    drop(second);
    let reopened = pair.follower_on(&untouched);
    assert!(tier_indexed(&reopened));
    assert_same_store(leader, &reopened);
}
