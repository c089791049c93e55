//! Customer, product and order operations, with their integrity rules.
//!
//! One file: the three kinds' rules refer to each other (references, stock, "has orders"),
//! and the tests share their fixtures.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use crm_engine::*;

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    (dir, store)
}

#[test]
fn ids_grow_and_are_never_reused() {
    let (_dir, store) = fresh();
    let a = customer(&store, "Ada", "a@x.io");
    let b = customer(&store, "Bob", "b@x.io");
    assert_eq!((a, b), (1, 2));
    store.write(Op::DeleteCustomer(b)).unwrap();
    assert_eq!(customer(&store, "Cy", "c@x.io"), 3);
    let explicit = NewCustomer::parse("Di", "d@x.io", None, None, None)
        .unwrap()
        .with_id(100);
    assert_eq!(
        store.write(Op::AddCustomer(explicit.clone())).unwrap().id(),
        100
    );
    assert_eq!(customer(&store, "Ed", "e@x.io"), 101);
    let again = store
        .write(Op::AddCustomer(explicit.with_id(100)))
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
}

#[test]
fn explicit_id_at_the_top_exhausts_ids() {
    let (_dir, store) = fresh();
    let top = NewCustomer::parse("Top", "t@x.io", None, None, None)
        .unwrap()
        .with_id(values::MAX_ID);
    store.write(Op::AddCustomer(top)).unwrap();
    let err = store
        .write(Op::AddCustomer(
            NewCustomer::parse("N", "n@x.io", None, None, None).unwrap(),
        ))
        .unwrap_err();
    assert_eq!(err.to_string(), "id: ids exhausted");
    assert_eq!(err.kind(), ErrorKind::Invalid);
}

#[test]
fn unique_email_names_the_owner_and_changes_nothing() {
    let (_dir, store) = fresh();
    let ada = customer(&store, "Ada", "ada@example.com");
    let err = store
        .write(Op::AddCustomer(
            NewCustomer::parse("Other", " ADA@example.com", None, None, None).unwrap(),
        ))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        err.to_string(),
        format!("email \"ada@example.com\" belongs to customer {ada}")
    );
    assert_eq!(store.counts().unwrap().customers, 1);
    assert!(store
        .find_by_name("other", 0, usize::MAX)
        .unwrap()
        .is_empty());
    // Updating to one's own email is fine; to another's is a conflict.
    let bob = customer(&store, "Bob", "bob@example.com");
    let mut patch = CustomerPatch::default();
    patch.set(Customer::EMAIL, "ada@example.com").unwrap();
    assert_eq!(
        store
            .write(Op::UpdateCustomer(bob, patch))
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    let mut patch = CustomerPatch::default();
    patch.set(Customer::EMAIL, "bob@example.com").unwrap();
    store.write(Op::UpdateCustomer(bob, patch)).unwrap();
}

#[test]
fn update_moves_every_index_entry() {
    let (_dir, store) = fresh();
    let new = NewCustomer::parse(
        "Jean-Luc Picard",
        "jl@ent.org",
        Some("+1 555 010 9999"),
        Some("Bridge"),
        None,
    )
    .unwrap();
    let id = store.write(Op::AddCustomer(new)).unwrap().id();
    assert_eq!(
        store.find_by_name("jean-luc", 0, usize::MAX).unwrap().len(),
        1
    );
    assert_eq!(
        store
            .find_by_phone("15550109999", 0, usize::MAX)
            .unwrap()
            .len(),
        1
    );
    let mut patch = CustomerPatch::default();
    patch.set(Customer::NAME, "Beverly Crusher").unwrap();
    patch.set(Customer::EMAIL, "bev@ent.org").unwrap();
    patch.set(Customer::PHONE, "  ").unwrap();
    store.write(Op::UpdateCustomer(id, patch)).unwrap();
    assert!(store
        .find_by_name("picard", 0, usize::MAX)
        .unwrap()
        .is_empty());
    assert_eq!(
        store.find_by_name("crusher", 0, usize::MAX).unwrap()[0].id,
        id
    );
    assert!(store
        .find_by_email("jl@ent.org", 0, usize::MAX)
        .unwrap()
        .is_empty());
    assert_eq!(
        store.find_by_email("bev@ent.org", 0, usize::MAX).unwrap()[0].id,
        id
    );
    assert!(store
        .find_by_phone("15550109999", 0, usize::MAX)
        .unwrap()
        .is_empty());
    let customer = store.customer(id).unwrap().unwrap();
    assert_eq!(customer.phone, None);
    assert_eq!(customer.address.as_deref(), Some("Bridge"));
    // The old email is free again.
    customer_with(&store, "New", "jl@ent.org");
}

