//! The second report: sled's tuning knobs (cache, flush interval, mode) on import, point reads
//! and 16 durable writers.

use crm_benches::measure::{concurrent_rate, millis, rate};
use crm_benches::*;
use crm_engine::{Options, StorageMode, Store};

pub fn knobs(orders: usize, seconds: f64) {
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
