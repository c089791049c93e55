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
    store
        .write(Op::IndexField {
            kind: Kind::Customer,
            name: "tier".into(),
            on: true,
        })
        .unwrap();
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
