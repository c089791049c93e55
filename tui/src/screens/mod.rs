//! One file per screen: each a pure function of the state, no I/O.

pub mod analytics;
pub mod backup;
pub mod customers;
pub mod duplicates;
pub mod form;
pub mod help;
pub mod journal;
pub mod login;
pub mod orders;
pub mod products;
pub mod table;

use crate::app::App;
use ratatui::text::{Line, Span};

/// A tab's top line: the open prompt with its input, else `idle`.
pub fn prompt_line(app: &App, idle: Line<'static>) -> Line<'static> {
    match app.prompt() {
        Some(prompt) => Line::from(vec![
            Span::styled(prompt.kind.label(), crate::theme::header()),
            Span::raw(format!("{}▏", prompt.input)),
        ]),
        None => idle,
    }
}

/// The idle line of a filtered tab: the filter in force, or the tab's hints.
pub fn filter_hint(app: &App, filter: &str) -> Line<'static> {
    let text = if filter.is_empty() {
        crate::keys::hints(app.tab, false)
    } else {
        format!("filter: {filter} · / to change")
    };
    Line::from(Span::styled(text, crate::theme::dim()))
}
