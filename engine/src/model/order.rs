use crate::values::{format_money, format_timestamp};
use serde::{Deserialize, Serialize};

/// An order as stored (sealed) and returned. Orders are never updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub customer_id: u64,
    pub product_id: u64,
    pub quantity: u32,
    /// The product's price when the order was placed, in cents.
    pub unit_price_cents: u64,
    /// Seconds since the Unix epoch, UTC.
    pub created_at: i64,
    /// Whether the order took its units from stock (`NOSTOCK` orders did not).
    pub took_stock: bool,
}

/// The wire form, serialized straight from the fields.
#[derive(Serialize)]
struct OrderJson {
    id: u64,
    customer_id: u64,
    product_id: u64,
    quantity: u32,
    unit_price: String,
    amount: String,
    created_at: String,
}

impl Order {
    /// The record's JSON text: what `ORDER.GET` returns.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&OrderJson {
            id: self.id,
            customer_id: self.customer_id,
            product_id: self.product_id,
            quantity: self.quantity,
            unit_price: format_money(u128::from(self.unit_price_cents)),
            amount: format_money(u128::from(self.amount_cents())),
            created_at: format_timestamp(self.created_at),
        })
        .unwrap_or_default()
    }

    /// `quantity` × `unit_price`, exact.
    pub fn amount_cents(&self) -> u64 {
        // 1,000,000 × 9,999,999,999 < 2^64, so this never overflows.
        u64::from(self.quantity) * self.unit_price_cents
    }

    /// The record's JSON object, every key present.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "customer_id": self.customer_id,
            "product_id": self.product_id,
            "quantity": self.quantity,
            "unit_price": format_money(u128::from(self.unit_price_cents)),
            "amount": format_money(u128::from(self.amount_cents())),
            "created_at": format_timestamp(self.created_at),
        })
    }
}

/// A validated order to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub id: Option<u64>,
    pub customer_id: u64,
    pub product_id: u64,
    pub quantity: u32,
    /// `None` means "now", decided when the write is applied.
    pub created_at: Option<i64>,
    /// `false` for `NOSTOCK`: a historical order that does not touch stock.
    pub take_stock: bool,
}
