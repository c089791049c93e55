//! Orders: the paged table with a filter by customer, product and date range.

use super::table;
use super::Chrome;
use crate::page::Page;
use crm_server::request::{Command, OrderRange, OrderScope};
use ratatui::layout::{Constraint, Layout, Rect};
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

pub fn render(frame: &mut Frame, area: Rect, orders: &Page, filter: &str, chrome: &Chrome) {
    let [prompt, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let line = super::prompt_line(chrome, super::filter_hint(chrome, filter));
    frame.render_widget(Paragraph::new(line), prompt);
    let title = format!("Orders — page {}", orders.cursors.len() + 1);
    table::render(frame, main, title, &COLUMNS, &orders.rows, orders.selected);
}

/// `ORDER.LIST` from the filter text: `customer 7`, `product 3`, `since T`, `until T`.
pub fn request(filter: &str, page: &crate::page::Page) -> Result<Command, String> {
    let words: Vec<&str> = filter.split_whitespace().collect();
    let mut scope = OrderScope::All;
    let mut range = OrderRange {
        after: Some(page.after()),
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
    Ok(Command::order_list(&scope, &range, crate::page::PAGE_SIZE))
}