fn customer_with(store: &Store, name: &str, email: &str) -> u64 {
    customer(store, name, email)
}

#[test]
fn name_search_needs_every_word() {
    let (_dir, store) = fresh();
    let ada = customer(&store, "Ada Lovelace", "ada@x.io");
    customer(&store, "Ada Byron", "byron@x.io");
    assert_eq!(store.find_by_name("ada", 0, usize::MAX).unwrap().len(), 2);
    assert_eq!(
        store
            .find_by_name("\"ada lovelace\"", 0, usize::MAX)
            .unwrap()[0]
            .id,
        ada
    );
    assert_eq!(
        store
            .find_by_name("LOVELACE ada", 0, usize::MAX)
            .unwrap()
            .len(),
        1
    );
    assert!(store.find_by_name("ad", 0, usize::MAX).unwrap().is_empty());
    assert_eq!(
        store.find_by_name("--", 0, usize::MAX).unwrap_err().kind(),
        ErrorKind::Invalid
    );
}

#[test]
fn orders_check_references_take_stock_and_give_it_back() {
    let (_dir, store) = fresh();
    let c = customer(&store, "Ada", "a@x.io");
    let p = product(&store, "Engine", "1999.00", 3);
    assert_eq!(
        order(&store, 99, p, 1).unwrap_err().to_string(),
        "customer 99 does not exist"
    );
    assert_eq!(
        order(&store, c, 99, 1).unwrap_err().kind(),
        ErrorKind::ForeignKey
    );
    let err = order(&store, c, p, 4).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("product {p} has 3 in stock, 4 requested")
    );
    let o = order(&store, c, p, 2).unwrap();
    assert_eq!(store.product(p).unwrap().unwrap().stock, 1);
    let placed = store.order(o).unwrap().unwrap();
    assert_eq!(placed.amount_cents(), 399_800);
    assert_eq!(placed.to_json()["amount"], "3998.00");
    // The price at the time of the order stays with it.
    let mut patch = ProductPatch::default();
    patch.set(Product::PRICE, "5").unwrap();
    store.write(Op::UpdateProduct(p, patch)).unwrap();
    assert_eq!(store.order(o).unwrap().unwrap().unit_price_cents, 199_900);
    // Deleting with orders is refused.
    assert_eq!(
        store.write(Op::DeleteCustomer(c)).unwrap_err().to_string(),
        format!("customer {c} has 1 order")
    );
    assert_eq!(
        store.write(Op::DeleteProduct(p)).unwrap_err().kind(),
        ErrorKind::ForeignKey
    );
    let rollup = store.customer_rollup(c).unwrap().unwrap();
    assert_eq!((rollup.order_count, rollup.total_cents), (1, 399_800));
    store.write(Op::DeleteOrder(o)).unwrap();
    assert_eq!(store.product(p).unwrap().unwrap().stock, 3);
    assert_eq!(
        store.customer_rollup(c).unwrap().unwrap(),
        CustomerRollup::default()
    );
    store.write(Op::DeleteCustomer(c)).unwrap();
    store.write(Op::DeleteProduct(p)).unwrap();
    assert_eq!(store.counts().unwrap(), Counts::default());
}

#[test]
fn nostock_orders_leave_stock_alone() {
    let (_dir, store) = fresh();
    let c = customer(&store, "Ada", "a@x.io");
    let p = product(&store, "Engine", "10", 0);
    let o = store
        .write(Op::AddOrder(NewOrder {
            id: None,
            customer_id: c,
            product_id: p,
            quantity: 5,
            created_at: Some(0),
            take_stock: false,
        }))
        .unwrap()
        .id();
    assert_eq!(store.product(p).unwrap().unwrap().stock, 0);
    store.write(Op::DeleteOrder(o)).unwrap();
    assert_eq!(store.product(p).unwrap().unwrap().stock, 0);
}

