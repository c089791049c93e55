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
    println!("| round | without custom fields | with 3 indexed fields | ratio | heap after open: without / with |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let mut best = (f64::MAX, f64::MAX);
    for round in 1..=ROUNDS {
        let (plain, plain_heap) = timed_open(today, open);
        let (fields, fields_heap) = timed_open(with_fields, open);
        best = (best.0.min(plain), best.1.min(fields));
        println!(
            "| {round} | {plain:.2} s | {fields:.2} s | {:.2}x | {:.0} / {:.0} MiB |",
            plain / fields,
            plain_heap as f64 / 1048576.0,
            fields_heap as f64 / 1048576.0
        );
    }
    println!(
        "| best | {:.2} s | {:.2} s | {:.2}x | |",
        best.0,
        best.1,
        best.0 / best.1
    );
}

/// Seconds an open takes, and the heap it holds once open (closed again before returning).
fn timed_open(dir: &Path, open: &dyn Fn(&Path) -> Store) -> (f64, i64) {
    let before = live_bytes();
    let started = Instant::now();
    let store = open(dir);
    let seconds = started.elapsed().as_secs_f64();
    let held = live_bytes() - before;
    store.close().unwrap();
    drop(store);
    (seconds, held)
}
