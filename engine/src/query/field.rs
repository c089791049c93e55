//! The one resolver of a query's field names: what a name means for a kind, its type, whether
//! it is personal, and where its value is read — the record's id, a field of the kind's schema
//! (kept in memory, or read by opening the record when it is personal), or a statistic from
//! the rollup table. Custom fields plug in here: a name the catalog declares resolves to a
//! source of its own, and nothing else in the query module lists fields.

use super::value::{Key, ValueType};
use crate::error::{quote, Error, Result};
use crate::indexes::QueryRows;
use crate::model::{Customer, CustomerRollup, Product, ProductRollup};
use crate::schema::{Catalog, CustomField, FieldDef, FieldId, Presence, Record, ID};
use crate::store::Store;
use std::borrow::Cow;
use std::sync::{Arc, RwLockReadGuard};

/// A statistic of a kind: read from its rollup (zero, or null for a time, without orders).
pub(crate) struct Stat<Rollup: 'static> {
    pub name: &'static str,
    pub ty: ValueType,
    pub get: fn(&Rollup) -> Option<i128>,
}

/// A kind of record queries walk: customers and products.
pub(crate) trait Queried: Record + Send + Sync {
    /// Its statistics' source (a customer's or a product's rollup).
    type Rollup: Copy + Default;
    /// The kind's name in the plural, for messages.
    const PLURAL: &'static str;
    /// Fields `SORT` refuses: the address (no index will ever hold it, and every sort on it
    /// would open every record).
    const UNSORTABLE: &'static [FieldId];
    fn stats() -> &'static [Stat<Self::Rollup>];
    /// The rollup of a record (its default without orders).
    fn rollup(store: &Store, id: u64) -> Self::Rollup;
    /// The kind's values kept in memory (`indexes/query_rows.rs`).
    fn rows(store: &Store) -> RwLockReadGuard<'_, QueryRows<Self>>;
    /// A record by id, opened.
    fn open(store: &Store, id: u64) -> Result<Option<Arc<Self>>>;
    /// Whether an index serves a test on a field (see `indexed_ids`).
    fn index_serves(field: FieldId, test: &super::test::Test) -> bool;
    /// The ids an index gives for a test on a field (`None`: no index serves it): every
    /// record that can match is among them; each is checked once opened.
    fn indexed_ids(store: &Store, field: FieldId, test: &super::test::Test) -> Option<Vec<u64>>;
}

