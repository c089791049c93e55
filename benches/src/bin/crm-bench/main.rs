//! `crm-bench`: one table of our store against SQLite on the same CRM work, with ratios, then
//! sled's tuning knobs, the on-disk sizes and the peak memory.
//!
//! `cargo run --release -p crm-benches --bin crm-bench -- --orders 10000,100000,1000000`

#![allow(clippy::unwrap_used)]

mod compare;
mod knobs;

use clap::Parser;
use compare::compare;
use crm_benches::peak_memory_kib;
use knobs::knobs;

#[derive(Parser)]
struct Cli {
    /// Sizes in orders (10 per customer).
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000])]
    orders: Vec<usize>,
    /// Seconds each timed loop runs.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    /// Skip the sled knob table.
    #[arg(long)]
    no_knobs: bool,
}

fn main() {
    let cli = Cli::parse();
    println!("crm-bench: our store (sled 0.34, XChaCha20-Poly1305 on every record) vs SQLite (bundled, WAL, same schema and indexes).");
    for orders in &cli.orders {
        compare(*orders, cli.seconds);
    }
    if !cli.no_knobs {
        knobs(*cli.orders.first().unwrap_or(&10_000), cli.seconds);
    }
    println!(
        "\nPeak resident memory of this process: {} MiB.",
        peak_memory_kib() / 1024
    );
}
