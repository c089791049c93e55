//! The frame around every screen: tabs on top, the screen, a status line with a spinner.

use crate::app::{App, TABS};
use crate::screens;
use crate::theme;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// Draws the whole console.
pub fn render(frame: &mut Frame, app: &App) {
    if app.login.is_some() {
        screens::login::render(frame, frame.area(), app);
        return;
    }
    let [tabs_area, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let titles: Vec<Line> = TABS
        .iter()
        .enumerate()
        .map(|(i, t)| Line::from(format!("{} {t}", i + 1)))
        .collect();
    frame.render_widget(
        Tabs::new(titles)
            .select(app.tab)
            .highlight_style(theme::selected())
            .divider("│"),
        tabs_area,
    );
    match app.tab {
        0 => screens::customers::render(frame, body, app),
        1 => screens::products::render(frame, body, app),
        2 => screens::orders::render(frame, body, app),
        3 => screens::analytics::render(frame, body, app),
        4 => screens::backup::render(frame, body, app),
        _ => screens::help::render(frame, body, app),
    }
    if let Some(form) = &app.form {
        screens::form::render(frame, body, form);
    }
    let spinner = if app.waiting > 0 {
        SPINNER[app.tick % SPINNER.len()]
    } else {
        " "
    };
    let mut spans = vec![Span::raw(format!("{spinner} "))];
    match (&app.confirm, &app.status) {
        (Some((question, _)), _) => spans.push(Span::styled(question.clone(), theme::header())),
        (None, Some((message, true))) => spans.push(Span::styled(message.clone(), theme::error())),
        (None, Some((message, false))) => spans.push(Span::styled(message.clone(), theme::ok())),
        (None, None) => spans.push(Span::styled("? help · q quit", theme::dim())),
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), status);
}
