//! The subcommands of the `crm-server` binary, and what they share.

pub mod dry_run;
pub mod error_text;
pub mod import;
pub mod import_report;
pub mod join_cluster;
pub mod logging;
pub mod offline;
pub mod passwd;
pub mod password;
pub mod progress;
pub mod rejects;
pub mod remote;
pub mod secrets;
pub mod serve;
pub mod serve_cluster;
pub mod store_key;
pub mod tail;

pub use error_text::one_line;
