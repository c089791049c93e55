//! `dup-bench`: `CUSTOMER.DUPLICATES` over a store of demo-shaped customers with planted
//! duplicates — how long the search takes at `MIN` 0.5, and its recall against the planted
//! list (every planted pair scores at least 0.5 by the contract, so recall must be 1).
//!
//! `cargo run --release -p crm-benches --bin dup-bench -- --customers 100000 --planted 0.02`
//!
//! `--shared-word N` measures the worst case for memory instead: N customers sharing one name
//! word (every pair a candidate), searched at `--min` (default 0.1) and `--limit` (default 1).
//! Both report the search's peak resident memory above what the process held before it
//! (Linux: `VmHWM` reset through `/proc/self/clear_refs`).

#![allow(clippy::unwrap_used)]

use clap::Parser;
use crm_benches::open_ours;
use crm_engine::{demo, NewCustomer, Op, Options};
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::time::Instant;

#[derive(Parser)]
struct Cli {
    #[arg(long, default_value_t = 100_000)]
    customers: usize,
    /// The share of customers that get a planted duplicate.
    #[arg(long, default_value_t = 0.02)]
    planted: f64,
    /// Instead: this many customers sharing one name word, and nothing else alike.
    #[arg(long)]
    shared_word: Option<usize>,
    /// `MIN` of the shared-word search, in thousandths.
    #[arg(long, default_value_t = 100)]
    min: u32,
    /// `LIMIT` of the shared-word search.
    #[arg(long, default_value_t = 1)]
    limit: usize,
}

/// A `kB` figure of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kb: f64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb / 1024.0
}

/// Runs `search`, returning its result and the peak resident memory it added, in MiB.
fn with_peak<T>(search: impl FnOnce() -> T) -> (T, f64) {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_mib("VmRSS:");
    let result = search();
    (result, status_mib("VmHWM:") - before)
}

/// The memory worst case: `count` customers sharing the word "commonword", their emails at
/// least two edits apart.
fn shared_word(count: usize, min: u32, limit: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_ours(dir.path(), &Options::default());
    let ops: Vec<Op> = (0..count)
        .map(|i| {
            let name = format!("Commonword Person{i}");
            let email = format!("p{i:07}x{:07}@x.example", 9_999_999 - i);
            Op::AddCustomer(NewCustomer::parse(&name, &email, None, None, None).unwrap())
        })
        .collect();
    for chunk in ops.chunks(5_000) {
        for result in store.write_many(chunk.to_vec()).unwrap() {
            result.unwrap();
        }
    }
    let started = Instant::now();
    let (pairs, peak) = with_peak(|| store.duplicates(min, limit));
    let search = started.elapsed();
    println!(
        "| customers sharing a word | MIN | LIMIT | search s | pairs listed | peak RSS above before, MiB |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: |\n\
         | {count} | {:.3} | {limit} | {:.2} | {} | {peak:.1} |",
        f64::from(min) / 1000.0,
        search.as_secs_f64(),
        match &pairs {
            Ok(pairs) => pairs.len().to_string(),
            Err(error) => format!("refused: {error}"),
        },
    );
}

/// A planted copy of `original` with id `id`: either the same phone and name under another
/// email (scores 0.9), or the same name with the email's local part one deletion away and no
/// phone (scores exactly 0.5).
fn plant(original: &NewCustomer, id: u64, rng: &mut impl Rng) -> NewCustomer {
    let (local, domain) = original.email.split_once('@').unwrap();
    let mut copy = original.clone();
    copy.id = Some(id);
    if original.phone.is_some() && rng.gen_bool(0.5) {
        copy.email = format!("planted{id}@elsewhere.example");
    } else {
        let chars: Vec<char> = local.chars().collect();
        let skip = rng.gen_range(0..chars.len());
        let shorter: String = chars
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, c)| c)
            .collect();
        copy.email = format!("{shorter}@{domain}");
        copy.phone = None;
    }
    copy.address = None;
    copy
}

fn main() {
    let cli = Cli::parse();
    if let Some(count) = cli.shared_word {
        shared_word(count, cli.min, cli.limit);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open_ours(dir.path(), &Options::default());
    let data = demo::generate(2026, cli.customers, 0, 0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let planted_count = (cli.customers as f64 * cli.planted).round() as usize;
    let mut next_id = cli.customers as u64;
    let mut planted = BTreeSet::new();
    let mut copies = Vec::new();
    let mut taken: BTreeSet<String> = data.customers.iter().map(|c| c.email.clone()).collect();
    while copies.len() < planted_count {
        let original = &data.customers[rng.gen_range(0..data.customers.len())];
        let original_id = original.id.unwrap();
        if planted.iter().any(|&(a, _)| a == original_id) {
            continue;
        }
        let copy = plant(original, next_id + 1, &mut rng);
        if !taken.insert(copy.email.clone()) {
            continue;
        }
        next_id += 1;
        planted.insert((original_id, next_id));
        copies.push(copy);
    }
    let ops: Vec<Op> = data
        .customers
        .iter()
        .cloned()
        .chain(copies)
        .map(Op::AddCustomer)
        .collect();
    let started = Instant::now();
    for chunk in ops.chunks(5_000) {
        for result in store.write_many(chunk.to_vec()).unwrap() {
            result.unwrap();
        }
    }
    let load = started.elapsed();

    let started = Instant::now();
    let (pairs, peak) = with_peak(|| store.duplicates(500, usize::MAX).unwrap());
    let search = started.elapsed();
    let found: BTreeSet<(u64, u64)> = pairs.iter().map(|p| (p.a, p.b)).collect();
    let recalled = planted.iter().filter(|pair| found.contains(pair)).count();
    println!(
        "| customers | planted | load s | DUPLICATES MIN 0.5 s | pairs listed | recall | peak RSS above before, MiB |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n\
         | {} | {} | {:.1} | {:.2} | {} | {}/{} ({:.3}) | {peak:.1} |",
        ops.len(),
        planted.len(),
        load.as_secs_f64(),
        search.as_secs_f64(),
        pairs.len(),
        recalled,
        planted.len(),
        recalled as f64 / planted.len().max(1) as f64
    );
    assert_eq!(recalled, planted.len(), "a planted pair was missed");
}
