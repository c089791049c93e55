use super::fields::CustomerField;
use super::json::JsonObject;
use crate::error::Result;
use crate::values::{
    format_timestamp, normalize_email, normalize_optional_phone, normalize_optional_text,
    normalize_text, parse_timestamp,
};
use serde::{Deserialize, Serialize};

/// A customer as stored (sealed) and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// Seconds since the Unix epoch, UTC.
    pub created_at: i64,
}

impl Customer {
    /// The record's JSON text, every key present: what `CUSTOMER.GET` returns.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json_bytes_showing(&self.email, self.phone.as_deref(), self.address.as_deref())
    }

    /// The record's JSON text with these values in place of its email, phone and address (the
    /// server's masking), without copying the record.
    pub fn to_json_bytes_showing(
        &self,
        email: &str,
        phone: Option<&str>,
        address: Option<&str>,
    ) -> Vec<u8> {
        JsonObject::with_capacity(160)
            .number("id", self.id)
            .text("name", &self.name)
            .text("email", email)
            .optional_text("phone", phone)
            .optional_text("address", address)
            .text("created_at", &format_timestamp(self.created_at))
            .finish()
    }

    /// The record's JSON object, every key present.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "address": self.address,
            "created_at": format_timestamp(self.created_at),
        })
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
}

impl NewCustomer {
    /// Validates and normalises the fields as the protocol defines them.
    pub fn parse(
        name: &str,
        email: &str,
        phone: Option<&str>,
        address: Option<&str>,
        created_at: Option<&str>,
    ) -> Result<Self> {
        Ok(NewCustomer {
            id: None,
            name: normalize_text("name", name)?,
            email: normalize_email(email)?,
            phone: phone.map(normalize_optional_phone).transpose()?.flatten(),
            address: address
                .map(|a| normalize_optional_text("address", a))
                .transpose()?
                .flatten(),
            created_at: created_at
                .map(|t| parse_timestamp("created_at", t))
                .transpose()?,
        })
    }

    /// The same customer with an explicit id.
    pub fn with_id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
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
}

impl CustomerPatch {
    /// Sets one field, validating and normalising the value (`INVALID` naming the field).
    pub fn set(&mut self, field: CustomerField, value: &str) -> Result<()> {
        match field {
            CustomerField::Name => self.name = Some(normalize_text("name", value)?),
            CustomerField::Email => self.email = Some(normalize_email(value)?),
            CustomerField::Phone => self.phone = Some(normalize_optional_phone(value)?),
            CustomerField::Address => {
                self.address = Some(normalize_optional_text("address", value)?)
            }
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
}

impl CustomerUpsert {
    /// Validates and normalises the fields as the protocol defines them.
    pub fn parse(
        email: &str,
        name: &str,
        phone: Option<&str>,
        address: Option<&str>,
        created_at: Option<&str>,
    ) -> Result<Self> {
        Ok(CustomerUpsert {
            email: normalize_email(email)?,
            name: normalize_text("name", name)?,
            phone: phone.map(normalize_optional_phone).transpose()?,
            address: address
                .map(|a| normalize_optional_text("address", a))
                .transpose()?,
            created_at: created_at
                .map(|t| parse_timestamp("created_at", t))
                .transpose()?,
            id: None,
            dry_run: false,
        })
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
        }
    }

    /// The change it makes to the customer that has the email.
    pub fn to_patch(&self) -> CustomerPatch {
        CustomerPatch {
            name: Some(self.name.clone()),
            email: None,
            phone: self.phone.clone(),
            address: self.address.clone(),
        }
    }
}
