//! `CUSTOMER.MERGE` / `UNMERGE` over real TCP: what moves and comes back, the journal
//! entries, every refusal and role, the 30-day window on the server's clock
//! (`CRM_CLOCK_OFFSET_SECS`), and `FORGET` of either side.
//!
//! One file: a merge and its undo are one capability, and every test here builds on the same
//! `add`, `order_ids` and `last_entry` helpers.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

use crm_server::request::{Command, Customer, FieldId, Product};
use crm_tests::words::{call, code, connect, get, id, ok};
use crm_tests::TestServer;
use redis::Value;
use serde_json::json;

fn add(con: &mut redis::Connection, name: &str, email: &str, extra: &[(FieldId, &str)]) -> String {
    let mut fields = vec![(Customer::NAME, name), (Customer::EMAIL, email)];
    fields.extend_from_slice(extra);
    id(call(con, &Command::customer_add(&fields)))
}

fn order_ids(con: &mut redis::Connection, customer: &str) -> Vec<u64> {
    match get(con, &["ORDER.LIST", "CUSTOMER", customer]) {
        serde_json::Value::Array(orders) => orders
            .iter()
            .map(|o| {
                assert_eq!(o["customer_id"].to_string(), customer);
                o["id"].as_u64().unwrap()
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// The last journal entry about a customer, without its `seq`, `at` and `hash`.
fn last_entry(con: &mut redis::Connection, customer: &str) -> serde_json::Value {
    let entries = get(con, &["AUDIT.LOG", "KIND", "customer", "ID", customer]);
    let mut last = entries.as_array().unwrap().last().unwrap().clone();
    for key in ["seq", "at", "hash"] {
        last.as_object_mut().unwrap().remove(key);
    }
    last
}

#[test]
fn merge_moves_orders_fills_fields_and_unmerge_restores() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    ok(&mut admin, &["USER.ADD", "wes", "pw-wes", "ROLE", "writer"]);
    let mut wes = connect(&server, "wes", "pw-wes");
    let pen = id(call(
        &mut admin,
        &Command::product_add(&[
            (Product::NAME, "Pen"),
            (Product::PRICE, "2.50"),
            (Product::STOCK, "100"),
        ]),
    ));
    let keep = add(&mut admin, "Ada Lovelace", "ada@example.com", &[]);
    let other = add(
        &mut admin,
        "Ada King",
        "ada.king@example.com",
        &[
            (Customer::PHONE, "+1 555 0100"),
            (Customer::ADDRESS, "1 Main Street"),
        ],
    );
    let other_json = get(&mut admin, &["CUSTOMER.GET", &other]);
    let order = |con: &mut redis::Connection, customer: &str, qty: &str, at: &str| {
        id(ok(
            con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                customer,
                "PRODUCT",
                &pen,
                "QUANTITY",
                qty,
                "CREATED_AT",
                at,
            ],
        ))
        .parse::<u64>()
        .unwrap()
    };
    let keep_order = order(&mut admin, &keep, "1", "2026-03-01");
    let moved = vec![
        order(&mut admin, &other, "2", "2026-02-01"),
        order(&mut admin, &other, "4", "2026-04-01"),
    ];
    let product_stats = get(&mut admin, &["STATS.PRODUCTS"]);

    assert_eq!(
        ok(&mut wes, &["CUSTOMER.MERGE", &keep, &other]),
        Value::Okay
    );
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &other]),
        serde_json::Value::Null
    );
    let kept = get(&mut admin, &["CUSTOMER.GET", &keep]);
    assert_eq!(kept["name"], "Ada Lovelace");
    assert_eq!(kept["email"], "ada@example.com");
    assert_eq!(kept["phone"], other_json["phone"]);
    assert_eq!(kept["address"], other_json["address"]);
    assert_eq!(
        order_ids(&mut admin, &keep),
        vec![keep_order, moved[0], moved[1]]
    );
    assert!(order_ids(&mut admin, &other).is_empty());
    let stats = get(&mut admin, &["STATS.CUSTOMER", &keep]);
    assert_eq!(stats["order_count"], 3);
    assert_eq!(stats["total_amount"], "17.50");
    assert_eq!(stats["first_order"], "2026-02-01T00:00:00Z");
    // Product statistics do not change: the same orders, another owner.
    assert_eq!(get(&mut admin, &["STATS.PRODUCTS"]), product_stats);
    assert_eq!(
        last_entry(&mut admin, &keep),
        json!({"user":"wes","op":"merge","kind":"customer","id":keep.parse::<u64>().unwrap(),
               "name":null,"fields":[format!("other:{other}"),"phone","address"]})
    );
    // `other` is NOTFOUND everywhere; its id stays taken, its email is free.
    for args in [
        vec!["CUSTOMER.UPDATE", other.as_str(), "NAME", "X"],
        vec!["CUSTOMER.DEL", other.as_str()],
        vec!["CUSTOMER.MERGE", keep.as_str(), other.as_str()],
        vec!["CUSTOMER.EXPORT", other.as_str()],
    ] {
        assert_eq!(code(&mut admin, &args), "NOTFOUND", "{args:?}");
    }
    assert_eq!(
        get(
            &mut admin,
            &["CUSTOMER.FIND", "EMAIL", "ada.king@example.com"]
        ),
        json!([])
    );
    assert_eq!(
        code(
            &mut admin,
            &[
                "CUSTOMER.ADD",
                "NAME",
                "X",
                "EMAIL",
                "x@example.com",
                "ID",
                &other
            ]
        ),
        "CONFLICT"
    );
    assert_eq!(
        code(
            &mut admin,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                &other,
                "PRODUCT",
                &pen,
                "QUANTITY",
                "1"
            ]
        ),
        "FKEY"
    );

    // Later: an order of keep's own, and keep changes its address.
    let later = order(&mut admin, &keep, "1", "2026-05-01");
    ok(
        &mut admin,
        &["CUSTOMER.UPDATE", &keep, "ADDRESS", "2 Other Road"],
    );

    assert_eq!(ok(&mut wes, &["CUSTOMER.UNMERGE", &other]), Value::Okay);
    assert_eq!(get(&mut admin, &["CUSTOMER.GET", &other]), other_json);
    assert_eq!(order_ids(&mut admin, &other), moved);
    assert_eq!(order_ids(&mut admin, &keep), vec![keep_order, later]);
    let keep_now = get(&mut admin, &["CUSTOMER.GET", &keep]);
    assert_eq!(keep_now["phone"], serde_json::Value::Null);
    assert_eq!(keep_now["address"], "2 Other Road");
    let back = get(&mut admin, &["STATS.CUSTOMER", &other]);
    assert_eq!(
        (back["order_count"].clone(), back["total_amount"].clone()),
        (json!(2), json!("15.00"))
    );
    assert_eq!(
        last_entry(&mut admin, &other),
        json!({"user":"wes","op":"unmerge","kind":"customer","id":other.parse::<u64>().unwrap(),
               "name":null,"fields":[format!("keep:{keep}")]})
    );
    assert_eq!(code(&mut wes, &["CUSTOMER.UNMERGE", &other]), "NOTFOUND");
    // The feed carries both.
    let feed: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
        .arg("crm:changes")
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(3)
        .query(&mut admin)
        .unwrap();
    let ops: Vec<&str> = feed
        .iter()
        .map(|(_, fields)| fields[0].1.as_str())
        .collect();
    assert_eq!(ops, vec!["unmerge", "update", "add"]);
}

