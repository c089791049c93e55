//! The journal: one entry per write in the write's own step, numbered without gaps, chained,
//! holding field names and never values; refused writes append nothing; tampering is named.
//!
//! One file: every test here checks one property of one structure, the journal, through the
//! same helpers; splitting it would split those helpers.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use crm_engine::journal::{Entry, FeedRange, JournalFilter, JournalOp};
use crm_engine::*;

fn all(store: &Store) -> Vec<Entry> {
    store
        .journal(&JournalFilter {
            after: 0,
            user: None,
            kind: None,
            id: None,
            limit: usize::MAX,
        })
        .unwrap()
}

/// An entry as (seq, user, op, kind, id, name, fields).
type Summary<'a> = (
    u64,
    Option<&'a str>,
    &'a str,
    String,
    Option<u64>,
    Option<&'a str>,
    Vec<&'a str>,
);

fn summary(entry: &Entry) -> Summary<'_> {
    (
        entry.seq,
        entry.user.as_deref(),
        entry.op.as_str(),
        entry.kind.to_string(),
        entry.id,
        entry.name.as_deref(),
        entry.fields.iter().map(String::as_str).collect(),
    )
}

fn user(name: &str) -> User {
    User {
        name: name.into(),
        role: Role::Writer,
        password_hash: "$argon2id$x".into(),
        masked: false,
    }
}

