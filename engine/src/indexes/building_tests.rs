//! An index built while writes go on (`query_rows.rs`, `Building`): whatever order the
//! build's reads and the writes come in, the finished index is the one a rebuild from the
//! records as they end up gives.

use super::changes::Old;
use super::query_rows::QueryRows;
use crate::error::Kind;
use crate::model::Product;
use crate::schema::{CustomField, CustomType, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

fn field() -> CustomField {
    CustomField {
        id: 3,
        kind: Kind::Product,
        name: "tier".into(),
        ty: CustomType::Integer,
        personal: false,
        indexed: true,
        dropped: false,
    }
}

fn product(id: u64, tier: Option<i64>) -> Product {
    let mut product = Product {
        id,
        name: format!("P{id}"),
        price_cents: 100,
        stock: 1,
        ..Product::default()
    };
    product.custom.set(3, tier.map(Value::Number));
    product
}

/// The rows and index a rebuild from `records` gives, `tier` indexed.
fn rebuilt(records: &BTreeMap<u64, Product>, tier: &CustomField) -> QueryRows<Product> {
    QueryRows::rebuild(
        records
            .values()
            .map(|p| (p.id, QueryRows::row_of(p, std::slice::from_ref(tier)))),
        vec![tier.clone()],
    )
}

/// Random writes between the build's reads of random chunks, each chunk read at some moment
/// (so some copies are older than the records by the time they are filled in).
#[test]
fn a_build_among_writes_ends_as_a_rebuild() {
    let tier = field();
    for seed in 0..200 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut records: BTreeMap<u64, Product> = (1..=40)
            .map(|id| {
                (
                    id,
                    product(id, rng.gen_bool(0.7).then(|| rng.gen_range(0..5))),
                )
            })
            .collect();
        // The rows as they were before the field was indexed.
        let mut rows: QueryRows<Product> = QueryRows::rebuild(
            records.values().map(|p| (p.id, QueryRows::row_of(p, &[]))),
            Vec::new(),
        );
        assert!(rows.start(std::slice::from_ref(&tier)));
        assert_eq!(rows.building().collect::<Vec<_>>(), vec![3]);
        let claimed = rows.claim();
        assert_eq!(
            claimed.iter().map(|c| &c.field).collect::<Vec<_>>(),
            vec![&tier]
        );
        assert!(rows.claim().is_empty(), "claimed once");
        // The build's copies, taken now; filled in later, in chunks, among writes.
        let mut copies: Vec<Product> = records.values().cloned().collect();
        while !copies.is_empty() {
            for _ in 0..rng.gen_range(0..4) {
                let id = rng.gen_range(1..50);
                let old = records.get(&id).cloned();
                let new = match rng.gen_range(0..3) {
                    0 => None,
                    _ => Some(product(id, rng.gen_bool(0.8).then(|| rng.gen_range(0..5)))),
                };
                let old = old.map_or(Old::Absent, Old::Was);
                rows.apply(id, &old, new.as_ref());
                match new {
                    Some(p) => records.insert(id, p),
                    None => records.remove(&id),
                };
            }
            let take = rng.gen_range(1..=copies.len().min(8));
            let chunk: Vec<Product> = copies.drain(..take).collect();
            rows.fill(&claimed, &chunk);
            if rng.gen_bool(0.3) {
                // A copy taken later, among the writes.
                copies.extend(records.values().take(3).cloned());
            }
        }
        rows.finish(&claimed);
        assert!(rows == rebuilt(&records, &tier), "seed {seed}");
        assert_eq!(rows.building().count(), 0);
    }
}

/// A build stopped by `INDEX OFF` and a new one started by `INDEX ON` before the first caller
/// noticed: the first caller's late copies and its end change nothing of the second build.
#[test]
fn a_stopped_build_changes_nothing_of_the_next_one() {
    let tier = field();
    let mut records: BTreeMap<u64, Product> =
        (1..=10).map(|id| (id, product(id, Some(1)))).collect();
    let mut rows: QueryRows<Product> = QueryRows::rebuild(
        records.values().map(|p| (p.id, QueryRows::row_of(p, &[]))),
        Vec::new(),
    );
    rows.start(std::slice::from_ref(&tier));
    let first = rows.claim();
    let stale: Vec<Product> = records.values().cloned().collect();
    // A write, then the index off and on again: the row's value is the write's, kept by
    // neither build yet.
    let old = Old::Was(records[&3].clone());
    records.insert(3, product(3, Some(4)));
    rows.apply(3, &old, records.get(&3));
    rows.shrink(&[]);
    rows.start(std::slice::from_ref(&tier));
    // The first caller goes on with its copy from before the write, and ends.
    rows.fill(&first, &stale);
    rows.finish(&first);
    assert_eq!(
        rows.building().collect::<Vec<_>>(),
        vec![3],
        "still building"
    );
    let second = rows.claim();
    assert_eq!(second.len(), 1);
    rows.fill(&second, &records.values().cloned().collect::<Vec<_>>());
    rows.finish(&second);
    assert!(rows == rebuilt(&records, &tier));
}