#[test]
fn refusals_roles_and_arity() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    for (name, role) in [("rita", "reader"), ("anna", "analyst")] {
        ok(
            &mut admin,
            &["USER.ADD", name, &format!("pw-{name}"), "ROLE", role],
        );
    }
    let a = add(&mut admin, "Ann", "ann@example.com", &[]);
    let b = add(&mut admin, "Bob", "bob@example.com", &[]);
    for user in ["rita", "anna"] {
        let mut con = connect(&server, user, &format!("pw-{user}"));
        assert_eq!(code(&mut con, &["CUSTOMER.MERGE", &a, &b]), "NOPERM");
        assert_eq!(code(&mut con, &["CUSTOMER.UNMERGE", &b]), "NOPERM");
    }
    let before = get(&mut admin, &["AUDIT.HEAD"]);
    assert_eq!(code(&mut admin, &["CUSTOMER.MERGE", &a, &a]), "INVALID");
    assert_eq!(code(&mut admin, &["CUSTOMER.MERGE", &a, "x"]), "INVALID");
    assert_eq!(code(&mut admin, &["CUSTOMER.MERGE", &a, "999"]), "NOTFOUND");
    assert_eq!(code(&mut admin, &["CUSTOMER.MERGE", "999", &b]), "NOTFOUND");
    assert_eq!(code(&mut admin, &["CUSTOMER.UNMERGE", &b]), "NOTFOUND");
    assert_eq!(code(&mut admin, &["CUSTOMER.MERGE", &a, &b, "x"]), "ERR");
    let arity = crm_tests::send_words(&mut admin, &["CUSTOMER.MERGE", &a]).unwrap_err();
    assert!(
        arity
            .to_string()
            .contains("wrong number of arguments for 'customer.merge' command"),
        "{arity}"
    );
    let arity = crm_tests::send_words(&mut admin, &["CUSTOMER.UNMERGE"]).unwrap_err();
    assert!(arity.to_string().contains("'customer.unmerge'"), "{arity}");
    assert_eq!(get(&mut admin, &["AUDIT.HEAD"]), before);

    // UNMERGE is CONFLICT once someone else has the email.
    ok(&mut admin, &["CUSTOMER.MERGE", &a, &b]);
    let taker = add(&mut admin, "Bobby", "bob@example.com", &[]);
    assert_eq!(code(&mut admin, &["CUSTOMER.UNMERGE", &b]), "CONFLICT");
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &b]),
        serde_json::Value::Null
    );
    ok(&mut admin, &["CUSTOMER.DEL", &taker]);
    ok(&mut admin, &["CUSTOMER.UNMERGE", &b]);
    assert_eq!(
        get(&mut admin, &["CUSTOMER.GET", &b])["email"],
        "bob@example.com"
    );
}

