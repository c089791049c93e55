//! Custom fields: declared at run time (`SCHEMA.FIELD.ADD`, `PROTOCOL.md` "Schema"), kept in
//! the store's [`Catalog`], and carried by customers and products as tagged values
//! ([`CustomValues`]) beside their built-in fields.
//!
//! A field's values are tagged in records by its [`CustomField::id`], which is never given to
//! another field: a value left behind by a dropped field (until its sweep removes it) is never
//! read as a later field's, even one of the same name.

use super::value::{Value, ValueRef};
use crate::error::{quote, Error, Kind, Result};
use crate::model::json::JsonObject;
use crate::values;
use serde::{Deserialize, Serialize};

/// At most this many custom fields per kind, counting those being swept away.
pub const MAX_CUSTOM_FIELDS: usize = 64;
/// A `choice` has 1 to this many values.
pub const MAX_CHOICES: usize = 64;
/// A choice's value is 1 to this many characters.
pub const MAX_CHOICE_CHARS: usize = 64;
/// A field's name is 1 to this many characters.
pub const MAX_NAME_CHARS: usize = 32;
/// The largest integer a custom `integer` holds (2^53 − 1: exact in every JSON reader).
pub const MAX_INTEGER: i64 = (1 << 53) - 1;

/// The built-in fields and statistics of both kinds, and `fields` (the key of custom values
/// in a record's JSON): no custom field takes these names.
const BUILT_IN_NAMES: [&str; 15] = [
    "id",
    "name",
    "email",
    "phone",
    "address",
    "created_at",
    "price",
    "stock",
    "order_count",
    "total_amount",
    "first_order",
    "last_order",
    "units",
    "revenue",
    "fields",
];

/// Whether `name` (any case) is a built-in field or statistic of either kind, or `fields`:
/// the engine refuses it with the contract's own code (`CONFLICT` for the kind's own fields),
/// before any check of the protocol's keywords.
pub fn is_built_in_name(name: &str) -> bool {
    BUILT_IN_NAMES.contains(&name.to_ascii_lowercase().as_str())
}

/// A custom field's type: how its values are read, shown and compared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CustomType {
    /// As `ADDRESS`: trimmed, whitespace folded, 1 to 255 characters.
    Text,
    /// −(2^53 − 1) to 2^53 − 1, shown as a JSON number.
    Integer,
    /// As prices: cents, shown with two decimals.
    Money,
    /// As timestamps: seconds since the Unix epoch, UTC, shown in RFC 3339.
    Date,
    /// `true`/`false`, `1`/`0`, `yes`/`no`, any case.
    Bool,
    /// One of its values, compared without case, returned as declared.
    Choice(Vec<String>),
}

