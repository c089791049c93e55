//! Cleaning of CSV rows before import: the same rules as the protocol, plus a report.
//!
//! Public so the server's `import` tool can run it client-side and say what it changed. Each
//! row becomes accepted (already clean), fixed (cleaned, with what changed), merged (an exact
//! duplicate of an earlier row, after cleaning) or rejected (with the reason).

use crate::error::{Error, Result};
use crate::model::{NewCustomer, NewOrder, NewProduct};
use crate::values::{
    format_money, normalize_email, normalize_optional_phone, normalize_optional_text,
    normalize_text, parse_id, parse_money, parse_quantity, parse_stock, parse_timestamp, quote,
};
use std::collections::HashMap;

/// Which file a row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Customers,
    Products,
    Orders,
}

impl ImportKind {
    /// `customers`, `products` or `orders` (singular accepted too).
    pub fn parse(text: &str) -> Result<ImportKind> {
        match text.to_ascii_lowercase().as_str() {
            "customers" | "customer" => Ok(ImportKind::Customers),
            "products" | "product" => Ok(ImportKind::Products),
            "orders" | "order" => Ok(ImportKind::Orders),
            _ => Err(Error::invalid(
                "kind",
                format!("{} is not customers, products or orders", quote(text)),
            )),
        }
    }

    /// The design notes' columns; the first is the optional id.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Customers => &["id", "name", "email", "phone", "address", "created_at"],
            ImportKind::Products => &["id", "name", "price", "stock"],
            ImportKind::Orders => &["id", "customer_id", "product_id", "quantity", "created_at"],
        }
    }

    /// Columns a row cannot do without.
    fn required(self) -> &'static [&'static str] {
        match self {
            ImportKind::Customers => &["name", "email"],
            ImportKind::Products => &["name", "price"],
            ImportKind::Orders => &["customer_id", "product_id", "quantity"],
        }
    }
}

/// A cleaned row, ready to write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CleanRecord {
    Customer(NewCustomer),
    Product(NewProduct),
    Order(NewOrder),
}

impl CleanRecord {
    /// As a write operation (imported orders never touch stock).
    pub fn into_op(self) -> crate::Op {
        match self {
            CleanRecord::Customer(c) => crate::Op::AddCustomer(c),
            CleanRecord::Product(p) => crate::Op::AddProduct(p),
            CleanRecord::Order(o) => crate::Op::AddOrder(o),
        }
    }

    /// Every field of the cleaned row, hashed (BLAKE3 through the derived `Hash`, which
    /// frames each field), for spotting exact duplicates within one import.
    fn fingerprint(&self) -> [u8; 16] {
        struct Feed(blake3::Hasher);
        impl std::hash::Hasher for Feed {
            fn write(&mut self, bytes: &[u8]) {
                self.0.update(bytes);
            }
            fn finish(&self) -> u64 {
                0
            }
        }
        let mut feed = Feed(blake3::Hasher::new());
        std::hash::Hash::hash(self, &mut feed);
        let mut out = [0u8; 16];
        out.copy_from_slice(&feed.0.finalize().as_bytes()[..16]);
        out
    }
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Clean as it was.
    Accepted(CleanRecord),
    /// Cleaned; the strings say what changed.
    Fixed(CleanRecord, Vec<String>),
    /// The same (after cleaning) as the row on this earlier line: not imported again.
    Merged { first_line: u64 },
    /// Refused, with the reason.
    Rejected(String),
}

/// Cleans the rows of one CSV file, remembering what it has seen to merge duplicates.
pub struct Cleaner {
    kind: ImportKind,
    /// Column index of each of the file kind's columns, if the file has it.
    positions: Vec<Option<usize>>,
    /// 16 bytes of hash per distinct row: ~16 MB per million rows.
    seen: HashMap<[u8; 16], u64>,
}

