//! Upgrade in place: stores and backups written by older builds open with this build, and
//! every record, index lookup and statistic equals a store made with this build by the same
//! steps. A SIGKILL during the upgrade leaves a store that opens.
//!
//! * `fixtures/layout1/`: the 2026-11 build (layout 1, backup format 1), made by
//!   `make_layout1.rs.txt` in a checkout of that build;
//! * `fixtures/layout3/`: build 532d013, the last of layout 3 (backup format 2), which kept
//!   the order and journal indexes in the tree; made by `make_layout3.rs.txt`;
//! * `fixtures/layout4/`: build ebc0aee, the last of layout 4 (backup format 2), which kept
//!   the customer and product rollups in the tree; made by `make_layout4.rs.txt`;
//! * `fixtures/layout5/`: build fd05da5, the last of layout 5 (backup format 2), which gave
//!   every order an entry of its own; made by `make_layout5.rs.txt`;
//! * `fixtures/layout6/`: build 95e73f9, the last of layout 6 (backup format 2), whose writes
//!   were durable through sled's own flush (no redo log); made by `make_layout6.rs.txt`.
//!
//! One file: every test opens the same fixtures through the same comparison (`reference`
//! and `assert_same`), which is the point of the file.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

mod common;
use common::copy_dir;
use crm_engine::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const CHILD_DIR: &str = "CRM_UPGRADE_CHILD_DIR";

/// A copy of one layout's fixtures to work on (the upgrade rewrites the store).
fn fixtures(layout: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(FIXTURES).join(format!("layout{layout}")),
        dir.path(),
    );
    let root = dir.path().to_path_buf();
    (dir, root)
}

/// The same steps as the fixture's maker, with this build.
fn reference(dir: &Path) -> Store {
    let store = Store::open(
        &dir.join("reference"),
        &KeySource::Key(MasterKey::generate()),
        &Options::default(),
    )
    .unwrap();
    demo::generate(11, 60, 12, 400).load_into(&store).unwrap();
    for (name, role) in [
        ("admin", Role::Admin),
        ("Zoë-ops", Role::Writer),
        ("ana", Role::Analyst),
    ] {
        store
            .write(Op::AddUser(User {
                name: name.into(),
                role,
                password_hash: format!("$argon2id$fixture-{name}"),
                masked: false,
            }))
            .unwrap();
    }
    store.write(Op::DeleteOrder(5)).unwrap();
    store.write(Op::DeleteOrder(400)).unwrap();
    let new = NewCustomer::parse("Gone Soon", "gone@example.com", None, None, None).unwrap();
    let id = store.write(Op::AddCustomer(new)).unwrap().id();
    store.write(Op::DeleteCustomer(id)).unwrap();
    store
}

