//! What a store's bytes are spent on, by key space, read with sled directly after a clean
//! close (so sled's files hold everything): `DIR=/tmp/sp N=1000000 cargo run --release -p
//! crm-engine --example space_profile` (tuning the on-disk layout).

#![allow(clippy::unwrap_used)]
fn main() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let dir = std::path::PathBuf::from(std::env::var("DIR").unwrap());
    if !dir.exists() {
        let store = crm_engine::Store::open(
            &dir,
            &crm_engine::KeySource::Key(crm_engine::MasterKey::generate()),
            &crm_engine::Options::default(),
        )
        .unwrap();
        crm_engine::demo::generate(1, n / 10, (n / 1000).max(1), n)
            .load_into(&store)
            .unwrap();
        store.close().unwrap();
        drop(store);
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let db = sled::open(&dir).unwrap();
    let tree = db.open_tree(b"crm").unwrap();
    let mut by: std::collections::BTreeMap<u8, (u64, u64)> = Default::default();
    for e in tree.iter() {
        let (k, v) = e.unwrap();
        let s = by.entry(k[0]).or_default();
        s.0 += 1;
        s.1 += (k.len() + v.len()) as u64;
    }
    let mut total = 0;
    for (p, (n, b)) in &by {
        println!(
            "{} entries {:>9} bytes {:>8.1} MiB",
            *p as char,
            n,
            *b as f64 / 1048576.0
        );
        total += b;
    }
    println!(
        "live {:.1} MiB, size_on_disk {:.1} MiB",
        total as f64 / 1048576.0,
        db.size_on_disk().unwrap() as f64 / 1048576.0
    );
}
