//! The shared workload of the benchmarks: the same generated CRM data loaded into our store
//! and into SQLite (same schema, same indexes, WAL, prepared statements), and each operation
//! asked of both.

#![allow(clippy::unwrap_used)]

pub mod measure;

use crm_engine::{
    demo, KeySource, MasterKey, NewOrder, Op, Options, OrderQuery, OrderScope, Store,
};
use rusqlite::{params, Connection};
use std::path::Path;

pub use crm_engine::demo::Demo;

/// Customers, products and orders for a number of orders (10 orders per customer, 1,000
/// products at most), as the sizes ask.
pub fn workload(orders: usize) -> Demo {
    demo::generate(
        2026,
        (orders / 10).max(10),
        (orders / 1_000).clamp(10, 1_000),
        orders,
    )
}

/// Opens our store in `dir` with a fresh key.
pub fn open_ours(dir: &Path, options: &Options) -> Store {
    Store::open(dir, &KeySource::Key(MasterKey::generate()), options).unwrap()
}

/// Loads the workload into our store in write groups of 5,000 (the import path).
pub fn load_ours(store: &Store, data: &Demo) {
    let ops: Vec<Op> = data.ops().collect();
    for chunk in ops.chunks(5_000) {
        for result in store.write_many(chunk.to_vec()).unwrap() {
            result.unwrap();
        }
    }
}

const SCHEMA: &str = "
    PRAGMA journal_mode = WAL;
    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
        phone TEXT, address TEXT, created_at INTEGER NOT NULL);
    CREATE INDEX customers_phone ON customers(phone);
    CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL,
        stock INTEGER NOT NULL);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
        product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,
        unit_price_cents INTEGER NOT NULL, created_at INTEGER NOT NULL, took_stock INTEGER NOT NULL);
    CREATE INDEX orders_customer ON orders(customer_id);
    CREATE INDEX orders_product ON orders(product_id);
    CREATE INDEX orders_created ON orders(created_at);
";

/// Opens SQLite in `dir` with the same schema and indexes, WAL, `synchronous` as given, and a
/// 64 MiB page cache: the memory our store's record cache gets by default, so neither side
/// reads hot rows with less memory than the other.
pub fn open_sqlite(dir: &Path, synchronous: &str) -> Connection {
    let db = Connection::open(dir.join("crm.sqlite")).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;"
    ))
    .unwrap();
    db.busy_timeout(std::time::Duration::from_secs(60)).unwrap();
    db
}

