//! The schema: every field of every kind of record, each declared once, and what reads,
//! writes, shows, journals, masks or merges a field loops over it.
//!
//! A [`FieldDef`] says all there is to say about one field: its name (the JSON key, the CSV
//! column and the name the journal lists), the keyword that sets it in a request, its code in
//! a journal page, its [`FieldType`] (how a value is shown), its [`Presence`], whether an
//! `UPDATE` may change it, whether it is personal (masked, exported, erased) and what `MERGE`
//! does with it; and its [`FieldId`], by which the code names it.
//!
//! A record's id is its key, not one of its fields: it is written first in JSON and named last
//! in the journal ([`ID`]).
//!
//! The fields of each kind are a static list (`customer.rs`, `product.rs`, `order.rs`); users
//! are not records of the schema, only their journal names are here (`user.rs`).
//!
//! What loops over it: reading values (`ADD`, `UPSERT` and `UPDATE` on the wire, CSV rows),
//! the records' JSON (`json`), the journal's field names and codes, the fields an add gives
//! and an update changes, `MERGE`'s fill, the server's masking and keywords, the client's
//! request builders, the CSV import's columns and cleaning (`clean.rs`) and its dry run, and
//! the console's forms.
//!
//! # Adding a built-in field
//!
//! Its member in the record's struct and in its add, patch (and upsert) types with their
//! `from_fields` and `given` (`model/`), its declaration in the kind's list here (a journal
//! code only if it is new: `journal_codes.rs`), and its keyword in the server's command spec
//! (`cmd/`, for arity and help). Customers and products are stored with their values tagged
//! (`tagged.rs`): an optional field needs no layout migration.
//!
//! # Custom fields
//!
//! Declared at run time into the store's [`Catalog`] (`custom.rs`); records carry their
//! values in [`CustomValues`], and what loops over the built-in fields here takes the
//! catalog's declared fields after them.

pub mod custom;
mod customer;
mod journal_codes;
mod order;
mod product;
pub(crate) mod tagged;
mod types;
mod user;
mod value;

pub use custom::{Catalog, CustomField, CustomGiven, CustomType, CustomValues, FieldDeclaration};
pub(crate) use journal_codes::{journal_code, journal_name};
pub use types::{FieldType, Presence};
pub(crate) use user::{MASKED, PASSWORD, ROLE};
pub use value::{Value, ValueRef};

use crate::error::{Error, Kind, Result};
use crate::model::json::JsonObject;

/// The keyword that sets the field `id` of kind `R` in a request (`""` for an id the kind does
/// not have).
pub fn keyword_of<R: Record>(id: FieldId) -> &'static str {
    R::schema().field(id).map_or("", |field| field.keyword)
}

/// The name of the field `id` of kind `R` (`""` for an id the kind does not have).
pub fn name_of<R: Record>(id: FieldId) -> &'static str {
    R::schema().field(id).map_or("", |field| field.name)
}

/// The name, JSON key, CSV column and keyword (upper case) of every record's id.
pub const ID: &str = "id";
/// The journal code of [`ID`] (see `journal_codes.rs`).
pub(crate) const ID_CODE: u8 = 5;

/// The name of a field in code (`Customer::PHONE`), stable whatever the order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldId(pub u16);

/// What `CUSTOMER.MERGE` does with a field of `keep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MergeRule {
    /// `keep`'s value stays.
    Keep,
    /// `keep` takes `other`'s value when it has none (and `UNMERGE` clears it again while
    /// `keep` still holds that value).
    FillIfUnset,
}

/// One field of records of kind `R`.
pub struct FieldDef<R: 'static> {
    pub id: FieldId,
    /// Its name: the JSON key, the CSV column, the name the journal lists.
    pub name: &'static str,
    /// The keyword that sets it in a request (compared without regard to case).
    pub keyword: &'static str,
    /// Its one-byte code in a journal page (`None`: the page spells its name).
    pub journal_code: Option<u8>,
    pub ty: FieldType,
    pub presence: Presence,
    /// Whether `UPDATE` (and `UPSERT` of an existing record) may change it.
    pub updatable: bool,
    /// Personal data: masked to masked users, exported, erased by `FORGET`.
    pub personal: bool,
    pub merge: MergeRule,
    /// Reads its value in a record (`None`: unset).
    pub get: for<'r> fn(&'r R) -> Option<ValueRef<'r>>,
    /// Sets (`None`: clears) its value in a record; `None` for a field no write sets (an
    /// order's amount).
    pub set: Option<fn(&mut R, Option<Value>)>,
}

