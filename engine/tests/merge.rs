//! `CUSTOMER.MERGE` / `UNMERGE` in the engine: what moves, what comes back, the consistency
//! check after each step, the 30-day purge, and erasure of what a kept merge holds.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use crm_engine::*;

const DAY: i64 = 86_400;

fn person(
    store: &Store,
    name: &str,
    email: &str,
    phone: Option<&str>,
    address: Option<&str>,
) -> u64 {
    let new = NewCustomer::parse(name, email, phone, address, Some("2026-01-01")).unwrap();
    store.write(Op::AddCustomer(new)).unwrap().id()
}

fn order_at(store: &Store, customer_id: u64, product_id: u64, quantity: u32, at: &str) -> u64 {
    order_placed(store, customer_id, product_id, quantity, Some(at)).unwrap()
}

/// What the old-page scanner finds of customer `id` in a copy of the store's folder.
fn copies_found(
    store_dir: &std::path::Path,
    copy: &std::path::Path,
    key: &MasterKey,
    id: u64,
) -> Vec<Customer> {
    copy_dir(store_dir, copy);
    open_with(copy, key)
        .recover_customer_copies(copy, id)
        .unwrap()
}

fn order_ids(store: &Store, customer_id: u64) -> Vec<u64> {
    store
        .orders(&OrderQuery {
            scope: OrderScope::Customer(customer_id),
            since: None,
            until: None,
            after: 0,
            limit: 1000,
        })
        .unwrap()
        .iter()
        .map(|o| {
            assert_eq!(o.customer_id, customer_id);
            o.id
        })
        .collect()
}

fn merge(store: &Store, keep: u64, other: u64, at: i64) -> Result<Outcome> {
    store.write(Op::MergeCustomers { keep, other, at })
}

fn unmerge(store: &Store, other: u64, now: i64) -> Result<Outcome> {
    store.write(Op::UnmergeCustomer { other, now })
}

#[test]
fn merge_moves_orders_and_fills_fields_and_unmerge_puts_back_what_keep_still_has() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = open_with(dir.path(), &key);
    let pen = product(&store, "Pen", "2.50", 100);
    let keep = person(&store, "Ada Lovelace", "ada@x.example", None, None);
    let other = person(
        &store,
        "Ada King",
        "ada.king@x.example",
        Some("+1 555 0100"),
        Some("1 Main Street"),
    );
    let other_before = store.customer(other).unwrap().unwrap();
    let keep_order = order_at(&store, keep, pen, 1, "2026-03-01");
    let moved = [
        order_at(&store, other, pen, 2, "2026-02-01"),
        order_at(&store, other, pen, 4, "2026-04-01"),
    ];
    let counts = store.counts().unwrap();
    let t0 = 1_800_000_000;

    assert_eq!(merge(&store, keep, other, t0).unwrap(), Outcome::Done);
    store.check_consistency().unwrap();
    assert!(store.customer(other).unwrap().is_none());
    assert!(store
        .find_by_email("ada.king@x.example", 0, 10)
        .unwrap()
        .is_empty());
    assert!(store.find_by_name("King", 0, 10).unwrap().is_empty());
    let kept = store.customer(keep).unwrap().unwrap();
    assert_eq!(kept.name, "Ada Lovelace");
    assert_eq!(kept.email, "ada@x.example");
    assert_eq!(kept.phone, other_before.phone);
    assert_eq!(kept.address, other_before.address);
    assert_eq!(
        store.find_by_phone("+1 555 0100", 0, 10).unwrap()[0].id,
        keep
    );
    assert_eq!(
        order_ids(&store, keep),
        vec![keep_order, moved[0], moved[1]]
    );
    assert!(order_ids(&store, other).is_empty());
    let rollup = store.customer_rollup(keep).unwrap().unwrap();
    assert_eq!(rollup.order_count, 3);
    assert_eq!(rollup.total_cents, 250 * 7);
    assert_eq!(
        rollup.first_order,
        Some(values::parse_timestamp("created_at", "2026-02-01").unwrap())
    );
    assert!(store.customer_rollup(other).unwrap().is_none());
    assert_eq!(store.counts().unwrap().customers, counts.customers - 1);
    // The merged-away id stays taken while the merge is kept.
    let again = NewCustomer::parse("X", "x@x.example", None, None, None)
        .unwrap()
        .with_id(other);
    assert!(matches!(
        store.write(Op::AddCustomer(again)),
        Err(Error::Conflict(_))
    ));
    // Its email is free.
    let newcomer = person(&store, "New Comer", "newcomer@x.example", None, None);

    // An order after the merge stays with keep.
    let later = order_at(&store, keep, pen, 1, "2026-05-01");
    // Keep changed its address since: that one stays.
    let mut patch = CustomerPatch::default();
    patch.set(Customer::ADDRESS, "2 Other Road").unwrap();
    store.write(Op::UpdateCustomer(keep, patch)).unwrap();

    assert_eq!(
        unmerge(&store, other, t0 + 29 * DAY).unwrap(),
        Outcome::Done
    );
    store.check_consistency().unwrap();
    assert_eq!(store.customer(other).unwrap().unwrap(), other_before);
    assert_eq!(order_ids(&store, other), moved.to_vec());
    assert_eq!(order_ids(&store, keep), vec![keep_order, later]);
    let keep_after = store.customer(keep).unwrap().unwrap();
    assert_eq!(keep_after.phone, None, "the phone it took is cleared");
    assert_eq!(keep_after.address.as_deref(), Some("2 Other Road"));
    assert_eq!(
        store.find_by_phone("+1 555 0100", 0, 10).unwrap()[0].id,
        other
    );
    let back = store.customer_rollup(other).unwrap().unwrap();
    assert_eq!((back.order_count, back.total_cents), (2, 250 * 6));
    let keep_rollup = store.customer_rollup(keep).unwrap().unwrap();
    assert_eq!(keep_rollup.order_count, 2);
    assert_eq!(
        keep_rollup.first_order,
        Some(values::parse_timestamp("created_at", "2026-03-01").unwrap())
    );
    assert_eq!(store.counts().unwrap().customers, counts.customers + 1);
    // Undone once; then there is nothing to undo.
    assert!(matches!(
        unmerge(&store, other, t0 + 29 * DAY),
        Err(Error::NotFound { .. })
    ));
    let _ = newcomer;
}

