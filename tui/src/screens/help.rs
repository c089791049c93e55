//! Help: every key binding, from the one keymap.

use crate::keys::BINDINGS;
use crate::theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Row, Table};
use ratatui::Frame;

pub fn render(frame: &mut Frame, area: Rect) {
    let rows = BINDINGS.iter().filter(|b| !b.label.is_empty()).map(|b| {
        let tabs: Vec<&str> = b.tabs.iter().map(|t| t.title()).collect();
        let place = if tabs.is_empty() {
            String::new()
        } else {
            format!(" ({})", tabs.join(", "))
        };
        Row::new(vec![b.label.to_string(), format!("{}{place}", b.help)])
    });
    frame.render_widget(
        Table::new(rows, [Constraint::Length(18), Constraint::Min(20)])
            .header(Row::new(vec!["Keys", "What they do"]).style(theme::header()))
            .block(
                Block::bordered()
                    .title("Help — key bindings")
                    .title_style(theme::title()),
            ),
        area,
    );
}
