//! Custom fields in the engine: values tagged in records, the catalog replayed at open, and
//! the sweep of a dropped field's values — a personal one's unrecoverable with the master key,
//! as `FORGET` promises.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use crm_engine::schema::{CustomType, FieldDeclaration, Value};
use crm_engine::*;
use crm_engine::{ConditionText, Operator, QueryRequest, SortText};

const SECRET: &str = "zebra-secret-value";

fn declare(store: &Store, kind: Kind, name: &str, ty: CustomType, personal: bool) -> u32 {
    let declaration = FieldDeclaration {
        kind,
        name: name.into(),
        ty,
        personal,
        indexed: false,
    };
    store.write(Op::DeclareField(declaration)).unwrap();
    store.catalog().field(kind, name).unwrap().id
}

fn set(store: &Store, id: u64, field: u32, value: Value) {
    let mut patch = CustomerPatch::default();
    patch.custom.give(field, Some(value));
    store.write(Op::UpdateCustomer(id, patch)).unwrap();
}

/// Runs the sweep until no field is left to sweep; how many steps it took.
fn sweep_all(store: &Store) -> usize {
    let mut steps = 0;
    while store.sweep_dropped_fields_by(8).unwrap() != SweepStep::Idle {
        steps += 1;
        assert!(steps < 10_000, "the sweep ends");
    }
    steps
}

#[test]
fn a_dropped_personal_fields_values_are_swept_and_unrecoverable_with_the_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let data = dir.path().join("store");
    let store = open_with(&data, &key);
    let secret = declare(&store, Kind::Customer, "secret", CustomType::Text, true);
    let tier = declare(&store, Kind::Customer, "tier", CustomType::Integer, false);
    let mut people = Vec::new();
    // Several pages of the sweep (8 records a page here).
    for i in 0..30 {
        let id = customer(&store, &format!("Person {i}"), &format!("p{i}@x.example"));
        if i % 7 == 0 {
            set(&store, id, secret, Value::Text(format!("{SECRET}-{i}")));
        }
        set(&store, id, tier, Value::Number(i));
        people.push(id);
    }
    let product = store
        .write(Op::AddProduct(NewProduct::parse("Tea", "1", None).unwrap()))
        .unwrap()
        .id();
    let weight = declare(&store, Kind::Product, "weight", CustomType::Integer, false);
    let mut patch = ProductPatch::default();
    patch.custom.give(weight, Some(Value::Number(250)));
    store.write(Op::UpdateProduct(product, patch)).unwrap();
    store.flush().unwrap();
    let before = dir.path().join("before");
    copy_dir(&data, &before);

    store
        .write(Op::DropField {
            kind: Kind::Customer,
            name: "SECRET".into(),
        })
        .unwrap();
    store
        .write(Op::DropField {
            kind: Kind::Product,
            name: "weight".into(),
        })
        .unwrap();
    assert!(store.schema_sweep_progress() < 100);
    // The field leaves the replies at once; the values stay until the sweep.
    assert!(store.catalog().field(Kind::Customer, "secret").is_none());
    assert!(store.sweep_dropped_fields_by(8).unwrap() != SweepStep::Idle);
    assert!(
        sweep_all(&store) >= 5,
        "four pages of customers, a page of products, the ends"
    );
    assert_eq!(store.schema_sweep_progress(), 100);
    // Both fields left the catalog; the names are free again, under new ids.
    assert!(store.catalog().all().iter().all(|f| !f.dropped));
    let again = declare(&store, Kind::Customer, "secret", CustomType::Text, true);
    assert_ne!(again, secret);
    for (i, id) in people.iter().enumerate() {
        let record = store.customer(*id).unwrap().unwrap();
        assert_eq!(record.custom.get(secret), None);
        assert_eq!(record.custom.get(again), None);
        assert_eq!(record.custom.get(tier), Some(&Value::Number(i as i64)));
    }
    assert_eq!(
        store.product(product).unwrap().unwrap().custom.get(weight),
        None
    );
    store.flush().unwrap();
    let after = dir.path().join("after");
    copy_dir(&data, &after);
    store.close().unwrap();

    // The scanner of sled's files is slow: two people, one on the first page of the sweep and
    // one on the last.
    let watched = [people[0], people[28]];
    let holds_secret = |copy: &Customer| copy.custom.get(secret).is_some();
    let seen = open_with(&before, &key);
    for id in watched {
        let found = seen.recover_customer_copies(&before, id).unwrap();
        assert!(
            found.iter().any(holds_secret),
            "the scanner finds the value while the key exists: customer {id}"
        );
    }
    seen.close().unwrap();
    let copy = open_with(&after, &key);
    for id in &watched {
        let found: Vec<Customer> = copy
            .recover_customer_copies(&after, *id)
            .unwrap()
            .into_iter()
            .filter(holds_secret)
            .collect();
        assert!(found.is_empty(), "customer {id}: {found:?}");
    }
    copy.check_consistency().unwrap();
}

