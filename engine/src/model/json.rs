//! The records' wire JSON, written straight into one buffer.
//!
//! `CUSTOMER.GET` is the hottest read, and serde_json's serializer cost about 3,700
//! instructions of it (a third of a cached read). The schema writes each field through this
//! (`Schema::json`); keys are field names and go in as they are, and only string values need
//! escaping; the output is byte-for-byte serde_json's (same escapes, lower-case `\u00XX`): the
//! proptest below compares the two on arbitrary text, and `engine/tests/records.rs` on stored
//! records.

/// A JSON object under construction; keys are field names (trusted), values are escaped.
pub(crate) struct JsonObject {
    out: Vec<u8>,
}

impl JsonObject {
    /// An empty object with room for about `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.push(b'{');
        JsonObject { out }
    }

    fn key(&mut self, key: &str) {
        if self.out.len() > 1 {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// `"key":123`.
    pub fn number(&mut self, key: &str, value: u64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// `"key":-123`.
    pub fn integer(&mut self, key: &str, value: i64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// `"key":true`.
    pub fn boolean(&mut self, key: &str, value: bool) {
        self.key(key);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// `"key":"text"`, escaped.
    pub fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        escape_into(&mut self.out, value);
    }

    /// `"key":null`.
    pub fn null(&mut self, key: &str) {
        self.key(key);
        self.out.extend_from_slice(b"null");
    }

    /// `"key":` then JSON already written (a nested object).
    pub fn raw(&mut self, key: &str, json: &[u8]) {
        self.key(key);
        self.out.extend_from_slice(json);
    }

    /// The finished object's bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

/// Appends `text` as a JSON string, escaped exactly as serde_json escapes it.
fn escape_into(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Nearly every value needs no escape. This test has no early exit, so it compiles to SIMD
    // compares: a few instructions per 16 bytes instead of a branch per byte.
    let needs_escape = bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut plain_from = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let short: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain_from..at]);
        plain_from = at + 1;
        if short.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        } else {
            out.extend_from_slice(short);
        }
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use crate::model::{Customer, Order, Product};
    use proptest::prelude::*;

    fn customer(
        name: String,
        email: String,
        phone: Option<String>,
        address: Option<String>,
    ) -> Customer {
        Customer {
            id: u64::MAX,
            name,
            email,
            phone,
            address,
            created_at: -62_135_596_800,
            custom: Default::default(),
        }
    }

    // Guards the custom values' wire shape: every declared field of the kind in declaration
    // order, null when unset, each type as the contract shows it; a personal one masked.
    #[test]
    fn custom_fields_show_in_declaration_order_with_their_types() {
        use crate::error::Kind;
        use crate::schema::{Catalog, CustomType, FieldDeclaration, Record, Value};
        let mut catalog = Catalog::default();
        let mut ids = Vec::new();
        for (name, ty, personal) in [
            ("company", CustomType::Text, false),
            ("seats", CustomType::Integer, false),
            ("budget", CustomType::Money, false),
            ("since", CustomType::Date, false),
            ("vip", CustomType::Bool, false),
            (
                "stage",
                CustomType::Choice(vec!["Lead".into(), "Won".into()]),
                false,
            ),
            ("nickname", CustomType::Text, true),
            ("unset", CustomType::Text, false),
        ] {
            let declared = FieldDeclaration {
                kind: Kind::Customer,
                name: name.into(),
                ty,
                personal,
                indexed: false,
            };
            let (next, field) = catalog.with_field(declared, |_| false).unwrap();
            catalog = next;
            ids.push(field.id);
        }
        let mut c = customer("Ada".into(), "ada@example.com".into(), None, None);
        c.id = 7;
        let values = [
            Value::Text("Acme \"Ltd\"".into()),
            Value::Number(-12),
            Value::Number(1990),
            Value::Number(0),
            Value::Bool(true),
            Value::Text("Won".into()),
            Value::Text("Addy".into()),
        ];
        for (id, value) in ids.iter().zip(values) {
            c.custom.set(*id, Some(value));
        }
        let json = String::from_utf8(c.to_json_bytes(&catalog)).unwrap();
        assert!(json.ends_with(r#""fields":{"company":"Acme \"Ltd\"","seats":-12,"budget":"19.90","since":"1970-01-01T00:00:00Z","vip":true,"stage":"Won","nickname":"Addy","unset":null}}"#), "{json}");
        assert_eq!(json, c.to_json(&catalog).to_string());
        let masked =
            String::from_utf8(Customer::schema().json(&c, &catalog, |_, _| None, true)).unwrap();
        assert!(
            masked.contains(r#""nickname":"***","unset":null"#),
            "{masked}"
        );
        // A product shows only product fields; a dropped field is gone at once.
        let p = Product {
            id: 1,
            ..Default::default()
        };
        assert!(String::from_utf8(p.to_json_bytes(&catalog))
            .unwrap()
            .ends_with(r#""fields":{}}"#));
        let (dropped, _) = catalog.without_field(Kind::Customer, "seats").unwrap();
        assert!(!String::from_utf8(c.to_json_bytes(&dropped))
            .unwrap()
            .contains("seats"));
    }

    // Guards the records' wire shape (key order, which values are strings) against a change
    // of the schema that writes them.
    #[test]
    fn records_have_the_contracts_shape() {
        let mut c = customer(
            "Ada".into(),
            "ada@example.com".into(),
            None,
            Some("1 Main St".into()),
        );
        c.id = 7;
        assert_eq!(
            String::from_utf8(c.to_json_bytes(&Default::default())).unwrap(),
            r#"{"id":7,"name":"Ada","email":"ada@example.com","phone":null,"address":"1 Main St","created_at":"0001-01-01T00:00:00Z","fields":{}}"#
        );
        let p = Product {
            id: 3,
            name: "Tea".into(),
            price_cents: 1990,
            stock: 12,
            custom: Default::default(),
        };
        assert_eq!(
            String::from_utf8(p.to_json_bytes(&Default::default())).unwrap(),
            r#"{"id":3,"name":"Tea","price":"19.90","stock":12,"fields":{}}"#
        );
        let o = Order {
            id: 9,
            customer_id: 7,
            product_id: 3,
            quantity: 2,
            unit_price_cents: 1990,
            created_at: 0,
            took_stock: true,
        };
        assert_eq!(
            String::from_utf8(o.to_json_bytes()).unwrap(),
            r#"{"id":9,"customer_id":7,"product_id":3,"quantity":2,"unit_price":"19.90","amount":"39.80","created_at":"1970-01-01T00:00:00Z"}"#
        );
    }

    proptest! {
        /// Any text, control characters and all, is escaped exactly as serde_json escapes it.
        #[test]
        fn records_render_exactly_as_serde_json_does(
            name in any::<String>(),
            email in "[\\x00-\\x7f]{0,40}",
            phone in proptest::option::of(any::<String>()),
            address in proptest::option::of(any::<String>()),
            id in 1..=crate::values::MAX_ID,
            cents in 0..=crate::values::MAX_PRICE_CENTS,
            quantity in 1u32..=1_000_000,
            at in -62_135_596_800i64..253_402_300_799,
        ) {
            let c = customer(name.clone(), email, phone, address);
            prop_assert_eq!(String::from_utf8(c.to_json_bytes(&Default::default())).unwrap(), c.to_json(&Default::default()).to_string());
            let p = Product { id, name, price_cents: cents, stock: cents / 3, custom: Default::default() };
            prop_assert_eq!(String::from_utf8(p.to_json_bytes(&Default::default())).unwrap(), p.to_json(&Default::default()).to_string());
            let o = Order {
                id, customer_id: cents, product_id: 1, quantity,
                unit_price_cents: cents % 10_000_000_000, created_at: at, took_stock: true,
            };
            prop_assert_eq!(String::from_utf8(o.to_json_bytes()).unwrap(), o.to_json().to_string());
        }
    }
}
