//! Masking: what a masked user (`USER.MASK`) sees of a customer.
//!
//! Applied in the reply layer, to every reply that carries a customer record (`GET`, `LIST`,
//! `FIND`); `REVEAL` and `EXPORT` are plain and journaled. The store and the engine never see
//! masked values: a masked user's `FIND EMAIL` by a value it gives works as for anyone.

use crm_engine::schema::{Catalog, FieldType, ValueRef};
use crm_engine::{Customer, Record};

/// The first character (Unicode scalar), `***@` and what follows the last `@`:
/// `ada@example.com` → `a***@example.com`.
pub fn email(address: &str) -> String {
    let mut masked = String::with_capacity(address.len() + 4);
    push_email(&mut masked, address);
    masked
}

fn push_email(out: &mut String, address: &str) {
    if let Some(first) = address.chars().next() {
        out.push(first);
    }
    out.push_str("***@");
    out.push_str(address.rsplit_once('@').map_or("", |(_, domain)| domain));
}

/// `+` then `*` for every digit but the last two: `+1234567` → `+*****67`.
pub fn phone(number: &str) -> String {
    let mut masked = String::with_capacity(number.len() + 1);
    push_phone(&mut masked, number);
    masked
}

fn push_phone(out: &mut String, number: &str) {
    let digits = number.bytes().filter(u8::is_ascii_digit).count();
    let hidden = digits.saturating_sub(2);
    out.push('+');
    for (i, digit) in number.chars().filter(char::is_ascii_digit).enumerate() {
        out.push(if i < hidden { '*' } else { digit });
    }
}

/// The customer's JSON as this connection may see it: each personal field (`schema/` in the
/// engine, and the custom fields declared `PERSONAL` in `catalog`) masked as its type is
/// (emails and phones keep a little, anything else is `***`; `null` stays `null`).
pub fn customer_json(customer: &Customer, catalog: &Catalog, masked: bool) -> Vec<u8> {
    if !masked {
        return customer.to_json_bytes(catalog);
    }
    let shown = |field: &crm_engine::schema::FieldDef<Customer>, value: ValueRef| {
        field.personal.then(|| match (field.ty, value.text()) {
            (FieldType::Email, Some(address)) => email(address),
            (FieldType::Phone, Some(number)) => phone(number),
            _ => "***".to_string(),
        })
    };
    Customer::schema().json(customer, catalog, shown, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contracts_examples() {
        assert_eq!(email("a@b.co"), "a***@b.co");
        assert_eq!(email("ada.lovelace@example.com"), "a***@example.com");
        // The first Unicode scalar, not the first byte.
        assert_eq!(email("élodie@exemple.fr"), "é***@exemple.fr");
        // What follows the last `@`.
        assert_eq!(email("x@y@z.io"), "x***@z.io");
        assert_eq!(phone("+1234567"), "+*****67");
        assert_eq!(phone("+123456789012345"), "+*************45");
    }

    #[test]
    fn a_masked_record_keeps_name_ids_and_times() {
        let customer = Customer {
            id: 7,
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            phone: None,
            address: Some("12 St James's Square".into()),
            created_at: 0,
            custom: Default::default(),
        };
        let json: serde_json::Value =
            serde_json::from_slice(&customer_json(&customer, &Catalog::default(), true)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": 7, "name": "Ada Lovelace", "email": "a***@example.com",
                "phone": null, "address": "***", "created_at": "1970-01-01T00:00:00Z",
                "fields": {}})
        );
        assert_eq!(
            customer_json(&customer, &Catalog::default(), false),
            customer.to_json_bytes(&Catalog::default())
        );
        let with_phone = Customer {
            phone: Some("+1234567".into()),
            address: None,
            ..customer
        };
        let json: serde_json::Value =
            serde_json::from_slice(&customer_json(&with_phone, &Catalog::default(), true)).unwrap();
        assert_eq!(json["phone"], "+*****67");
        assert_eq!(json["address"], serde_json::Value::Null);
    }
}
