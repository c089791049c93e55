//! Products: the paged table with price and stock.

use super::table;
use crate::app::App;
use ratatui::layout::Rect;
use ratatui::Frame;

const COLUMNS: [(&str, &str, u16); 4] = [
    ("ID", "id", 8),
    ("Name", "name", 34),
    ("Price", "price", 14),
    ("Stock", "stock", 10),
];

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let title = format!(
        "Products — page {} · {}",
        app.products.cursors.len() + 1,
        crate::keys::hints(app.tab, false)
    );
    table::render(
        frame,
        area,
        title,
        &COLUMNS,
        &app.products.rows,
        app.products.selected,
    );
}
