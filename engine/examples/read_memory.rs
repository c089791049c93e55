//! Watches resident memory while reading random customers (used to chase memory growth).

#![allow(clippy::unwrap_used)]
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap()
        .to_string()
}
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let options = crm_engine::Options::default();
    let store = crm_engine::Store::open(
        dir.path(),
        &crm_engine::KeySource::Key(crm_engine::MasterKey::generate()),
        &options,
    )
    .unwrap();
    crm_engine::demo::generate(1, 100_000, 10, 0)
        .load_into(&store)
        .unwrap();
    println!("loaded: {}", rss());
    let threads: usize = std::env::var("T")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    for round in 0..4 {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        let id = 1 + (i * 7919 + t as u64 * 13 + round * 31) % 100_000;
                        std::hint::black_box(store.customer(id).unwrap());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        println!("after round {round}: {}", rss());
    }
}
