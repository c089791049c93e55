use crate::error::Result;
use crate::schema::tagged::Tagged;
use crate::schema::{Catalog, CustomGiven, CustomValues, FieldId, FieldSet, Record, Value};
use serde::{Deserialize, Serialize};

/// A customer as stored (sealed, its values tagged: `schema/tagged.rs`) and returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Tagged", try_from = "Tagged")]
pub struct Customer {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// Seconds since the Unix epoch, UTC.
    pub created_at: i64,
    /// The values of custom fields (`SCHEMA.FIELD.ADD`).
    pub custom: CustomValues,
}

impl From<Customer> for Tagged {
    fn from(customer: Customer) -> Tagged {
        Tagged::of(&customer)
    }
}

impl TryFrom<Tagged> for Customer {
    type Error = String;
    fn try_from(tagged: Tagged) -> std::result::Result<Customer, String> {
        tagged.into_record()
    }
}

impl Customer {
    /// The record's JSON text, every key present: what `CUSTOMER.GET` returns.
    pub fn to_json_bytes(&self, catalog: &Catalog) -> Vec<u8> {
        Customer::schema().json(self, catalog, |_, _| None, false)
    }

    /// The record's JSON object, every key present.
    pub fn to_json(&self, catalog: &Catalog) -> serde_json::Value {
        Customer::schema().json_value(self, catalog)
    }
}

/// A validated customer to add. Build it with [`NewCustomer::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewCustomer {
    pub id: Option<u64>,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// `None` means "now", decided when the write is applied.
    pub created_at: Option<i64>,
    /// Custom values (one given empty is left unset).
    pub custom: CustomGiven,
}

impl NewCustomer {
    /// Validates and normalises the fields as the protocol defines them (each as its schema
    /// entry reads it).
    pub fn parse(
        name: &str,
        email: &str,
        phone: Option<&str>,
        address: Option<&str>,
        created_at: Option<&str>,
    ) -> Result<Self> {
        let (record, named) =
            Customer::schema().read_given(&named(name, email, phone, address, created_at))?;
        Ok(NewCustomer::from_fields(None, record, named))
    }

    /// The same customer with an explicit id.
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// The customer to add that `record` holds: its fields in `given` (the set
    /// [`Schema::read`](crate::schema::Schema::read) says), the others unset.
    pub fn from_fields(id: Option<u64>, record: Customer, given: FieldSet) -> NewCustomer {
        let created_at = given.has(Customer::schema(), Customer::CREATED_AT);
        NewCustomer {
            id,
            name: record.name,
            email: record.email,
            phone: record.phone,
            address: record.address,
            created_at: created_at.then_some(record.created_at),
            custom: CustomGiven::default(),
        }
    }

    /// The record it adds, with this id (a time not given is left at 0).
    pub fn to_record(&self, id: u64) -> Customer {
        Customer {
            id,
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            created_at: self.created_at.unwrap_or_default(),
            custom: self.custom.to_values(),
        }
    }

    /// The fields it gives (what the journal lists of its add): an empty phone or address is
    /// not given.
    pub fn given(&self) -> FieldSet {
        let schema = Customer::schema();
        let mut set = FieldSet::default()
            .with(schema, Customer::NAME)
            .with(schema, Customer::EMAIL);
        for (field, given) in [
            (Customer::PHONE, self.phone.is_some()),
            (Customer::ADDRESS, self.address.is_some()),
            (Customer::CREATED_AT, self.created_at.is_some()),
        ] {
            if given {
                set = set.with(schema, field);
            }
        }
        if self.id.is_some() {
            set = set.with_id();
        }
        set
    }
}

/// A validated change to a customer: `None` leaves a field as it is; for the optional fields
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<Option<String>>,
    pub address: Option<Option<String>>,
    /// Custom values to set or clear.
    pub custom: CustomGiven,
}

