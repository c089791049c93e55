//! `crm-server`: the CRM engine over TCP, speaking RESP2 (RESP3 on request) as
//! `PROTOCOL.md` defines, with users, roles and limits.
//!
//! The library half holds the server (used by the `crm-server` binary) and the small
//! blocking [`client`] the TUI, the import tool and the tests use.

pub mod auth;
pub mod backup;
pub mod client;
pub mod cluster;
mod cmd;
mod connection;
pub mod error;
pub mod frame;
pub mod mask;
mod parse;
pub mod pieces;
pub mod reply;
pub mod request;
pub mod server;
pub mod session;
pub mod state;
pub mod subscriptions;
pub mod throttle;
pub mod vocabulary;
pub mod work_limits;

pub use cmd::{CRM_PROTOCOL, VERSION};
pub use error::Error;
pub use work_limits::WorkLimits;
