//! The one-byte codes a journal page stores field names as (`journal/page.rs`): each field's
//! code is in its declaration; a name without one (a declared field, a merge's `other:7`) is
//! stored as text. Stored codes never change meaning: a new field takes a new code.

use super::{Record, Schema, ID, ID_CODE};
use crate::model::{Customer, Order, Product};

/// Every (name, code) of the built-in fields of every kind: one name may be a field of several
/// kinds (`name`, `created_at`), with one code.
fn codes() -> impl Iterator<Item = (&'static str, u8)> {
    fn of<R: Record>(schema: &'static Schema<R>) -> impl Iterator<Item = (&'static str, u8)> {
        schema
            .fields()
            .filter_map(|field| Some((field.name, field.journal_code?)))
    }
    std::iter::once((ID, ID_CODE))
        .chain(of(Customer::schema()))
        .chain(of(Product::schema()))
        .chain(of(Order::schema()))
        .chain(
            super::user::USER_FIELDS
                .iter()
                .map(|f| (f.name, f.journal_code)),
        )
}

/// The code a field name is stored as, if it has one.
pub(crate) fn journal_code(name: &str) -> Option<u8> {
    codes()
        .find(|(known, _)| *known == name)
        .map(|(_, code)| code)
}

/// The field name a stored code stands for.
pub(crate) fn journal_name(code: u8) -> Option<&'static str> {
    codes()
        .find(|(_, known)| *known == code)
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Guards the journal pages already on disk: a code must keep the name it was written
    // with, and one name must have one code whatever kind declares it.
    #[test]
    fn codes_are_the_ones_pages_were_written_with_and_one_to_one() {
        let written = [
            "name",
            "email",
            "phone",
            "address",
            "created_at",
            "id",
            "price",
            "stock",
            "customer_id",
            "product_id",
            "quantity",
            "password",
            "role",
            "masked",
        ];
        for (code, name) in written.iter().enumerate() {
            assert_eq!(journal_code(name), Some(code as u8), "{name}");
            assert_eq!(journal_name(code as u8), Some(*name));
        }
        for (name, code) in codes() {
            assert_eq!(journal_code(name), Some(code), "{name} has two codes");
            assert_eq!(journal_name(code), Some(name), "code {code} has two names");
        }
        assert_eq!(journal_code("other:7"), None);
    }
}
