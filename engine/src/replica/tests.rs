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
            patch.set(CustomerField::Name, "Grace Hopper").unwrap();
            if rng.gen_bool(0.5) {
                patch.set(CustomerField::Email, &email).unwrap();
            }
            if rng.gen_bool(0.5) {
                patch.set(CustomerField::Phone, "").unwrap();
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
    for space in crate::trees::DERIVED {
        assert_eq!(
            leader.shared.derived.prefix(&[space as u8]).unwrap(),
            follower.shared.derived.prefix(&[space as u8]).unwrap(),
            "derived index {space:?}"
        );
    }
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
        Err(crate::Error::Invalid {
            field: "durability",
            ..
        })
    ));
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
