//! `CUSTOMER.QUERY`, `PRODUCT.QUERY`, `CUSTOMER.COUNT`, `PRODUCT.COUNT` (`PROTOCOL.md`,
//! "Schema: custom fields and queries"): conditions on any field of a kind, and on its
//! statistics, sorted, in pages that cursors walk.
//!
//! | file | what |
//! | --- | --- |
//! | `value.rs` | how each type reads a condition's value; the comparable [`Key`] |
//! | `field.rs` | the one resolver of field names, for customers and products |
//! | `condition.rs` | the operators, which types take which, whether a value passes |
//! | `plan.rs` | a query read; its candidates from the indexes; whether it scans |
//! | `narrow.rs` | the smallest range an indexed custom field's conditions allow |
//! | `execute.rs` | the walk: memory first, then the records that can match, opened |
//! | `sorted_walk.rs` | a page sorted on an indexed custom field, in its index's order |
//! | `cursor.rs` | cursors, sealed |
//!
//! The server reads the wire's words into a [`QueryRequest`] and asks [`QueryRequest::refusal_when_masked`]
//! (`NOPERM` for a masked user) and [`Store::query_scans`] (a heavy command) before it runs
//! [`Store::query_customers`] and the others.

mod blind;
mod condition;
mod cursor;
mod execute;
mod field;
mod narrow;
mod plan;
mod sorted_walk;
mod test;
pub(crate) mod value;

pub use condition::{ConditionText, Operands, Operator, MAX_IN_VALUES};
pub use cursor::START;
pub use plan::MAX_CONDITIONS;
pub use value::{text_key, Key, ValueType};

use crate::error::{Error, Kind, Result};
use crate::model::{Customer, Product};
use crate::schema::Catalog;
use crate::store::Store;
use field::Queried;
use plan::Plan;
use std::sync::Arc;

/// `SORT field [ASC|DESC]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortText {
    pub field: String,
    pub descending: bool,
}

/// A query as a request gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    /// All must hold (at most [`MAX_CONDITIONS`]).
    pub conditions: Vec<ConditionText>,
    /// `None`: by id.
    pub sort: Option<SortText>,
    pub limit: usize,
    /// `None` or [`START`]: from the start.
    pub cursor: Option<String>,
}

/// A page of a query: its records, and the cursor of the next page (`None` when nothing is
/// left: the wire's `"0"`).
#[derive(Debug)]
pub struct Page<R> {
    pub records: Vec<Arc<R>>,
    pub cursor: Option<String>,
}

impl QueryRequest {
    /// What a masked user may not ask of `kind` (the sentence of its `NOPERM`), looked at
    /// before any value: a condition on a personal field other than `=`, `IN`, `EXISTS` or
    /// `MISSING`, or a sort on one. An unknown field is `INVALID`.
    pub fn refusal_when_masked(&self, kind: Kind, catalog: &Catalog) -> Result<Option<String>> {
        let sort = self.sort.as_ref();
        match kind {
            Kind::Customer => {
                plan::refusal_when_masked::<Customer>(&self.conditions, sort, catalog)
            }
            Kind::Product => plan::refusal_when_masked::<Product>(&self.conditions, sort, catalog),
            other => Err(not_queried(other)),
        }
    }
}

fn not_queried(kind: Kind) -> Error {
    Error::invalid("kind", format!("{kind}s are not queried"))
}

impl Store {
    /// Whether the query may have to open every record of `kind` (a heavy command: see
    /// `plan.rs`); `INVALID` as the query itself would be.
    pub fn query_scans(&self, kind: Kind, request: &QueryRequest) -> Result<bool> {
        match kind {
            Kind::Customer => Ok(self.plan_of::<Customer>(request)?.scans()),
            Kind::Product => Ok(self.plan_of::<Product>(request)?.scans()),
            other => Err(not_queried(other)),
        }
    }

    /// `CUSTOMER.QUERY`: a page of the customers that match, in the query's order.
    pub fn query_customers(&self, request: &QueryRequest) -> Result<Page<Customer>> {
        self.query::<Customer>(request)
    }

    /// `PRODUCT.QUERY`.
    pub fn query_products(&self, request: &QueryRequest) -> Result<Page<Product>> {
        self.query::<Product>(request)
    }

    /// `CUSTOMER.COUNT`: how many customers match every condition.
    pub fn count_customers(&self, conditions: &[ConditionText]) -> Result<u64> {
        Plan::<Customer>::read(conditions, None, &self.catalog())?.count(self)
    }

    /// `PRODUCT.COUNT`.
    pub fn count_products(&self, conditions: &[ConditionText]) -> Result<u64> {
        Plan::<Product>::read(conditions, None, &self.catalog())?.count(self)
    }

    fn query<R: Queried>(&self, request: &QueryRequest) -> Result<Page<R>> {
        let plan = self.plan_of::<R>(request)?;
        let binding = cursor::Binding {
            kind: R::PLURAL,
            generation: plan.schema_generation,
            fingerprint: &plan.fingerprint(),
        };
        let key = self.shared.indexes.keys().query_cursor();
        let after = match request.cursor.as_deref() {
            None | Some(START) => None,
            Some(text) => Some(cursor::open(key, &binding, text)?),
        };
        let walked = plan.page(self, after.as_ref(), request.limit)?;
        Ok(Page {
            records: walked.records,
            cursor: walked.next.map(|last| cursor::seal(key, &binding, &last)),
        })
    }
}

impl Store {
    /// The request's plan, its fields resolved among the custom fields declared now.
    fn plan_of<R: Queried>(&self, request: &QueryRequest) -> Result<Plan<R>> {
        Plan::read(&request.conditions, request.sort.as_ref(), &self.catalog())
    }
}