/// Every record, every lookup, every statistic of `got` equals `expected`'s.
fn assert_same(got: &Store, expected: &Store) {
    let all = usize::MAX;
    let customers = expected.customers(0, all).unwrap();
    assert_eq!(got.customers(0, all).unwrap(), customers);
    assert_eq!(
        got.products(0, all).unwrap(),
        expected.products(0, all).unwrap()
    );
    let every_order = OrderQuery {
        scope: OrderScope::All,
        since: None,
        until: None,
        after: 0,
        limit: all,
    };
    assert_eq!(
        got.orders(&every_order).unwrap(),
        expected.orders(&every_order).unwrap()
    );
    assert_eq!(got.users().unwrap(), expected.users().unwrap());
    assert_eq!(
        got.user("Zoë-ops").unwrap().unwrap().role,
        Role::Writer,
        "users are found by name under their new blind keys"
    );
    assert_eq!(got.counts().unwrap(), expected.counts().unwrap());
    for kind in [Kind::Customer, Kind::Product, Kind::Order] {
        assert_eq!(
            got.high_water(kind).unwrap(),
            expected.high_water(kind).unwrap()
        );
    }
    for customer in &customers {
        assert_eq!(
            got.find_by_email(&customer.email, 0, all).unwrap(),
            expected.find_by_email(&customer.email, 0, all).unwrap()
        );
        if let Some(phone) = &customer.phone {
            assert_eq!(
                got.find_by_phone(phone, 0, all).unwrap(),
                expected.find_by_phone(phone, 0, all).unwrap()
            );
        }
        for word in values::name_words(&customer.name) {
            assert_eq!(
                got.find_by_name(&word, 0, all).unwrap(),
                expected.find_by_name(&word, 0, all).unwrap()
            );
        }
        let by_customer = OrderQuery {
            scope: OrderScope::Customer(customer.id),
            ..every_order
        };
        assert_eq!(
            got.orders(&by_customer).unwrap(),
            expected.orders(&by_customer).unwrap()
        );
        assert_eq!(
            got.customer_rollup(customer.id).unwrap(),
            expected.customer_rollup(customer.id).unwrap()
        );
    }
    assert_eq!(
        got.product_rollups().unwrap(),
        expected.product_rollups().unwrap()
    );
    let at = 1_800_000_000;
    assert_eq!(
        stats::rfm(got, at).unwrap(),
        stats::rfm(expected, at).unwrap()
    );
    assert_eq!(
        stats::monthly(got, None, None).unwrap(),
        stats::monthly(expected, None, None).unwrap()
    );
    assert_eq!(
        stats::products(got, 100).unwrap(),
        stats::products(expected, 100).unwrap()
    );
    assert_eq!(
        stats::customer_table(got, stats::CustomerOrder::Total, 100).unwrap(),
        stats::customer_table(expected, stats::CustomerOrder::Total, 100).unwrap()
    );
    got.check_consistency().unwrap();
}

fn fixture_key(root: &Path) -> KeySource {
    KeySource::File(root.join("key"))
}

/// Opens the copy of a `layout` store: it is upgraded step by step, reporting its progress,
/// equals the reference, writes on, and a reopen has nothing left to upgrade.
fn upgrades_on_open(layout: u64) -> Vec<UpgradeProgress> {
    let (_dir, root) = fixtures(layout);
    let expected = reference(&root);
    let progress = std::sync::Mutex::new(Vec::new());
    let store = Store::open_reporting(
        &root.join("store"),
        &fixture_key(&root),
        &Options::default(),
        &|p| progress.lock().unwrap().push(p),
    )
    .unwrap();
    let seen = progress.into_inner().unwrap();
    // Layout 8 re-encodes every customer, product and kept merge first (after the steps to
    // layout 3); the other steps' reports follow it.
    let records = raw_entries_of_fixture(layout, &[b"c", b"p", b"M"]);
    assert!(
        seen.iter()
            .any(|p| (p.to, p.done, p.total) == (8, records, records)),
        "every record re-encoded with its values tagged: {seen:?}"
    );
    let last = *seen.last().expect("the upgrade reported its progress");
    assert_eq!(
        (last.to, last.done),
        (CURRENT_LAYOUT, last.total),
        "the last step ends at the current layout, done"
    );
    assert_eq!(
        seen[0].from, layout,
        "the first step starts at the store's layout"
    );
    let seen: Vec<UpgradeProgress> = seen
        .into_iter()
        .filter(|p| !(p.to == 8 && p.total == records))
        .collect();
    assert_same(&store, &expected);
    // The journal reads as written, older pages beside packed ones, and its chain holds across
    // them (the write below appends a packed page to it).
    if layout >= 3 {
        assert_eq!(journal_shape(&store), journal_shape(&expected));
    }
    store.verify_journal().unwrap();
    // It writes on as any store: the next ids follow the old high-water marks.
    let new = NewCustomer::parse("After", "after@example.com", None, None, None).unwrap();
    assert_eq!(store.write(Op::AddCustomer(new)).unwrap().id(), 62);
    store.close().unwrap();
    drop(store);
    assert_eq!(raw_layout(&root.join("store")), CURRENT_LAYOUT);
    assert_eq!(
        raw_entries_in_memory_only_spaces(&root.join("store")),
        0,
        "the blind, order and journal indexes and the rollups are no longer in the tree"
    );
    assert_orders_packed(&root.join("store"), 398);
    // Reopening finds the current layout: nothing more to upgrade.
    let reports = std::sync::Mutex::new(0);
    let reopened = Store::open_reporting(
        &root.join("store"),
        &fixture_key(&root),
        &Options::default(),
        &|_| *reports.lock().unwrap() += 1,
    )
    .unwrap();
    assert_eq!(*reports.lock().unwrap(), 0);
    assert_eq!(reopened.customer(62).unwrap().unwrap().name, "After");
    let by_customer = OrderQuery {
        scope: OrderScope::Customer(1),
        since: None,
        until: None,
        after: 0,
        limit: usize::MAX,
    };
    assert_eq!(
        reopened.orders(&by_customer).unwrap(),
        expected.orders(&by_customer).unwrap(),
        "the indexes are rebuilt at every open"
    );
    reopened.check_consistency().unwrap();
    reopened.verify_journal().unwrap();
    seen
}

