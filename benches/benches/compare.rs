//! Criterion: the hot operations of the CRM workload, ours and SQLite side by side in one run.

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use crm_benches::*;
use crm_engine::Options;
use std::time::{Duration, Instant};

fn bench(c: &mut Criterion) {
    let orders = std::env::var("CRM_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000usize);
    let data = workload(orders);
    let ours_dir = tempfile::tempdir().unwrap();
    let sqlite_dir = tempfile::tempdir().unwrap();
    let store = open_ours(ours_dir.path(), &Options::default());
    load_ours(&store, &data);
    let mut db = open_sqlite(sqlite_dir.path(), "FULL");
    load_sqlite(&mut db, &data);
    let customers = data.customers.len() as u64;
    let emails: Vec<String> = data.customers.iter().map(|c| c.email.clone()).collect();

    let mut group = c.benchmark_group(format!("point_read/{orders}"));
    let mut i = 0u64;
    group.bench_function(BenchmarkId::new("ours", orders), |b| {
        b.iter(|| {
            i += 1;
            read_ours(&store, 1 + i % customers)
        })
    });
    group.bench_function(BenchmarkId::new("sqlite", orders), |b| {
        b.iter(|| {
            i += 1;
            read_sqlite(&db, 1 + i % customers)
        })
    });
    group.finish();

    let mut group = c.benchmark_group(format!("email_lookup/{orders}"));
    group.bench_function("ours", |b| {
        b.iter(|| {
            i += 1;
            email_ours(&store, &emails[(i % customers) as usize])
        })
    });
    group.bench_function("sqlite", |b| {
        b.iter(|| {
            i += 1;
            email_sqlite(&db, &emails[(i % customers) as usize])
        })
    });
    group.finish();

    let mut group = c.benchmark_group(format!("customer_orders/{orders}"));
    group.bench_function("ours", |b| {
        b.iter(|| {
            i += 1;
            customer_orders_ours(&store, 1 + i % customers)
        })
    });
    group.bench_function("sqlite", |b| {
        b.iter(|| {
            i += 1;
            customer_orders_sqlite(&db, 1 + i % customers)
        })
    });
    group.finish();

    let mut group = c.benchmark_group(format!("time_range_first_100/{orders}"));
    group.bench_function("ours", |b| {
        b.iter(|| {
            i += 1;
            let since = FIRST_DAY + (i as i64 % 300) * DAY;
            time_range_ours(&store, since, since + DAY)
        })
    });
    group.bench_function("sqlite", |b| {
        b.iter(|| {
            i += 1;
            let since = FIRST_DAY + (i as i64 % 300) * DAY;
            time_range_sqlite(&db, since, since + DAY)
        })
    });
    group.finish();

    let mut group = c.benchmark_group(format!("per_customer_totals/{orders}"));
    group.sample_size(10);
    group.bench_function("ours_full_scan", |b| b.iter(|| aggregate_scan_ours(&store)));
    group.bench_function("ours_rollups", |b| {
        b.iter(|| aggregate_rollups_ours(&store))
    });
    group.bench_function("sqlite_join_group_by", |b| b.iter(|| aggregate_sqlite(&db)));
    group.finish();

    let mut group = c.benchmark_group("durable_insert_1_writer");
    group.sample_size(20);
    group.bench_function("ours", |b| {
        b.iter(|| {
            i += 1;
            insert_ours(&store, 1 + i % customers, 1)
        })
    });
    group.bench_function("sqlite_synchronous_full", |b| {
        b.iter(|| {
            i += 1;
            insert_sqlite(&db, 1 + i % customers, 1)
        })
    });
    group.finish();

    // Time per insert with 16 writers at once: group commit against SQLite's write lock.
    let mut group = c.benchmark_group("durable_insert_16_writers");
    group.sample_size(10);
    group.bench_function("ours", |b| {
        b.iter_custom(|inserts| {
            let store = store.clone();
            sixteen_writers(
                inserts,
                move || store.clone(),
                move |s, i| insert_ours(s, 1 + i % customers, 1),
            )
        })
    });
    let path = sqlite_dir.path().join("crm.sqlite");
    group.bench_function("sqlite_synchronous_full", |b| {
        b.iter_custom(|inserts| {
            let path = path.clone();
            sixteen_writers(
                inserts,
                move || open_sqlite_writer(&path),
                move |db, i| insert_sqlite(db, 1 + i % customers, 1),
            )
        })
    });
    group.finish();

    // A fixed 10,000-order workload into a fresh store per sample, whatever CRM_BENCH_ORDERS
    // is (importing 1M orders ten times over would take an hour); `crm-bench` imports each size.
    let batch = workload(10_000);
    let mut group = c.benchmark_group("bulk_import_10k_orders");
    group.sample_size(10);
    group.bench_function("ours", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let store = open_ours(dir.path(), &Options::default());
                load_ours(&store, &batch);
                store.close().unwrap();
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("sqlite", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let mut db = open_sqlite(dir.path(), "FULL");
                load_sqlite(&mut db, &batch);
                drop(db);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Runs `inserts` writes on 16 threads, each with its own handle, taking the next write from a
/// shared counter (throughput, as `crm-bench` measures it: a thread that waits long on a lock
/// does not hold up the others' work); the wall time. At least 2,000 writes run and the time is
/// scaled to `inserts`: with a few dozen, SQLite's busy handler (sleeps of up to 100 ms while
/// another connection holds the write lock) would make the last sleeper the whole measurement.
fn sixteen_writers<S: Send + 'static>(
    inserts: u64,
    make: impl Fn() -> S,
    work: impl Fn(&S, u64) + Send + Sync + Copy + 'static,
) -> Duration {
    let requested = inserts;
    let inserts = inserts.max(2_000);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let states: Vec<S> = (0..16).map(|_| make()).collect();
    let started = Instant::now();
    let handles: Vec<_> = states
        .into_iter()
        .map(|state| {
            let next = next.clone();
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= inserts {
                    break;
                }
                work(&state, i);
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    started.elapsed().mul_f64(requested as f64 / inserts as f64)
}

criterion_group!(benches, bench);
criterion_main!(benches);