impl<R> FieldDef<R> {
    /// A field read with `get`: no journal code, not updatable, not personal, kept by a merge,
    /// set by no write (the methods below say otherwise).
    pub const fn new(
        id: FieldId,
        name: &'static str,
        keyword: &'static str,
        ty: FieldType,
        presence: Presence,
        get: for<'r> fn(&'r R) -> Option<ValueRef<'r>>,
    ) -> Self {
        FieldDef {
            id,
            name,
            keyword,
            journal_code: None,
            ty,
            presence,
            updatable: false,
            personal: false,
            merge: MergeRule::Keep,
            get,
            set: None,
        }
    }

    /// Written with `set`.
    pub const fn set_by(self, set: fn(&mut R, Option<Value>)) -> Self {
        FieldDef {
            set: Some(set),
            ..self
        }
    }

    /// Stored in journal pages as `code` (`journal_codes.rs`).
    pub const fn journal_code(self, code: u8) -> Self {
        FieldDef {
            journal_code: Some(code),
            ..self
        }
    }

    /// `UPDATE` may change it.
    pub const fn updatable(self) -> Self {
        FieldDef {
            updatable: true,
            ..self
        }
    }

    /// Personal data.
    pub const fn personal(self) -> Self {
        FieldDef {
            personal: true,
            ..self
        }
    }

    /// A merge fills it in `keep` from `other` ([`MergeRule::FillIfUnset`]).
    pub const fn filled_by_merge(self) -> Self {
        FieldDef {
            merge: MergeRule::FillIfUnset,
            ..self
        }
    }
}

impl<R: Record> FieldDef<R> {
    /// Reads the value given for the field (a request's argument, a CSV cell): `None` for an
    /// empty or all-whitespace one (unset), which a required field refuses (`INVALID`
    /// "required").
    pub fn parse(&self, text: &str) -> Result<Option<Value>> {
        if !text.trim().is_empty() {
            return self.ty.parse(self.name, text).map(Some);
        }
        match self.presence {
            Presence::Required => Err(Error::invalid(self.name, "required")),
            _ => Ok(None),
        }
    }

    /// Reads the value a request gives to set the field: an empty one clears an optional
    /// field (`None`); for any other field it is read as the type reads it (`INVALID`).
    pub fn parse_given(&self, text: &str) -> Result<Option<Value>> {
        match self.presence {
            Presence::Optional => self.parse(text),
            _ => self.ty.parse(self.name, text).map(Some),
        }
    }

    /// The field's value in a record.
    pub fn get<'r>(&self, record: &'r R) -> Option<ValueRef<'r>> {
        (self.get)(record)
    }

    /// Sets (`None`: clears) the field's value in a record; a field no write sets is left.
    pub fn set(&self, record: &mut R, value: Option<Value>) {
        if let Some(set) = self.set {
            set(record, value);
        }
    }
}

/// A kind of record the schema describes.
pub trait Record: Clone + Default + 'static {
    /// The kind's name in messages.
    const KIND: Kind;
    /// The kind's fields.
    fn schema() -> &'static Schema<Self>;
    /// The record's id.
    fn id(&self) -> u64;
    /// Sets the record's id (reading a stored record: `tagged.rs`).
    fn set_id(&mut self, id: u64);
    /// The record's custom values (`None`: the kind has none, as orders).
    fn custom(&self) -> Option<&CustomValues> {
        None
    }
    /// The same, to change them.
    fn custom_mut(&mut self) -> Option<&mut CustomValues> {
        None
    }
}

/// The fields of one kind of record, in the order replies, journal entries and CSV files list
/// them.
pub struct Schema<R: 'static> {
    fields: &'static [FieldDef<R>],
}

impl<R: Record> Schema<R> {
    /// A schema of these fields.
    pub const fn of(fields: &'static [FieldDef<R>]) -> Schema<R> {
        Schema { fields }
    }