impl CustomType {
    /// The type's name on the wire (`SCHEMA.LIST`, `TYPE`).
    pub fn name(&self) -> &'static str {
        match self {
            CustomType::Text => "text",
            CustomType::Integer => "integer",
            CustomType::Money => "money",
            CustomType::Date => "date",
            CustomType::Bool => "bool",
            CustomType::Choice(_) => "choice",
        }
    }

    /// The type named `word` (any case), with `values` for a `choice` (and only for one):
    /// `INVALID` naming what is wrong.
    pub fn parse(word: &str, values: Option<Vec<String>>) -> Result<CustomType> {
        let ty = match word.to_ascii_lowercase().as_str() {
            "text" => CustomType::Text,
            "integer" => CustomType::Integer,
            "money" => CustomType::Money,
            "date" => CustomType::Date,
            "bool" => CustomType::Bool,
            "choice" => {
                let values = values.ok_or_else(|| {
                    Error::invalid("VALUES", "a choice needs its VALUES (1 to 64 values)")
                })?;
                return Ok(CustomType::Choice(choices(values)?));
            }
            _ => {
                return Err(Error::invalid(
                    "TYPE",
                    format!(
                        "{} is not a type (text, integer, money, date, bool, choice)",
                        quote(word)
                    ),
                ))
            }
        };
        match values {
            Some(_) => Err(Error::invalid(
                "VALUES",
                format!("only a choice has VALUES, not {}", ty.name()),
            )),
            None => Ok(ty),
        }
    }

    /// Reads a value given for the field `field` (not empty: an empty value is unset), as the
    /// contract reads the type; `INVALID` naming the field and the value.
    pub fn read(&self, field: &str, text: &str) -> Result<Value> {
        let renamed = |error: Error| match error {
            Error::Invalid { message, .. } => Error::invalid(field.to_string(), message),
            other => other,
        };
        let invalid = |what: &str| {
            Error::invalid(field.to_string(), format!("{} is not {what}", quote(text)))
        };
        Ok(match self {
            CustomType::Text => Value::Text(values::normalize_text("", text).map_err(renamed)?),
            CustomType::Integer => Value::Number(
                read_integer(text)
                    .ok_or_else(|| invalid("an integer (up to 16 digits, at most 2^53 - 1)"))?,
            ),
            CustomType::Money => {
                let cents = values::parse_money("", text).map_err(renamed)?;
                Value::Number(i64::try_from(cents).unwrap_or(i64::MAX))
            }
            CustomType::Date => Value::Number(values::parse_timestamp("", text).map_err(renamed)?),
            CustomType::Bool => Value::Bool(match text.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(invalid("a bool (true/false, 1/0, yes/no)")),
            }),
            CustomType::Choice(choices) => {
                let given = text.trim();
                let found = choices
                    .iter()
                    .find(|choice| same_choice(choice, given))
                    .ok_or_else(|| {
                        Error::invalid(
                            field.to_string(),
                            format!("{} is not one of {}", quote(text), choices.join(", ")),
                        )
                    })?;
                Value::Text(found.clone())
            }
        })
    }

    /// The value as a request gives it.
    pub fn format(&self, value: ValueRef) -> String {
        match (self, value) {
            (CustomType::Money, ValueRef::Number(cents)) => {
                values::format_money(u128::try_from(cents).unwrap_or(0))
            }
            (CustomType::Date, ValueRef::Number(seconds)) => values::format_timestamp(seconds),
            (_, ValueRef::Text(text)) => text.to_string(),
            (_, ValueRef::Number(number)) => number.to_string(),
            (_, ValueRef::Bool(truth)) => truth.to_string(),
        }
    }

    /// Whether a stored value is of this type (a value the type would read).
    fn holds(&self, value: &Value) -> bool {
        match (self, value) {
            (CustomType::Text, Value::Text(_)) => true,
            (CustomType::Choice(choices), Value::Text(text)) => choices.contains(text),
            (CustomType::Integer | CustomType::Money | CustomType::Date, Value::Number(_)) => true,
            (CustomType::Bool, Value::Bool(_)) => true,
            _ => false,
        }
    }

    /// Writes `"key":value` into a JSON object: text, choice, money and date as strings,
    /// integers as numbers, bools as `true`/`false`, `null` when unset; `shown` replaces the
    /// value (masking).
    fn json(
        &self,
        object: &mut JsonObject,
        key: &str,
        value: Option<ValueRef>,
        shown: Option<&str>,
    ) {
        match (value, shown) {
            (None, _) => object.null(key),
            (Some(_), Some(shown)) => object.text(key, shown),
            (Some(ValueRef::Number(number)), None) if *self == CustomType::Integer => {
                object.integer(key, number)
            }
            (Some(ValueRef::Bool(truth)), None) => object.boolean(key, truth),
            (Some(value), None) => object.text(key, &self.format(value)),
        }
    }

    /// The value as serde_json shows it.
    pub fn json_value(&self, value: Option<ValueRef>) -> serde_json::Value {
        match value {
            None => serde_json::Value::Null,
            Some(ValueRef::Number(number)) if *self == CustomType::Integer => number.into(),
            Some(ValueRef::Bool(truth)) => truth.into(),
            Some(value) => self.format(value).into(),
        }
    }
}

/// An optional `-` and 1 to 16 ASCII digits (leading zeros allowed), within ±(2^53 − 1).
fn read_integer(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.is_empty() || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude: i64 = digits.parse().ok()?;
    (magnitude <= MAX_INTEGER).then_some(if negative { -magnitude } else { magnitude })
}

fn same_choice(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// A choice's values: each trimmed, 1 to 64 characters, distinct without regard to case; 1
/// to 64 of them.
fn choices(values: Vec<String>) -> Result<Vec<String>> {
    if values.is_empty() || values.len() > MAX_CHOICES {
        return Err(Error::invalid(
            "VALUES",
            format!(
                "a choice has 1 to {MAX_CHOICES} values, not {}",
                values.len()
            ),
        ));
    }
    let mut kept: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let trimmed = value.trim();
        let length = trimmed.chars().count();
        if length == 0 || length > MAX_CHOICE_CHARS {
            return Err(Error::invalid(
                "VALUES",
                format!(
                    "{} is not 1 to {MAX_CHOICE_CHARS} characters",
                    quote(&value)
                ),
            ));
        }
        if kept.iter().any(|seen| same_choice(seen, trimmed)) {
            return Err(Error::invalid(
                "VALUES",
                format!(
                    "{} is given twice (values are compared without case)",
                    quote(trimmed)
                ),
            ));
        }
        kept.push(trimmed.to_string());
    }
    Ok(kept)
}

