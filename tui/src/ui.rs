//! The frame around every screen: tabs on top, the screen, a status line with a spinner.

use crate::app::App;
use crate::overlay::Overlay;
use crate::screens;
use crate::tab::Tab;
use crate::theme;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// Draws the whole console.
pub fn render(frame: &mut Frame, app: &App) {
    if let Some(Overlay::Login(login)) = &app.overlay {
        screens::login::render(frame, frame.area(), login, &app.address, app.waiting > 0);
        return;
    }
    let [tabs_area, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let titles: Vec<Line> = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| Line::from(format!("{} {}", i + 1, t.title())))
        .collect();
    frame.render_widget(
        Tabs::new(titles)
            .select(app.tab.index())
            .highlight_style(theme::selected())
            .divider("│"),
        tabs_area,
    );
    let chrome = screens::Chrome {
        prompt: app.prompt(),
        hints: crate::keys::hints(app.tab, app.customers.detail.is_some()),
    };
    match app.tab {
        Tab::Customers => screens::customers::render(frame, body, &app.customers, &chrome),
        Tab::Products => screens::products::render(frame, body, &app.products, &chrome),
        Tab::Orders => {
            screens::orders::render(frame, body, &app.orders, &app.order_filter, &chrome)
        }
        Tab::Analytics => screens::analytics::render(frame, body, &app.analytics),
        Tab::Backup => screens::backup::render(frame, body, &app.backup, &app.backups),
        Tab::Help => screens::help::render(frame, body),
        Tab::Journal => screens::journal::render(frame, body, &app.journal, &chrome),
        Tab::Duplicates => screens::duplicates::render(frame, body, &app.duplicates, &chrome),
    }
    if let Some(Overlay::Form(form)) = &app.overlay {
        screens::form::render(frame, body, form);
    }
    let spinner = if app.waiting > 0 {
        SPINNER[app.tick % SPINNER.len()]
    } else {
        " "
    };
    let mut spans = vec![Span::raw(format!("{spinner} "))];
    let question = match &app.overlay {
        Some(Overlay::Confirm { question, .. }) => Some(question),
        _ => None,
    };
    match (question, &app.status) {
        (Some(question), _) => spans.push(Span::styled(question.clone(), theme::header())),
        (None, Some((message, true))) => spans.push(Span::styled(message.clone(), theme::error())),
        (None, Some((message, false))) => spans.push(Span::styled(message.clone(), theme::ok())),
        (None, None) => spans.push(Span::styled("? help · q quit", theme::dim())),
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), status);
}