#[test]
fn refusals_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    let a = customer(&store, "Ann", "ann@x.example");
    let b = customer(&store, "Bob", "bob@x.example");
    let head = store.journal_head();
    assert!(matches!(merge(&store, a, a, 0), Err(Error::Invalid { .. })));
    assert!(matches!(
        merge(&store, a, 99, 0),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        merge(&store, 99, b, 0),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(unmerge(&store, b, 0), Err(Error::NotFound { .. })));
    assert_eq!(store.journal_head(), head);

    // UNMERGE is CONFLICT when the email went to someone else meanwhile.
    merge(&store, a, b, 1_000).unwrap();
    let taker = customer(&store, "Bobby", "bob@x.example");
    let before = store.counts().unwrap();
    assert!(matches!(
        unmerge(&store, b, 2_000),
        Err(Error::EmailTaken { owner, .. }) if owner == taker
    ));
    assert_eq!(store.counts().unwrap(), before);
    assert!(store.customer(b).unwrap().is_none());
    store.write(Op::DeleteCustomer(taker)).unwrap();
    unmerge(&store, b, 2_000).unwrap();
    store.check_consistency().unwrap();
}

#[test]
fn merges_expire_after_30_days_and_the_purge_erases_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = open_with(&dir.path().join("store"), &key);
    let a = customer(&store, "Ann", "ann@x.example");
    let b = person(
        &store,
        "Zebulon Quixotic",
        "zq@x.example",
        Some("+15550001234"),
        None,
    );
    let t0 = values::now();
    merge(&store, a, b, t0 - 31 * DAY).unwrap();
    assert!(matches!(
        unmerge(&store, b, t0),
        Err(Error::NotFound { .. })
    ));
    // Past its 30 days the id is free for an explicit add... until then it is kept.
    assert_eq!(store.kept_merge_count(), 1);
    store.close().unwrap();
    drop(store);

    // Opening purges it (the merge clock is past 30 days) and destroys the key.
    let store = open_with(&dir.path().join("store"), &key);
    assert_eq!(store.kept_merge_count(), 0);
    store.check_consistency().unwrap();
    store.close().unwrap();
    drop(store);
    let found = copies_found(
        &dir.path().join("store"),
        &dir.path().join("after"),
        &key,
        b,
    );
    assert_eq!(found, Vec::<Customer>::new());
}

#[test]
fn forget_erases_kept_merges_of_either_side() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = open_with(&dir.path().join("store"), &key);
    let keep = customer(&store, "Ann", "ann@x.example");
    let other = customer(&store, "Zebulon Quixotic", "zq@x.example");
    let third = customer(&store, "Carl", "carl@x.example");
    let fourth = customer(&store, "Dora", "dora@x.example");
    let now = values::now();
    merge(&store, keep, other, now).unwrap();
    merge(&store, third, fourth, now).unwrap();
    // While a merge is kept, its customer's key lives: the scanner finds the merged-away
    // record in sled's old pages (so the checks below can fail).
    let found = copies_found(
        &dir.path().join("store"),
        &dir.path().join("before"),
        &key,
        other,
    );
    assert!(!found.is_empty(), "the scanner finds the old pages");

    // The merged-away customer may be forgotten: its kept copy goes.
    store.write(Op::ForgetCustomer(other)).unwrap();
    assert!(store.is_forgotten(other).unwrap());
    assert!(matches!(
        unmerge(&store, other, now),
        Err(Error::NotFound { .. })
    ));
    // Forgetting keep erases the merges into it.
    store.write(Op::ForgetCustomer(third)).unwrap();
    assert!(matches!(
        unmerge(&store, fourth, now),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.kept_merge_count(), 0);
    store.check_consistency().unwrap();
    store.close().unwrap();
    drop(store);
    let store_dir = dir.path().join("store");
    for (copy, id) in [("copy", other), ("copy2", fourth)] {
        let found = copies_found(&store_dir, &dir.path().join(copy), &key, id);
        assert_eq!(found, Vec::<Customer>::new(), "customer {id}");
    }
}

#[test]
fn kept_merges_travel_with_backups() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = open_with(&dir.path().join("store"), &key);
    let pen = product(&store, "Pen", "1.00", 10);
    let keep = customer(&store, "Ann", "ann@x.example");
    let other = customer(&store, "Bob", "bob@x.example");
    order(&store, other, pen, 1).unwrap();
    let now = values::now();
    merge(&store, keep, other, now).unwrap();
    let file = dir.path().join("b.crmbak");
    store.backup_to(&file, &|_| {}).unwrap();
    let restored_dir = dir.path().join("restored");
    backup::restore(&file, &KeySource::Key(key.clone()), &restored_dir).unwrap();
    let restored = open_with(&restored_dir, &key);
    assert_eq!(restored.kept_merge_count(), 1);
    unmerge(&restored, other, now).unwrap();
    assert_eq!(
        restored.customer(other).unwrap().unwrap().email,
        "bob@x.example"
    );
    assert_eq!(order_ids(&restored, other).len(), 1);
    restored.check_consistency().unwrap();
}
