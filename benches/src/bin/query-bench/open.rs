//! The open time of the store with three indexed custom fields against the same customers and
//! orders in a store without custom fields (today's), alternated so that both see the same
//! machine, with the heap each holds once open.

use crate::heap::live_bytes;
use crm_engine::Store;
use std::path::Path;
use std::time::Instant;

/// Rounds of (today's, with fields) opens; the table gives each round and the best.
const ROUNDS: usize = 2;

pub fn compare(today: &Path, with_fields: &Path, open: &dyn Fn(&Path) -> Store, customers: usize) {
    println!("\n### Open time ({customers} customers; ratio: today's over with fields)\n");
    println!("| round | without custom fields | with 3 indexed fields | ratio | heap after open: without / with | customers' query rows: without / with |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut best = (f64::MAX, f64::MAX);
    for round in 1..=ROUNDS {
        let (plain, plain_heap, plain_rows) = timed_open(today, open);
        let (fields, fields_heap, fields_rows) = timed_open(with_fields, open);
        best = (best.0.min(plain), best.1.min(fields));
        let per_customer = |bytes: i64| bytes as f64 / customers as f64;
        println!(
            "| {round} | {plain:.2} s | {fields:.2} s | {:.2}x | {:.0} / {:.0} MiB | {:.1} / {:.1} B a customer |",
            plain / fields,
            plain_heap as f64 / 1048576.0,
            fields_heap as f64 / 1048576.0,
            per_customer(plain_rows),
            per_customer(fields_rows)
        );
    }
    println!(
        "| best | {:.2} s | {:.2} s | {:.2}x | |",
        best.0,
        best.1,
        best.0 / best.1
    );
}

/// Seconds an open takes, the heap it holds once open, and the heap the customers' query
/// rows hold (built again on their own, and weighed as what dropping them frees: what sled's
/// cache grows by meanwhile is not theirs). Closed again before returning.
fn timed_open(dir: &Path, open: &dyn Fn(&Path) -> Store) -> (f64, i64, i64) {
    let before = live_bytes();
    let started = Instant::now();
    let store = open(dir);
    let seconds = started.elapsed().as_secs_f64();
    let held = live_bytes() - before;
    let rows = store.customer_query_rows_rebuilt().unwrap();
    let holding = live_bytes();
    drop(rows);
    let rows_bytes = holding - live_bytes();
    store.close().unwrap();
    drop(store);
    (seconds, held, rows_bytes)
}
