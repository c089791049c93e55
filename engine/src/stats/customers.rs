//! `STATS.CUSTOMER(S)`: the per-customer purchase table (the design notes' pandas question),
//! read from rollups — and the same table recomputed from every order, to check them.

use crate::error::Result;
use crate::model::{CustomerRollup, Order};
use crate::store::Store;
use crate::Kind;
use std::collections::BTreeMap;

/// How `STATS.CUSTOMERS` orders its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerOrder {
    /// Largest total first, ties by id.
    Total,
    /// Most orders first, ties by id.
    Count,
    /// Ids ascending.
    Id,
}

/// The rollups of customers with orders, ordered, at most `limit`.
pub fn customer_table(
    store: &Store,
    order: CustomerOrder,
    limit: usize,
) -> Result<Vec<(u64, CustomerRollup)>> {
    let mut rows = store.customer_rollups()?;
    match order {
        CustomerOrder::Total => {
            rows.sort_by(|a, b| b.1.total_cents.cmp(&a.1.total_cents).then(a.0.cmp(&b.0)))
        }
        CustomerOrder::Count => {
            rows.sort_by(|a, b| b.1.order_count.cmp(&a.1.order_count).then(a.0.cmp(&b.0)))
        }
        CustomerOrder::Id => {}
    }
    rows.truncate(limit);
    Ok(rows)
}

/// Every customer's rollup recomputed from the orders with the parallel scan.
pub fn recompute_customer_rollups(store: &Store) -> Result<BTreeMap<u64, CustomerRollup>> {
    store.par_fold_by_customer(
        Kind::Order,
        |table: &mut BTreeMap<u64, CustomerRollup>, order: Order| {
            table
                .entry(order.customer_id)
                .or_default()
                .add(order.amount_cents(), order.created_at);
        },
        |entry, rollup| {
            entry.order_count += rollup.order_count;
            entry.total_cents += rollup.total_cents;
            entry.first_order = entry
                .first_order
                .into_iter()
                .chain(rollup.first_order)
                .min();
            entry.last_order = entry.last_order.into_iter().chain(rollup.last_order).max();
        },
    )
}