/// An entry's number, operation, kind, record and fields.
type EntryShape = (u64, String, Kind, Option<u64>, Vec<String>);

/// What every journal entry says, less what differs between two stores made alike (times and
/// hashes).
fn journal_shape(store: &Store) -> Vec<EntryShape> {
    let all = journal::JournalFilter {
        limit: usize::MAX,
        ..Default::default()
    };
    store
        .journal(&all)
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.op.as_str().to_string(), e.kind, e.id, e.fields))
        .collect()
}

#[test]
fn a_layout_1_store_is_upgraded_on_open_and_equals_a_store_made_today() {
    let seen = upgrades_on_open(1);
    // Step by step: 1 → 2 (envelope), 2 → 3 (a key per customer), then the sweep of what
    // layout 5 keeps in memory (indexes and rollups).
    assert_eq!((seen[0].from, seen[0].to), (1, 2));
    assert!(seen.iter().any(|p| (p.from, p.to, p.done) == (2, 3, 60)));
    assert!(seen.iter().any(|p| (p.from, p.to) == (3, CURRENT_LAYOUT)));
}

#[test]
fn a_layout_3_store_is_upgraded_on_open_and_equals_a_store_made_today() {
    let seen = upgrades_on_open(3);
    assert!(seen.iter().all(|p| (p.from, p.to) == (3, CURRENT_LAYOUT)));
    // The old index entries: three per live order and the journal's index.
    assert!(seen[0].total > 3 * 398, "{:?}", seen[0]);
}

#[test]
fn a_layout_5_store_is_upgraded_on_open_and_equals_a_store_made_today() {
    let loose_before = raw_order_entries(&fixtures(5).1.join("store"));
    assert_eq!(
        loose_before,
        (398, 0),
        "layout 5: an entry per order, no page"
    );
    let blind = raw_entries_of_fixture(5, BLIND);
    let seen = upgrades_on_open(5);
    assert!(seen.iter().all(|p| (p.from, p.to) == (5, CURRENT_LAYOUT)));
    // The blind index entries leave the tree, then every loose order is folded into its page.
    assert_eq!(seen[0].total, blind, "{:?}", seen[0]);
    assert!(seen.iter().any(|p| p.total == 398), "{seen:?}");
}