impl Cleaner {
    /// Reads the header row: every required column must be there (any case, any order).
    pub fn new(kind: ImportKind, headers: &csv::StringRecord) -> Result<Cleaner> {
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let positions: Vec<Option<usize>> = kind
            .columns()
            .iter()
            .map(|column| names.iter().position(|n| n == column))
            .collect();
        for required in kind.required() {
            let index = kind
                .columns()
                .iter()
                .position(|c| c == required)
                .unwrap_or(0);
            if positions[index].is_none() {
                return Err(Error::invalid(
                    "header",
                    format!("the {required} column is missing"),
                ));
            }
        }
        Ok(Cleaner {
            kind,
            positions,
            seen: HashMap::new(),
        })
    }

    fn field<'r>(&self, record: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        let index = self.kind.columns().iter().position(|c| *c == column)?;
        self.positions[index].and_then(|p| record.get(p))
    }

    /// Cleans one row (`line` is its line number in the file, for the report).
    pub fn clean(&mut self, line: u64, record: &csv::StringRecord) -> Verdict {
        let mut changes = Vec::new();
        let cleaned = match self.kind {
            ImportKind::Customers => self
                .customer(record, &mut changes)
                .map(CleanRecord::Customer),
            ImportKind::Products => self.product(record, &mut changes).map(CleanRecord::Product),
            ImportKind::Orders => self.order(record, &mut changes).map(CleanRecord::Order),
        };
        match cleaned {
            Err(error) => Verdict::Rejected(error.to_string()),
            Ok(record) => match self.seen.get(&record.fingerprint()) {
                Some(first_line) => Verdict::Merged {
                    first_line: *first_line,
                },
                None => {
                    self.seen.insert(record.fingerprint(), line);
                    if changes.is_empty() {
                        Verdict::Accepted(record)
                    } else {
                        Verdict::Fixed(record, changes)
                    }
                }
            },
        }
    }

    fn id(&self, record: &csv::StringRecord, changes: &mut Vec<String>) -> Result<Option<u64>> {
        match self.field(record, "id").map(str::trim) {
            None | Some("") => Ok(None),
            Some(raw) => {
                let id = parse_id("id", raw)?;
                note(changes, "id", raw, &id.to_string());
                Ok(Some(id))
            }
        }
    }

    fn required(&self, record: &csv::StringRecord, column: &'static str) -> Result<String> {
        match self.field(record, column) {
            Some(value) if !value.trim().is_empty() => Ok(value.to_string()),
            _ => Err(Error::invalid(column, "required")),
        }
    }

    /// Every accepted timestamp form is clean as it is: converting it is not a fix.
    fn timestamp(&self, record: &csv::StringRecord) -> Result<Option<i64>> {
        match self.field(record, "created_at").map(str::trim) {
            None | Some("") => Ok(None),
            Some(raw) => parse_timestamp("created_at", raw).map(Some),
        }
    }

    fn customer(
        &self,
        record: &csv::StringRecord,
        changes: &mut Vec<String>,
    ) -> Result<NewCustomer> {
        let id = self.id(record, changes)?;
        let raw_name = self.required(record, "name")?;
        let name = normalize_text("name", &raw_name)?;
        note(changes, "name", &raw_name, &name);
        let raw_email = self.required(record, "email")?;
        let email = normalize_email(&raw_email)?;
        note(changes, "email", &raw_email, &email);
        let raw_phone = self.field(record, "phone").unwrap_or("");
        let phone = normalize_optional_phone(raw_phone)?;
        note(changes, "phone", raw_phone, phone.as_deref().unwrap_or(""));
        let raw_address = self.field(record, "address").unwrap_or("");
        let address = normalize_optional_text("address", raw_address)?;
        note(
            changes,
            "address",
            raw_address,
            address.as_deref().unwrap_or(""),
        );
        Ok(NewCustomer {
            id,
            name,
            email,
            phone,
            address,
            created_at: self.timestamp(record)?,
        })
    }

    fn product(&self, record: &csv::StringRecord, changes: &mut Vec<String>) -> Result<NewProduct> {
        let id = self.id(record, changes)?;
        let raw_name = self.required(record, "name")?;
        let name = normalize_text("name", &raw_name)?;
        note(changes, "name", &raw_name, &name);
        let raw_price = self.required(record, "price")?;
        let price_cents = parse_money("price", raw_price.trim())?;
        note(
            changes,
            "price",
            &raw_price,
            &format_money(u128::from(price_cents)),
        );
        let raw_stock = self.field(record, "stock").unwrap_or("").trim().to_string();
        let stock = if raw_stock.is_empty() {
            None
        } else {
            Some(parse_stock(&raw_stock)?)
        };
        note(
            changes,
            "stock",
            &raw_stock,
            &stock.map_or_else(|| "0".to_string(), |s| s.to_string()),
        );
        Ok(NewProduct {
            id,
            name,
            price_cents,
            stock,
        })
    }

    fn order(&self, record: &csv::StringRecord, changes: &mut Vec<String>) -> Result<NewOrder> {
        let id = self.id(record, changes)?;
        let raw_customer = self.required(record, "customer_id")?;
        let customer_id = parse_id("customer_id", raw_customer.trim())?;
        let raw_product = self.required(record, "product_id")?;
        let product_id = parse_id("product_id", raw_product.trim())?;
        let raw_quantity = self.required(record, "quantity")?;
        let quantity = parse_quantity(raw_quantity.trim())?;
        note(changes, "quantity", &raw_quantity, &quantity.to_string());
        Ok(NewOrder {
            id,
            customer_id,
            product_id,
            quantity,
            created_at: self.timestamp(record)?,
            take_stock: false,
        })
    }
}

