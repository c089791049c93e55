//! Masking: what a masked user (`USER.MASK`) sees of a customer.
//!
//! Applied in the reply layer, to every reply that carries a customer record (`GET`, `LIST`,
//! `FIND`); `REVEAL` and `EXPORT` are plain and journaled. The store and the engine never see
//! masked values: a masked user's `FIND EMAIL` by a value it gives works as for anyone.

use crm_engine::Customer;

/// The first character (Unicode scalar), `***@` and what follows the last `@`:
/// `ada@example.com` → `a***@example.com`.
pub fn email(address: &str) -> String {
    let first = address.chars().next().map(String::from).unwrap_or_default();
    let domain = address.rsplit_once('@').map_or("", |(_, domain)| domain);
    format!("{first}***@{domain}")
}

/// `+` then `*` for every digit but the last two: `+1234567` → `+*****67`.
pub fn phone(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().saturating_sub(2);
    let mut masked = String::with_capacity(digits.len() + 1);
    masked.push('+');
    masked.extend(std::iter::repeat_n('*', keep));
    masked.extend(&digits[keep..]);
    masked
}

/// A present address becomes `***`; an absent one stays absent (`null`).
pub fn address(value: Option<&str>) -> Option<String> {
    value.map(|_| "***".to_string())
}

/// The customer's JSON as this connection may see it.
pub fn customer_json(customer: &Customer, masked: bool) -> Vec<u8> {
    if !masked {
        return customer.to_json_bytes();
    }
    Customer {
        id: customer.id,
        name: customer.name.clone(),
        email: email(&customer.email),
        phone: customer.phone.as_deref().map(phone),
        address: address(customer.address.as_deref()),
        created_at: customer.created_at,
    }
    .to_json_bytes()
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
        assert_eq!(address(Some("1 Main St")).as_deref(), Some("***"));
        assert_eq!(address(None), None);
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
        };
        let json: serde_json::Value =
            serde_json::from_slice(&customer_json(&customer, true)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": 7, "name": "Ada Lovelace", "email": "a***@example.com",
                "phone": null, "address": "***", "created_at": "1970-01-01T00:00:00Z"})
        );
        assert_eq!(customer_json(&customer, false), customer.to_json_bytes());
    }
}
