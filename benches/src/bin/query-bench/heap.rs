//! The bytes the heap holds, counted by wrapping the system allocator (`stats_alloc`: the
//! workspace forbids `unsafe`, so the wrapper is the crate's). Counting costs a few atomic
//! additions per allocation, on our side only: SQLite allocates through its own `malloc`.

use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static HEAP: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed by this process's Rust code (as requested: the
/// allocator's own few bytes per block are not counted).
pub fn live_bytes() -> i64 {
    let stats = HEAP.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}