#[test]
fn a_layout_6_store_is_upgraded_on_open_and_equals_a_store_made_today() {
    let (_dir, root) = fixtures(6);
    assert!(!root.join("store").join("redo").exists());
    let (loose, pages) = raw_order_entries(&root.join("store"));
    assert_eq!(loose, 0, "layout 6: orders in pages");
    assert!(pages > 0);
    let blind = raw_entries_of_fixture(6, BLIND);
    assert!(
        blind > 3 * 60,
        "an email, a name word or two, a phone per customer"
    );
    let seen = upgrades_on_open(6);
    assert!(seen.iter().all(|p| (p.from, p.to) == (6, CURRENT_LAYOUT)));
    // The blind index entries leave the tree (layout 7 keeps them in memory); no order moves.
    assert_eq!(seen[0].total, blind, "{:?}", seen[0]);
    assert!(
        seen.iter().all(|p| p.total == blind || p.total == 0),
        "{seen:?}"
    );
}

#[test]
fn a_layout_7_store_is_upgraded_on_open_and_equals_a_store_made_today() {
    let (_dir, root) = fixtures(7);
    assert!(
        raw_entries_of_fixture(7, BLIND) == 0,
        "layout 7 keeps no index entry in the tree"
    );
    // Only the records are rewritten (layout 8: tagged values); nothing is swept, and the
    // packing step finds no loose order.
    let seen = upgrades_on_open(7);
    assert!(seen.iter().all(|p| p.total == 0), "{seen:?}");
    drop(root);
}

#[test]
fn a_layout_4_store_is_upgraded_on_open_and_equals_a_store_made_today() {
    let seen = upgrades_on_open(4);
    assert!(seen.iter().all(|p| (p.from, p.to) == (4, CURRENT_LAYOUT)));
    // The old rollups (one per customer with orders and one per product with orders) and the
    // blind index entries.
    let rollups = raw_entries_of_fixture(4, &[b"R", b"Q"]);
    assert!(rollups > 12, "{rollups}");
    assert_eq!(
        seen[0].total,
        rollups + raw_entries_of_fixture(4, BLIND),
        "{:?}",
        seen[0]
    );
}

/// The layout version as stored, read with sled directly.
fn raw_layout(store_dir: &Path) -> u64 {
    let db = common::raw_sled(store_dir);
    let tree = db.open_tree(b"crm").unwrap();
    let value = tree.get(b"mlayout_version").unwrap().unwrap();
    u64::from_be_bytes(value.as_ref().try_into().unwrap())
}

/// The blind indexes' key spaces (email, phone, name words): in memory since layout 7.
const BLIND: &[&[u8; 1]] = &[b"e", b"f", b"n"];

/// Entries in the key spaces layout 7 keeps in memory (the blind indexes; orders by customer,
/// product and time; the journal's index; the customer and product rollups), read with sled
/// directly.
fn raw_entries_in_memory_only_spaces(store_dir: &Path) -> usize {
    let db = common::raw_sled(store_dir);
    let tree = db.open_tree(b"crm").unwrap();
    [b"e", b"f", b"n", b"C", b"P", b"T", b"j", b"R", b"Q"]
        .iter()
        .map(|prefix| tree.scan_prefix(prefix).count())
        .sum()
}

/// The entries under `o` read with sled directly: (loose orders, pages). A page is an entry
/// whose value starts with the page tag, 0xB0 (`pages.rs`).
fn raw_order_entries(store_dir: &Path) -> (usize, usize) {
    let db = common::raw_sled(store_dir);
    let tree = db.open_tree(b"crm").unwrap();
    let mut counts = (0, 0);
    for entry in tree.scan_prefix(b"o") {
        let (_, value) = entry.unwrap();
        if value.first() == Some(&0xB0) {
            counts.1 += 1;
        } else {
            counts.0 += 1;
        }
    }
    counts
}

/// No order has an entry of its own, and `orders` orders (ids up to 400) fill pages of 32.
fn assert_orders_packed(store_dir: &Path, orders: usize) {
    let (loose, pages) = raw_order_entries(store_dir);
    assert_eq!(loose, 0, "every order is in a page");
    assert!(
        pages > 0 && pages <= orders.div_ceil(32) + 1,
        "{pages} pages"
    );
}