/// One custom field, as declared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CustomField {
    /// Tags its values in records; never given to another field of the store.
    pub id: u32,
    /// `Customer` or `Product`.
    pub kind: Kind,
    /// Lower case.
    pub name: String,
    pub ty: CustomType,
    /// Personal data (customers only): masked, exported, erased by `FORGET`.
    pub personal: bool,
    /// Conditions and sorting on it are answered from an index in memory.
    pub indexed: bool,
    /// Dropped, its values still being swept from the records: not shown, not settable, its
    /// name not free again until the sweep ends.
    pub dropped: bool,
}

impl CustomField {
    /// Reads a value given for the field: `None` for an empty or all-whitespace one (it
    /// clears), else as the type reads it.
    pub fn read(&self, text: &str) -> Result<Option<Value>> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        self.ty.read(&self.name, text).map(Some)
    }

    /// What `SCHEMA.LIST` shows of it.
    pub fn to_json(&self) -> serde_json::Value {
        let values = match &self.ty {
            CustomType::Choice(values) => serde_json::Value::from(values.clone()),
            _ => serde_json::Value::Null,
        };
        serde_json::json!({
            "kind": self.kind.to_string(),
            "name": self.name,
            "type": self.ty.name(),
            "values": values,
            "personal": self.personal,
            "indexed": self.indexed,
            "builtin": false,
        })
    }

    /// The name the journal lists for a change of the declaration (`customer.company`).
    pub fn journal_name(&self) -> String {
        format!("{}.{}", self.kind, self.name)
    }
}

/// A declaration asked for by `SCHEMA.FIELD.ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDeclaration {
    pub kind: Kind,
    pub name: String,
    pub ty: CustomType,
    pub personal: bool,
    pub indexed: bool,
}

/// Every custom field of the store, in the order they were added: stored sealed in the
/// store's metadata and changed only by the committer, in a write group like any record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    fields: Vec<CustomField>,
    /// The id the next field takes.
    next_id: u32,
    /// Counts the changes: a query's cursor is valid only in the generation it was made in.
    generation: u64,
}