    /// Every field, in order.
    pub fn fields(&self) -> std::slice::Iter<'_, FieldDef<R>> {
        self.fields.iter()
    }

    /// The fields a write sets (all but the computed ones), in order: an import's columns
    /// after `id`.
    pub fn settable(&self) -> impl Iterator<Item = &FieldDef<R>> {
        self.fields().filter(|field| field.set.is_some())
    }

    /// The field with this id.
    pub fn field(&self, id: FieldId) -> Option<&FieldDef<R>> {
        self.fields().find(|field| field.id == id)
    }

    /// The fields an `UPDATE` may change, in order.
    pub fn updatable(&self) -> impl Iterator<Item = &FieldDef<R>> {
        self.fields().filter(|field| field.updatable)
    }

    /// The field whose keyword is `word`, compared without regard to ASCII case.
    pub fn keyword(&self, word: &[u8]) -> Option<&FieldDef<R>> {
        self.fields()
            .find(|field| field.keyword.as_bytes().eq_ignore_ascii_case(word))
    }

    /// A field's place in the list (what a [`FieldSet`] counts by).
    fn position(&self, id: FieldId) -> Option<usize> {
        self.fields().position(|field| field.id == id)
    }

    /// The record's JSON text: `id` first, then every field in order, then (customers and
    /// products) `"fields"`: every custom field `catalog` declares for the kind. `shown` may
    /// replace a set field's value by a text (the server's masking); `mask_personal` shows a
    /// personal custom field's value as `***`.
    pub fn json(
        &self,
        record: &R,
        catalog: &Catalog,
        shown: impl Fn(&FieldDef<R>, ValueRef) -> Option<String>,
        mask_personal: bool,
    ) -> Vec<u8> {
        let mut object = JsonObject::with_capacity(160);
        object.number(ID, record.id());
        for field in self.fields() {
            let value = field.get(record);
            let replaced = value.and_then(|value| shown(field, value));
            field
                .ty
                .json(&mut object, field.name, value, replaced.as_deref());
        }
        if let Some(values) = record.custom() {
            custom::write_json(&mut object, catalog, R::KIND, values, |field, _| {
                (mask_personal && field.personal).then(|| "***".to_string())
            });
        }
        object.finish()
    }

    /// The record's JSON object, as [`Schema::json`] writes it but through serde_json (the
    /// tests' reference for that writer's escaping).
    pub fn json_value(&self, record: &R, catalog: &Catalog) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        object.insert(ID.into(), record.id().into());
        for field in self.fields() {
            object.insert(field.name.into(), field.ty.json_value(field.get(record)));
        }
        if let Some(values) = record.custom() {
            object.insert(
                "fields".into(),
                custom::json_value(catalog, R::KIND, values),
            );
        }
        serde_json::Value::Object(object)
    }

    /// Reads a record from the texts given for its fields by name (a CSV row): each field a
    /// write sets, in order, read by [`FieldDef::parse`] (the first that does not read is the
    /// error), spaces around a cell that is not text left out; `heard` is told each field's
    /// text and value (the import's report). Returns the record (unset fields at their
    /// `Default`) and the fields that had a value.
    pub fn read<'t>(
        &self,
        text: impl Fn(&str) -> Option<&'t str>,
        mut heard: impl FnMut(&FieldDef<R>, &'t str, Option<&Value>),
    ) -> Result<(R, FieldSet)> {
        let mut record = R::default();
        let mut given = FieldSet::default();
        for field in self.settable() {
            let raw = text(field.name).unwrap_or("");
            let value = field.parse(if field.ty.is_text() { raw } else { raw.trim() })?;
            heard(field, raw, value.as_ref());
            if let Some(value) = value {
                field.set(&mut record, Some(value));
                given = given.with(self, field.id);
            }
        }
        Ok((record, given))
    }

    /// Reads a record from the values a request names (`given`: a field and its text; a
    /// field not in it is not named), each read as [`FieldDef::parse_given`] reads it; a
    /// required field not named is `INVALID` "required". Returns the record (fields not named
    /// at their `Default`) and the fields named (an optional one named empty too: it clears).
    pub fn read_given(&self, given: &[(FieldId, &str)]) -> Result<(R, FieldSet)> {
        let mut record = R::default();
        let mut named = FieldSet::default();
        for field in self.settable() {
            let Some((_, text)) = given.iter().find(|(id, _)| *id == field.id) else {
                if field.presence == Presence::Required {
                    return Err(Error::invalid(field.name, "required"));
                }
                continue;
            };
            field.set(&mut record, field.parse_given(text)?);
            named = named.with(self, field.id);
        }
        Ok((record, named))
    }

    /// A record as a reply's JSON object shows it (for tools that read records over the
    /// wire): texts are taken as shown (masked ones too), other values read by their type; a
    /// value that is missing or does not read is left unset. The id is not read.
    pub fn from_json(&self, object: &serde_json::Value) -> R {
        let mut record = R::default();
        for field in self.settable() {
            let value = match &object[field.name] {
                serde_json::Value::String(text) if field.ty.is_text() => {
                    Some(Value::Text(text.clone()))
                }
                serde_json::Value::String(text) => field.ty.parse(field.name, text).ok(),
                serde_json::Value::Number(number) => {
                    field.ty.parse(field.name, &number.to_string()).ok()
                }
                _ => None,
            };
            field.set(&mut record, value);
        }
        record
    }

    /// Sets in `record` the fields in `given` that an update may change, to their values in
    /// `from`: what an upsert does to the record it matches.
    pub fn update_from(&self, record: &mut R, from: &R, given: FieldSet) {
        for field in self.fields() {
            if field.updatable && given.has(self, field.id) {
                field.set(record, field.get(from).map(ValueRef::to_owned));
            }
        }
    }

    /// The fields whose values differ between two versions of a record.
    pub fn changed(&self, old: &R, new: &R) -> FieldSet {
        let mut set = FieldSet::default();
        for (at, field) in self.fields().enumerate() {
            if field.get(old) != field.get(new) {
                set.insert(at);
            }
        }
        set
    }

    /// The names of the fields in `set`, in order, then `id` if the set has it: what a journal
    /// entry lists.
    pub fn names(&self, set: FieldSet) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self
            .fields
            .iter()
            .enumerate()
            .filter(|(at, _)| set.contains(*at))
            .map(|(_, field)| field.name)
            .collect();
        if set.has_id() {
            names.push(ID);
        }
        names
    }
}