#[test]
fn forget_of_either_side_erases_the_kept_merge() {
    let server = TestServer::start();
    let mut admin = server.admin_redis();
    let keep = add(&mut admin, "Ann", "ann@example.com", &[]);
    let other = add(&mut admin, "Bob", "bob@example.com", &[]);
    let third = add(&mut admin, "Carl", "carl@example.com", &[]);
    let fourth = add(&mut admin, "Dora", "dora@example.com", &[]);
    ok(&mut admin, &["CUSTOMER.MERGE", &keep, &other]);
    ok(&mut admin, &["CUSTOMER.MERGE", &third, &fourth]);
    // The merged-away customer may be forgotten while its merge is kept.
    ok(&mut admin, &["CUSTOMER.FORGET", &other]);
    assert_eq!(code(&mut admin, &["CUSTOMER.UNMERGE", &other]), "NOTFOUND");
    ok(&mut admin, &["CUSTOMER.FORGET", &third]);
    assert_eq!(code(&mut admin, &["CUSTOMER.UNMERGE", &fourth]), "NOTFOUND");
    let forgotten: Vec<u64> = get(&mut admin, &["FORGET.LIST"])
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["customer_id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        forgotten,
        vec![other.parse::<u64>().unwrap(), third.parse().unwrap()]
    );
    // The keep of the first merge is untouched.
    assert_eq!(get(&mut admin, &["CUSTOMER.GET", &keep])["name"], "Ann");
}

#[test]
fn unmerge_is_refused_after_30_days_by_the_server_clock() {
    let mut server = TestServer::start();
    let mut admin = server.admin_redis();
    let keep = add(&mut admin, "Ann", "ann@example.com", &[]);
    let soon = add(&mut admin, "Bob", "bob@example.com", &[]);
    let late = add(&mut admin, "Cy", "cy@example.com", &[]);
    ok(&mut admin, &["CUSTOMER.MERGE", &keep, &soon]);
    ok(&mut admin, &["CUSTOMER.MERGE", &keep, &late]);
    drop(admin);
    server.signal_and_wait("TERM");

    // 29 days on: still kept.
    server.env = vec![("CRM_CLOCK_OFFSET_SECS".into(), (29 * 86_400).to_string())];
    server.launch();
    let mut admin = server.admin_redis();
    ok(&mut admin, &["CUSTOMER.UNMERGE", &soon]);
    drop(admin);
    server.signal_and_wait("TERM");

    // Past 30 days: gone (purged at open), and the id is free again.
    server.env = vec![("CRM_CLOCK_OFFSET_SECS".into(), "2592100".into())];
    server.launch();
    let mut admin = server.admin_redis();
    assert_eq!(code(&mut admin, &["CUSTOMER.UNMERGE", &late]), "NOTFOUND");
    ok(
        &mut admin,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Cy",
            "EMAIL",
            "cy2@example.com",
            "ID",
            &late,
        ],
    );
}

