//! `CUSTOMER.DUPLICATES` memory: what a search takes does not grow with the number of
//! candidate pairs. Measured as the process's peak resident memory (Linux: `VmHWM`, reset
//! through `/proc/self/clear_refs`); the only test of this binary, so nothing else runs
//! meanwhile.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use crm_engine::*;

/// A `kB` figure of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    let kb: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb * 1024
}

// Guards against a duplicate search collecting every candidate scoring at least MIN before
// LIMIT cut them (issue 32, item 5): 6,000 customers sharing a name word, MIN 0.1 LIMIT 1,
// scored 18 million pairs into a list of heap-allocated pairs (2.47 GB at the peak). Here
// 3,000 (4.5 million pairs: about 600 MB before), to keep the test short.
#[test]
fn a_search_over_millions_of_candidates_takes_little_more_memory_than_its_customers() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    let people: Vec<Op> = (0..3_000)
        .map(|i| {
            let name = format!("Commonword Person{i}");
            // At least two edits apart from every other (the two numbers move oppositely):
            // only the name word scores.
            let email = format!("p{i:05}x{:05}@x.example", 99_999 - i);
            Op::AddCustomer(NewCustomer::parse(&name, &email, None, None, None).unwrap())
        })
        .collect();
    for result in store.write_many(people).unwrap() {
        result.unwrap();
    }
    store.flush().unwrap();

    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_bytes("VmRSS:");
    let pairs = store.duplicates(100, 1).unwrap();
    let peak = status_bytes("VmHWM:").saturating_sub(before);

    // Every pair shares one word of three: round(300 × 1/3) = 100; the first by ids is listed.
    let ids: Vec<u64> = store
        .customers(0, 2)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(pairs.len(), 1);
    assert_eq!(
        (
            pairs[0].a,
            pairs[0].b,
            pairs[0].score,
            pairs[0].reasons.clone()
        ),
        (ids[0], ids[1], 100, vec!["name"])
    );
    // The customers and their block entries take a few MB; the 4.5 million candidates took
    // 36 MB as bare pairs of indexes, and hundreds of MB as scored pairs.
    assert!(
        peak < 64 << 20,
        "the search took {} MiB more at its peak",
        peak >> 20
    );
}