#[test]
fn every_write_appends_its_entry_with_the_names_of_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    let by = |name: &str| Some(name.to_string());
    store.write(Op::BootstrapAdmin(user("admin"))).unwrap();
    let ada =
        NewCustomer::parse("Ada", "ada@example.com", Some("+44 555 0100"), None, None).unwrap();
    store.write(Op::AddCustomer(ada).by(by("admin"))).unwrap();
    let bob = NewCustomer::parse(
        "Bob",
        "bob@example.com",
        Some(""),
        Some("1 Road"),
        Some("2026-01-02"),
    )
    .unwrap()
    .with_id(9);
    store.write(Op::AddCustomer(bob).by(by("ops"))).unwrap();
    // Refused: the email is taken. Nothing is appended, no number is used.
    let taken = NewCustomer::parse("Eve", "ada@example.com", None, None, None).unwrap();
    assert!(store.write(Op::AddCustomer(taken).by(by("ops"))).is_err());
    let mut patch = CustomerPatch::default();
    patch.set(Customer::EMAIL, "ada@lovelace.org").unwrap();
    patch.set(Customer::NAME, "Ada").unwrap();
    store
        .write(Op::UpdateCustomer(1, patch).by(by("ops")))
        .unwrap();
    // An update that changes nothing still appends an entry, with no fields.
    let mut same = CustomerPatch::default();
    same.set(Customer::NAME, "Ada").unwrap();
    store
        .write(Op::UpdateCustomer(1, same).by(by("ops")))
        .unwrap();
    let pen = NewProduct::parse("Pen", "1.50", None).unwrap();
    store.write(Op::AddProduct(pen).by(by("admin"))).unwrap();
    let ink = NewProduct::parse("Ink", "2.00", Some("5"))
        .unwrap()
        .with_id(7);
    store.write(Op::AddProduct(ink).by(by("admin"))).unwrap();
    let mut price = ProductPatch::default();
    price.set(Product::PRICE, "2.50").unwrap();
    price.set(Product::STOCK, "5").unwrap();
    store
        .write(Op::UpdateProduct(7, price).by(by("admin")))
        .unwrap();
    let order = NewOrder {
        id: None,
        customer_id: 1,
        product_id: 7,
        quantity: 2,
        created_at: None,
        take_stock: true,
    };
    store.write(Op::AddOrder(order).by(by("ops"))).unwrap();
    let historical = NewOrder {
        id: Some(40),
        customer_id: 9,
        product_id: 1,
        quantity: 1,
        created_at: Some(1_700_000_000),
        take_stock: false,
    };
    store.write(Op::AddOrder(historical).by(by("ops"))).unwrap();
    store.write(Op::DeleteOrder(1).by(by("ops"))).unwrap();
    store
        .write(
            Op::AddUser(User {
                masked: true,
                ..user("zed")
            })
            .by(by("admin")),
        )
        .unwrap();
    store
        .write(
            Op::SetPassword {
                name: "zed".into(),
                password_hash: "$argon2id$y".into(),
            }
            .by(by("admin")),
        )
        .unwrap();
    store
        .write(
            Op::SetMasked {
                name: "zed".into(),
                masked: false,
            }
            .by(by("admin")),
        )
        .unwrap();
    store
        .write(Op::DeleteUser("zed".into()).by(by("admin")))
        .unwrap();
    store
        .write(
            Op::RecordBackup {
                name: "nightly".into(),
            }
            .by(by("admin")),
        )
        .unwrap();
    store
        .write(Op::DeleteProduct(1).by(by("admin")))
        .unwrap_err();
    let entries = all(&store);
    let got: Vec<_> = entries.iter().map(summary).collect();
    assert_eq!(
        got,
        vec![
            (
                1,
                None,
                "add",
                "user".into(),
                None,
                Some("admin"),
                vec!["password", "role"]
            ),
            (
                2,
                Some("admin"),
                "add",
                "customer".into(),
                Some(1),
                None,
                vec!["name", "email", "phone"]
            ),
            (
                3,
                Some("ops"),
                "add",
                "customer".into(),
                Some(9),
                None,
                vec!["name", "email", "address", "created_at", "id"]
            ),
            (
                4,
                Some("ops"),
                "update",
                "customer".into(),
                Some(1),
                None,
                vec!["email"]
            ),
            (
                5,
                Some("ops"),
                "update",
                "customer".into(),
                Some(1),
                None,
                vec![]
            ),
            (
                6,
                Some("admin"),
                "add",
                "product".into(),
                Some(1),
                None,
                vec!["name", "price"]
            ),
            (
                7,
                Some("admin"),
                "add",
                "product".into(),
                Some(7),
                None,
                vec!["name", "price", "stock", "id"]
            ),
            (
                8,
                Some("admin"),
                "update",
                "product".into(),
                Some(7),
                None,
                vec!["price"]
            ),
            (
                9,
                Some("ops"),
                "add",
                "order".into(),
                Some(1),
                None,
                vec!["customer_id", "product_id", "quantity"]
            ),
            (
                10,
                Some("ops"),
                "add",
                "order".into(),
                Some(40),
                None,
                vec!["customer_id", "product_id", "quantity", "created_at", "id"]
            ),
            (
                11,
                Some("ops"),
                "delete",
                "order".into(),
                Some(1),
                None,
                vec![]
            ),
            (
                12,
                Some("admin"),
                "add",
                "user".into(),
                None,
                Some("zed"),
                vec!["password", "role", "masked"]
            ),
            (
                13,
                Some("admin"),
                "update",
                "user".into(),
                None,
                Some("zed"),
                vec!["password"]
            ),
            (
                14,
                Some("admin"),
                "update",
                "user".into(),
                None,
                Some("zed"),
                vec!["masked"]
            ),
            (
                15,
                Some("admin"),
                "delete",
                "user".into(),
                None,
                Some("zed"),
                vec![]
            ),
            (
                16,
                Some("admin"),
                "add",
                "backup".into(),
                None,
                Some("nightly"),
                vec![]
            ),
        ]
    );
    let summary = store.verify_journal().unwrap();
    assert_eq!(summary.entries, 16);
    assert_eq!(store.journal_head().seq, 16);
    assert_eq!(store.journal_head().hash, entries[15].hash);
    // The change feed: customers, products and orders only.
    assert_eq!(store.feed_len(), 10);
    let feed = store
        .feed(&FeedRange {
            first: 0,
            last: u64::MAX,
            count: usize::MAX,
            reverse: false,
        })
        .unwrap();
    assert_eq!(
        feed.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    );
    let newest = store
        .feed(&FeedRange {
            first: 4,
            last: 9,
            count: 2,
            reverse: true,
        })
        .unwrap();
    assert_eq!(newest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![9, 8]);
    // Filters: by record (through the index), by author, by kind.
    let filter = |user: Option<&str>, kind: Option<Kind>, id: Option<u64>| {
        store
            .journal(&JournalFilter {
                after: 0,
                user: user.map(str::to_string),
                kind,
                id,
                limit: 100,
            })
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>()
    };
    assert_eq!(filter(None, Some(Kind::Customer), Some(1)), vec![2, 4, 5]);
    assert_eq!(filter(None, None, Some(1)), vec![2, 4, 5, 6, 9, 11]);
    assert_eq!(filter(Some("ops"), None, Some(1)), vec![4, 5, 9, 11]);
    assert_eq!(filter(None, Some(Kind::Backup), None), vec![16]);
    assert_eq!(filter(Some("nobody"), None, None), Vec::<u64>::new());
    store.check_consistency().unwrap();
}

#[test]
fn numbers_continue_across_reopens_and_backups_carry_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    {
        let store = open_with(&dir.path().join("data"), &key);
        customer(&store, "Ada", "ada@example.com");
        store.close().unwrap();
    }
    let store = open_with(&dir.path().join("data"), &key);
    customer(&store, "Bob", "bob@example.com");
    assert_eq!(
        all(&store).iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let backup = dir.path().join("j.crmbak");
    store.backup_to(&backup, &|_| {}).unwrap();
    let restored = dir.path().join("restored");
    backup::restore(&backup, &KeySource::Key(key.clone()), &restored).unwrap();
    let copy = open_with(&restored, &key);
    assert_eq!(all(&copy), all(&store));
    copy.verify_journal().unwrap();
    assert_eq!(copy.journal_head(), store.journal_head());
    customer(&copy, "Cy", "cy@example.com");
    assert_eq!(copy.journal_head().seq, 3);
}