/// Records a change when cleaning altered a value.
fn note(changes: &mut Vec<String>, field: &str, raw: &str, clean: &str) {
    if raw != clean {
        changes.push(format!("{field}: {} -> {}", quote(raw), quote(clean)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaner(kind: ImportKind, header: &[&str]) -> Cleaner {
        Cleaner::new(kind, &csv::StringRecord::from(header.to_vec())).unwrap()
    }

    #[test]
    fn rows_are_accepted_fixed_merged_or_rejected() {
        let mut c = cleaner(
            ImportKind::Customers,
            &["id", "name", "email", "phone", "address", "created_at"],
        );
        let row = |fields: &[&str]| csv::StringRecord::from(fields.to_vec());
        assert!(matches!(
            c.clean(
                2,
                &row(&[
                    "1",
                    "Ada Lovelace",
                    "ada@example.com",
                    "+445550100",
                    "London",
                    "2026-11-25T09:30:00Z"
                ])
            ),
            Verdict::Accepted(_)
        ));
        match c.clean(
            3,
            &row(&[
                "2",
                "  Bob  Byron ",
                "BOB@Example.com ",
                "555-010-9999",
                "",
                "2026-11-25",
            ]),
        ) {
            Verdict::Fixed(_, changes) => {
                assert_eq!(changes.len(), 3, "{changes:?}");
                assert!(changes[0].starts_with("name:"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            c.clean(
                4,
                &row(&[
                    "2",
                    "Bob Byron",
                    "bob@example.com",
                    "+5550109999",
                    "",
                    "2026-11-25T00:00:00Z"
                ])
            ),
            Verdict::Merged { first_line: 3 }
        );
        assert_eq!(
            c.clean(5, &row(&["3", "", "x@y.com", "", "", ""])),
            Verdict::Rejected("name: required".into())
        );
        assert!(matches!(
            c.clean(6, &row(&["x", "N", "n@y.com", "", "", ""])),
            Verdict::Rejected(_)
        ));
    }

    #[test]
    fn a_missing_required_column_is_refused() {
        assert!(Cleaner::new(
            ImportKind::Products,
            &csv::StringRecord::from(vec!["id", "name"])
        )
        .is_err());
    }
}
