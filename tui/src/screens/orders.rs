//! Orders: the paged table with a filter by customer, product and date range. The filter
//! prompt opens holding the filter in force; `Esc` on the tab clears it.

use super::table::{self, column, Column, Kind};
use super::Chrome;
use crate::page::Page;
use crm_server::request::{Command, OrderRange, OrderScope};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub const COLUMNS: [Column; 7] = [
    column("ID", "id", Kind::Number),
    column("Customer", "customer_id", Kind::Number),
    column("Product", "product_id", Kind::Number),
    column("Qty", "quantity", Kind::Number),
    column("Unit price", "unit_price", Kind::Number),
    column("Amount", "amount", Kind::Number),
    column("Created", "created_at", Kind::Time),
];

/// The Orders tab's state.
#[derive(Debug, Clone, Default)]
pub struct Orders {
    pub page: Page,
    /// The filter in force (`customer 7`, `product 3 since 2026-01-01`...).
    pub filter: String,
}

pub fn render(frame: &mut Frame, area: Rect, orders: &Orders, chrome: &Chrome) {
    let [prompt, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let line = super::prompt_line(chrome, super::filter_hint(chrome, &orders.filter));
    frame.render_widget(Paragraph::new(line), prompt);
    let sorted = table::sorted_note(orders.page.sort, &COLUMNS, " (this page)");
    let title = format!("Orders — {}{sorted}", orders.page.position());
    let page = &orders.page;
    table::render_records(
        frame,
        main,
        title,
        &COLUMNS,
        &page.rows,
        Some(page.selected),
        page.sort,
    );
}

/// `ORDER.LIST` from the filter text (`customer 7`, `product 3`, `since T`, `until T`), after
/// id `after`, at most `limit`.
pub fn request(filter: &str, after: u64, limit: usize) -> Result<Command, String> {
    let words: Vec<&str> = filter.split_whitespace().collect();
    let mut scope = OrderScope::All;
    let mut range = OrderRange {
        after: Some(after),
        ..OrderRange::default()
    };
    for pair in words.chunks(2) {
        let [word, value] = pair else {
            return Err(format!("filter: '{}' needs a value", pair[0]));
        };
        match word.to_ascii_lowercase().as_str() {
            "customer" => scope = OrderScope::Customer(value.to_string()),
            "product" => scope = OrderScope::Product(value.to_string()),
            "since" => range.since = Some(value.to_string()),
            "until" => range.until = Some(value.to_string()),
            other => {
                return Err(format!(
                    "filter: unknown word '{other}' (customer, product, since, until)"
                ))
            }
        }
    }
    Ok(Command::order_list(&scope, &range, limit))
}
