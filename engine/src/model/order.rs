use super::json::JsonObject;
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

impl Order {
    /// The record's JSON text: what `ORDER.GET` returns.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        JsonObject::with_capacity(160)
            .number("id", self.id)
            .number("customer_id", self.customer_id)
            .number("product_id", self.product_id)
            .number("quantity", u64::from(self.quantity))
            .text(
                "unit_price",
                &format_money(u128::from(self.unit_price_cents)),
            )
            .text("amount", &format_money(u128::from(self.amount_cents())))
            .text("created_at", &format_timestamp(self.created_at))
            .finish()
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
