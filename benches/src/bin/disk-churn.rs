//! The store's size under churn, against SQLite's file, and the time an open takes: loads the
//! same orders into both (default 1,000,000), deletes every tenth order, restarts, and reports
//! the sizes after each step and how long our open took (it rebuilds the in-memory indexes and
//! rollups from the sealed orders).
//!
//! `cargo run --release -p crm-benches --bin disk-churn -- --orders 1000000`

#![allow(clippy::unwrap_used)]

use clap::Parser;
use crm_benches::*;
use crm_engine::{KeySource, MasterKey, Op, Options, Store};
use std::time::Instant;

#[derive(Parser)]
struct Cli {
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let cli = Cli::parse();
    let dir = tempfile::tempdir().unwrap();
    let ours_dir = dir.path().join("ours");
    let sqlite_dir = dir.path().join("sqlite");
    std::fs::create_dir_all(&sqlite_dir).unwrap();
    let key = MasterKey::generate();
    let open = || Store::open(&ours_dir, &KeySource::Key(key.clone()), &Options::default());
    let data = workload(cli.orders);

    let store = open().unwrap();
    let started = Instant::now();
    load_ours(&store, &data);
    let load_s = started.elapsed().as_secs_f64();
    let mut sqlite = open_sqlite(&sqlite_dir, "NORMAL");
    load_sqlite(&mut sqlite, &data);
    let row = |step: &str, ours: u64, sqlite: u64| {
        println!(
            "| {step:<34} | {:>9.1} MiB | {:>9.1} MiB | {:>6.2}x |",
            mib(ours),
            mib(sqlite),
            ours as f64 / sqlite as f64
        );
    };
    println!(
        "{} orders loaded in {load_s:.1} s; then every tenth deleted, then a restart.\n",
        cli.orders
    );
    println!(
        "| step                               |          ours |        SQLite | ours / SQLite |"
    );
    println!("|------------------------------------|---------------|---------------|--------|");
    row("loaded", folder_bytes(&ours_dir), folder_bytes(&sqlite_dir));

    let doomed: Vec<u64> = (1..=cli.orders as u64).filter(|id| id % 10 == 0).collect();
    for chunk in doomed.chunks(5_000) {
        let ops: Vec<Op> = chunk.iter().map(|&id| Op::DeleteOrder(id)).collect();
        for result in store.write_many(ops).unwrap() {
            result.unwrap();
        }
    }
    {
        let tx = sqlite.transaction().unwrap();
        for id in &doomed {
            tx.execute("DELETE FROM orders WHERE id = ?1", [*id as i64])
                .unwrap();
        }
        tx.commit().unwrap();
        sqlite
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    row(
        "10% of the orders deleted",
        folder_bytes(&ours_dir),
        folder_bytes(&sqlite_dir),
    );
    store.close().unwrap();
    drop(store);
    drop(sqlite);

    let started = Instant::now();
    let store = open().unwrap();
    let open_s = started.elapsed().as_secs_f64();
    row(
        "after a restart",
        folder_bytes(&ours_dir),
        folder_bytes(&sqlite_dir),
    );
    println!(
        "\nOpening the store with {} orders took {open_s:.2} s (indexes and rollups rebuilt).",
        store.counts().unwrap().orders
    );
    println!(
        "Peak resident memory of this process: {} MiB.",
        peak_memory_kib() / 1024
    );
}
