//! Times loading demo data through the import path (write groups of 5,000), used while tuning
//! the write path: `N=10000 cargo run --release -p crm-engine --example import_profile` loads
//! N customers, 100 products and 10 orders per customer; `PER_CUSTOMER=0` loads the customers
//! alone (their writes cost the most per row). `CRM_PROFILE_GROUPS=1` prints each group's
//! plan and store times.

#![allow(clippy::unwrap_used)]
fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let (customers, per_customer) = (env("N", 10_000), env("PER_CUSTOMER", 10));
    let dir = tempfile::tempdir().unwrap();
    let store = crm_engine::Store::open(
        dir.path(),
        &crm_engine::KeySource::Key(crm_engine::MasterKey::generate()),
        &crm_engine::Options::default(),
    )
    .unwrap();
    let data = crm_engine::demo::generate(1, customers, 100, customers * per_customer);
    let rows = data.customers.len() + data.products.len() + data.orders.len();
    let t = std::time::Instant::now();
    data.load_into(&store).unwrap();
    println!("loaded {rows} rows in {:?}", t.elapsed());
}
