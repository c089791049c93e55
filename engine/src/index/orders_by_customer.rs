//! Plain index `C ‖ customer id ‖ order id → created_at`: a customer's orders in id order, with
//! their times, so the rollup's first/last order can be recomputed without opening orders.

use crate::trees::{id_key, pair_key, Space};

/// The prefix of one customer's orders.
pub fn prefix(customer_id: u64) -> [u8; 9] {
    id_key(Space::OrdersByCustomer, customer_id)
}

/// The entry of one order.
pub fn key(customer_id: u64, order_id: u64) -> Vec<u8> {
    pair_key(
        Space::OrdersByCustomer,
        &customer_id.to_be_bytes(),
        order_id,
    )
}
