//! Cleaning of CSV rows before import: the same rules as the protocol, plus a report.
//!
//! Public so the server's `import` tool can run it client-side and say what it changed. Each
//! row becomes accepted (already clean), fixed (cleaned, with what changed), merged (an exact
//! duplicate of an earlier row, after cleaning) or rejected (with the reason).

use crate::error::{Error, Result};
use crate::model::{Customer, NewCustomer, NewOrder, NewProduct, Order, Product};
use crate::schema::{
    Catalog, CustomField, CustomGiven, CustomType, FieldSet, Presence, Record, Schema, ID,
};
use crate::values::{parse_id, quote};
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

    /// `customers`, `products` or `orders`, as the command line names the kind.
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Customers => "customers",
            ImportKind::Products => "products",
            ImportKind::Orders => "orders",
        }
    }

    /// The columns: the optional id, then every field a write sets (`schema/`), in order.
    pub fn columns(self) -> Vec<&'static str> {
        fn of<R: Record>(schema: &Schema<R>) -> Vec<&'static str> {
            std::iter::once(ID)
                .chain(schema.settable().map(|field| field.name))
                .collect()
        }
        match self {
            ImportKind::Customers => of(Customer::schema()),
            ImportKind::Products => of(Product::schema()),
            ImportKind::Orders => of(Order::schema()),
        }
    }

    /// The kind of record a row adds (`None`: orders, which have no custom fields).
    pub fn record_kind(self) -> Option<crate::error::Kind> {
        match self {
            ImportKind::Customers => Some(crate::error::Kind::Customer),
            ImportKind::Products => Some(crate::error::Kind::Product),
            ImportKind::Orders => None,
        }
    }

    /// Columns a row cannot do without: the required fields.
    fn required(self) -> Vec<&'static str> {
        fn of<R: Record>(schema: &Schema<R>) -> Vec<&'static str> {
            schema
                .settable()
                .filter(|field| field.presence == Presence::Required)
                .map(|field| field.name)
                .collect()
        }
        match self {
            ImportKind::Customers => of(Customer::schema()),
            ImportKind::Products => of(Product::schema()),
            ImportKind::Orders => of(Order::schema()),
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
    /// The same (after cleaning) as the row on this earlier line: not imported again;
    /// `changes` says what the cleaning changed in it (empty when nothing).
    Merged {
        first_line: u64,
        changes: Vec<String>,
    },
    /// Refused, with the reason.
    Rejected(String),
}

/// Cleans the rows of one CSV file, remembering what it has seen to merge duplicates.
pub struct Cleaner {
    kind: ImportKind,
    /// The kind's columns ([`ImportKind::columns`]).
    columns: Vec<&'static str>,
    /// Column index of each of the file kind's columns, if the file has it.
    positions: Vec<Option<usize>>,
    /// How many columns the header names: a row with more fields is refused.
    width: usize,
    /// 16 bytes of hash per distinct row: ~16 MB per million rows.
    seen: HashMap<[u8; 16], u64>,
    /// The columns named after declared custom fields: their place and their field.
    custom: Vec<(usize, CustomField)>,
}

impl Cleaner {
    /// Reads the header row (names compared without case and surrounding spaces): every
    /// column must be one of the kind's, named once, and the required ones must be there. An
    /// error names the columns at fault and lists the kind's.
    pub fn new(kind: ImportKind, headers: &csv::StringRecord) -> Result<Cleaner> {
        Cleaner::with_catalog(kind, headers, &Catalog::default())
    }

