//! `STATS.PRODUCTS`: units, revenue and orders per product, from the product rollups.

use crate::error::Result;
use crate::store::Store;
use crate::values::format_money;

/// One row of `STATS.PRODUCTS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRow {
    pub product_id: u64,
    pub name: Option<String>,
    pub units: u64,
    pub revenue_cents: u128,
    pub order_count: u64,
}

impl ProductRow {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "product_id": self.product_id,
            "name": self.name,
            "units": self.units,
            "revenue": format_money(self.revenue_cents),
            "order_count": self.order_count,
        })
    }
}

/// Products with orders, revenue descending, ties by id, at most `limit`.
pub fn products(store: &Store, limit: usize) -> Result<Vec<ProductRow>> {
    let mut rollups = store.product_rollups()?;
    rollups.sort_by(|a, b| {
        b.1.revenue_cents
            .cmp(&a.1.revenue_cents)
            .then(a.0.cmp(&b.0))
    });
    rollups.truncate(limit);
    rollups
        .into_iter()
        .map(|(product_id, rollup)| {
            Ok(ProductRow {
                product_id,
                name: store.product(product_id)?.map(|p| p.name),
                units: rollup.units,
                revenue_cents: rollup.revenue_cents,
                order_count: rollup.order_count,
            })
        })
        .collect()
}
