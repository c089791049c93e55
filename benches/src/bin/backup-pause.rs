//! How long do writes pause for an online backup? Loads a store (default 1,000,000 orders),
//! keeps 4 durable writers busy, takes a backup, and reports the longest gate hold and the
//! slowest write seen during the backup against the slowest write before it.
//!
//! `cargo run --release -p crm-benches --bin backup-pause -- --orders 1000000`

#![allow(clippy::unwrap_used)]

use clap::Parser;
use crm_benches::*;
use crm_engine::{NewCustomer, Op, Options};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Cli {
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
}

fn main() {
    let cli = Cli::parse();
    let dir = tempfile::tempdir().unwrap();
    let store = open_ours(&dir.path().join("data"), &Options::default());
    let started = Instant::now();
    load_ours(&store, &workload(cli.orders));
    println!(
        "loaded {} orders in {:.1} s",
        cli.orders,
        started.elapsed().as_secs_f64()
    );

    let backing_up = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let slowest_before = Arc::new(AtomicU64::new(0));
    let slowest_during = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (store, backing_up, stop) = (store.clone(), backing_up.clone(), stop.clone());
            let (before, during) = (slowest_before.clone(), slowest_during.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let new = NewCustomer::parse(
                        "Pause Probe",
                        &format!("probe{w}-{i}@x.io"),
                        None,
                        None,
                        None,
                    )
                    .unwrap();
                    let t = Instant::now();
                    store.write(Op::AddCustomer(new)).unwrap();
                    let micros = t.elapsed().as_micros() as u64;
                    let slot = if backing_up.load(Ordering::Relaxed) {
                        &during
                    } else {
                        &before
                    };
                    slot.fetch_max(micros, Ordering::Relaxed);
                }
                i
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    backing_up.store(true, Ordering::Relaxed);
    let t = Instant::now();
    let summary = store
        .backup_to(&dir.path().join("b.crmbak"), &|_| {})
        .unwrap();
    let took = t.elapsed();
    backing_up.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let writes: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    println!(
        "backup of {} records, {:.1} MiB, in {:.1} s while 4 writers made {writes} durable writes",
        summary.header.records(),
        summary.bytes as f64 / 1048576.0,
        took.as_secs_f64()
    );
    println!(
        "longest gate hold (longest a write could wait for the backup): {:.2} ms",
        summary.longest_pause.as_secs_f64() * 1000.0
    );
    println!(
        "slowest durable write: {:.2} ms before the backup, {:.2} ms during it",
        slowest_before.load(Ordering::Relaxed) as f64 / 1000.0,
        slowest_during.load(Ordering::Relaxed) as f64 / 1000.0
    );
}
