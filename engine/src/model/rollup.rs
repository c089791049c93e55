use crate::values::{format_money, format_timestamp};
use serde::{Deserialize, Serialize};

/// Per-customer purchase totals, kept up to date in the same atomic step as every order write,
/// so `STATS.CUSTOMER(S)` read them instead of recomputing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRollup {
    pub order_count: u64,
    /// Σ amount in cents; u128 so no number of orders can overflow it.
    pub total_cents: u128,
    pub first_order: Option<i64>,
    pub last_order: Option<i64>,
}

impl CustomerRollup {
    /// Counts one more order.
    pub fn add(&mut self, amount_cents: u64, at: i64) {
        self.order_count += 1;
        self.total_cents += u128::from(amount_cents);
        self.first_order = Some(self.first_order.map_or(at, |t| t.min(at)));
        self.last_order = Some(self.last_order.map_or(at, |t| t.max(at)));
    }

    /// The `STATS.CUSTOMER` object.
    pub fn to_json(&self, customer_id: u64) -> serde_json::Value {
        serde_json::json!({
            "customer_id": customer_id,
            "order_count": self.order_count,
            "total_amount": format_money(self.total_cents),
            "first_order": self.first_order.map(format_timestamp),
            "last_order": self.last_order.map(format_timestamp),
        })
    }
}

/// Per-product totals: what `STATS.PRODUCTS` reads and what `PRODUCT.DEL` checks for `FKEY`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRollup {
    pub order_count: u64,
    pub units: u64,
    pub revenue_cents: u128,
}

impl ProductRollup {
    /// Counts one more order.
    pub fn add(&mut self, quantity: u32, amount_cents: u64) {
        self.order_count += 1;
        self.units += u64::from(quantity);
        self.revenue_cents += u128::from(amount_cents);
    }

    /// Takes one order back out.
    pub fn remove(&mut self, quantity: u32, amount_cents: u64) {
        self.order_count = self.order_count.saturating_sub(1);
        self.units = self.units.saturating_sub(u64::from(quantity));
        self.revenue_cents = self.revenue_cents.saturating_sub(u128::from(amount_cents));
    }
}
