//! The orders of each product, with their times: `ORDER.LIST PRODUCT`.

use super::changes::Old;
use super::order_lists::OrderLists;
use crate::model::Order;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct OrdersByProduct {
    lists: OrderLists,
}

impl OrdersByProduct {
    /// A product's orders and their times, ascending by order.
    pub fn of(&self, product: u64) -> &[(u64, i64)] {
        self.lists.of(product)
    }

    /// Follows one order's change.
    pub fn apply(&mut self, id: u64, old: &Old<Order>, new: Option<&Order>) {
        self.lists.apply(id, old, new, |order| order.product_id);
    }

    /// The index of these (product, order, time) entries.
    pub fn rebuild(entries: Vec<(u64, u64, i64)>) -> OrdersByProduct {
        OrdersByProduct {
            lists: OrderLists::rebuild(entries),
        }
    }
}
