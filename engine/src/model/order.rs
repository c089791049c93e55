use crate::schema::{FieldSet, Record};
use serde::{Deserialize, Serialize};

/// An order as stored (sealed) and returned. Orders are never updated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
        Order::schema().json(self, &crate::schema::Catalog::default(), |_, _| None, false)
    }

    /// `quantity` × `unit_price`, exact.
    pub fn amount_cents(&self) -> u64 {
        // 1,000,000 × 9,999,999,999 < 2^63, so this never overflows.
        u64::from(self.quantity) * self.unit_price_cents
    }

    /// The record's JSON object, every key present.
    pub fn to_json(&self) -> serde_json::Value {
        Order::schema().json_value(self, &crate::schema::Catalog::default())
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

impl NewOrder {
    /// The order to add that `record` holds: its fields in `given` (the set
    /// [`Schema::read`](crate::schema::Schema::read) says), the others unset; it takes no
    /// stock (what an import adds).
    pub fn from_fields(id: Option<u64>, record: Order, given: FieldSet) -> NewOrder {
        let created_at = given.has(Order::schema(), Order::CREATED_AT);
        NewOrder {
            id,
            customer_id: record.customer_id,
            product_id: record.product_id,
            quantity: record.quantity,
            created_at: created_at.then_some(record.created_at),
            take_stock: false,
        }
    }

    /// The record it describes, with this id (its unit price is the product's, unknown here:
    /// 0; a time not given is left at 0).
    pub fn to_record(&self, id: u64) -> Order {
        Order {
            id,
            customer_id: self.customer_id,
            product_id: self.product_id,
            quantity: self.quantity,
            unit_price_cents: 0,
            created_at: self.created_at.unwrap_or_default(),
            took_stock: self.take_stock,
        }
    }

    /// The fields it gives (what the journal lists of its add): the customer, the product and
    /// the quantity, and the time and the id if given.
    pub fn given(&self) -> FieldSet {
        let schema = Order::schema();
        let mut set = FieldSet::default()
            .with(schema, Order::CUSTOMER_ID)
            .with(schema, Order::PRODUCT_ID)
            .with(schema, Order::QUANTITY);
        if self.created_at.is_some() {
            set = set.with(schema, Order::CREATED_AT);
        }
        if self.id.is_some() {
            set = set.with_id();
        }
        set
    }
}