#[test]
fn custom_values_and_the_catalog_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = open_with(dir.path(), &key);
    let stage = declare(
        &store,
        Kind::Customer,
        "stage",
        CustomType::Choice(vec!["Lead".into(), "Won".into()]),
        false,
    );
    let id = customer(&store, "Ada", "ada@example.com");
    set(&store, id, stage, Value::Text("Won".into()));
    drop(store);
    let store = open_with(dir.path(), &key);
    assert_eq!(
        store.catalog().field(Kind::Customer, "stage").unwrap().id,
        stage
    );
    let ada = store.customer(id).unwrap().unwrap();
    assert_eq!(ada.custom.get(stage), Some(&Value::Text("Won".into())));
    // A write naming a field the catalog does not declare is refused and changes nothing.
    let mut patch = CustomerPatch::default();
    patch.custom.give(stage + 100, Some(Value::Bool(true)));
    assert!(matches!(
        store.write(Op::UpdateCustomer(id, patch)),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(store.customer(id).unwrap().unwrap(), ada);
}

/// A query on `tier` of customers: (the ids, whether answering may open every customer).
fn tier_query(store: &Store, op: Operator, value: &str) -> (Vec<u64>, bool) {
    let request = QueryRequest {
        conditions: vec![ConditionText {
            field: "tier".into(),
            op,
            values: vec![value.into()],
        }],
        sort: Some(SortText {
            field: "TIER".into(),
            descending: true,
        }),
        limit: 100,
        cursor: None,
    };
    let scans = store.query_scans(Kind::Customer, &request).unwrap();
    let ids = store
        .query_customers(&request)
        .unwrap()
        .records
        .iter()
        .map(|c| c.id)
        .collect();
    (ids, scans)
}

#[test]
fn an_indexed_custom_field_is_answered_from_memory_with_the_same_answers() {
    indexed_tier_is_answered_from_memory(false);
}

/// A personal field declared `INDEXED` is answered from memory too, and a forgotten
/// customer's value leaves the answers with the record.
#[test]
fn an_indexed_personal_field_is_answered_from_memory_and_forget_takes_its_values_out() {
    indexed_tier_is_answered_from_memory(true);
}

fn indexed_tier_is_answered_from_memory(personal: bool) {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = open_with(dir.path(), &key);
    let tier = declare(
        &store,
        Kind::Customer,
        "tier",
        CustomType::Integer,
        personal,
    );
    let ids: Vec<u64> = (0..12)
        .map(|i| {
            let id = customer(&store, &format!("P {i}"), &format!("p{i}@x.example"));
            if i % 4 != 0 {
                set(&store, id, tier, Value::Number(i % 5));
            }
            id
        })
        .collect();
    let expected: Vec<u64> = {
        let mut with: Vec<(i64, u64)> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 4 != 0 && (*i as i64 % 5) >= 2)
            .map(|(i, id)| (i as i64 % 5, *id))
            .collect();
        with.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        with.into_iter().map(|(_, id)| id).collect()
    };
    let (opened, scans) = tier_query(&store, Operator::Ge, "2");
    assert!(scans, "not indexed: every customer may be opened");
    assert_eq!(opened, expected);
    store.write(index_tier()).unwrap();
    let (remembered, scans) = tier_query(&store, Operator::Ge, "2");
    assert!(!scans, "indexed: answered from memory");
    assert_eq!(remembered, expected);
    // Writes after the index are followed; a reopen rebuilds it.
    set(&store, ids[0], tier, Value::Number(9));
    let mut expected_after = vec![ids[0]];
    expected_after.extend(&expected);
    assert_eq!(tier_query(&store, Operator::Ge, "2").0, expected_after);
    store.check_consistency().unwrap();
    drop(store);
    let store = open_with(dir.path(), &key);
    assert_eq!(
        tier_query(&store, Operator::Ge, "2"),
        (expected_after.clone(), false)
    );
    store.check_consistency().unwrap();
    // Forgotten: its value is out of the answers, and of the rows.
    store.write(Op::ForgetCustomer(ids[0])).unwrap();
    assert_eq!(
        tier_query(&store, Operator::Ge, "2"),
        (expected_after[1..].to_vec(), false)
    );
    assert_eq!(tier_query(&store, Operator::Eq, "9").0, Vec::<u64>::new());
    store.check_consistency().unwrap();
}