impl Catalog {
    /// The fields of `kind` shown in records and settable, in declaration order.
    pub fn declared(&self, kind: Kind) -> impl Iterator<Item = &CustomField> + '_ {
        self.fields
            .iter()
            .filter(move |field| field.kind == kind && !field.dropped)
    }

    /// Every field, dropped ones too (the sweep's work list).
    pub fn all(&self) -> &[CustomField] {
        &self.fields
    }

    /// The declared field of `kind` named `name` (any case).
    pub fn field(&self, kind: Kind, name: &str) -> Option<&CustomField> {
        self.declared(kind)
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// The field with this id, dropped or not.
    pub fn by_id(&self, id: u32) -> Option<&CustomField> {
        self.fields.iter().find(|field| field.id == id)
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The catalog with `declaration` added: `INVALID` for a bad or reserved name (`keyword`
    /// says whether a word is one of the protocol's keywords), too many fields, or a
    /// `PERSONAL` product field; `CONFLICT` for a name the kind already has.
    pub fn with_field(
        &self,
        declaration: FieldDeclaration,
        keyword: impl Fn(&str) -> bool,
    ) -> Result<(Catalog, CustomField)> {
        let FieldDeclaration {
            kind,
            name,
            ty,
            personal,
            indexed,
        } = declaration;
        let name = check_name(kind, &name, keyword)?;
        if let Some(taken) = self
            .fields
            .iter()
            .find(|field| field.kind == kind && field.name == name)
        {
            return Err(Error::Conflict(if taken.dropped {
                format!("{kind} field {name} was dropped and its values are still being removed")
            } else {
                format!("{kind} field {name} exists")
            }));
        }
        if kind != Kind::Customer && personal {
            return Err(Error::invalid(
                "PERSONAL",
                format!("only customer fields are personal, not {kind} fields"),
            ));
        }
        if self.fields.iter().filter(|f| f.kind == kind).count() >= MAX_CUSTOM_FIELDS {
            return Err(Error::invalid(
                "name",
                format!("{kind}s have {MAX_CUSTOM_FIELDS} custom fields already (counting dropped ones still being removed)"),
            ));
        }
        let field = CustomField {
            id: self.next_id,
            kind,
            name,
            ty,
            personal,
            indexed,
            dropped: false,
        };
        let mut next = self.clone();
        next.fields.push(field.clone());
        next.next_id += 1;
        next.generation += 1;
        Ok((next, field))
    }

    /// The catalog with the field dropped (its values to be swept): `NOTFOUND` for an
    /// unknown field, `INVALID` for a built-in one.
    pub fn without_field(&self, kind: Kind, name: &str) -> Result<(Catalog, CustomField)> {
        let at = self.declared_at(kind, name)?;
        let mut next = self.clone();
        next.fields[at].dropped = true;
        next.generation += 1;
        let field = next.fields[at].clone();
        Ok((next, field))
    }

    /// The catalog with the field's index on or off (`None`: already so).
    pub fn with_index(
        &self,
        kind: Kind,
        name: &str,
        on: bool,
    ) -> Result<Option<(Catalog, CustomField)>> {
        let at = self.declared_at(kind, name)?;
        if self.fields[at].indexed == on {
            return Ok(None);
        }
        let mut next = self.clone();
        next.fields[at].indexed = on;
        next.generation += 1;
        Ok(Some((next.clone(), next.fields[at].clone())))
    }

    /// The catalog as queries use it while the indexes of the fields `building` are being
    /// built: those fields read as not indexed (conditions on them open the records). The
    /// generation is the same: a cursor stays valid when the build ends.
    pub(crate) fn while_building(&self, building: &[u32]) -> Catalog {
        let mut now = self.clone();
        for field in &mut now.fields {
            if building.contains(&field.id) {
                field.indexed = false;
            }
        }
        now
    }

    /// The catalog without a dropped field whose values are all gone.
    pub fn swept(&self, id: u32) -> Catalog {
        let mut next = self.clone();
        next.fields
            .retain(|field| !(field.id == id && field.dropped));
        next
    }

    fn declared_at(&self, kind: Kind, name: &str) -> Result<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(at) = self
            .fields
            .iter()
            .position(|f| f.kind == kind && !f.dropped && f.name == lower)
        {
            return Ok(at);
        }
        if own_built_in(kind, &lower) {
            return Err(Error::invalid(
                "name",
                format!("{} is a built-in {kind} field", quote(name)),
            ));
        }
        Err(Error::not_found(kind, format!("field {}", quote(name))))
    }
}

/// Whether `name` is one of `kind`'s own built-in fields (or its id).
fn own_built_in(kind: Kind, name: &str) -> bool {
    use super::Record;
    name == super::ID
        || match kind {
            Kind::Customer => crate::model::Customer::schema()
                .fields()
                .any(|f| f.name == name),
            Kind::Product => crate::model::Product::schema()
                .fields()
                .any(|f| f.name == name),
            _ => false,
        }
}

/// A field's name checked and lower-cased.
fn check_name(kind: Kind, name: &str, keyword: impl Fn(&str) -> bool) -> Result<String> {
    let well_formed = (1..=MAX_NAME_CHARS).contains(&name.len())
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(Error::invalid(
            "name",
            format!("{} is not a field name (1 to {MAX_NAME_CHARS} of A-Z a-z 0-9 _, starting with a letter)", quote(name)),
        ));
    }
    let lower = name.to_ascii_lowercase();
    if own_built_in(kind, &lower) {
        return Err(Error::Conflict(format!(
            "{lower} is a built-in {kind} field"
        )));
    }
    if BUILT_IN_NAMES.contains(&lower.as_str()) || keyword(&lower) {
        return Err(Error::invalid(
            "name",
            format!(
                "{} is reserved (a built-in field, a statistic or a keyword)",
                quote(name)
            ),
        ));
    }
    Ok(lower)
}

/// A record's custom values, by field id, ascending; a field without a value has no entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CustomValues(Vec<(u32, Value)>);

impl CustomValues {
    /// The values as stored (tagged by field id).
    pub fn from_stored(mut values: Vec<(u32, Value)>) -> CustomValues {
        values.sort_by_key(|(id, _)| *id);
        values.dedup_by_key(|(id, _)| *id);
        CustomValues(values)
    }

