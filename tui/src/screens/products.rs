//! Products: the paged table with price and stock, and a search by part of a name. The
//! protocol has no product search, so `/` walks the list (`PRODUCT.LIST`, a thousand at a
//! time: products are few) and keeps the names that contain the words typed.

use super::table::{self, column, Column, Kind};
use super::Chrome;
use crate::page::{field_text, Page};
use crate::sort::sort_records;
use crate::theme;
use crm_server::request::Command;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use serde_json::Value as Json;

pub const COLUMNS: [Column; 4] = [
    column("ID", "id", Kind::Number),
    column("Name", "name", Kind::Text),
    column("Price", "price", Kind::Number),
    column("Stock", "stock", Kind::Number),
];

/// Products read per request while searching.
pub const SEARCH_STEP: usize = 1000;
/// Matches kept at most.
pub const SEARCH_KEEP: usize = 1000;

/// A search by name: what was typed, the matches so far, whether the walk is over.
#[derive(Debug, Clone, Default)]
pub struct ProductSearch {
    pub query: String,
    pub rows: Vec<Json>,
    pub done: bool,
}

/// The Products tab's state.
#[derive(Debug, Clone, Default)]
pub struct Products {
    pub page: Page,
    pub search: Option<ProductSearch>,
}

impl Products {
    pub fn rows(&self) -> &[Json] {
        match &self.search {
            Some(search) => &search.rows,
            None => &self.page.rows,
        }
    }

    pub fn selected(&self) -> Option<Json> {
        self.rows().get(self.page.selected).cloned()
    }

    pub fn page_request(&self) -> Command {
        Command::product_list(self.page.after(), self.page.size)
    }

    /// Starts a search; the first request of its walk.
    pub fn search(&mut self, query: String) -> Option<Command> {
        if query.trim().is_empty() {
            self.search = None;
            return None;
        }
        self.search = Some(ProductSearch {
            query,
            ..ProductSearch::default()
        });
        self.page.selected = 0;
        Some(Command::product_list(0, SEARCH_STEP))
    }

    /// Takes one step of the walk for `query`; the next request while there is more.
    pub fn searched(&mut self, query: &str, rows: Vec<Json>) -> Option<Command> {
        let sort = self.page.sort;
        let search = self.search.as_mut().filter(|s| s.query == query)?;
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let last = rows.iter().filter_map(|r| r["id"].as_u64()).max();
        let full = rows.len() >= SEARCH_STEP;
        search.rows.extend(rows.into_iter().filter(|r| {
            let name = field_text(r, "name").to_lowercase();
            words.iter().all(|w| name.contains(w.as_str()))
        }));
        search.rows.truncate(SEARCH_KEEP);
        if let Some(sort) = sort {
            sort_records(&mut search.rows, &COLUMNS, sort);
        }
        match last {
            Some(last) if full && search.rows.len() < SEARCH_KEEP => {
                Some(Command::product_list(last, SEARCH_STEP))
            }
            _ => {
                search.done = true;
                None
            }
        }
    }

    pub fn set_sort(&mut self, sort: Option<crate::sort::Sort>) {
        match &mut self.search {
            Some(search) => {
                self.page.sort = sort;
                match sort {
                    Some(sort) => sort_records(&mut search.rows, &COLUMNS, sort),
                    None => search.rows.sort_by_key(|r| r["id"].as_u64().unwrap_or(0)),
                }
            }
            None => self.page.set_sort(sort, &COLUMNS),
        }
    }
}

pub fn render(frame: &mut Frame, area: Rect, products: &Products, chrome: &Chrome) {
    let [prompt, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let idle = match &products.search {
        Some(search) => format!(
            "Search \"{}\": {} found{} · Esc to clear",
            search.query,
            search.rows.len(),
            if search.done { "" } else { " so far" }
        ),
        None => chrome.hints.clone(),
    };
    let line = super::prompt_line(chrome, Line::from(Span::styled(idle, theme::dim())));
    frame.render_widget(Paragraph::new(line), prompt);
    let sorted = table::sorted_note(products.page.sort, &COLUMNS, " (this page)");
    let title = match &products.search {
        Some(_) => format!("Products — search results{sorted}"),
        None => format!("Products — {}{sorted}", products.page.position()),
    };
    table::render_records(
        frame,
        main,
        title,
        &COLUMNS,
        products.rows(),
        Some(products.page.selected),
        products.page.sort,
    );
}