/// The entries under `prefixes` a fixture's store holds, read with sled directly.
fn raw_entries_of_fixture(layout: u64, prefixes: &[&[u8; 1]]) -> u64 {
    let (_dir, root) = fixtures(layout);
    let db = common::raw_sled(&root.join("store"));
    let tree = db.open_tree(b"crm").unwrap();
    prefixes
        .iter()
        .map(|prefix| tree.scan_prefix(prefix).count() as u64)
        .sum()
}

fn wrong_key_leaves_the_store_untouched(layout: u64) {
    let (_dir, root) = fixtures(layout);
    let before = raw_entries_in_memory_only_spaces(&root.join("store"));
    let orders_before = raw_order_entries(&root.join("store"));
    let wrong = Store::open(
        &root.join("store"),
        &KeySource::Key(MasterKey::generate()),
        &Options::default(),
    );
    assert!(matches!(wrong.err().unwrap(), Error::WrongKey));
    assert_eq!(raw_layout(&root.join("store")), layout);
    assert_eq!(
        raw_entries_in_memory_only_spaces(&root.join("store")),
        before
    );
    assert_eq!(raw_order_entries(&root.join("store")), orders_before);
    let expected = reference(&root);
    let store = Store::open(
        &root.join("store"),
        &fixture_key(&root),
        &Options::default(),
    )
    .unwrap();
    assert_same(&store, &expected);
}

#[test]
fn a_wrong_key_leaves_the_layout_1_store_untouched() {
    wrong_key_leaves_the_store_untouched(1);
}

#[test]
fn a_wrong_key_leaves_the_layout_3_store_untouched() {
    wrong_key_leaves_the_store_untouched(3);
}

#[test]
fn a_wrong_key_leaves_the_layout_4_store_untouched() {
    wrong_key_leaves_the_store_untouched(4);
}

#[test]
fn a_wrong_key_leaves_the_layout_5_store_untouched() {
    wrong_key_leaves_the_store_untouched(5);
}

#[test]
fn a_wrong_key_leaves_the_layout_6_store_untouched() {
    wrong_key_leaves_the_store_untouched(6);
}

#[test]
fn a_wrong_key_leaves_the_layout_7_store_untouched() {
    wrong_key_leaves_the_store_untouched(7);
}

fn passphrase_store_opens(layout: u64, passphrase: &str) {
    let (_dir, root) = fixtures(layout);
    let phrase = KeySource::Passphrase(zeroize::Zeroizing::new(passphrase.into()));
    let store = Store::open(&root.join("passphrase-store"), &phrase, &Options::default()).unwrap();
    let found = store.find_by_phone("+445550100", 0, 10).unwrap();
    assert_eq!(found[0].email, "ada@example.com");
    store.close().unwrap();
    drop(store);
    let wrong = KeySource::Passphrase(zeroize::Zeroizing::new(
        "not the fixture passphrase at all".into(),
    ));
    assert!(matches!(
        Store::open(&root.join("passphrase-store"), &wrong, &Options::default())
            .err()
            .unwrap(),
        Error::WrongKey
    ));
}

#[test]
fn a_layout_1_passphrase_store_opens_with_its_passphrase_and_the_legacy_cost() {
    passphrase_store_opens(1, "fixture passphrase, layout one");
}

#[test]
fn a_layout_3_passphrase_store_opens_with_its_passphrase() {
    passphrase_store_opens(3, "fixture passphrase, layout three");
}

#[test]
fn a_layout_4_passphrase_store_opens_with_its_passphrase() {
    passphrase_store_opens(4, "fixture passphrase, layout four");
}

#[test]
fn a_layout_5_passphrase_store_opens_with_its_passphrase() {
    passphrase_store_opens(5, "fixture passphrase, layout five");
}

#[test]
fn a_layout_6_passphrase_store_opens_with_its_passphrase() {
    passphrase_store_opens(6, "fixture passphrase, layout six");
}

#[test]
fn a_layout_7_passphrase_store_opens_with_its_passphrase() {
    passphrase_store_opens(7, "fixture passphrase, layout seven");
}