#[test]
fn giving_back_stock_past_the_maximum_is_invalid() {
    let (_dir, store) = fresh();
    let c = customer(&store, "Ada", "a@x.io");
    let p = product(&store, "Engine", "10", 10);
    let o = order(&store, c, p, 10).unwrap();
    let mut patch = ProductPatch::default();
    patch.set(Product::STOCK, "2147483647").unwrap();
    store.write(Op::UpdateProduct(p, patch)).unwrap();
    assert_eq!(
        store.write(Op::DeleteOrder(o)).unwrap_err().kind(),
        ErrorKind::Invalid
    );
    assert!(store.order(o).unwrap().is_some());
}

#[test]
fn rollup_first_and_last_follow_deletes() {
    let (_dir, store) = fresh();
    let c = customer(&store, "Ada", "a@x.io");
    let p = product(&store, "Pen", "1.50", 0);
    let mut ids = Vec::new();
    for day in ["2026-01-01", "2026-02-01", "2026-03-01"] {
        let at = values::parse_timestamp("t", day).unwrap();
        ids.push(
            store
                .write(Op::AddOrder(NewOrder {
                    id: None,
                    customer_id: c,
                    product_id: p,
                    quantity: 2,
                    created_at: Some(at),
                    take_stock: false,
                }))
                .unwrap()
                .id(),
        );
    }
    store.write(Op::DeleteOrder(ids[2])).unwrap();
    let rollup = store.customer_rollup(c).unwrap().unwrap();
    assert_eq!(rollup.order_count, 2);
    assert_eq!(rollup.total_cents, 600);
    assert_eq!(
        rollup.last_order,
        Some(values::parse_timestamp("t", "2026-02-01").unwrap())
    );
    assert_eq!(
        rollup.first_order,
        Some(values::parse_timestamp("t", "2026-01-01").unwrap())
    );
}