    pub fn stored(&self) -> &[(u32, Value)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of field `id`, if set.
    pub fn get(&self, id: u32) -> Option<&Value> {
        self.0
            .binary_search_by_key(&id, |(at, _)| *at)
            .ok()
            .map(|at| &self.0[at].1)
    }

    /// Sets (`None`: clears) the value of field `id`.
    pub fn set(&mut self, id: u32, value: Option<Value>) {
        match (self.0.binary_search_by_key(&id, |(at, _)| *at), value) {
            (Ok(at), Some(value)) => self.0[at].1 = value,
            (Ok(at), None) => {
                self.0.remove(at);
            }
            (Err(at), Some(value)) => self.0.insert(at, (id, value)),
            (Err(_), None) => {}
        }
    }

    /// Keeps only the values `keep` says yes to (a sweep, `FORGET`).
    pub fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        self.0.retain(|(id, _)| keep(*id));
    }

    /// The value of a declared field, if set and of its type (a value that is not is shown
    /// as unset: it cannot be written, see `CustomType::holds`).
    pub fn of<'a>(&'a self, field: &CustomField) -> Option<ValueRef<'a>> {
        self.get(field.id)
            .filter(|value| field.ty.holds(value))
            .map(Value::as_ref)
    }
}

/// The custom values a write gives, by field id: `None` for one given empty (it clears).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CustomGiven(Vec<(u32, Option<Value>)>);

impl CustomGiven {
    /// Each field given and its value (`None`: cleared).
    pub fn iter(&self) -> impl Iterator<Item = (u32, Option<&Value>)> + '_ {
        self.0.iter().map(|(id, value)| (*id, value.as_ref()))
    }

    /// Gives field `id` this value (the last one given counts).
    pub fn give(&mut self, id: u32, value: Option<Value>) {
        match self.0.iter_mut().find(|(at, _)| *at == id) {
            Some(given) => given.1 = value,
            None => self.0.push((id, value)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids of the fields given.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().map(|(id, _)| *id)
    }

    /// The ids of the fields given a value (not cleared).
    pub fn set_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.0
            .iter()
            .filter(|(_, value)| value.is_some())
            .map(|(id, _)| *id)
    }

    /// The values it sets (what a new record holds: a field given empty is unset).
    pub fn to_values(&self) -> CustomValues {
        let mut values = CustomValues::default();
        self.apply_to(&mut values);
        values
    }

    /// Sets (or clears) each field given in `values`.
    pub fn apply_to(&self, values: &mut CustomValues) {
        for (id, value) in &self.0 {
            values.set(*id, value.clone());
        }
    }

    /// `INVALID` unless every field given is a declared field of `kind` in `catalog` (a
    /// field dropped between the request's reading and its write).
    pub fn check(&self, catalog: &Catalog, kind: Kind) -> Result<()> {
        for id in self.ids() {
            let declared = catalog
                .by_id(id)
                .is_some_and(|field| field.kind == kind && !field.dropped);
            if !declared {
                let name = catalog.by_id(id).map_or("?", |field| field.name.as_str());
                return Err(Error::invalid(
                    name.to_string(),
                    "the field was dropped while the request was on its way",
                ));
            }
        }
        Ok(())
    }
}

