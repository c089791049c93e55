//! Times the parallel full scan against its parts (used while tuning analytics):
//! `N=100000 cargo run --release -p crm-engine --example scan_profile`.

#![allow(clippy::unwrap_used)]
use crm_engine::{Kind, Order, Store};
use std::time::Instant;

fn time<T>(name: &str, work: impl Fn() -> T) {
    for _ in 0..3 {
        let started = Instant::now();
        std::hint::black_box(work());
        println!("{name}: {:?}", started.elapsed());
    }
}

fn main() {
    let orders: usize = std::env::var("N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        &crm_engine::KeySource::Key(crm_engine::MasterKey::generate()),
        &crm_engine::Options::default(),
    )
    .unwrap();
    crm_engine::demo::generate(1, orders / 10, 100, orders)
        .load_into(&store)
        .unwrap();
    time("count only (scan, open, decode)", || {
        store
            .par_fold(Kind::Order, || 0u64, |n, _: Order| *n += 1, |a, b| *a += b)
            .unwrap()
    });
    time("per-customer totals", || {
        crm_engine::stats::recompute_customer_rollups(&store).unwrap()
    });
}
