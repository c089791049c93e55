//! Timing loops and the table rows the comparison binaries print (`crm-bench`, `query-bench`).

use std::time::Instant;

/// Runs `work` repeatedly for about `seconds`; returns operations per second.
pub fn rate(seconds: f64, mut work: impl FnMut(u64)) -> f64 {
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        work(done);
        done += 1;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// Runs `work` once; returns milliseconds.
pub fn millis(work: impl FnOnce() -> usize) -> f64 {
    let started = Instant::now();
    std::hint::black_box(work());
    started.elapsed().as_secs_f64() * 1000.0
}

/// `threads` writers for `seconds`; total operations per second.
pub fn concurrent_rate<S: Send + 'static>(
    threads: usize,
    seconds: f64,
    make: impl Fn(usize) -> S,
    work: impl Fn(&S, u64) + Send + Sync + Copy + 'static,
) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let state = make(t);
            std::thread::spawn(move || {
                let mut done = 0u64;
                let begin = Instant::now();
                while begin.elapsed().as_secs_f64() < seconds {
                    work(&state, done);
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

pub fn row(name: &str, ours: f64, theirs: f64, unit: &str, higher_is_better: bool) {
    let ratio = if higher_is_better {
        ours / theirs
    } else {
        theirs / ours
    };
    println!("| {name:<38} | {ours:>12.1} | {theirs:>12.1} | {unit:<7} | {ratio:>6.2}x |");
}

pub fn header(title: &str) {
    println!("\n### {title}\n");
    println!(
        "| {:<38} | {:>12} | {:>12} | {:<7} | {:>7} |",
        "operation", "ours", "SQLite", "unit", "ours vs SQLite"
    );
    println!(
        "|{}|{}|{}|{}|{}|",
        "-".repeat(40),
        "-".repeat(14),
        "-".repeat(14),
        "-".repeat(9),
        "-".repeat(9)
    );
}
