//! The main report: our store against SQLite on the same CRM work, one size at a time.

use crm_benches::measure::{concurrent_rate, header, millis, rate, row};
use crm_benches::*;
use crm_engine::{Durability, Options, Store};
use rand::{Rng, SeedableRng};

pub fn compare(orders: usize, seconds: f64) {
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

    // Closed, as after a restart: the redo log's live segment and spares are given back.
    store.close().unwrap();
    println!(
        "On disk, closed: ours {:.1} MiB (sled, encrypted, with blind indexes), SQLite {:.1} MiB.",
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
