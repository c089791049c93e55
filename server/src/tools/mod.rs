//! The subcommands of the `crm-server` binary besides `serve`.

pub mod import;
pub mod offline;
pub mod remote;
pub mod secrets;
pub mod serve;
pub mod tail;