impl CustomerPatch {
    /// Sets one field, read by its type (`INVALID` naming the field; an empty value clears
    /// an optional field). A field `UPDATE` may not change is left.
    pub fn set(&mut self, field: FieldId, value: &str) -> Result<()> {
        let Some(def) = Customer::schema().updatable().find(|def| def.id == field) else {
            return Ok(());
        };
        let text = def.parse_given(value)?.and_then(Value::into_text);
        match field {
            Customer::NAME => self.name = text,
            Customer::EMAIL => self.email = text,
            Customer::PHONE => self.phone = Some(text),
            Customer::ADDRESS => self.address = Some(text),
            _ => {}
        }
        Ok(())
    }

    /// Applies the change to a record.
    pub fn apply_to(&self, customer: &mut Customer) {
        if let Some(name) = &self.name {
            customer.name = name.clone();
        }
        if let Some(email) = &self.email {
            customer.email = email.clone();
        }
        if let Some(phone) = &self.phone {
            customer.phone = phone.clone();
        }
        if let Some(address) = &self.address {
            customer.address = address.clone();
        }
        self.custom.apply_to(&mut customer.custom);
    }
}

/// A validated `CUSTOMER.UPSERT`: matched on the (normalised) email. `phone` and `address` are
/// `None` when absent (left as they are), `Some(None)` when given empty (cleared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerUpsert {
    pub email: String,
    pub name: String,
    pub phone: Option<Option<String>>,
    pub address: Option<Option<String>>,
    /// Used only when the upsert creates the customer.
    pub created_at: Option<i64>,
    pub id: Option<u64>,
    /// Decide and answer, write nothing.
    pub dry_run: bool,
    /// Custom values given (set, or cleared when given empty).
    pub custom: CustomGiven,
}

impl CustomerUpsert {
    /// Validates and normalises the fields as the protocol defines them (each as its schema
    /// entry reads it).
    pub fn parse(
        email: &str,
        name: &str,
        phone: Option<&str>,
        address: Option<&str>,
        created_at: Option<&str>,
    ) -> Result<Self> {
        let (record, named) =
            Customer::schema().read_given(&named(name, email, phone, address, created_at))?;
        Ok(CustomerUpsert::from_fields(record, named))
    }

    /// The upsert of the customer `record` holds, matched on its email: a phone or address
    /// `named` (the set [`Schema::read_given`](crate::schema::Schema::read_given) says) is set
    /// or, when unset in `record`, cleared; one not named is left.
    pub fn from_fields(record: Customer, named: FieldSet) -> CustomerUpsert {
        let schema = Customer::schema();
        let is_named = |field| named.has(schema, field);
        CustomerUpsert {
            email: record.email,
            name: record.name,
            phone: is_named(Customer::PHONE).then_some(record.phone),
            address: is_named(Customer::ADDRESS).then_some(record.address),
            created_at: is_named(Customer::CREATED_AT).then_some(record.created_at),
            id: None,
            dry_run: false,
            custom: CustomGiven::default(),
        }
    }

    /// The customer it creates when no customer has the email.
    pub fn to_new(&self) -> NewCustomer {
        NewCustomer {
            id: self.id,
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone().flatten(),
            address: self.address.clone().flatten(),
            created_at: self.created_at,
            custom: self.custom.clone(),
        }
    }

    /// The change it makes to the customer that has the email.
    pub fn to_patch(&self) -> CustomerPatch {
        CustomerPatch {
            name: Some(self.name.clone()),
            email: None,
            phone: self.phone.clone(),
            address: self.address.clone(),
            custom: self.custom.clone(),
        }
    }
}

/// The texts `parse` takes, as the fields they name (a `None` is not named).
fn named<'t>(
    name: &'t str,
    email: &'t str,
    phone: Option<&'t str>,
    address: Option<&'t str>,
    created_at: Option<&'t str>,
) -> Vec<(FieldId, &'t str)> {
    [
        (Customer::NAME, Some(name)),
        (Customer::EMAIL, Some(email)),
        (Customer::PHONE, phone),
        (Customer::ADDRESS, address),
        (Customer::CREATED_AT, created_at),
    ]
    .into_iter()
    .filter_map(|(field, text)| Some((field, text?)))
    .collect()
}
