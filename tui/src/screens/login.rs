//! The login screen: user, masked password, and the error of the last attempt.

use crate::overlay::Login;
use crate::theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

pub fn render(frame: &mut Frame, area: Rect, login: &Login, address: &str, waiting: bool) {
    let [_, middle, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(10),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, boxed, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(area.width.min(70)),
        Constraint::Fill(1),
    ])
    .areas(middle);
    let marker = |i: usize| if login.focus == i { "▶ " } else { "  " };
    let mut lines = vec![
        Line::from(format!("Server: {}", address)),
        Line::from(""),
        Line::from(format!(
            "{}User:     {}",
            marker(0),
            if login.focus == 0 {
                super::with_cursor(&login.user)
            } else {
                login.user.text().to_string()
            }
        )),
        Line::from(format!(
            "{}Password: {}",
            marker(1),
            "•".repeat(login.password.text().chars().count())
        )),
        Line::from(""),
    ];
    match &login.error {
        Some(error) => lines.push(Line::from(Span::styled(error.clone(), theme::error()))),
        None if waiting => lines.push(Line::from("connecting...")),
        None => lines.push(Line::from(Span::styled(
            "Enter: log in · Tab: next field · Esc: quit",
            theme::dim(),
        ))),
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title("crm-tui — log in")
                .title_style(theme::title()),
        ),
        boxed,
    );
}
