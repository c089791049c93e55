//! `crm-tui`: the operators' console. State in [`app`] (routing) with each tab's state beside
//! its widget in [`screens`], overlays in [`overlay`], input mapped to [`action::Action`]s by
//! the one keymap table in [`keys`], the Customers and Products columns (custom fields'
//! included) in [`columns`], tab loading and paging in `navigation.rs` (by a query's cursors
//! in `query_pages.rs`), replies routed in `responses.rs` (error replies in `failures.rs`),
//! the connection and its reconnection in `link.rs`, network calls on worker threads in
//! [`net`].

pub mod action;
pub mod app;
pub mod bindings;
pub mod columns;
mod failures;
pub mod format;
mod intents;
pub mod keys;
pub mod line_input;
mod link;
mod moving;
mod navigation;
pub mod net;
pub mod overlay;
mod overlay_input;
pub mod page;
pub mod query;
mod query_pages;
mod responses;
pub mod role;
pub mod screens;
pub mod sort;
pub mod tab;
pub mod theme;
pub mod ui;
pub mod wire;