/// Loads the workload into SQLite in transactions of 5,000 rows with prepared statements.
pub fn load_sqlite(db: &mut Connection, data: &Demo) {
    let prices: Vec<u64> = data.products.iter().map(|p| p.price_cents).collect();
    let mut rows = 0;
    let mut tx = db.transaction().unwrap();
    macro_rules! maybe_commit {
        () => {
            rows += 1;
            if rows % 5_000 == 0 {
                tx.commit().unwrap();
                tx = db.transaction().unwrap();
            }
        };
    }
    for c in &data.customers {
        tx.prepare_cached(
            "INSERT INTO customers (id, name, email, phone, address, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .unwrap()
        .execute(params![
            c.id.unwrap() as i64,
            c.name,
            c.email,
            c.phone,
            c.address,
            c.created_at.unwrap()
        ])
        .unwrap();
        maybe_commit!();
    }
    for p in &data.products {
        tx.prepare_cached("INSERT INTO products VALUES (?1, ?2, ?3, ?4)")
            .unwrap()
            .execute(params![
                p.id.unwrap() as i64,
                p.name,
                p.price_cents as i64,
                p.stock.unwrap_or(0) as i64
            ])
            .unwrap();
        maybe_commit!();
    }
    for o in &data.orders {
        tx.prepare_cached("INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)")
            .unwrap()
            .execute(params![
                o.id.unwrap() as i64,
                o.customer_id as i64,
                o.product_id as i64,
                o.quantity,
                prices[(o.product_id - 1) as usize] as i64,
                o.created_at.unwrap()
            ])
            .unwrap();
        maybe_commit!();
    }
    tx.commit().unwrap();
}

/// A point read of a customer by id: ours.
pub fn read_ours(store: &Store, id: u64) -> usize {
    store.customer(id).unwrap().map_or(0, |c| c.name.len())
}

/// A point read of a customer by id: SQLite.
pub fn read_sqlite(db: &Connection, id: u64) -> usize {
    db.prepare_cached("SELECT name FROM customers WHERE id = ?1")
        .unwrap()
        .query_row([id as i64], |row| row.get::<_, String>(0))
        .map_or(0, |name| name.len())
}

/// Lookup by email: ours (blind index).
pub fn email_ours(store: &Store, email: &str) -> usize {
    store.find_by_email(email, 0, usize::MAX).unwrap().len()
}

/// Lookup by email: SQLite (unique index).
pub fn email_sqlite(db: &Connection, email: &str) -> usize {
    let mut statement = db
        .prepare_cached(
            "SELECT id, name, email, phone, address, created_at FROM customers WHERE email = ?1",
        )
        .unwrap();
    statement
        .query_map([email], |row| row.get::<_, i64>(0))
        .unwrap()
        .count()
}

/// The orders of one customer: ours.
pub fn customer_orders_ours(store: &Store, customer: u64) -> usize {
    let query = OrderQuery {
        scope: OrderScope::Customer(customer),
        since: None,
        until: None,
        after: 0,
        limit: 100_000,
    };
    store.orders(&query).unwrap().len()
}

/// The orders of one customer: SQLite.
pub fn customer_orders_sqlite(db: &Connection, customer: u64) -> usize {
    let mut statement = db
        .prepare_cached("SELECT * FROM orders WHERE customer_id = ?1 ORDER BY id")
        .unwrap();
    statement
        .query_map([customer as i64], |row| row.get::<_, i64>(0))
        .unwrap()
        .count()
}

/// Orders in a time range (first 100 by id): ours.
pub fn time_range_ours(store: &Store, since: i64, until: i64) -> usize {
    let query = OrderQuery {
        scope: OrderScope::All,
        since: Some(since),
        until: Some(until),
        after: 0,
        limit: 100,
    };
    store.orders(&query).unwrap().len()
}

/// Orders in a time range (first 100 by id): SQLite.
pub fn time_range_sqlite(db: &Connection, since: i64, until: i64) -> usize {
    let mut statement = db
        .prepare_cached(
            "SELECT * FROM orders WHERE created_at >= ?1 AND created_at < ?2 ORDER BY id LIMIT 100",
        )
        .unwrap();
    statement
        .query_map([since, until], |row| row.get::<_, i64>(0))
        .unwrap()
        .count()
}

/// One durable order insert: ours (waits for the group's flush).
pub fn insert_ours(store: &Store, customer: u64, product: u64) {
    store
        .write(Op::AddOrder(NewOrder {
            id: None,
            customer_id: customer,
            product_id: product,
            quantity: 1,
            created_at: None,
            take_stock: false,
        }))
        .unwrap();
}

/// Another connection to the SQLite file of `open_sqlite`, for a concurrent durable writer.
pub fn open_sqlite_writer(path: &Path) -> Connection {
    let db = Connection::open(path).unwrap();
    db.execute_batch("PRAGMA synchronous = FULL;").unwrap();
    db.busy_timeout(std::time::Duration::from_secs(60)).unwrap();
    db
}

/// The first day of the workload's orders and a day in seconds, for the time-range scans.
pub const FIRST_DAY: i64 = 1_735_689_600;
pub const DAY: i64 = 86_400;

/// One durable order insert: SQLite in autocommit (`synchronous=FULL`: one fsync per commit).
pub fn insert_sqlite(db: &Connection, customer: u64, product: u64) {
    db.prepare_cached(
        "INSERT INTO orders (customer_id, product_id, quantity, unit_price_cents, created_at, took_stock)
         SELECT ?1, id, 1, price_cents, strftime('%s','now'), 0 FROM products WHERE id = ?2",
    )
    .unwrap()
    .execute([customer as i64, product as i64])
    .unwrap();
}

/// The per-customer purchase table (count and Σ amount): SQLite's join + GROUP BY.
pub fn aggregate_sqlite(db: &Connection) -> usize {
    let mut statement = db
        .prepare_cached(
            "SELECT o.customer_id, COUNT(*), SUM(o.quantity * o.unit_price_cents), c.name
             FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY o.customer_id",
        )
        .unwrap();
    statement
        .query_map([], |row| row.get::<_, i64>(1))
        .unwrap()
        .count()
}

/// The same table by a full parallel scan of every (encrypted) order: ours.
pub fn aggregate_scan_ours(store: &Store) -> usize {
    crm_engine::stats::recompute_customer_rollups(store)
        .unwrap()
        .len()
}

/// The same table read from the rollups: ours.
pub fn aggregate_rollups_ours(store: &Store) -> usize {
    store.customer_rollups().unwrap().len()
}

/// The size of everything under a folder, in bytes.
pub fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        folder_bytes(&path)
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The process's peak resident memory (VmHWM), in KiB.
pub fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// Plain fsyncs per second on this disk: one 64-byte append and `sync_data` each.
pub fn raw_fsyncs_per_second(dir: &Path, count: usize) -> f64 {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("fsync-probe"))
        .unwrap();
    let started = std::time::Instant::now();
    for _ in 0..count {
        file.write_all(&[7u8; 64]).unwrap();
        file.sync_data().unwrap();
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// The machine's load averages over 1, 5 and 15 minutes, as `uptime` shows them: every
/// figure of a run on a shared machine is reported with it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_string())
}
