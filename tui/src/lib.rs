//! `crm-tui`: the operators' console. State in [`app`], input mapped to [`action::Action`]s in
//! [`keys`], network calls on worker threads in [`net`], and one pure render function per
//! screen in [`screens`].

pub mod action;
pub mod app;
pub mod keys;
pub mod net;
pub mod screens;
pub mod theme;
pub mod ui;
