//! Help: every key binding, from the one keymap.

use crate::app::App;
use crate::keys::BINDINGS;
use crate::theme;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Row, Table};
use ratatui::Frame;

pub fn render(frame: &mut Frame, area: Rect, _app: &App) {
    let rows = BINDINGS
        .iter()
        .map(|(keys, what)| Row::new(vec![keys.to_string(), what.to_string()]));
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