/// `SCHEMA.FIELD.INDEX customer tier ON`.
fn index_tier() -> Op {
    Op::IndexField {
        kind: Kind::Customer,
        name: "tier".into(),
        on: true,
    }
}

/// Whether queries use an index of `tier` (built, not only declared).
fn tier_indexed(store: &Store) -> bool {
    store
        .catalog()
        .field(Kind::Customer, "tier")
        .unwrap()
        .indexed
}

/// The ids with `tier >= 2` in `model` (id → tier), by tier descending then id.
fn tier_at_least_two(model: &std::collections::BTreeMap<u64, Option<i64>>) -> Vec<u64> {
    let mut with: Vec<(i64, u64)> = model
        .iter()
        .filter_map(|(id, tier)| Some((tier.filter(|t| *t >= 2)?, *id)))
        .collect();
    with.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    with.into_iter().map(|(_, id)| id).collect()
}

/// `INDEX ON` over records that hold values: the write group only stores the declaration;
/// the index is built after it (`Store::build_indexes`), and until then queries open the
/// records and give the same answers; writes made meanwhile are in the index once built.
#[test]
fn an_index_turned_on_is_built_after_its_write_group_and_keeps_the_writes_made_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    let tier = declare(&store, Kind::Customer, "tier", CustomType::Integer, false);
    let mut model = std::collections::BTreeMap::new();
    for i in 0..300i64 {
        let id = customer(&store, &format!("P {i}"), &format!("p{i}@x.example"));
        let value = (i % 6 != 0).then_some(i % 5);
        if let Some(v) = value {
            set(&store, id, tier, Value::Number(v));
        }
        model.insert(id, value);
    }
    // Through the committer without the build `Store::write` adds.
    store
        .write_many([index_tier()])
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    assert!(!tier_indexed(&store), "declared, not yet built");
    let ids: Vec<u64> = model.keys().copied().collect();
    for (n, id) in ids.iter().enumerate().step_by(7) {
        match n % 3 {
            0 => {
                store.write(Op::DeleteCustomer(*id)).unwrap();
                model.remove(id);
            }
            1 => {
                set(&store, *id, tier, Value::Number(4));
                model.insert(*id, Some(4));
            }
            _ => {
                let mut patch = CustomerPatch::default();
                patch.custom.give(tier, None);
                store.write(Op::UpdateCustomer(*id, patch)).unwrap();
                model.insert(*id, None);
            }
        }
    }
    let added = customer(&store, "Late", "late@x.example");
    set(&store, added, tier, Value::Number(3));
    model.insert(added, Some(3));
    assert_eq!(
        tier_query(&store, Operator::Ge, "2"),
        (tier_at_least_two(&model)[..100].to_vec(), true),
        "while the index is being built, the records are opened"
    );
    store.build_indexes().unwrap();
    assert!(tier_indexed(&store));
    assert_eq!(
        tier_query(&store, Operator::Ge, "2"),
        (tier_at_least_two(&model)[..100].to_vec(), false)
    );
    store.check_consistency().unwrap();
}

/// A build running while another thread writes ends as an index built from scratch would.
#[test]
fn an_index_built_while_another_thread_writes_agrees_with_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open_with(dir.path(), &MasterKey::generate()));
    let tier = declare(&store, Kind::Customer, "tier", CustomType::Integer, false);
    let ids: Vec<u64> = (0..3000i64)
        .map(|i| {
            let new = NewCustomer::parse(
                &format!("P {i}"),
                &format!("p{i}@x.example"),
                None,
                None,
                None,
            )
            .unwrap();
            let id = store.write(Op::AddCustomer(new)).unwrap().id();
            set(&store, id, tier, Value::Number(i % 5));
            id
        })
        .collect();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for (n, id) in ids.iter().enumerate().step_by(3) {
                if n % 2 == 0 {
                    set(&store, *id, tier, Value::Number(7));
                } else {
                    store.write(Op::DeleteCustomer(*id)).unwrap();
                }
            }
        })
    };
    store.write(index_tier()).unwrap();
    writer.join().unwrap();
    assert!(tier_indexed(&store));
    // The live rows and index against those rebuilt from the records.
    store.check_consistency().unwrap();
}
