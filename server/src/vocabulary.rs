//! The protocol's keywords, spelled once. The server's parsers (`cmd/`) and the client's
//! request builders ([`crate::request`]) both take them from here, so the two ends cannot
//! drift apart; the engine names fields ([`CustomerField`], [`ProductField`]) but knows no
//! wire spelling.

use crm_engine::{CustomerField, ProductField};

pub const NAME: &str = "NAME";
pub const EMAIL: &str = "EMAIL";
pub const PHONE: &str = "PHONE";
pub const ADDRESS: &str = "ADDRESS";
pub const PRICE: &str = "PRICE";
pub const STOCK: &str = "STOCK";
pub const CREATED_AT: &str = "CREATED_AT";
pub const ID: &str = "ID";
pub const CUSTOMER: &str = "CUSTOMER";
pub const PRODUCT: &str = "PRODUCT";
pub const QUANTITY: &str = "QUANTITY";
pub const ALL: &str = "ALL";
pub const NOSTOCK: &str = "NOSTOCK";
pub const DRYRUN: &str = "DRYRUN";
pub const AFTER: &str = "AFTER";
pub const LIMIT: &str = "LIMIT";
pub const SINCE: &str = "SINCE";
pub const UNTIL: &str = "UNTIL";
pub const MIN: &str = "MIN";
pub const BY: &str = "BY";
pub const USER: &str = "USER";
pub const KIND: &str = "KIND";

/// What `CUSTOMER.FIND` looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindBy {
    Email,
    Phone,
    Name,
}

impl FindBy {
    pub const ALL: [FindBy; 3] = [FindBy::Email, FindBy::Phone, FindBy::Name];

    pub const fn keyword(self) -> &'static str {
        match self {
            FindBy::Email => EMAIL,
            FindBy::Phone => PHONE,
            FindBy::Name => NAME,
        }
    }

    /// The lookup a keyword names, in any case.
    pub fn named(word: &[u8]) -> Option<FindBy> {
        FindBy::ALL
            .into_iter()
            .find(|by| by.keyword().as_bytes().eq_ignore_ascii_case(word))
    }
}

/// The keyword that sets a customer field (`CUSTOMER.ADD`, `UPSERT`, `UPDATE`, `FIND`).
pub const fn customer_keyword(field: CustomerField) -> &'static str {
    match field {
        CustomerField::Name => NAME,
        CustomerField::Email => EMAIL,
        CustomerField::Phone => PHONE,
        CustomerField::Address => ADDRESS,
    }
}

/// The keyword that sets a product field (`PRODUCT.ADD`, `UPDATE`).
pub const fn product_keyword(field: ProductField) -> &'static str {
    match field {
        ProductField::Name => NAME,
        ProductField::Price => PRICE,
        ProductField::Stock => STOCK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_engine::Field;

    /// `UPDATE` finds a field by its keyword through [`Field::named`]: every keyword must
    /// name its own field.
    #[test]
    fn every_field_keyword_names_its_field() {
        for field in CustomerField::ALL {
            assert_eq!(
                CustomerField::named(customer_keyword(*field).as_bytes()),
                Some(*field)
            );
        }
        for field in ProductField::ALL {
            assert_eq!(
                ProductField::named(product_keyword(*field).as_bytes()),
                Some(*field)
            );
        }
    }
}
