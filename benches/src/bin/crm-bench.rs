//! `crm-bench`: one table of our store against SQLite on the same CRM work, with ratios, then
//! sled's tuning knobs, the on-disk sizes and the peak memory.
//!
//! `cargo run --release -p crm-benches --bin crm-bench -- --orders 10000,100000,1000000`

#![allow(clippy::unwrap_used)]

use clap::Parser;
use crm_benches::*;
use crm_engine::{Durability, Options, StorageMode, Store};
use rand::{Rng, SeedableRng};
use std::time::Instant;

#[derive(Parser)]
struct Cli {
    /// Sizes in orders (10 per customer).
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000])]
    orders: Vec<usize>,
    /// Seconds each timed loop runs.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Skip the sled knob table.
    #[arg(long)]
    no_knobs: bool,
}

/// Runs `work` repeatedly for about `seconds`; returns operations per second.
fn rate(seconds: f64, mut work: impl FnMut(u64)) -> f64 {
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        work(done);
        done += 1;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// Runs `work` once; returns milliseconds.
fn millis(work: impl FnOnce() -> usize) -> f64 {
    let started = Instant::now();
    std::hint::black_box(work());
    started.elapsed().as_secs_f64() * 1000.0
}

/// `threads` writers for `seconds`; total operations per second.
fn concurrent_rate<S: Send + 'static>(
    threads: usize,
    seconds: f64,
    make: impl Fn(usize) -> S,
    work: impl Fn(&S, u64) + Send + Sync + Copy + 'static,
) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let state = make(t);
            std::thread::spawn(move || {
                let mut done = 0u64;
                let begin = Instant::now();
                while begin.elapsed().as_secs_f64() < seconds {
                    work(&state, done);
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

fn row(name: &str, ours: f64, theirs: f64, unit: &str, higher_is_better: bool) {
    let ratio = if higher_is_better {
        ours / theirs
    } else {
        theirs / ours
    };
    println!("| {name:<38} | {ours:>12.1} | {theirs:>12.1} | {unit:<7} | {ratio:>6.2}x |");
}

fn header(title: &str) {
    println!("\n### {title}\n");
    println!(
        "| {:<38} | {:>12} | {:>12} | {:<7} | {:>7} |",
        "operation", "ours", "SQLite", "unit", "ours vs SQLite"
    );
    println!(
        "|{}|{}|{}|{}|{}|",
        "-".repeat(40),
        "-".repeat(14),
        "-".repeat(14),
        "-".repeat(9),
        "-".repeat(9)
    );
}

fn compare(orders: usize, seconds: f64) {
    let data = workload(orders);
    let customers = data.customers.len() as u64;
    let products = data.products.len() as u64;
    let rows = data.customers.len() + data.products.len() + data.orders.len();
    header(&format!(
        "{orders} orders, {customers} customers, {products} products (ratio > 1: ours is better)"
    ));
    let ours_dir = tempfile::tempdir().unwrap();
    let sqlite_dir = tempfile::tempdir().unwrap();

    let store = open_ours(ours_dir.path(), &Options::default());
    let ours_import = millis(|| {
        load_ours(&store, &data);
        0
    });
    let mut db = open_sqlite(sqlite_dir.path(), "FULL");
    let sqlite_import = millis(|| {
        load_sqlite(&mut db, &data);
        0
    });
    row(
        "bulk import (rows/s)",
        rows as f64 / ours_import * 1000.0,
        rows as f64 / sqlite_import * 1000.0,
        "rows/s",
        true,
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let ids: Vec<u64> = (0..4096).map(|_| rng.gen_range(1..=customers)).collect();
    let emails: Vec<String> = ids
        .iter()
        .map(|id| data.customers[(*id - 1) as usize].email.clone())
        .collect();
    row(
        "point read by id",
        rate(seconds, |i| {
            read_ours(&store, ids[i as usize % 4096]);
        }),
        rate(seconds, |i| {
            read_sqlite(&db, ids[i as usize % 4096]);
        }),
        "ops/s",
        true,
    );
    row(
        "lookup by email (blind index)",
        rate(seconds, |i| {
            email_ours(&store, &emails[i as usize % 4096]);
        }),
        rate(seconds, |i| {
            email_sqlite(&db, &emails[i as usize % 4096]);
        }),
        "ops/s",
        true,
    );
    row(
        "orders of one customer",
        rate(seconds, |i| {
            customer_orders_ours(&store, ids[i as usize % 4096]);
        }),
        rate(seconds, |i| {
            customer_orders_sqlite(&db, ids[i as usize % 4096]);
        }),
        "ops/s",
        true,
    );
    let (start, day) = (FIRST_DAY, DAY);
    row(
        "time-range scan (a day, first 100)",
        rate(seconds, |i| {
            time_range_ours(
                &store,
                start + (i as i64 % 300) * day,
                start + (i as i64 % 300 + 1) * day,
            );
        }),
        rate(seconds, |i| {
            time_range_sqlite(
                &db,
                start + (i as i64 % 300) * day,
                start + (i as i64 % 300 + 1) * day,
            );
        }),
        "ops/s",
        true,
    );

    row(
        "per-customer totals: full scan",
        millis(|| aggregate_scan_ours(&store)),
        millis(|| aggregate_sqlite(&db)),
        "ms",
        false,
    );
    row(
        "per-customer totals: rollups",
        millis(|| aggregate_rollups_ours(&store)),
        millis(|| aggregate_sqlite(&db)),
        "ms",
        false,
    );

    let durable = seconds.max(1.0);
    row(
        "durable insert, 1 writer",
        rate(durable, |i| {
            insert_ours(&store, 1 + i % customers, 1 + i % products)
        }),
        rate(durable, |i| {
            insert_sqlite(&db, 1 + i % customers, 1 + i % products)
        }),
        "ops/s",
        true,
    );
    let (flushes_before, writes_before) = store.group_commit_totals();
    let ours16 = {
        let store = store.clone();
        concurrent_rate(
            16,
            durable,
            move |_| store.clone(),
            move |s: &Store, i| insert_ours(s, 1 + i % customers, 1 + i % products),
        )
    };
    let path = sqlite_dir.path().join("crm.sqlite");
    let sqlite16 = concurrent_rate(
        16,
        durable,
        move |_| open_sqlite_writer(&path),
        move |c: &rusqlite::Connection, i| insert_sqlite(c, 1 + i % customers, 1 + i % products),
    );
    row(
        "durable insert, 16 writers",
        ours16,
        sqlite16,
        "ops/s",
        true,
    );
    let (flushes, writes) = store.group_commit_totals();
    let per_flush = (writes - writes_before) as f64 / (flushes - flushes_before).max(1) as f64;
    let fsyncs = raw_fsyncs_per_second(ours_dir.path(), 300);
    println!("\nOne fsync per write would allow {fsyncs:.0} writes/s here; 16 writers reach {:.1}x that, {per_flush:.1} writes per fsync (group commit).", ours16 / fsyncs);

    store.flush().unwrap();
    println!(
        "On disk: ours {:.1} MiB (sled, encrypted, with blind indexes and rollups), SQLite {:.1} MiB.",
        folder_bytes(ours_dir.path()) as f64 / 1048576.0,
        folder_bytes(sqlite_dir.path()) as f64 / 1048576.0
    );
    drop(store);
    let periodic_dir = tempfile::tempdir().unwrap();
    let periodic = open_ours(
        periodic_dir.path(),
        &Options {
            durability: Durability::Periodic,
            ..Options::default()
        },
    );
    load_ours(&periodic, &workload(1_000));
    let p1 = rate(durable, |i| insert_ours(&periodic, 1 + i % 100, 1 + i % 10));
    let p16 = {
        let store = periodic.clone();
        concurrent_rate(
            16,
            durable,
            move |_| store.clone(),
            move |s: &Store, i| insert_ours(s, 1 + i % 100, 1 + i % 10),
        )
    };
    println!("Periodic durability (flush every 100 ms): {p1:.0} inserts/s with 1 writer, {p16:.0} with 16.");
}

fn knobs(orders: usize, seconds: f64) {
    println!("\n### sled knobs ({orders} orders): import, point reads, 16 durable writers\n");
    println!(
        "| {:<60} | {:>12} | {:>12} | {:>12} | {:>9} |",
        "setting", "import rows/s", "reads/s", "16 writers/s", "disk MiB"
    );
    println!(
        "|{}|{}|{}|{}|{}|",
        "-".repeat(62),
        "-".repeat(14),
        "-".repeat(14),
        "-".repeat(14),
        "-".repeat(11)
    );
    let data = workload(orders);
    let rows = data.customers.len() + data.products.len() + data.orders.len();
    let customers = data.customers.len() as u64;
    let base = Options::default();
    let settings = [
        (
            "default (256 MiB cache, 64 MiB record cache, HighThroughput)",
            base.clone(),
        ),
        (
            "cache_capacity 16 MiB",
            Options {
                cache_capacity: 16 << 20,
                ..base.clone()
            },
        ),
        (
            "cache_capacity 1 GiB",
            Options {
                cache_capacity: 1 << 30,
                ..base.clone()
            },
        ),
        (
            "mode LowSpace",
            Options {
                mode: StorageMode::LowSpace,
                ..base.clone()
            },
        ),
        (
            "flush_every_ms 10",
            Options {
                flush_every_ms: Some(10),
                ..base.clone()
            },
        ),
        (
            "record cache off (record_cache_bytes 0)",
            Options {
                record_cache_bytes: 0,
                ..base.clone()
            },
        ),
        (
            "flush_every_ms off (only our group flushes)",
            Options {
                flush_every_ms: Some(0),
                ..base.clone()
            },
        ),
    ];
    for (name, options) in settings {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            flush_every_ms: options.flush_every_ms.filter(|ms| *ms > 0),
            ..options
        };
        let store = open_ours(dir.path(), &options);
        let import = millis(|| {
            load_ours(&store, &data);
            0
        });
        let reads = rate(seconds, |i| {
            read_ours(&store, 1 + (i * 7919) % customers);
        });
        let writers = {
            let store = store.clone();
            concurrent_rate(
                16,
                seconds,
                move |_| store.clone(),
                move |s: &Store, i| insert_ours(s, 1 + i % customers, 1),
            )
        };
        store.flush().unwrap();
        println!(
            "| {name:<60} | {:>12.0} | {reads:>12.0} | {writers:>12.0} | {:>9.1} |",
            rows as f64 / import * 1000.0,
            folder_bytes(dir.path()) as f64 / 1048576.0
        );
    }
}

fn main() {
    let cli = Cli::parse();
    println!("crm-bench: our store (sled 0.34, XChaCha20-Poly1305 on every record) vs SQLite (bundled, WAL, same schema and indexes).");
    for orders in &cli.orders {
        compare(*orders, cli.seconds);
    }
    if !cli.no_knobs {
        knobs(*cli.orders.first().unwrap_or(&10_000), cli.seconds);
    }
    println!(
        "\nPeak resident memory of this process: {} MiB.",
        peak_memory_kib() / 1024
    );
}