    /// As [`Cleaner::new`], where a column may also be named after a custom field `catalog`
    /// declares for the kind (without regard to case): its cells are read by the field's type
    /// (an empty one unset).
    pub fn with_catalog(
        kind: ImportKind,
        headers: &csv::StringRecord,
        catalog: &Catalog,
    ) -> Result<Cleaner> {
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
            .collect();
        let columns = kind.columns();
        let declared: Vec<&CustomField> = match kind.record_kind() {
            Some(record_kind) => catalog.declared(record_kind).collect(),
            None => Vec::new(),
        };
        let known = || {
            columns
                .iter()
                .copied()
                .chain(declared.iter().map(|field| field.name.as_str()))
                .collect::<Vec<&str>>()
                .join(", ")
        };
        let custom: Vec<(usize, CustomField)> = names
            .iter()
            .enumerate()
            .filter_map(|(at, name)| {
                let field = declared.iter().find(|field| field.name == *name)?;
                Some((at, (*field).clone()))
            })
            .collect();
        let unknown: Vec<String> = headers
            .iter()
            .zip(&names)
            .filter(|(_, name)| {
                !columns.contains(&name.as_str())
                    && !declared.iter().any(|field| field.name == **name)
            })
            .map(|(header, _)| quote(header.trim_start_matches('\u{feff}')))
            .collect();
        if !unknown.is_empty() {
            return Err(Error::invalid(
                "header",
                format!(
                    "unknown column{} {}; the {} columns are: {}",
                    if unknown.len() == 1 { "" } else { "s" },
                    unknown.join(", "),
                    kind.name(),
                    known()
                ),
            ));
        }
        for (second, name) in names.iter().enumerate() {
            if let Some(first) = names[..second].iter().position(|n| n == name) {
                return Err(Error::invalid(
                    "header",
                    format!(
                        "the {name} column appears twice (columns {} and {})",
                        first + 1,
                        second + 1
                    ),
                ));
            }
        }
        let positions: Vec<Option<usize>> = columns
            .iter()
            .map(|column| names.iter().position(|n| n == column))
            .collect();
        for required in kind.required() {
            if !names.iter().any(|name| name == required) {
                return Err(Error::invalid(
                    "header",
                    format!(
                        "the {required} column is missing (the header has: {}; the {} columns are: {})",
                        names.join(", "),
                        kind.name(),
                        known()
                    ),
                ));
            }
        }
        Ok(Cleaner {
            kind,
            columns,
            positions,
            width: names.len(),
            seen: HashMap::new(),
            custom,
        })
    }

    /// The custom values of a row: each custom column's cell read by its field's type (an
    /// empty cell is not given), noting what the cleaning changed.
    fn custom_values(
        &self,
        record: &csv::StringRecord,
        changes: &mut Vec<String>,
    ) -> Result<CustomGiven> {
        let mut given = CustomGiven::default();
        for (at, field) in &self.custom {
            let raw = record.get(*at).unwrap_or("");
            let cell = if field.ty == CustomType::Text {
                raw
            } else {
                raw.trim()
            };
            if let Some(value) = field.read(cell)? {
                note(changes, &field.name, raw, &field.ty.format(value.as_ref()));
                given.give(field.id, Some(value));
            }
        }
        Ok(given)
    }

    fn field<'r>(&self, record: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        let index = self.columns.iter().position(|c| *c == column)?;
        self.positions[index].and_then(|p| record.get(p))
    }

    /// Cleans one row (`line` is its line number in the file, for the report).
    pub fn clean(&mut self, line: u64, record: &csv::StringRecord) -> Verdict {
        if record.len() > self.width {
            return Verdict::Rejected(format!(
                "the row has {} fields, the header names {} columns",
                record.len(),
                self.width
            ));
        }
        let mut changes = Vec::new();
        let cleaned = match self.kind {
            ImportKind::Customers => self.row(record, &mut changes).and_then(|(id, row, given)| {
                let mut new = NewCustomer::from_fields(id, row, given);
                new.custom = self.custom_values(record, &mut changes)?;
                Ok(CleanRecord::Customer(new))
            }),
            ImportKind::Products => self.row(record, &mut changes).and_then(|(id, row, given)| {
                let mut new = NewProduct::from_fields(id, row, given);
                new.custom = self.custom_values(record, &mut changes)?;
                Ok(CleanRecord::Product(new))
            }),
            ImportKind::Orders => self
                .row(record, &mut changes)
                .map(|(id, row, given)| CleanRecord::Order(NewOrder::from_fields(id, row, given))),
        };
        match cleaned {
            Err(error) => Verdict::Rejected(error.to_string()),
            Ok(record) => match self.seen.get(&record.fingerprint()) {
                Some(first_line) => Verdict::Merged {
                    first_line: *first_line,
                    changes,
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

    /// Reads a row's id and fields as the schema reads each (`Schema::read`), noting what
    /// the cleaning changed: a value as it is stored (a field with a default left out: the
    /// default).
    fn row<R: Record>(
        &self,
        record: &csv::StringRecord,
        changes: &mut Vec<String>,
    ) -> Result<(Option<u64>, R, FieldSet)> {
        let id = self.id(record, changes)?;
        let (row, given) = R::schema().read(
            |column| self.field(record, column),
            |field, raw, value| {
                if !field.ty.cleaning_shows() {
                    return;
                }
                let shown = match value {
                    Some(value) => field.ty.format(value.as_ref()),
                    None if field.presence == Presence::Defaulted => {
                        field.ty.default_shown().unwrap_or_default().to_string()
                    }
                    None => String::new(),
                };
                note(changes, field.name, raw, &shown);
            },
        )?;
        Ok((id, row, given))
    }
}

/// Records a change when cleaning altered a value.
fn note(changes: &mut Vec<String>, field: &str, raw: &str, clean: &str) {
    if raw != clean {
        changes.push(format!("{field}: {} -> {}", quote(raw), quote(clean)));
    }
}

#[cfg(test)]
mod tests;
