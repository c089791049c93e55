//! The records the store keeps, their validated inputs, and their JSON form on the wire.

mod customer;
mod forgotten;
pub(crate) mod json;
mod merge;
mod order;
mod product;
mod rollup;
mod user;

pub use customer::{Customer, CustomerPatch, CustomerUpsert, NewCustomer};
pub use forgotten::Forgotten;
pub use merge::{KeptMerge, MERGE_KEPT_SECS};
pub use order::{NewOrder, Order};
pub use product::{NewProduct, Product, ProductPatch};
pub use rollup::{CustomerRollup, ProductRollup};
pub use user::{Role, User};
