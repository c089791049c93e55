//! The orders of each customer, with their times: `ORDER.LIST CUSTOMER`, the detail of a
//! customer, `DEL` ("has orders"), the first and last order of a rollup, `MERGE` (the orders
//! that move).

use super::changes::Old;
use super::order_lists::OrderLists;
use crate::model::Order;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct OrdersByCustomer {
    lists: OrderLists,
}

impl OrdersByCustomer {
    /// A customer's orders and their times, ascending by order.
    pub fn of(&self, customer: u64) -> &[(u64, i64)] {
        self.lists.of(customer)
    }

    /// Follows one order's change (an order that moves changes lists).
    pub fn apply(&mut self, id: u64, old: &Old<Order>, new: Option<&Order>) {
        self.lists.apply(id, old, new, |order| order.customer_id);
    }

    /// The index of these (customer, order, time) entries.
    pub fn rebuild(entries: Vec<(u64, u64, i64)>) -> OrdersByCustomer {
        OrdersByCustomer {
            lists: OrderLists::rebuild(entries),
        }
    }
}

/// The orders a write group added, moved or removed, by customer, over the index as the last
/// group left it: what the group's later operations see.
#[derive(Default)]
pub(crate) struct StagedOrders {
    /// Customer → order → its time (`None`: no longer the customer's).
    customers: HashMap<u64, BTreeMap<u64, Option<i64>>>,
}

impl StagedOrders {
    /// A customer's orders and their times as the group leaves them so far, ascending by
    /// order; `committed` is the customer's list in the index.
    pub fn of(&self, customer: u64, committed: &[(u64, i64)]) -> Vec<(u64, i64)> {
        let Some(staged) = self.customers.get(&customer) else {
            return committed.to_vec();
        };
        let mut merged: BTreeMap<u64, i64> = committed.iter().copied().collect();
        for (order, time) in staged {
            match time {
                Some(time) => merged.insert(*order, *time),
                None => merged.remove(order),
            };
        }
        merged.into_iter().collect()
    }

    /// Follows one operation's change to an order.
    pub fn stage(&mut self, id: u64, old: Option<&Order>, new: Option<&Order>) {
        if let Some(old) = old {
            self.customers
                .entry(old.customer_id)
                .or_default()
                .insert(id, None);
        }
        if let Some(new) = new {
            self.customers
                .entry(new.customer_id)
                .or_default()
                .insert(id, Some(new.created_at));
        }
    }
}
