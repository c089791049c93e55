//! The fields of a customer.

use super::{FieldDef, FieldId, FieldType, Presence, Record, Schema};
use super::{Value, ValueRef};
use crate::error::Kind;
use crate::model::Customer;

impl Customer {
    pub const NAME: FieldId = FieldId(1);
    pub const EMAIL: FieldId = FieldId(2);
    pub const PHONE: FieldId = FieldId(3);
    pub const ADDRESS: FieldId = FieldId(4);
    pub const CREATED_AT: FieldId = FieldId(5);
}

type Field = FieldDef<Customer>;

static FIELDS: [Field; 5] = [
    Field::new(
        Customer::NAME,
        "name",
        "NAME",
        FieldType::Text,
        Presence::Required,
        |c| Some(ValueRef::Text(&c.name)),
    )
    .set_by(|c, v| c.name = text(v))
    .journal_code(0)
    .updatable(),
    Field::new(
        Customer::EMAIL,
        "email",
        "EMAIL",
        FieldType::Email,
        Presence::Required,
        |c| Some(ValueRef::Text(&c.email)),
    )
    .set_by(|c, v| c.email = text(v))
    .journal_code(1)
    .updatable()
    .personal(),
    Field::new(
        Customer::PHONE,
        "phone",
        "PHONE",
        FieldType::Phone,
        Presence::Optional,
        |c| c.phone.as_deref().map(ValueRef::Text),
    )
    .set_by(|c, v| c.phone = v.and_then(Value::into_text))
    .journal_code(2)
    .updatable()
    .personal()
    .filled_by_merge(),
    Field::new(
        Customer::ADDRESS,
        "address",
        "ADDRESS",
        FieldType::Text,
        Presence::Optional,
        |c| c.address.as_deref().map(ValueRef::Text),
    )
    .set_by(|c, v| c.address = v.and_then(Value::into_text))
    .journal_code(3)
    .updatable()
    .personal()
    .filled_by_merge(),
    Field::new(
        Customer::CREATED_AT,
        "created_at",
        "CREATED_AT",
        FieldType::Date,
        Presence::Defaulted,
        |c| Some(ValueRef::Number(c.created_at)),
    )
    .set_by(|c, v| c.created_at = number(v))
    .journal_code(4),
];

static SCHEMA: Schema<Customer> = Schema::of(&FIELDS);

impl Record for Customer {
    const KIND: Kind = Kind::Customer;

    fn schema() -> &'static Schema<Customer> {
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

/// A required text's value (its field's type made it text).
pub(super) fn text(value: Option<Value>) -> String {
    value.and_then(Value::into_text).unwrap_or_default()
}

/// A number's value (its field's type made it a number).
pub(super) fn number(value: Option<Value>) -> i64 {
    match value {
        Some(Value::Number(number)) => number,
        _ => 0,
    }
}
