//! Criterion: the hot operations of the CRM workload, ours and SQLite side by side in one run.

#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use crm_benches::*;
use crm_engine::Options;

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
}

criterion_group!(benches, bench);
criterion_main!(benches);
