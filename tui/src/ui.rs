//! The frame around every screen: tabs on top (those the role may not use greyed), the
//! screen, and a status line: the spinner, the current tab's message (or the connection's),
//! and on the right the user, the server and this node's place in a cluster.

use crate::app::{App, Link};
use crate::net::NodeRole;
use crate::overlay::Overlay;
use crate::screens;
use crate::tab::Tab;
use crate::theme;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// The cluster part of the status line: this node's role, its leader, the lag.
pub fn cluster_line(node: Option<&NodeRole>, lag: Option<u64>) -> String {
    match node {
        None => String::new(),
        Some(NodeRole::Standalone) => "standalone".into(),
        Some(NodeRole::Leader { applied, followers }) => {
            let behind = followers
                .iter()
                .map(|(_, at)| applied.saturating_sub(*at))
                .max();
            match behind {
                Some(lag) => format!(
                    "leader · {} follower{} · lag ≤ {lag}",
                    followers.len(),
                    if followers.len() == 1 { "" } else { "s" }
                ),
                None => "leader · no followers".into(),
            }
        }
        Some(NodeRole::Follower {
            leader,
            state,
            applied,
        }) => {
            let leader = if leader.is_empty() {
                "no leader known".to_string()
            } else {
                format!("leader {leader}")
            };
            let lag = lag.map(|l| format!(" · lag {l}")).unwrap_or_default();
            format!("follower ({state}) · {leader} · applied {applied}{lag}")
        }
    }
}

/// The hints that fit in `width` cells, whole, ending with "? more" when some are left out.
pub fn fit_hints(hints: &str, width: usize) -> String {
    if Span::raw(hints).width() <= width {
        return hints.to_string();
    }
    let mut shown = String::new();
    for hint in hints.split(" · ") {
        let next = if shown.is_empty() {
            hint.to_string()
        } else {
            format!("{shown} · {hint}")
        };
        if Span::raw(next.as_str()).width() + " · ? more".len() > width {
            break;
        }
        shown = next;
    }
    format!("{shown} · ? more")
}

/// Draws the whole console.
pub fn render(frame: &mut Frame, app: &App) {
    if let Some(Overlay::Login(login)) = &app.overlay {
        let address = app.addresses.join(", ");
        screens::login::render(frame, frame.area(), login, &address, app.waiting > 0);
        return;
    }
    let [tabs_area, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    // Narrow terminals get the short titles, so every tab stays on the bar.
    let narrow = frame.area().width < 100;
    let titles: Vec<Line> = Tab::ALL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let text = format!("{} {}", i + 1, if narrow { t.short() } else { t.title() });
            if app.may(App::tab_needs(*t)) {
                Line::from(text)
            } else {
                Line::from(Span::styled(text, theme::denied()))
            }
        })
        .collect();
    frame.render_widget(
        Tabs::new(titles)
            .select(app.tab.index())
            .highlight_style(theme::selected())
            .padding(" ", if narrow { "" } else { " " })
            .divider("│"),
        tabs_area,
    );
    let width = usize::from(frame.area().width);
    let chrome = screens::Chrome {
        prompt: app.prompt(),
        hints: fit_hints(&crate::keys::hints(app.tab, false, app.role()), width),
        detail_hints: fit_hints(
            &crate::keys::hints(app.tab, true, app.role()),
            width.saturating_sub(8),
        ),
    };
    let denied = app
        .role()
        .filter(|role| *role < App::tab_needs(app.tab) && app.tab != Tab::Analytics);
    match (app.tab, denied) {
        (tab, Some(role)) => screens::denied::render(frame, body, tab, App::tab_needs(tab), role),
        (Tab::Customers, None) => {
            screens::customers::render(frame, body, &app.customers, &app.product_names, &chrome)
        }
        (Tab::Products, None) => screens::products::render(frame, body, &app.products, &chrome),
        (Tab::Orders, None) => screens::orders::render(frame, body, &app.orders, &chrome),
        (Tab::Analytics, None) => screens::analytics::render(frame, body, &app.analytics),
        (Tab::Backup, None) => screens::backup::render(frame, body, &app.backups, &chrome),
        (Tab::Help, None) => screens::help::render(frame, body, app.role(), app.help_row),
        (Tab::Journal, None) => screens::journal::render(frame, body, &app.journal, &chrome),
        (Tab::Duplicates, None) => {
            screens::duplicates::render(frame, body, &app.duplicates, &chrome)
        }
        (Tab::Schema, None) => screens::schema::render(frame, body, &app.schema, &chrome),
    }
    if let Some(Overlay::Form(form)) = &app.overlay {
        screens::form::render(frame, body, form);
    }
    render_status(frame, status, app);
}

fn render_status(frame: &mut Frame, area: ratatui::layout::Rect, app: &App) {
    let spinner = if app.waiting > 0 || matches!(app.link, Link::Connecting { .. }) {
        SPINNER[app.tick % SPINNER.len()]
    } else {
        " "
    };
    let mut spans = vec![Span::raw(format!("{spinner} "))];
    let question = match &app.overlay {
        Some(Overlay::Confirm { question, .. }) => Some(question),
        _ => None,
    };
    match (question, app.link_message(), app.status()) {
        (Some(question), _, _) => spans.push(Span::styled(question.clone(), theme::header())),
        (None, Some(link), _) => spans.push(Span::styled(link, theme::error())),
        (None, None, Some(status)) => spans.push(Span::styled(
            status.text.clone(),
            if status.error {
                theme::error()
            } else {
                theme::ok()
            },
        )),
        (None, None, None) => spans.push(Span::styled("? help · q quit", theme::dim())),
    }
    let who = app
        .credentials
        .as_ref()
        .map(|c| c.user.as_str())
        .unwrap_or_default();
    let role = app
        .role()
        .map(|r| format!(" ({})", r.as_str()))
        .unwrap_or_default();
    let cluster = cluster_line(app.node.as_ref(), app.lag_entries);
    let left_width = Line::from(spans.clone()).width();
    let room = usize::from(area.width).saturating_sub(left_width + 2);
    let server = format!("{who}{role}@{}", app.address);
    // The most that fits: who and where and the cluster, else the cluster, else who.
    let right = [
        if cluster.is_empty() {
            server.clone()
        } else {
            format!("{server} · {cluster}")
        },
        cluster.clone(),
        server,
    ]
    .into_iter()
    .find(|text| !text.is_empty() && Span::raw(text.as_str()).width() < room)
    .map(|text| format!("{text} "))
    .unwrap_or_default();
    let right_width = Span::raw(right.as_str()).width() as u16;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(1), Constraint::Length(right_width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left_area);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(right, theme::dim()))).right_aligned(),
        right_area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_line_names_the_role_the_leader_and_the_lag() {
        assert_eq!(cluster_line(None, None), "");
        assert_eq!(
            cluster_line(Some(&NodeRole::Standalone), None),
            "standalone"
        );
        let leader = NodeRole::Leader {
            applied: 120,
            followers: vec![("10.0.0.2:7379".into(), 118), ("10.0.0.3:7379".into(), 120)],
        };
        assert_eq!(
            cluster_line(Some(&leader), None),
            "leader · 2 followers · lag ≤ 2"
        );
        let follower = NodeRole::Follower {
            leader: "10.0.0.1:7379".into(),
            state: "connected".into(),
            applied: 99,
        };
        assert_eq!(
            cluster_line(Some(&follower), Some(3)),
            "follower (connected) · leader 10.0.0.1:7379 · applied 99 · lag 3"
        );
    }
}
