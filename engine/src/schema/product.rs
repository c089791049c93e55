//! The fields of a product.

use super::customer::{number, text};
use super::{FieldDef, FieldId, FieldType, Presence, Record, Schema, ValueRef};
use crate::error::Kind;
use crate::model::Product;

impl Product {
    pub const NAME: FieldId = FieldId(1);
    pub const PRICE: FieldId = FieldId(2);
    pub const STOCK: FieldId = FieldId(3);
}

type Field = FieldDef<Product>;

// Prices are at most 9,999,999,999 cents and stock 2^31 − 1: both fit an i64.
static FIELDS: [Field; 3] = [
    Field::new(
        Product::NAME,
        "name",
        "NAME",
        FieldType::Text,
        Presence::Required,
        |p| Some(ValueRef::Text(&p.name)),
    )
    .set_by(|p, v| p.name = text(v))
    .journal_code(0)
    .updatable(),
    Field::new(
        Product::PRICE,
        "price",
        "PRICE",
        FieldType::Money,
        Presence::Required,
        |p| Some(ValueRef::Number(p.price_cents as i64)),
    )
    .set_by(|p, v| p.price_cents = number(v).max(0) as u64)
    .journal_code(6)
    .updatable(),
    Field::new(
        Product::STOCK,
        "stock",
        "STOCK",
        FieldType::Stock,
        Presence::Defaulted,
        |p| Some(ValueRef::Number(p.stock as i64)),
    )
    .set_by(|p, v| p.stock = number(v).max(0) as u64)
    .journal_code(7)
    .updatable(),
];

static SCHEMA: Schema<Product> = Schema::of(&FIELDS);

impl Record for Product {
    const KIND: Kind = Kind::Product;

    fn schema() -> &'static Schema<Product> {
        &SCHEMA
    }

    fn id(&self) -> u64 {
        self.id
    }

    fn set_id(&mut self, id: u64) {
        self.id = id;
    }

    fn custom(&self) -> Option<&super::CustomValues> {
        Some(&self.custom)
    }

    fn custom_mut(&mut self) -> Option<&mut super::CustomValues> {
        Some(&mut self.custom)
    }
}