#[test]
fn many_writes_in_one_group_are_one_page_and_each_gets_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    let ops: Vec<Op> = (0..500)
        .map(|i| {
            Op::AddCustomer(
                NewCustomer::parse("Many", &format!("m{i}@x.io"), None, None, None).unwrap(),
            )
        })
        .chain(std::iter::once(Op::AddCustomer(
            NewCustomer::parse("Dup", "m3@x.io", None, None, None).unwrap(),
        )))
        .collect();
    let results = store.write_many(ops).unwrap();
    assert!(results[500].is_err());
    let entries = all(&store);
    assert_eq!(entries.len(), 500);
    assert!(entries
        .iter()
        .enumerate()
        .all(|(i, e)| e.seq == i as u64 + 1));
    store.verify_journal().unwrap();
    store.check_consistency().unwrap();
}

/// `AUDIT.VERIFY` names the first bad entry when the journal is edited by someone holding the
/// keys: an entry dropped, two swapped, one changed.
#[test]
fn verification_names_the_first_bad_entry() {
    let setup = || {
        let dir = tempfile::tempdir().unwrap();
        let store = open_with(dir.path(), &MasterKey::generate());
        for i in 0..6 {
            customer(&store, "Ver", &format!("v{i}@x.io"));
        }
        store.verify_journal().unwrap();
        (dir, store)
    };
    let (_d, store) = setup();
    store
        .edit_journal_pages_for_tests(|_, entries| entries.retain(|e| e.seq != 3))
        .unwrap();
    assert_eq!(
        store.verify_journal().unwrap_err().to_string(),
        "journal entry 3: missing (entry 4 found in its place)"
    );
    let (_d, store) = setup();
    store
        .edit_journal_pages_for_tests(|first, entries| {
            // Entries 4 and 5 trade places, renumbered so the numbering alone looks right.
            if first == 4 || first == 5 {
                let other = if first == 4 { 5 } else { 4 };
                for entry in entries.iter_mut() {
                    entry.seq = other;
                }
            }
        })
        .unwrap();
    assert_eq!(
        store.verify_journal().unwrap_err().to_string(),
        "journal entry 4: missing or out of order (entry 5 found in its place)"
    );
    let (_d, store) = setup();
    store
        .edit_journal_pages_for_tests(|_, entries| {
            for entry in entries.iter_mut().filter(|e| e.seq == 2) {
                entry.op = JournalOp::Delete;
            }
        })
        .unwrap();
    assert_eq!(
        store.verify_journal().unwrap_err().to_string(),
        "journal entry 2: its hash does not match the chain"
    );
    // Changing a later entry and re-chaining from it on is still caught at that entry: the
    // key is needed, and it is the store's own.
    let (_d, store) = setup();
    store
        .edit_journal_pages_for_tests(|_, entries| {
            for entry in entries.iter_mut().filter(|e| e.seq == 6) {
                entry.fields.push("phone".into());
            }
        })
        .unwrap();
    assert_eq!(
        store.verify_journal().unwrap_err().to_string(),
        "journal entry 6: its hash does not match the chain"
    );
}

#[test]
fn the_feed_from_memory_matches_the_feed_from_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = open_with(dir.path(), &key);
    let pen = product(&store, "Pen", "1.00", 1_000);
    // Groups of several writes (one page each) and single ones, with users (not in the feed).
    for round in 0..30u64 {
        let c = customer(&store, "Ann", &format!("ann{round}@x.example"));
        store
            .write_many((0..(round % 4)).map(|_| {
                Op::AddOrder(NewOrder {
                    id: None,
                    customer_id: c,
                    product_id: pen,
                    quantity: 1,
                    created_at: None,
                    take_stock: false,
                })
            }))
            .unwrap();
        if round % 7 == 0 {
            store
                .write(Op::AddUser(user(&format!("u{round}"))))
                .unwrap();
        }
    }
    let head = store.journal_head().seq;
    let mut answered_from_memory = 0;
    for first in [1, 2, head / 2, head - 20, head - 3, head, head + 1] {
        for count in [1, 2, 5, usize::MAX] {
            let range = FeedRange {
                first,
                last: u64::MAX,
                count,
                reverse: false,
            };
            if let Some(recent) = store.feed_recent(&range) {
                answered_from_memory += 1;
                let seqs = |entries: &[Entry]| entries.iter().map(|e| e.seq).collect::<Vec<_>>();
                assert_eq!(
                    seqs(&recent),
                    seqs(&store.feed(&range).unwrap()),
                    "{first} {count}"
                );
            }
        }
    }
    assert!(
        answered_from_memory >= 12,
        "the recent pages answered {answered_from_memory}"
    );
    // After a reopen nothing is in memory: the tree answers.
    store.close().unwrap();
    drop(store);
    let store = open_with(dir.path(), &key);
    let range = FeedRange {
        first: head,
        last: u64::MAX,
        count: 10,
        reverse: false,
    };
    assert!(store.feed_recent(&range).is_none());
}
