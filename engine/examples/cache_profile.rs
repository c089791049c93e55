//! Times random point reads of orders and customers with and without the record cache, on an
//! existing store: `DATA=/tmp/crm-1m/data KEY=/tmp/crm-1m/key CACHE_MIB=32 cargo run --release
//! -p crm-engine --example cache_profile`.

#![allow(clippy::unwrap_used)]
use std::time::Instant;

fn main() {
    let env = |name: &str| std::env::var(name).unwrap();
    let cache_mib: u64 = env("CACHE_MIB").parse().unwrap();
    let options = crm_engine::Options {
        cache_capacity: 64 << 20,
        record_cache_bytes: cache_mib << 20,
        ..crm_engine::Options::default()
    };
    let store = crm_engine::Store::open(
        env("DATA").as_ref(),
        &crm_engine::KeySource::File(env("KEY").into()),
        &options,
    )
    .unwrap();
    let counts = store.counts().unwrap();
    for round in 0..3u64 {
        let started = Instant::now();
        for i in 0..200_000u64 {
            let id = 1 + (i * 7919 + round * 31) % counts.orders;
            std::hint::black_box(store.order(id).unwrap());
        }
        let orders = 200_000.0 / started.elapsed().as_secs_f64();
        let started = Instant::now();
        for i in 0..200_000u64 {
            let id = 1 + (i * 7919 + round * 31) % counts.customers;
            std::hint::black_box(store.customer(id).unwrap());
        }
        let customers = 200_000.0 / started.elapsed().as_secs_f64();
        let stats = store.record_cache_stats();
        println!(
            "round {round}: orders {orders:.0}/s, customers {customers:.0}/s; cache {} KiB \
             ({} hits, {} misses), resident {} KiB",
            stats.bytes / 1024,
            stats.hits,
            stats.misses,
            resident_kib()
        );
    }
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
