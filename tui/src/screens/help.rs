//! Help: every key binding, from the one keymap; keys the role may not use are greyed with
//! the role they need.

use crate::keys::{BINDINGS, TYPING_HELP};
use crate::role::Role;
use crate::theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Row, Table, TableState};
use ratatui::Frame;

/// How many rows the help has (the bindings with a label, a blank, the typing keys).
pub fn rows() -> usize {
    BINDINGS.iter().filter(|b| !b.label.is_empty()).count() + 2 + TYPING_HELP.len()
}

/// Draws the help, `selected` highlighted (j/k scroll it on a short terminal).
pub fn render(frame: &mut Frame, area: Rect, role: Option<Role>, selected: usize) {
    let mut rows: Vec<Row> = BINDINGS
        .iter()
        .filter(|b| !b.label.is_empty())
        .map(|b| {
            let tabs: Vec<&str> = b.tabs.iter().map(|t| t.title()).collect();
            // Narrow: the help text says where already ("search customers").
            let place = if tabs.is_empty() || area.width < 120 {
                String::new()
            } else {
                format!(" ({})", tabs.join(", "))
            };
            let allowed = role.is_none_or(|r| r >= b.needs);
            let needs = if b.needs > Role::Reader {
                format!(" [{}]", b.needs.as_str())
            } else {
                String::new()
            };
            let row = Row::new(vec![
                b.label.to_string(),
                format!("{}{place}{needs}", b.help),
            ]);
            if allowed {
                row
            } else {
                row.style(theme::denied())
            }
        })
        .collect();
    rows.push(Row::new(vec!["".to_string(), "".to_string()]));
    rows.push(Row::new(vec!["While typing".to_string(), String::new()]).style(theme::header()));
    rows.extend(
        TYPING_HELP
            .iter()
            .map(|(keys, what)| Row::new(vec![keys.to_string(), what.to_string()])),
    );
    let mut state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(
        Table::new(rows, [Constraint::Length(18), Constraint::Min(20)])
            .header(Row::new(vec!["Keys", "What they do"]).style(theme::header()))
            .row_highlight_style(theme::selected())
            .block(
                Block::bordered()
                    .title("Help — key bindings · j/k scroll")
                    .title_style(theme::title()),
            ),
        area,
        &mut state,
    );
}
