//! Orders: the paged table with a filter by customer, product and date range.

use super::table;
use crate::app::App;
use crate::theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

const COLUMNS: [(&str, &str, u16); 7] = [
    ("ID", "id", 8),
    ("Customer", "customer_id", 10),
    ("Product", "product_id", 9),
    ("Qty", "quantity", 5),
    ("Unit price", "unit_price", 12),
    ("Amount", "amount", 12),
    ("Created", "created_at", 21),
];

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let [prompt, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let line = match &app.filter_input {
        Some(input) => Line::from(vec![
            Span::styled(
                "Filter (customer N, product N, since DATE, until DATE): ",
                theme::header(),
            ),
            Span::raw(format!("{input}▏")),
        ]),
        None if app.order_filter.is_empty() => {
            Line::from(Span::styled("/ filter · n/p page", theme::dim()))
        }
        None => Line::from(Span::styled(
            format!("filter: {} · / to change", app.order_filter),
            theme::dim(),
        )),
    };
    frame.render_widget(Paragraph::new(line), prompt);
    let title = format!("Orders — page {}", app.orders.cursors.len() + 1);
    table::render(
        frame,
        main,
        title,
        &COLUMNS,
        &app.orders.rows,
        app.orders.selected,
    );
}
