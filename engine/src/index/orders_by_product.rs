//! Plain index `P ‖ product id ‖ order id → created_at`: a product's orders in id order, with
//! their times, so time filters need not open the orders.

use crate::trees::{id_key, pair_key, Space};

/// The prefix of one product's orders.
pub fn prefix(product_id: u64) -> [u8; 9] {
    id_key(Space::OrdersByProduct, product_id)
}

/// The entry of one order.
pub fn key(product_id: u64, order_id: u64) -> Vec<u8> {
    pair_key(Space::OrdersByProduct, &product_id.to_be_bytes(), order_id)
}
