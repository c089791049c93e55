//! The protocol's keywords, spelled once. The server's parsers (`cmd/`) and the client's
//! request builders ([`crate::request`]) both take them from here, so the two ends cannot
//! drift apart. A field's keyword is its schema entry's (`crm_engine::schema`); the constants
//! below that name fields are the same words, for the command specs.

use crm_engine::schema::keyword_of;
use crm_engine::{Customer, FieldId, Product};

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
pub const WHERE: &str = "WHERE";
pub const AND: &str = "AND";
pub const SORT: &str = "SORT";
pub const ASC: &str = "ASC";
pub const DESC: &str = "DESC";
pub const CURSOR: &str = "CURSOR";
pub const TYPE: &str = "TYPE";
pub const VALUES: &str = "VALUES";
pub const PERSONAL: &str = "PERSONAL";
pub const INDEXED: &str = "INDEXED";
pub const ON: &str = "ON";
pub const OFF: &str = "OFF";

/// The words of the query grammar (`*.QUERY`, `*.COUNT`): its clauses, its directions and
/// its operators (the engine's, `crm_engine::Operator::word`). A custom field may not be
/// named after one.
pub fn query_keywords() -> impl Iterator<Item = &'static str> {
    [WHERE, AND, SORT, ASC, DESC, LIMIT, CURSOR]
        .into_iter()
        .chain(crm_engine::Operator::ALL.map(crm_engine::Operator::word))
}

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

/// The keyword that sets a customer field (`CUSTOMER.ADD`, `UPSERT`, `UPDATE`): the one its
/// schema entry declares.
pub fn customer_keyword(field: FieldId) -> &'static str {
    keyword_of::<Customer>(field)
}

/// The keyword that sets a product field (`PRODUCT.ADD`, `UPDATE`): the one its schema entry
/// declares.
pub fn product_keyword(field: FieldId) -> &'static str {
    keyword_of::<Product>(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_engine::{Order, Record};

    /// The command specs (`cmd/spec.rs`) spell the fields' keywords with the constants above:
    /// each must be its field's keyword in the schema, which `UPDATE` finds fields by.
    #[test]
    fn the_keywords_of_the_specs_are_the_schemas() {
        let customer = [NAME, EMAIL, PHONE, ADDRESS, CREATED_AT];
        let product = [NAME, PRICE, STOCK];
        let order = [CUSTOMER, PRODUCT, QUANTITY, CREATED_AT];
        for (kind, keywords) in [
            (
                Customer::schema()
                    .settable()
                    .map(|f| f.keyword)
                    .collect::<Vec<_>>(),
                customer.to_vec(),
            ),
            (
                Product::schema().settable().map(|f| f.keyword).collect(),
                product.to_vec(),
            ),
            (
                Order::schema().settable().map(|f| f.keyword).collect(),
                order.to_vec(),
            ),
        ] {
            assert_eq!(kind, keywords);
        }
        for field in Customer::schema().updatable() {
            assert_eq!(customer_keyword(field.id), field.keyword);
        }
        for field in Product::schema().updatable() {
            assert_eq!(product_keyword(field.id), field.keyword);
        }
    }
}
