//! Plain index `T ‖ created_at ‖ order id → ()`: orders in time order, for time-range queries.

use crate::trees::{pair_key, time_bytes, Space};

/// The entry of one order.
pub fn key(created_at: i64, order_id: u64) -> Vec<u8> {
    pair_key(Space::OrdersByTime, &time_bytes(created_at), order_id)
}

/// The first key at or after `seconds`.
pub fn lower_bound(seconds: i64) -> Vec<u8> {
    pair_key(Space::OrdersByTime, &time_bytes(seconds), 0)
}
