//! Times single durable order writes from N threads (used while tuning group commit):
//! `W=16 D=sync cargo run --release -p crm-engine --example write_profile`.

#![allow(clippy::unwrap_used)]
use crm_engine::{Durability, NewOrder, Op, Options, Store};
use std::time::Instant;

fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (writers, per_writer) = (env("W", 1), env("OPS", 2_000));
    let durability = match std::env::var("D").as_deref() {
        Ok("periodic") => Durability::Periodic,
        _ => Durability::Sync,
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        &crm_engine::KeySource::Key(crm_engine::MasterKey::generate()),
        &Options {
            durability,
            ..Options::default()
        },
    )
    .unwrap();
    crm_engine::demo::generate(1, 1_000, 10, 10_000)
        .load_into(&store)
        .unwrap();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..writers {
            let store = &store;
            scope.spawn(move || {
                for i in 0..per_writer {
                    store
                        .write(Op::AddOrder(NewOrder {
                            id: None,
                            customer_id: 1 + ((w * per_writer + i) % 1_000) as u64,
                            product_id: 1 + (i % 10) as u64,
                            quantity: 1,
                            created_at: None,
                            take_stock: false,
                        }))
                        .unwrap();
                }
            });
        }
    });
    let total = writers * per_writer;
    let elapsed = started.elapsed();
    println!(
        "{writers} writers, {total} writes in {elapsed:?}: {:.0}/s, {:?} each",
        total as f64 / elapsed.as_secs_f64(),
        elapsed / total as u32
    );
}
