//! One file per screen: each a pure function of the state, no I/O.

pub mod analytics;
pub mod backup;
pub mod customers;
pub mod form;
pub mod help;
pub mod login;
pub mod orders;
pub mod products;
pub mod table;
