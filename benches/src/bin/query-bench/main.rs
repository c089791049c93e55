//! `query-bench`: issue 34's benchmark. A store of customers with three indexed custom fields
//! (a choice, an integer, a date) and their orders, against SQLite with the same columns and
//! one index per column: four query shapes (`shapes.rs`), checked to give the same answers on
//! both sides and then timed, with the ratio; the heap each indexed field adds per customer;
//! and the open time of that store against the same store without custom fields.
//!
//! `cargo run --release -p crm-benches --bin query-bench -- --customers 1000000`
//!
//! A binary of its own rather than a table of `crm-bench`: it needs a counting allocator for
//! the whole process (`heap.rs`), which would tax every figure `crm-bench` takes.

#![allow(clippy::unwrap_used)]

mod data;
mod heap;
mod open;
mod shapes;

use clap::Parser;
use crm_benches::measure::{header, millis, rate, row};
use crm_benches::{load_average, load_ours};
use crm_engine::{demo, KeySource, Kind, MasterKey, Op, Options, Store};
use shapes::{Params, SHAPES};

#[derive(Parser)]
struct Cli {
    #[arg(long, default_value_t = 1_000_000)]
    customers: usize,
    /// Orders per customer, on average (the demo's skew: early customers have more).
    #[arg(long, default_value_t = 2)]
    orders_per_customer: usize,
    /// Seconds each timed loop runs.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Parameter sets each shape is checked on, both sides compared.
    #[arg(long, default_value_t = 120)]
    checks: usize,
}

fn main() {
    let cli = Cli::parse();
    let customers = cli.customers;
    let orders = customers * cli.orders_per_customer;
    println!(
        "query-bench: {customers} customers, {orders} orders; load average {} at the start.",
        load_average()
    );
    let data = demo::generate(2026, customers, 1_000, orders);
    let extras = data::extras(customers, 34);
    let key = MasterKey::generate();
    let open = |dir: &std::path::Path| {
        Store::open(dir, &KeySource::Key(key.clone()), &Options::default()).unwrap()
    };

    let today_dir = tempfile::tempdir().unwrap();
    let loaded = millis(|| {
        let store = open(today_dir.path());
        load_ours(&store, &data);
        store.close().unwrap();
        0
    });
    println!(
        "Loaded the store without custom fields in {:.0} s.",
        loaded / 1000.0
    );
    let ours_dir = tempfile::tempdir().unwrap();
    let store = open(ours_dir.path());
    let loaded = millis(|| {
        data::load_ours_with_fields(&store, &data, &extras);
        0
    });
    println!(
        "Loaded the store with 3 indexed custom fields in {:.0} s.",
        loaded / 1000.0
    );
    let sqlite_dir = tempfile::tempdir().unwrap();
    let mut db = None;
    let loaded = millis(|| {
        db = Some(data::sqlite_with_columns(sqlite_dir.path(), &data, &extras));
        0
    });
    let db = db.unwrap();
    println!(
        "Loaded SQLite (3 columns, 3 indexes, ANALYZE) in {:.0} s; load average {}.",
        loaded / 1000.0,
        load_average()
    );
    drop(data);

    let params: Vec<Params> = (0..cli.checks.max(1)).map(Params::nth).collect();
    for shape in SHAPES {
        for p in &params {
            let ours = shape.ours(&store, &shape.request(p));
            let theirs = shape.sqlite(&db, p);
            assert_eq!(ours, theirs, "{}: ours and SQLite differ", shape.name());
        }
    }
    println!("Both sides gave the same rows in the same order (counts: the same number) for {} parameter sets of each shape.", params.len());

    header(&format!(
        "{customers} customers with 3 indexed custom fields (ratio > 1: ours is faster)"
    ));
    for shape in SHAPES {
        let requests: Vec<_> = params.iter().map(|p| shape.request(p)).collect();
        let n = params.len() as u64;
        let ours = rate(cli.seconds, |i| {
            shape.ours(&store, &requests[(i % n) as usize]);
        });
        let theirs = rate(cli.seconds, |i| {
            shape.sqlite(&db, &params[(i % n) as usize]);
        });
        row(shape.name(), ours, theirs, "ops/s", true);
    }
    println!("\nLoad average after the queries: {}.", load_average());

    println!("\n### Heap each indexed field adds ({customers} customers)\n");
    println!(
        "| field | set on | `INDEX ON` adds | `INDEX OFF` frees | per customer | per value set |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let set = [
        extras.len(),
        extras.iter().filter(|e| e.score.is_some()).count(),
        extras.iter().filter(|e| e.renewal.is_some()).count(),
    ];
    for (name, set) in [data::STAGE, data::SCORE, data::RENEWAL]
        .into_iter()
        .zip(set)
    {
        let index = |on| {
            store
                .write(Op::IndexField {
                    kind: Kind::Customer,
                    name: name.to_string(),
                    on,
                })
                .unwrap();
            heap::live_bytes()
        };
        // `ON` opens every record (sled's cache may grow meanwhile); `OFF` only frees what the
        // field's index held: the figure per customer is that.
        let off = index(false);
        let on = index(true);
        let freed = on - index(false);
        index(true);
        let mib = |bytes: i64| bytes as f64 / 1048576.0;
        println!(
            "| {name} | {set} | {:.1} MiB | {:.1} MiB | {:.1} B | {:.1} B |",
            mib(on - off),
            mib(freed),
            freed as f64 / customers as f64,
            freed as f64 / set as f64
        );
    }

    store.close().unwrap();
    drop(store);
    open::compare(today_dir.path(), ours_dir.path(), &open, customers);
    println!("\nLoad average at the end: {}.", load_average());
}
