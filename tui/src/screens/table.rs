//! The paged record table every list screen uses.

use crate::page::field_text;
use crate::theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Row, Table, TableState};
use ratatui::Frame;
use serde_json::Value;

/// Draws `rows` with the given (heading, JSON key, width) columns, the selected row highlighted.
pub fn render(
    frame: &mut Frame,
    area: Rect,
    title: String,
    columns: &[(&str, &str, u16)],
    rows: &[Value],
    selected: usize,
) {
    let header =
        Row::new(columns.iter().map(|(heading, _, _)| heading.to_string())).style(theme::header());
    let body: Vec<Row> = rows
        .iter()
        .map(|row| Row::new(columns.iter().map(|(_, key, _)| field_text(row, key))))
        .collect();
    let widths: Vec<Constraint> = columns
        .iter()
        .map(|(_, _, w)| Constraint::Length(*w))
        .collect();
    let table = Table::new(body, widths)
        .header(header)
        .block(Block::bordered().title(title).title_style(theme::title()))
        .row_highlight_style(theme::selected());
    let mut state = TableState::default().with_selected((!rows.is_empty()).then_some(selected));
    frame.render_stateful_widget(table, area, &mut state);
}
