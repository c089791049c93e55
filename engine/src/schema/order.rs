//! The fields of an order. Orders are never updated.

use super::customer::number;
use super::{FieldDef, FieldId, FieldType, Presence, Record, Schema, ValueRef};
use crate::error::Kind;
use crate::model::Order;

impl Order {
    pub const CUSTOMER_ID: FieldId = FieldId(1);
    pub const PRODUCT_ID: FieldId = FieldId(2);
    pub const QUANTITY: FieldId = FieldId(3);
    pub const UNIT_PRICE: FieldId = FieldId(4);
    pub const AMOUNT: FieldId = FieldId(5);
    pub const CREATED_AT: FieldId = FieldId(6);
}

type Field = FieldDef<Order>;

// Ids are at most 2^53 − 1 and amounts 1,000,000 × 9,999,999,999 cents: both fit an i64.
static FIELDS: [Field; 6] = [
    Field::new(
        Order::CUSTOMER_ID,
        "customer_id",
        "CUSTOMER",
        FieldType::Reference,
        Presence::Required,
        |o| Some(ValueRef::Number(o.customer_id as i64)),
    )
    .set_by(|o, v| o.customer_id = number(v).max(0) as u64)
    .journal_code(8),
    Field::new(
        Order::PRODUCT_ID,
        "product_id",
        "PRODUCT",
        FieldType::Reference,
        Presence::Required,
        |o| Some(ValueRef::Number(o.product_id as i64)),
    )
    .set_by(|o, v| o.product_id = number(v).max(0) as u64)
    .journal_code(9),
    Field::new(
        Order::QUANTITY,
        "quantity",
        "QUANTITY",
        FieldType::Quantity,
        Presence::Required,
        |o| Some(ValueRef::Number(i64::from(o.quantity))),
    )
    .set_by(|o, v| o.quantity = u32::try_from(number(v)).unwrap_or(0))
    .journal_code(10),
    Field::new(
        Order::UNIT_PRICE,
        "unit_price",
        "UNIT_PRICE",
        FieldType::Money,
        Presence::Computed,
        |o| Some(ValueRef::Number(o.unit_price_cents as i64)),
    ),
    Field::new(
        Order::AMOUNT,
        "amount",
        "AMOUNT",
        FieldType::Money,
        Presence::Computed,
        |o| Some(ValueRef::Number(o.amount_cents() as i64)),
    ),
    Field::new(
        Order::CREATED_AT,
        "created_at",
        "CREATED_AT",
        FieldType::Date,
        Presence::Defaulted,
        |o| Some(ValueRef::Number(o.created_at)),
    )
    .set_by(|o, v| o.created_at = number(v))
    .journal_code(4),
];

static SCHEMA: Schema<Order> = Schema::of(&FIELDS);

impl Record for Order {
    const KIND: Kind = Kind::Order;

    fn schema() -> &'static Schema<Order> {
        &SCHEMA
    }

    fn id(&self) -> u64 {
        self.id
    }

    fn set_id(&mut self, id: u64) {
        self.id = id;
    }
}
