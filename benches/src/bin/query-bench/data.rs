//! The benchmark's data: the demo's customers and orders, each customer given a lifecycle
//! stage (a choice of five, skewed as real pipelines are), a score (an integer, sometimes
//! unset) and a renewal date (within two years, sometimes unset), from a seed. Our store gets
//! them as three custom fields declared `INDEXED`; SQLite as three columns of `customers`
//! with one index each, as a user would create them.

use crm_benches::{load_ours, load_sqlite, open_sqlite, Demo};
use crm_engine::schema::{CustomType, FieldDeclaration, Value};
use crm_engine::{Kind, Op, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};
use std::path::Path;

/// The stage field's values, in the order `SORT` follows.
pub const STAGES: [&str; 5] = ["lead", "qualified", "customer", "churned", "partner"];
/// How many customers in 100 are at each stage.
const STAGE_SHARES: [u32; 5] = [35, 25, 20, 15, 5];
/// Scores run from 0 to this, inclusive.
pub const SCORE_MAX: i64 = 1_000;
/// Renewals fall in the two years from 2027-01-01T00:00:00Z.
pub const RENEWAL_START: i64 = 1_798_761_600;
pub const RENEWAL_DAYS: i64 = 730;
pub const DAY: i64 = 86_400;

/// The three custom fields' names, as both sides spell them.
pub const STAGE: &str = "stage";
pub const SCORE: &str = "score";
pub const RENEWAL: &str = "renewal";

/// One customer's custom values (`None`: unset).
#[derive(Clone, Copy)]
pub struct Extra {
    pub stage: usize,
    pub score: Option<i64>,
    pub renewal: Option<i64>,
}

/// The custom values of `count` customers: every one has a stage, 95 % a score, 90 % a
/// renewal.
pub fn extras(count: usize, seed: u64) -> Vec<Extra> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut roll = rng.gen_range(0..100);
            let stage = STAGE_SHARES
                .iter()
                .position(|share| {
                    let here = roll < *share;
                    roll = roll.saturating_sub(*share);
                    here
                })
                .unwrap_or(0);
            Extra {
                stage,
                score: (rng.gen_range(0..100) < 95).then(|| rng.gen_range(0..=SCORE_MAX)),
                renewal: (rng.gen_range(0..100) < 90)
                    .then(|| RENEWAL_START + rng.gen_range(0..RENEWAL_DAYS * DAY)),
            }
        })
        .collect()
}

/// The three fields as `SCHEMA.FIELD.ADD customer ... INDEXED` declares them.
fn declarations() -> [FieldDeclaration; 3] {
    let field = |name: &str, ty| FieldDeclaration {
        kind: Kind::Customer,
        name: name.to_string(),
        ty,
        personal: false,
        indexed: true,
    };
    [
        field(
            STAGE,
            CustomType::Choice(STAGES.iter().map(|s| s.to_string()).collect()),
        ),
        field(SCORE, CustomType::Integer),
        field(RENEWAL, CustomType::Date),
    ]
}

/// Declares the three fields in our store, then loads the demo with each customer's values.
pub fn load_ours_with_fields(store: &Store, data: &Demo, extras: &[Extra]) {
    for declaration in declarations() {
        store.write(Op::DeclareField(declaration)).unwrap();
    }
    let catalog = store.catalog();
    let id = |name| catalog.field(Kind::Customer, name).unwrap().id;
    let (stage, score, renewal) = (id(STAGE), id(SCORE), id(RENEWAL));
    let mut data = data.clone();
    for (customer, extra) in data.customers.iter_mut().zip(extras) {
        let given = &mut customer.custom;
        given.give(stage, Some(Value::Text(STAGES[extra.stage].to_string())));
        given.give(score, extra.score.map(Value::Number));
        given.give(renewal, extra.renewal.map(Value::Number));
    }
    load_ours(store, &data);
}

/// SQLite with the workload's schema plus the three columns, one index on each, the demo and
/// the values loaded, and `ANALYZE` run so its planner knows how selective each index is.
pub fn sqlite_with_columns(dir: &Path, data: &Demo, extras: &[Extra]) -> Connection {
    let mut db = open_sqlite(dir, "NORMAL");
    db.execute_batch(
        "ALTER TABLE customers ADD COLUMN stage TEXT;
         ALTER TABLE customers ADD COLUMN score INTEGER;
         ALTER TABLE customers ADD COLUMN renewal INTEGER;
         CREATE INDEX customers_stage ON customers(stage);
         CREATE INDEX customers_score ON customers(score);
         CREATE INDEX customers_renewal ON customers(renewal);",
    )
    .unwrap();
    load_sqlite(&mut db, data);
    for (chunk_at, chunk) in extras.chunks(5_000).enumerate() {
        let tx = db.transaction().unwrap();
        {
            let mut update = tx
                .prepare_cached(
                    "UPDATE customers SET stage = ?1, score = ?2, renewal = ?3 WHERE id = ?4",
                )
                .unwrap();
            for (at, extra) in chunk.iter().enumerate() {
                let id = (chunk_at * 5_000 + at + 1) as i64;
                update
                    .execute(params![STAGES[extra.stage], extra.score, extra.renewal, id])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    db.execute_batch("ANALYZE;").unwrap();
    db
}
