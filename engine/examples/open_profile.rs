//! How long an open takes and what it leaves resident: the open rebuilds every in-memory
//! index and the rollups from the sealed records and journal pages. The first run in `DIR`
//! loads `N` orders (a customer per ten orders) under the key in `DIR.key` and closes; every
//! run then opens the store once and prints the open's time and the resident memory after it
//! (one open per process, so that the memory is that one open's), so two builds can be
//! compared on one folder, run after run:
//! `DIR=/tmp/op N=1000000 cargo run --release -p crm-engine --example open_profile`.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find(|line| line.starts_with("VmRSS"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn main() {
    let n = env_number("N", 100_000);
    let dir = std::path::PathBuf::from(std::env::var("DIR").unwrap());
    let key_file = dir.with_extension("key");
    let options = crm_engine::Options::default();
    if !dir.exists() {
        crm_engine::write_key_file(&key_file).unwrap();
        let key = crm_engine::KeySource::File(key_file.clone());
        let store = crm_engine::Store::open(&dir, &key, &options).unwrap();
        let started = Instant::now();
        crm_engine::demo::generate(1, (n / 10).max(10), (n / 1000).clamp(10, 1000), n)
            .load_into(&store)
            .unwrap();
        store.close().unwrap();
        let seconds = started.elapsed().as_secs_f64();
        println!("loaded {n} orders into {} in {seconds:.1} s", dir.display());
    }
    let key = crm_engine::KeySource::File(key_file);
    let started = Instant::now();
    let store = crm_engine::Store::open(&dir, &key, &options).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "open: {seconds:.2} s, resident after it {:.0} MiB",
        rss_mib()
    );
    store.close().unwrap();
}