impl Catalog {
    /// The custom fields a `SCHEMA.LIST` reply shows (a client's copy: the ids are its own,
    /// the server knows fields by name on the wire); entries that do not read are left out.
    pub fn from_listed(listed: &serde_json::Value) -> Catalog {
        let mut catalog = Catalog::default();
        for entry in listed.as_array().into_iter().flatten() {
            if entry["builtin"] != serde_json::Value::Bool(false) {
                continue;
            }
            let kind = match entry["kind"].as_str() {
                Some("customer") => Kind::Customer,
                Some("product") => Kind::Product,
                _ => continue,
            };
            let values = entry["values"].as_array().map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            });
            let (Some(name), Ok(ty)) = (
                entry["name"].as_str(),
                CustomType::parse(entry["type"].as_str().unwrap_or(""), values),
            ) else {
                continue;
            };
            catalog.fields.push(CustomField {
                id: catalog.next_id,
                kind,
                name: name.to_string(),
                ty,
                personal: entry["personal"] == serde_json::Value::Bool(true),
                indexed: entry["indexed"] == serde_json::Value::Bool(true),
                dropped: false,
            });
            catalog.next_id += 1;
        }
        catalog
    }

    /// The custom values of a record as a reply shows them (its `"fields"` object), for a
    /// client holding this catalog (`from_listed`): each declared field of `kind` read back
    /// by its type; a value that does not read (`"***"` for a masked user) is left unset.
    pub fn values_from_json(&self, kind: Kind, fields: &serde_json::Value) -> CustomValues {
        let mut values = CustomValues::default();
        for field in self.declared(kind) {
            let text = match &fields[field.name.as_str()] {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(truth) => truth.to_string(),
                _ => continue,
            };
            if let Ok(Some(value)) = field.read(&text) {
                values.set(field.id, Some(value));
            }
        }
        values
    }

    /// The names of `kind`'s declared fields whose ids `listed` says yes to, in declaration
    /// order: what a journal entry lists after the built-in fields.
    pub fn names_of(&self, kind: Kind, listed: impl Fn(u32) -> bool) -> Vec<String> {
        self.declared(kind)
            .filter(|field| listed(field.id))
            .map(|field| field.name.clone())
            .collect()
    }
}

