//! The subcommands of the `crm-server` binary besides `serve`.

pub mod dry_run;
pub mod import;
pub mod import_report;
pub mod offline;
pub mod remote;
pub mod secrets;
pub mod serve;
pub mod tail;
