//! The add / edit form, drawn over the screen, with the server's errors at their fields.

use crate::overlay::Form;
use crate::theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

pub fn render(frame: &mut Frame, area: Rect, form: &Form) {
    let height = (form.fields.len() * 2 + 4) as u16;
    let [_, middle, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(height),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, boxed, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(area.width.min(76)),
        Constraint::Fill(1),
    ])
    .areas(middle);
    let mut lines = Vec::new();
    for (i, field) in form.fields.iter().enumerate() {
        let marker = if i == form.focus { "▶ " } else { "  " };
        let value = if i == form.focus {
            super::with_cursor(&field.value)
        } else {
            field.value.text().to_string()
        };
        lines.push(Line::from(format!(
            "{marker}{:<10} {value}",
            format!("{}:", field.label),
        )));
        match &field.error {
            Some(error) => lines.push(Line::from(Span::styled(
                format!("    {error}"),
                theme::error(),
            ))),
            None => lines.push(Line::from("")),
        }
    }
    lines.push(Line::from(Span::styled(
        "Enter: save · Tab/↓↑: fields · ←→ Ctrl-U Ctrl-W: edit · Esc: cancel",
        theme::dim(),
    )));
    frame.render_widget(Clear, boxed);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(form.title())
                .title_style(theme::title()),
        ),
        boxed,
    );
}
