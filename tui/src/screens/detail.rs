//! What the customer and product details share: the pane beside the table (which follows the
//! selection), and the card at its top that shows a record's own fields, its custom fields and
//! its statistics. The custom fields are the record's `"fields"` in the server's order (the
//! schema's declaration order), unset ones shown empty, so the card needs no schema of its own.

use crate::format::field_text;
use crate::theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use serde_json::Value as Json;

/// The table's area and, while a detail is open, the pane beside it (half the width each).
pub fn split(main: Rect, open: bool) -> (Rect, Option<Rect>) {
    if !open {
        return (main, None);
    }
    let [list, detail] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(main);
    (list, Some(detail))
}

/// `name: value` for each custom field the record carries.
pub fn custom_lines(record: &Json) -> Vec<Line<'static>> {
    let fields = &record["fields"];
    fields
        .as_object()
        .map(|object| {
            object
                .keys()
                .map(|name| Line::from(format!("{name}: {}", field_text(fields, name))))
                .collect()
        })
        .unwrap_or_default()
}

/// Draws `lines` in a bordered card titled `title` at the top of `area`; the room left below
/// it (at least three lines, for a list).
pub fn card(frame: &mut Frame, area: Rect, title: String, lines: Vec<Line<'static>>) -> Rect {
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let [card, rest] =
        Layout::vertical([Constraint::Length(height), Constraint::Min(3)]).areas(area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title).title_style(theme::title())),
        card,
    );
    rest
}

/// The date of an RFC 3339 time (the pane is narrow).
pub fn date(time: &str) -> &str {
    time.get(..10).unwrap_or(time)
}