/// What a pair's writer last did: `Some(true)` merged, `Some(false)` unmerged (or never
/// merged); and whether a request was in flight when the server died.
#[derive(Default, Clone, Copy)]
struct PairState {
    merged: bool,
    in_flight: bool,
}

#[test]
fn a_crash_during_merges_leaves_each_pair_whole_in_one_state_or_the_other() {
    use rand::Rng;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    const PAIRS: usize = 8;
    const ORDERS: usize = 5;
    let mut server = TestServer::start();
    let mut pairs = Vec::new();
    {
        let mut admin = server.admin_redis();
        let pen = id(ok(
            &mut admin,
            &["PRODUCT.ADD", "NAME", "Pen", "PRICE", "1.00", "STOCK", "0"],
        ));
        for p in 0..PAIRS {
            let keep = add(
                &mut admin,
                "Keep",
                &format!("keep{p}@x.io"),
                &[(Customer::PHONE, "+1555000")],
            );
            let other = add(
                &mut admin,
                "Other",
                &format!("other{p}@x.io"),
                &[(Customer::ADDRESS, "1 Road")],
            );
            let mut orders = Vec::new();
            for _ in 0..ORDERS {
                orders.push(
                    id(ok(
                        &mut admin,
                        &[
                            "ORDER.ADD",
                            "CUSTOMER",
                            &other,
                            "PRODUCT",
                            &pen,
                            "QUANTITY",
                            "1",
                            "NOSTOCK",
                        ],
                    ))
                    .parse::<u64>()
                    .unwrap(),
                );
            }
            pairs.push((
                keep.parse::<u64>().unwrap(),
                other.parse::<u64>().unwrap(),
                orders,
            ));
        }
    }
    let states: Arc<Mutex<Vec<PairState>>> =
        Arc::new(Mutex::new(vec![PairState::default(); PAIRS]));
    let mut rng = rand::thread_rng();
    let mut acknowledged = 0usize;
    for round in 0..10 {
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = pairs
            .iter()
            .enumerate()
            .map(|(p, (keep, other, _))| {
                let url = server.url("admin", crm_tests::ADMIN_PASSWORD, false);
                let (stop, states) = (stop.clone(), states.clone());
                let (keep, other) = (keep.to_string(), other.to_string());
                std::thread::spawn(move || {
                    let Ok(mut con) = redis::Client::open(url).unwrap().get_connection() else {
                        return 0;
                    };
                    let mut done = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let merged = states.lock().unwrap()[p].merged;
                        states.lock().unwrap()[p].in_flight = true;
                        let reply = if merged {
                            crm_tests::send_words(&mut con, &["CUSTOMER.UNMERGE", &other])
                        } else {
                            crm_tests::send_words(&mut con, &["CUSTOMER.MERGE", &keep, &other])
                        };
                        if reply.is_err() {
                            return done; // the server died: the request stays in flight
                        }
                        let mut state = states.lock().unwrap();
                        state[p] = PairState {
                            merged: !merged,
                            in_flight: false,
                        };
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(rng.gen_range(100..400)));
        assert!(!server.signal_and_wait("KILL").success());
        stop.store(true, Ordering::Relaxed);
        acknowledged += writers
            .into_iter()
            .map(|w| w.join().unwrap())
            .sum::<usize>();
        {
            let store = crm_engine::Store::open(
                &server.data_dir(),
                &crm_engine::KeySource::File(server.dir.path().join("key")),
                &crm_engine::Options::default(),
            )
            .unwrap();
            store.check_consistency().unwrap();
            let mut states = states.lock().unwrap();
            for (p, (keep, other, orders)) in pairs.iter().enumerate() {
                let merged = store.customer(*other).unwrap().is_none();
                let owner = if merged { *keep } else { *other };
                for order in orders {
                    assert_eq!(
                        store.order(*order).unwrap().unwrap().customer_id,
                        owner,
                        "round {round}: pair {p} is half merged"
                    );
                }
                let keep_record = store.customer(*keep).unwrap().unwrap();
                assert_eq!(
                    keep_record.address.is_some(),
                    merged,
                    "round {round}: pair {p}"
                );
                if !states[p].in_flight {
                    assert_eq!(
                        merged, states[p].merged,
                        "round {round}: pair {p} lost an acknowledged step"
                    );
                }
                states[p] = PairState {
                    merged,
                    in_flight: false,
                };
            }
        }
        server.launch();
    }
    assert!(
        acknowledged > 50,
        "only {acknowledged} merges and unmerges acknowledged"
    );
}