#[test]
fn order_lists_filter_by_scope_time_and_cursor() {
    let (_dir, store) = fresh();
    let a = customer(&store, "Ada", "a@x.io");
    let b = customer(&store, "Bob", "b@x.io");
    let p = product(&store, "Pen", "1", 0);
    for i in 0..20i64 {
        let who = if i % 2 == 0 { a } else { b };
        store
            .write(Op::AddOrder(NewOrder {
                id: None,
                customer_id: who,
                product_id: p,
                quantity: 1,
                created_at: Some(1000 - i * 10),
                take_stock: false,
            }))
            .unwrap();
    }
    let query = |scope, since, until, after, limit| OrderQuery {
        scope,
        since,
        until,
        after,
        limit,
    };
    let ids = |q: OrderQuery| {
        store
            .orders(&q)
            .unwrap()
            .iter()
            .map(|o| o.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(query(OrderScope::All, None, None, 0, 3)), vec![1, 2, 3]);
    assert_eq!(
        ids(query(OrderScope::All, None, None, 18, 100)),
        vec![19, 20]
    );
    assert_eq!(
        ids(query(OrderScope::Customer(a), None, None, 0, 3)),
        vec![1, 3, 5]
    );
    assert_eq!(
        ids(query(OrderScope::Product(p), None, None, 15, 100)),
        vec![16, 17, 18, 19, 20]
    );
    // Times: order i has time 1000 - (i-1)*10; [900, 950) holds orders 6..=10.
    assert_eq!(
        ids(query(OrderScope::All, Some(900), Some(950), 0, 100)),
        vec![7, 8, 9, 10, 11]
    );
    assert_eq!(
        ids(query(OrderScope::All, Some(900), Some(950), 8, 2)),
        vec![9, 10]
    );
    assert_eq!(
        ids(query(OrderScope::Customer(b), Some(900), Some(950), 0, 100)),
        vec![8, 10]
    );
    assert!(ids(query(OrderScope::Customer(999), None, None, 0, 100)).is_empty());
}

#[test]
fn users_keep_the_last_admin() {
    let (_dir, store) = fresh();
    let user = |name: &str, role| User {
        name: name.into(),
        role,
        password_hash: "h".into(),
        masked: false,
    };
    assert_eq!(
        store
            .write(Op::BootstrapAdmin(user("admin", Role::Admin)))
            .unwrap(),
        Outcome::Done
    );
    assert_eq!(
        store
            .write(Op::BootstrapAdmin(user("other", Role::Admin)))
            .unwrap(),
        Outcome::Skipped
    );
    assert_eq!(
        store
            .write(Op::DeleteUser("admin".into()))
            .unwrap_err()
            .kind(),
        ErrorKind::Failed
    );
    store.write(Op::AddUser(user("ops", Role::Admin))).unwrap();
    assert_eq!(
        store
            .write(Op::AddUser(user("ops", Role::Reader)))
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    store.write(Op::DeleteUser("admin".into())).unwrap();
    assert_eq!(
        store
            .write(Op::DeleteUser("admin".into()))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(store.users().unwrap().len(), 1);
}

#[test]
fn the_fast_json_form_is_exactly_the_json_form() {
    let (_dir, store) = fresh();
    let new = NewCustomer::parse(
        "Zoë \"Z\" O'Brien",
        "z@x.io",
        Some("+1 555 0100"),
        None,
        Some("2026-11-25"),
    )
    .unwrap();
    let id = store.write(Op::AddCustomer(new)).unwrap().id();
    let c = store.customer(id).unwrap().unwrap();
    assert_eq!(
        String::from_utf8(c.to_json_bytes(&Default::default())).unwrap(),
        c.to_json(&Default::default()).to_string()
    );
    let p = store
        .product(product(&store, "Pen", "1.5", 3))
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8(p.to_json_bytes(&Default::default())).unwrap(),
        p.to_json(&Default::default()).to_string()
    );
    let o = store
        .order(order(&store, id, p.id, 2).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8(o.to_json_bytes()).unwrap(),
        o.to_json().to_string()
    );
}

/// One write group stages records in plain form and seals them once: every later operation of
/// the group must still see what the earlier ones staged, and a refused one must leave nothing.
#[test]
fn one_group_sees_its_own_staged_records() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = open_with(dir.path(), &key);
    let order = |quantity: u32| {
        Op::AddOrder(NewOrder {
            id: None,
            customer_id: 1,
            product_id: 1,
            quantity,
            created_at: Some(1_700_000_000),
            take_stock: true,
        })
    };
    let email = |name: &str| {
        Op::AddCustomer(NewCustomer::parse(name, "same@x.io", None, None, None).unwrap())
    };
    let results = store
        .write_many(vec![
            Op::AddProduct(NewProduct::parse("Lamp", "2.50", Some("5")).unwrap()),
            email("Ada"),
            order(2),
            order(2),
            order(2),
            email("Bob"),
            Op::UpdateProduct(
                1,
                ProductPatch {
                    name: Some("Desk lamp".into()),
                    price_cents: None,
                    stock: None,
                    custom: Default::default(),
                },
            ),
            order(1),
        ])
        .unwrap();
    let refusals: Vec<Option<ErrorKind>> = results
        .iter()
        .map(|r| r.as_ref().err().map(Error::kind))
        .collect();
    assert_eq!(
        refusals,
        [
            None,
            None,
            None,
            None,
            Some(ErrorKind::Stock),
            Some(ErrorKind::Conflict),
            None,
            None
        ]
    );
    let check = |store: &Store| {
        let product = store.product(1).unwrap().unwrap();
        assert_eq!((product.name.as_str(), product.stock), ("Desk lamp", 0));
        let rollup = store.customer_rollup(1).unwrap().unwrap();
        assert_eq!((rollup.order_count, rollup.total_cents), (3, 1250));
        let all = OrderQuery {
            scope: OrderScope::All,
            since: None,
            until: None,
            after: 0,
            limit: 100,
        };
        assert_eq!(store.orders(&all).unwrap().len(), 3);
    };
    check(&store);
    drop(store);
    check(&open_with(dir.path(), &key));
}

/// Explicit ids go up to 2^53 − 1: the per-customer analytics must not size anything by the
/// largest id.
#[test]
fn per_customer_statistics_handle_the_largest_ids() {
    let (_dir, store) = fresh();
    let small = customer(&store, "Ada", "ada@x.io");
    let top = (1u64 << 53) - 1;
    let new = NewCustomer::parse("Top", "top@x.io", None, None, None)
        .unwrap()
        .with_id(top);
    assert_eq!(store.write(Op::AddCustomer(new)).unwrap().id(), top);
    let pen = product(&store, "Pen", "1.25", 10);
    order(&store, top, pen, 2).unwrap();
    order(&store, small, pen, 1).unwrap();
    let table = stats::recompute_customer_rollups(&store).unwrap();
    assert_eq!(table.len(), 2);
    assert_eq!((table[&top].order_count, table[&top].total_cents), (1, 250));
    assert_eq!(table[&small].total_cents, 125);
    let rfm = stats::rfm_at(&store, i64::MAX / 2).unwrap();
    assert_eq!(
        rfm.iter().map(|r| r.customer_id).collect::<Vec<_>>(),
        [small, top]
    );
}