/// Where a field's value is read.
pub(crate) enum Source<R: Queried> {
    Id,
    /// The `n`th of the kind's fields kept in memory.
    Column(usize),
    /// A personal field: read from the opened record only.
    Opened(&'static FieldDef<R>),
    Stat(&'static Stat<R::Rollup>),
    /// A custom field: read from the record's row when it is indexed (the rows keep those,
    /// `indexes/query_rows.rs`), else from the opened record.
    Custom(CustomField),
}

/// A field a query names, resolved.
pub(crate) struct QueryField<R: Queried> {
    pub name: Cow<'static, str>,
    pub id: Option<FieldId>,
    pub ty: ValueType,
    pub personal: bool,
    /// Every record has a value (an id, a required field, a count): `EXISTS` always holds.
    pub always_set: bool,
    pub source: Source<R>,
}

/// Resolves a field name (any case) of kind `R`, the custom fields `catalog` declares among
/// them; an unknown name is `INVALID`, listing the kind's fields.
pub(crate) fn resolve<R: Queried>(name: &str, catalog: &Catalog) -> Result<QueryField<R>> {
    if name.eq_ignore_ascii_case(ID) {
        return Ok(QueryField {
            name: Cow::Borrowed(ID),
            id: None,
            ty: ValueType::Id,
            personal: false,
            always_set: true,
            source: Source::Id,
        });
    }
    if let Some(field) = R::schema()
        .fields()
        .find(|f| f.name.eq_ignore_ascii_case(name))
    {
        let source = match QueryRows::<R>::column_of(field.id) {
            Some(column) => Source::Column(column),
            None => Source::Opened(field),
        };
        return Ok(QueryField {
            name: Cow::Borrowed(field.name),
            id: Some(field.id),
            ty: ValueType::of(field.ty),
            personal: field.personal,
            always_set: matches!(field.presence, Presence::Required | Presence::Defaulted),
            source,
        });
    }
    if let Some(stat) = R::stats()
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
    {
        return Ok(QueryField {
            name: Cow::Borrowed(stat.name),
            id: None,
            ty: stat.ty,
            personal: false,
            always_set: stat.ty != ValueType::Date,
            source: Source::Stat(stat),
        });
    }
    if let Some(field) = catalog.field(R::KIND, name) {
        return Ok(QueryField {
            name: Cow::Owned(field.name.clone()),
            id: None,
            ty: super::value::custom_type(&field.ty),
            personal: field.personal,
            always_set: false,
            source: Source::Custom(field.clone()),
        });
    }
    Err(Error::invalid(
        "field",
        format!(
            "{} is not a field of {} ({})",
            quote(name),
            R::PLURAL,
            field_names::<R>(catalog).join(", ")
        ),
    ))
}

/// Whether the query rows keep a custom field's values (the catalog the query resolved its
/// fields in says it is indexed; the rows follow it: `Shared::reload_catalog`). A personal
/// one too: `INDEXED` is the admin's request to answer it from memory (`query_rows.rs`).
fn kept_in_rows(field: &CustomField) -> bool {
    field.indexed
}

/// Every field name of kind `R` a query may use, in the order messages list them.
pub(crate) fn field_names<R: Queried>(catalog: &Catalog) -> Vec<&str> {
    std::iter::once(ID)
        .chain(R::schema().fields().map(|f| f.name))
        .chain(R::stats().iter().map(|s| s.name))
        .chain(catalog.declared(R::KIND).map(|f| f.name.as_str()))
        .collect()
}

impl<R: Queried> QueryField<R> {
    /// Whether its value is known without opening the record.
    pub fn in_memory(&self) -> bool {
        match &self.source {
            Source::Opened(_) => false,
            Source::Custom(field) => kept_in_rows(field),
            _ => true,
        }
    }

    /// A built-in field's name as the value readers (`values.rs`) name fields: static text.
    /// A custom field's values are read by `value::read_custom`, which names the field.
    pub fn static_name(&self) -> &'static str {
        match self.name {
            Cow::Borrowed(name) => name,
            Cow::Owned(_) => "field",
        }
    }

    /// The custom field it is, if it is one.
    pub fn custom(&self) -> Option<&CustomField> {
        match &self.source {
            Source::Custom(field) => Some(field),
            _ => None,
        }
    }

    /// Whether `SORT` may name it.
    pub fn sortable(&self) -> bool {
        self.id.is_none_or(|id| !R::UNSORTABLE.contains(&id))
    }

    /// Its value without opening the record: from the record's row in memory and its rollup
    /// (`None`: only the opened record has it).
    pub fn remembered(
        &self,
        id: u64,
        row: &crate::indexes::Row,
        rollup: &R::Rollup,
    ) -> Option<Option<Key>> {
        match &self.source {
            Source::Id => Some(Some(Key::Number(i128::from(id)))),
            Source::Column(at) => Some(row.builtin.get(*at).cloned().flatten()),
            Source::Stat(stat) => Some((stat.get)(rollup).map(Key::Number)),
            Source::Custom(field) if kept_in_rows(field) => Some(row.custom(field.id).cloned()),
            Source::Opened(_) | Source::Custom(_) => None,
        }
    }

    /// Its value in an opened record (with the record's rollup).
    pub fn of_record(&self, record: &R, rollup: &R::Rollup) -> Option<Key> {
        match &self.source {
            Source::Id => Some(Key::Number(i128::from(record.id()))),
            Source::Column(at) => QueryRows::<R>::columns()
                .nth(*at)
                .and_then(|field| field.get(record))
                .map(|value| self.ty.key(value)),
            Source::Opened(field) => field.get(record).map(|value| self.ty.key(value)),
            Source::Stat(stat) => (stat.get)(rollup).map(Key::Number),
            Source::Custom(field) => record
                .custom()
                .and_then(|values| values.of(field))
                .map(|value| super::value::custom_key(field, value)),
        }
    }
}

static CUSTOMER_STATS: [Stat<CustomerRollup>; 4] = [
    Stat {
        name: "order_count",
        ty: ValueType::Integer,
        get: |r| Some(i128::from(r.order_count)),
    },
    Stat {
        name: "total_amount",
        ty: ValueType::Amount,
        get: |r| Some(i128::try_from(r.total_cents).unwrap_or(i128::MAX)),
    },
    Stat {
        name: "first_order",
        ty: ValueType::Date,
        get: |r| r.first_order.map(i128::from),
    },
    Stat {
        name: "last_order",
        ty: ValueType::Date,
        get: |r| r.last_order.map(i128::from),
    },
];

static PRODUCT_STATS: [Stat<ProductRollup>; 3] = [
    Stat {
        name: "units",
        ty: ValueType::Integer,
        get: |r| Some(i128::from(r.units)),
    },
    Stat {
        name: "revenue",
        ty: ValueType::Amount,
        get: |r| Some(i128::try_from(r.revenue_cents).unwrap_or(i128::MAX)),
    },
    Stat {
        name: "order_count",
        ty: ValueType::Integer,
        get: |r| Some(i128::from(r.order_count)),
    },
];

impl Queried for Customer {
    type Rollup = CustomerRollup;
    const PLURAL: &'static str = "customers";
    const UNSORTABLE: &'static [FieldId] = &[Customer::ADDRESS];

    fn stats() -> &'static [Stat<CustomerRollup>] {
        &CUSTOMER_STATS
    }

    fn rollup(store: &Store, id: u64) -> CustomerRollup {
        store.shared.rollup_table.get(id).unwrap_or_default()
    }

    fn rows(store: &Store) -> RwLockReadGuard<'_, QueryRows<Customer>> {
        store.shared.indexes.customer_rows.read()
    }

    fn open(store: &Store, id: u64) -> Result<Option<Arc<Customer>>> {
        store.customer_shared(id)
    }

    fn index_serves(field: FieldId, test: &super::test::Test) -> bool {
        super::blind::customer_index_serves(field, test)
    }

    fn indexed_ids(store: &Store, field: FieldId, test: &super::test::Test) -> Option<Vec<u64>> {
        super::blind::customer_index_ids(store, field, test)
    }
}

impl Queried for Product {
    type Rollup = ProductRollup;
    const PLURAL: &'static str = "products";
    const UNSORTABLE: &'static [FieldId] = &[];

    fn stats() -> &'static [Stat<ProductRollup>] {
        &PRODUCT_STATS
    }

    fn rollup(store: &Store, id: u64) -> ProductRollup {
        store.shared.rollup_table.product(id).unwrap_or_default()
    }

    fn rows(store: &Store) -> RwLockReadGuard<'_, QueryRows<Product>> {
        store.shared.indexes.product_rows.read()
    }

    fn open(store: &Store, id: u64) -> Result<Option<Arc<Product>>> {
        store.product_shared(id)
    }

    fn index_serves(_: FieldId, _: &super::test::Test) -> bool {
        false
    }

    fn indexed_ids(_: &Store, _: FieldId, _: &super::test::Test) -> Option<Vec<u64>> {
        None
    }
}
