//! Times loading demo data (used while tuning the write path).

#![allow(clippy::unwrap_used)]
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = crm_engine::Store::open(
        dir.path(),
        &crm_engine::KeySource::Key(crm_engine::MasterKey::generate()),
        &crm_engine::Options::default(),
    )
    .unwrap();
    let data = crm_engine::demo::generate(
        1,
        std::env::var("N")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000),
        100,
        std::env::var("N")
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(10_000)
            * 10,
    );
    let t = std::time::Instant::now();
    data.load_into(&store).unwrap();
    println!("loaded {} rows in {:?}", 110_100, t.elapsed());
}
