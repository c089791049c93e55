//! Products: the paged table with price and stock.

use super::table;
use super::Chrome;
use crate::page::Page;
use ratatui::layout::Rect;
use ratatui::Frame;

const COLUMNS: [(&str, &str, u16); 4] = [
    ("ID", "id", 8),
    ("Name", "name", 34),
    ("Price", "price", 14),
    ("Stock", "stock", 10),
];

pub fn render(frame: &mut Frame, area: Rect, products: &Page, chrome: &Chrome) {
    let title = format!(
        "Products — page {} · {}",
        products.cursors.len() + 1,
        chrome.hints
    );
    table::render(
        frame,
        area,
        title,
        &COLUMNS,
        &products.rows,
        products.selected,
    );
}