/// The ids whose values differ between two versions of a record's custom values.
pub fn changed_ids(old: &CustomValues, new: &CustomValues) -> Vec<u32> {
    let mut ids: Vec<u32> = old
        .stored()
        .iter()
        .chain(new.stored())
        .map(|(id, _)| *id)
        .filter(|id| old.get(*id) != new.get(*id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Writes `"fields":{...}`: every declared field of `kind` in declaration order, `null` when
/// unset; `shown` may replace a set value by a text (masking).
pub(crate) fn write_json(
    object: &mut JsonObject,
    catalog: &Catalog,
    kind: Kind,
    values: &CustomValues,
    shown: impl Fn(&CustomField, ValueRef) -> Option<String>,
) {
    let mut inner = JsonObject::with_capacity(64);
    for field in catalog.declared(kind) {
        let value = values.of(field);
        let replaced = value.and_then(|value| shown(field, value));
        field
            .ty
            .json(&mut inner, &field.name, value, replaced.as_deref());
    }
    object.raw("fields", &inner.finish());
}

/// The same object through serde_json (the tests' reference).
pub fn json_value(catalog: &Catalog, kind: Kind, values: &CustomValues) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for field in catalog.declared(kind) {
        object.insert(field.name.clone(), field.ty.json_value(values.of(field)));
    }
    serde_json::Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declare(kind: Kind, name: &str, ty: CustomType) -> FieldDeclaration {
        FieldDeclaration {
            kind,
            name: name.into(),
            ty,
            personal: false,
            indexed: false,
        }
    }

    #[test]
    fn names_are_checked_lower_cased_and_never_taken_twice() {
        let none = |_: &str| false;
        let (catalog, company) = Catalog::default()
            .with_field(declare(Kind::Customer, "Company", CustomType::Text), none)
            .unwrap();
        assert_eq!(company.name, "company");
        let again = catalog.with_field(declare(Kind::Customer, "COMPANY", CustomType::Text), none);
        assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
        // The other kind may have a field of the same name.
        assert!(catalog
            .with_field(declare(Kind::Product, "company", CustomType::Text), none)
            .is_ok());
        for bad in ["", "1abc", "a-b", "über", &"a".repeat(33)] {
            let refused = catalog.with_field(declare(Kind::Customer, bad, CustomType::Text), none);
            assert!(
                matches!(refused, Err(Error::Invalid { .. })),
                "{bad}: {refused:?}"
            );
        }
        let own = catalog.with_field(declare(Kind::Customer, "Email", CustomType::Text), none);
        assert!(matches!(own, Err(Error::Conflict(_))), "{own:?}");
        for reserved in ["price", "total_amount", "fields", "revenue"] {
            let refused =
                catalog.with_field(declare(Kind::Customer, reserved, CustomType::Text), none);
            assert!(matches!(refused, Err(Error::Invalid { .. })), "{reserved}");
        }
        let keyword = catalog.with_field(declare(Kind::Customer, "where", CustomType::Text), |w| {
            w == "where"
        });
        assert!(matches!(keyword, Err(Error::Invalid { .. })));
        let mut personal = declare(Kind::Product, "owner", CustomType::Text);
        personal.personal = true;
        assert!(matches!(
            catalog.with_field(personal, none),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn a_dropped_field_holds_its_name_and_its_id_is_never_reused() {
        let none = |_: &str| false;
        let (catalog, first) = Catalog::default()
            .with_field(declare(Kind::Customer, "stage", CustomType::Text), none)
            .unwrap();
        let (catalog, _) = catalog.without_field(Kind::Customer, "stage").unwrap();
        assert_eq!(catalog.declared(Kind::Customer).count(), 0);
        assert!(matches!(
            catalog.with_field(declare(Kind::Customer, "stage", CustomType::Text), none),
            Err(Error::Conflict(_))
        ));
        let catalog = catalog.swept(first.id);
        let (catalog, second) = catalog
            .with_field(declare(Kind::Customer, "stage", CustomType::Integer), none)
            .unwrap();
        assert_ne!(first.id, second.id);
        assert!(matches!(
            catalog.without_field(Kind::Customer, "nothing"),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            catalog.without_field(Kind::Customer, "name"),
            Err(Error::Invalid { .. })
        ));
        assert!(catalog
            .with_index(Kind::Customer, "stage", false)
            .unwrap()
            .is_none());
        let (indexed, _) = catalog
            .with_index(Kind::Customer, "stage", true)
            .unwrap()
            .unwrap();
        assert!(indexed.generation() > catalog.generation());
    }

    #[test]
    fn at_most_64_fields_a_kind_counting_dropped_ones() {
        let none = |_: &str| false;
        let mut catalog = Catalog::default();
        for n in 0..MAX_CUSTOM_FIELDS {
            catalog = catalog
                .with_field(
                    declare(Kind::Customer, &format!("f{n}"), CustomType::Bool),
                    none,
                )
                .unwrap()
                .0;
        }
        catalog = catalog.without_field(Kind::Customer, "f0").unwrap().0;
        assert!(matches!(
            catalog.with_field(declare(Kind::Customer, "one_more", CustomType::Bool), none),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn values_are_read_as_their_types_read_them() {
        let read = |ty: CustomType, text: &str| ty.read("f", text);
        assert_eq!(
            read(CustomType::Integer, "-007").unwrap(),
            Value::Number(-7)
        );
        assert_eq!(
            read(CustomType::Integer, "9007199254740991").unwrap(),
            Value::Number(MAX_INTEGER)
        );
        for bad in [
            "9007199254740992",
            "12345678901234567",
            "1.5",
            "+1",
            "-",
            " 1",
        ] {
            let error = read(CustomType::Integer, bad).unwrap_err().to_string();
            assert!(error.starts_with("f: "), "{error}");
        }
        assert_eq!(
            read(CustomType::Money, "19.9").unwrap(),
            Value::Number(1990)
        );
        assert_eq!(read(CustomType::Bool, "YES").unwrap(), Value::Bool(true));
        assert_eq!(read(CustomType::Bool, "0").unwrap(), Value::Bool(false));
        assert!(read(CustomType::Bool, "maybe").is_err());
        assert_eq!(
            read(CustomType::Text, "  Acme   Ltd ").unwrap(),
            Value::Text("Acme Ltd".into())
        );
        let stage =
            CustomType::parse("CHOICE", Some(vec![" Lead ".into(), "Customer".into()])).unwrap();
        assert_eq!(
            read(stage.clone(), "lead").unwrap(),
            Value::Text("Lead".into())
        );
        let wrong = read(stage, "churned").unwrap_err().to_string();
        assert!(
            wrong.contains("churned") && wrong.contains("Lead, Customer"),
            "{wrong}"
        );
        assert!(CustomType::parse("choice", Some(vec!["a".into(), "A".into()])).is_err());
        assert!(CustomType::parse("choice", Some(vec![])).is_err());
        assert!(CustomType::parse("choice", None).is_err());
        assert!(CustomType::parse("text", Some(vec!["a".into()])).is_err());
        assert!(CustomType::parse("blob", None).is_err());
    }

    #[test]
    fn values_are_kept_by_id_in_order() {
        let mut values = CustomValues::default();
        values.set(5, Some(Value::Bool(true)));
        values.set(2, Some(Value::Number(1)));
        values.set(5, Some(Value::Bool(false)));
        assert_eq!(
            values.stored(),
            &[(2, Value::Number(1)), (5, Value::Bool(false))]
        );
        values.set(2, None);
        assert_eq!(values.get(2), None);
        assert_eq!(values.get(5), Some(&Value::Bool(false)));
    }
}