fn old_backup_restores(layout: u64, format_version: u16) {
    let (_dir, root) = fixtures(layout);
    let expected = reference(&root);
    let target = root.join("restored");
    let info = backup::restore(&root.join("store.crmbak"), &fixture_key(&root), &target).unwrap();
    assert_eq!(info.header.format_version, format_version);
    let restored = Store::open(&target, &fixture_key(&root), &Options::default()).unwrap();
    assert_same(&restored, &expected);
    restored.close().unwrap();
    drop(restored);
    assert_eq!(raw_entries_in_memory_only_spaces(&target), 0);
    assert_orders_packed(&target, 398);
}

#[test]
fn a_format_1_backup_of_a_layout_1_store_restores() {
    old_backup_restores(1, 1);
}

#[test]
fn a_format_2_backup_of_a_layout_3_store_restores() {
    old_backup_restores(3, 2);
}

#[test]
fn a_format_2_backup_of_a_layout_5_store_restores() {
    old_backup_restores(5, 2);
}

#[test]
fn a_format_2_backup_of_a_layout_4_store_restores() {
    old_backup_restores(4, 2);
}

#[test]
fn a_format_2_backup_of_a_layout_6_store_restores() {
    old_backup_restores(6, 2);
}

#[test]
fn a_format_2_backup_of_a_layout_7_store_restores() {
    old_backup_restores(7, 2);
}

/// The child: upgrades the store it is pointed at (run by the crash test below).
#[test]
#[ignore = "run by the sigkill tests below as a child process"]
fn upgrade_child() {
    let Ok(root) = std::env::var(CHILD_DIR) else {
        return;
    };
    let root = PathBuf::from(root);
    let store = Store::open(
        &root.join("store"),
        &fixture_key(&root),
        &Options::default(),
    )
    .unwrap();
    store.close().unwrap();
    println!("upgraded");
}

fn sigkill_during_the_upgrade(layout: u64) {
    let binary = std::env::current_exe().unwrap();
    for delay_ms in [0u64, 2, 5, 10, 20, 40] {
        let (_dir, root) = fixtures(layout);
        let mut child = Command::new(&binary)
            .args(["--ignored", "--exact", "upgrade_child", "--nocapture"])
            .env(CHILD_DIR, &root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let store = Store::open(
            &root.join("store"),
            &fixture_key(&root),
            &Options::default(),
        )
        .unwrap_or_else(|e| panic!("after a kill at {delay_ms} ms: {e}"));
        store.check_consistency().unwrap();
        assert_eq!(store.counts().unwrap().customers, 60);
        assert_eq!(store.users().unwrap().len(), 3);
        let expected = reference(&root);
        assert_same(&store, &expected);
        store.close().unwrap();
        drop(store);
        assert_eq!(raw_entries_in_memory_only_spaces(&root.join("store")), 0);
        assert_orders_packed(&root.join("store"), 398);
    }
}

#[test]
fn a_sigkill_during_the_upgrade_leaves_a_store_that_opens() {
    sigkill_during_the_upgrade(1);
}

#[test]
fn a_sigkill_during_the_layout_3_upgrade_leaves_a_store_that_opens() {
    sigkill_during_the_upgrade(3);
}

#[test]
fn a_sigkill_during_the_layout_4_upgrade_leaves_a_store_that_opens() {
    sigkill_during_the_upgrade(4);
}

#[test]
fn a_sigkill_during_the_layout_5_upgrade_leaves_a_store_that_opens() {
    sigkill_during_the_upgrade(5);
}

#[test]
fn a_sigkill_during_the_layout_6_upgrade_leaves_a_store_that_opens() {
    sigkill_during_the_upgrade(6);
}

#[test]
fn a_sigkill_during_the_layout_7_upgrade_leaves_a_store_that_opens() {
    sigkill_during_the_upgrade(7);
}
