//! Customers: the paged table or search results, and the detail pane of the selected one.

use super::table;
use crate::app::{field_text, App};
use crate::theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

const COLUMNS: [(&str, &str, u16); 5] = [
    ("ID", "id", 8),
    ("Name", "name", 26),
    ("Email", "email", 34),
    ("Phone", "phone", 16),
    ("Created", "created_at", 21),
];

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let [prompt, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let prompt_line = match (&app.search_input, &app.search) {
        (Some(input), _) => Line::from(vec![
            Span::styled("Search (email, phone or name): ", theme::header()),
            Span::raw(format!("{input}▏")),
        ]),
        (None, Some((query, rows))) => Line::from(Span::styled(
            format!("Search \"{query}\": {} found · Esc to clear", rows.len()),
            theme::dim(),
        )),
        (None, None) => Line::from(Span::styled(
            "/ search · Enter detail · a add · e edit · d delete · n/p page",
            theme::dim(),
        )),
    };
    frame.render_widget(Paragraph::new(prompt_line), prompt);
    let (list_area, detail_area) = if app.detail.is_some() {
        let [list, detail] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(main);
        (list, Some(detail))
    } else {
        (main, None)
    };
    let title = match &app.search {
        Some(_) => "Customers — search results".to_string(),
        None => format!(
            "Customers — page {} (after id {})",
            app.customers.cursors.len() + 1,
            app.customers.after()
        ),
    };
    table::render(
        frame,
        list_area,
        title,
        &COLUMNS,
        app.customer_rows(),
        app.customers.selected,
    );
    if let (Some(detail), Some(area)) = (&app.detail, detail_area) {
        let c = &detail.customer;
        let mut lines = vec![
            Line::from(Span::styled(field_text(c, "name"), theme::title())),
            Line::from(format!(
                "id {} · {}",
                field_text(c, "id"),
                field_text(c, "email")
            )),
            Line::from(format!("phone: {}", field_text(c, "phone"))),
            Line::from(format!("address: {}", field_text(c, "address"))),
            Line::from(format!("since: {}", field_text(c, "created_at"))),
            Line::from(""),
        ];
        match &detail.stats {
            Some(s) => lines.push(Line::from(Span::styled(
                format!(
                    "{} orders · total {} · first {} · last {}",
                    field_text(s, "order_count"),
                    field_text(s, "total_amount"),
                    field_text(s, "first_order"),
                    field_text(s, "last_order")
                ),
                theme::header(),
            ))),
            None => lines.push(Line::from("loading statistics...")),
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("Orders", theme::header())));
        for order in &detail.orders {
            lines.push(Line::from(format!(
                "#{} {} × product {} = {} on {}",
                field_text(order, "id"),
                field_text(order, "quantity"),
                field_text(order, "product_id"),
                field_text(order, "amount"),
                field_text(order, "created_at")
            )));
        }
        frame.render_widget(
            Paragraph::new(lines).block(Block::bordered().title("Detail · Esc to close")),
            area,
        );
    }
}