/// A set of a kind's fields (by their place in its schema) and maybe its id: the fields a
/// write gave, or changed. `Copy`, so outcomes stay cheap to pass around.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FieldSet(u128);

impl FieldSet {
    /// The bit of the record's id (no schema has this many fields).
    const ID_BIT: usize = 127;

    fn insert(&mut self, position: usize) {
        if position < Self::ID_BIT {
            self.0 |= 1 << position;
        }
    }

    fn contains(self, position: usize) -> bool {
        position < Self::ID_BIT && self.0 & (1 << position) != 0
    }

    /// The set with the record's id added.
    pub fn with_id(mut self) -> FieldSet {
        self.0 |= 1 << Self::ID_BIT;
        self
    }

    pub fn has_id(self) -> bool {
        self.0 & (1 << Self::ID_BIT) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set with the field `id` of `schema` added.
    pub fn with<R: Record>(mut self, schema: &Schema<R>, id: FieldId) -> FieldSet {
        if let Some(at) = schema.position(id) {
            self.insert(at);
        }
        self
    }

    /// The set without the field `id` of `schema`.
    pub fn without<R: Record>(mut self, schema: &Schema<R>, id: FieldId) -> FieldSet {
        if let Some(at) = schema.position(id) {
            self.0 &= !(1 << at);
        }
        self
    }

    /// Whether the set has the field `id` of `schema`.
    pub fn has<R: Record>(self, schema: &Schema<R>, id: FieldId) -> bool {
        schema.position(id).is_some_and(|at| self.contains(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Customer, Product};

    #[test]
    fn sets_name_their_fields_in_schema_order_and_the_id_last() {
        let schema = Customer::schema();
        let set = FieldSet::default()
            .with_id()
            .with(schema, Customer::ADDRESS)
            .with(schema, Customer::NAME);
        assert_eq!(schema.names(set), vec!["name", "address", "id"]);
        assert!(set.has(schema, Customer::NAME));
        assert!(!set.has(schema, Customer::EMAIL));
        assert!(FieldSet::default().is_empty());
        assert_eq!(
            Product::schema().keyword(b"Stock").map(|f| f.name),
            Some("stock")
        );
        assert!(Product::schema().keyword(b"created_at").is_none());
        assert_eq!(
            schema.names(set.without(schema, Customer::NAME)),
            vec!["address", "id"]
        );
    }

    // Guards the import's reading of a row: each field by its type, empty cells unset, a
    // required one refused by name, the first value that does not read named.
    #[test]
    fn a_record_is_read_field_by_field_from_texts_by_name() {
        let schema = Customer::schema();
        let row = [
            ("name", "  Ada   Lovelace "),
            ("email", "ADA@Example.com"),
            ("phone", ""),
            ("address", "1 Main St"),
        ];
        let text = |row: &[(&'static str, &'static str)], name: &str| {
            row.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
        };
        let mut heard = Vec::new();
        let (customer, given) = schema
            .read(
                |name| text(&row, name),
                |field, raw, value| heard.push((field.name, raw, value.cloned())),
            )
            .unwrap();
        assert_eq!(customer.name, "Ada Lovelace");
        assert_eq!(customer.email, "ada@example.com");
        assert_eq!(customer.phone, None);
        assert_eq!(customer.address.as_deref(), Some("1 Main St"));
        assert_eq!(
            schema.names(given),
            vec!["name", "email", "address"],
            "an empty phone and a missing time are not given"
        );
        assert_eq!(heard.len(), 5);
        assert_eq!(heard[2], ("phone", "", None));

        let refused = |row: &[(&'static str, &'static str)]| {
            schema
                .read(|name| text(row, name), |_, _, _| {})
                .unwrap_err()
                .to_string()
        };
        assert!(refused(&[("name", " "), ("email", "a@b.c")]).contains("name"));
        let bad_phone = refused(&[("name", "A"), ("email", "a@b.c"), ("phone", "12")]);
        assert!(bad_phone.contains("phone"), "{bad_phone}");

        let (product, given) = Product::schema()
            .read(
                |name| text(&[("name", "Tea"), ("price", " 19.9 ")], name),
                |_, _, _| {},
            )
            .unwrap();
        assert_eq!((product.price_cents, product.stock), (1990, 0));
        assert!(!given.has(Product::schema(), Product::STOCK));
    }

    // Guards the wire's reading of an ADD or UPSERT: a required field missing is refused by
    // name, an optional one given empty is named (an upsert clears it), numbers are read
    // exactly as given (no spaces), and an empty stock is no stock level.
    #[test]
    fn a_request_is_read_by_field_with_the_wires_rules() {
        let schema = Customer::schema();
        let missing = schema.read_given(&[(Customer::NAME, "Ada")]).unwrap_err();
        assert!(missing.to_string().contains("email"), "{missing}");
        let (customer, named) = schema
            .read_given(&[
                (Customer::NAME, "Ada"),
                (Customer::EMAIL, "ada@example.com"),
                (Customer::PHONE, " "),
            ])
            .unwrap();
        assert_eq!(customer.phone, None);
        assert!(named.has(schema, Customer::PHONE));
        assert!(!named.has(schema, Customer::ADDRESS));

        let products = Product::schema();
        let product = |price: &'static str, stock: &'static str| {
            products.read_given(&[
                (Product::NAME, "Tea"),
                (Product::PRICE, price),
                (Product::STOCK, stock),
            ])
        };
        assert_eq!(product("19.9", "3").unwrap().0.price_cents, 1990);
        assert!(product(" 19.90", "3").is_err());
        assert!(product("19.90", "").is_err());
    }

    // Guards the dry run's reading of records over the wire: what `json` writes reads back.
    #[test]
    fn a_records_json_reads_back_into_the_record() {
        let customer = Customer {
            id: 0,
            name: "Ada".into(),
            email: "ada@example.com".into(),
            phone: Some("+15550100".into()),
            address: None,
            created_at: 1_700_000_000,
            custom: Default::default(),
        };
        assert_eq!(
            Customer::schema().from_json(&customer.to_json(&Default::default())),
            customer
        );
        let product = Product {
            id: 0,
            name: "Tea".into(),
            price_cents: 1990,
            stock: 12,
            custom: Default::default(),
        };
        assert_eq!(
            Product::schema().from_json(&product.to_json(&Default::default())),
            product
        );
    }
}
