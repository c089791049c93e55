use crate::error::Result;
use crate::schema::tagged::Tagged;
use crate::schema::{Catalog, CustomGiven, CustomValues, FieldId, FieldSet, Record, Value};
use serde::{Deserialize, Serialize};

/// A product as stored (sealed, its values tagged: `schema/tagged.rs`) and returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Tagged", try_from = "Tagged")]
pub struct Product {
    pub id: u64,
    pub name: String,
    /// Exact price in cents.
    pub price_cents: u64,
    pub stock: u64,
    /// The values of custom fields (`SCHEMA.FIELD.ADD`).
    pub custom: CustomValues,
}

impl From<Product> for Tagged {
    fn from(product: Product) -> Tagged {
        Tagged::of(&product)
    }
}

impl TryFrom<Tagged> for Product {
    type Error = String;
    fn try_from(tagged: Tagged) -> std::result::Result<Product, String> {
        tagged.into_record()
    }
}

impl Product {
    /// The record's JSON text: what `PRODUCT.GET` returns.
    pub fn to_json_bytes(&self, catalog: &Catalog) -> Vec<u8> {
        Product::schema().json(self, catalog, |_, _| None, false)
    }

    /// The record's JSON object, every key present; money as a string with two decimals.
    pub fn to_json(&self, catalog: &Catalog) -> serde_json::Value {
        Product::schema().json_value(self, catalog)
    }
}

/// A validated product to add.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewProduct {
    pub id: Option<u64>,
    pub name: String,
    pub price_cents: u64,
    /// `None` when not given: the product starts with 0 (the journal lists only what was given).
    pub stock: Option<u64>,
    /// Custom values (one given empty is left unset).
    pub custom: CustomGiven,
}

impl NewProduct {
    /// Validates the fields (each as its schema entry reads it); an absent stock is 0.
    pub fn parse(name: &str, price: &str, stock: Option<&str>) -> Result<Self> {
        let mut named = vec![(Product::NAME, name), (Product::PRICE, price)];
        named.extend(stock.map(|stock| (Product::STOCK, stock)));
        let (record, named) = Product::schema().read_given(&named)?;
        Ok(NewProduct::from_fields(None, record, named))
    }

    /// The same product with an explicit id.
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// The product to add that `record` holds: its fields in `given` (the set
    /// [`Schema::read`](crate::schema::Schema::read) says), the others unset.
    pub fn from_fields(id: Option<u64>, record: Product, given: FieldSet) -> NewProduct {
        let stock = given.has(Product::schema(), Product::STOCK);
        NewProduct {
            id,
            name: record.name,
            price_cents: record.price_cents,
            stock: stock.then_some(record.stock),
            custom: CustomGiven::default(),
        }
    }

    /// The record it adds, with this id (a stock not given is 0).
    pub fn to_record(&self, id: u64) -> Product {
        Product {
            id,
            name: self.name.clone(),
            price_cents: self.price_cents,
            stock: self.stock.unwrap_or_default(),
            custom: self.custom.to_values(),
        }
    }

    /// The fields it gives (what the journal lists of its add).
    pub fn given(&self) -> FieldSet {
        let schema = Product::schema();
        let mut set = FieldSet::default()
            .with(schema, Product::NAME)
            .with(schema, Product::PRICE);
        if self.stock.is_some() {
            set = set.with(schema, Product::STOCK);
        }
        if self.id.is_some() {
            set = set.with_id();
        }
        set
    }
}

/// A validated change to a product; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub price_cents: Option<u64>,
    pub stock: Option<u64>,
    /// Custom values to set or clear.
    pub custom: CustomGiven,
}

impl ProductPatch {
    /// Sets one field, read by its type (`INVALID` naming the field). A field `UPDATE` may
    /// not change is left.
    pub fn set(&mut self, field: FieldId, value: &str) -> Result<()> {
        let Some(def) = Product::schema().updatable().find(|def| def.id == field) else {
            return Ok(());
        };
        let value = def.parse_given(value)?;
        let number = match value {
            Some(Value::Number(number)) => u64::try_from(number).ok(),
            _ => None,
        };
        match field {
            Product::NAME => self.name = value.and_then(Value::into_text),
            Product::PRICE => self.price_cents = number,
            Product::STOCK => self.stock = number,
            _ => {}
        }
        Ok(())
    }

    /// Applies the change to a record.
    pub fn apply_to(&self, product: &mut Product) {
        if let Some(name) = &self.name {
            product.name = name.clone();
        }
        if let Some(price) = self.price_cents {
            product.price_cents = price;
        }
        if let Some(stock) = self.stock {
            product.stock = stock;
        }
        self.custom.apply_to(&mut product.custom);
    }
}
