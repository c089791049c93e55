//! One file per screen: each a pure function of the state, no I/O.

pub mod analytics;
pub mod backup;
pub mod column;
pub mod customers;
pub mod denied;
pub mod detail;
pub mod duplicates;
pub mod form;
pub mod help;
pub mod journal;
pub mod login;
pub mod orders;
pub mod product_sales;
pub mod products;
pub mod schema;
pub mod table;

use crate::overlay::Prompt;
use ratatui::text::{Line, Span};

/// What every tab's screen shows besides its own state: the open prompt, and the hints of the
/// keymap for this tab (so screens depend on no app state but their own).
pub struct Chrome<'a> {
    pub prompt: Option<&'a Prompt>,
    pub hints: String,
    /// The open detail's own keys (a customer's or a product's).
    pub detail_hints: String,
}

/// A line being typed, with the cursor where it is.
pub fn with_cursor(input: &crate::line_input::LineInput) -> String {
    let (before, after) = input.split();
    format!("{before}▏{after}")
}

/// A tab's top line: the open prompt with its input, else `idle`.
pub fn prompt_line(chrome: &Chrome, idle: Line<'static>) -> Line<'static> {
    match chrome.prompt {
        Some(prompt) => Line::from(vec![
            Span::styled(prompt.kind.label(), crate::theme::header()),
            Span::raw(with_cursor(&prompt.input)),
        ]),
        None => idle,
    }
}

/// The idle line of a filtered tab: the filter in force, or the tab's hints.
pub fn filter_hint(chrome: &Chrome, filter: &str) -> Line<'static> {
    let text = if filter.is_empty() {
        chrome.hints.clone()
    } else {
        format!("filter: {filter} · / to change · Esc to clear")
    };
    Line::from(Span::styled(text, crate::theme::dim()))
}
