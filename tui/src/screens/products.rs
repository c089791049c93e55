//! Products: the paged table with price and stock (then one column per custom field), a
//! search by part of a name, and the detail pane of the selected product. The protocol has no
//! product search, so `/` walks the list (`PRODUCT.LIST`, a thousand at a time: products are
//! few) and keeps the names that contain the words typed.
//!
//! The detail shows the record as the table holds it and its sales, summed from its orders
//! (`product_sales.rs`): Enter asks for them afresh, and the detail following the selection
//! to another product asks for that one's.

use super::detail;
use super::product_sales::Sales;
use super::table::{self, column, Column, Kind};
use super::Chrome;
use crate::columns::Columns;
use crate::format::field_text;
use crate::net::Purpose;
use crate::page::Page;
use crate::query::{self, Typed};
use crate::sort::sort_records;
use crate::tab::Tab;
use crate::theme;
use crate::wire::Words;
use crm_server::request::Command;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use serde_json::Value as Json;

/// The columns every product has; the custom fields' follow them ([`Products::columns`]).
pub static BUILT_IN: [Column; 4] = [
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
#[derive(Debug, Clone)]
pub struct Products {
    pub page: Page,
    pub search: Option<ProductSearch>,
    /// The query typed at `/` in force on the table (`where ... sort ...`).
    pub query: Option<Typed>,
    /// The table's columns: [`BUILT_IN`], then one per custom field of products.
    pub columns: Columns,
    /// The product opened with Enter (the selected one, as the table holds it).
    pub detail: Option<Json>,
    pub sales: Sales,
}

impl Default for Products {
    fn default() -> Products {
        Products {
            page: Page::default(),
            search: None,
            query: None,
            columns: Columns::new(&BUILT_IN),
            detail: None,
            sales: Sales::default(),
        }
    }
}

impl Products {
    /// Opens the selected product; the requests for its sales.
    pub fn open_detail(&mut self) -> Vec<(Purpose, Words)> {
        self.detail = self.selected();
        match self.detail_id() {
            Some(id) => self.sales.start(id),
            None => Vec::new(),
        }
    }

    /// After the selection moved or the rows changed: an open detail shows the selected
    /// product as the table now holds it (and closes when no row is left to select); its
    /// sales are asked for when it is another product.
    pub fn follow_selection(&mut self) -> Vec<(Purpose, Words)> {
        if self.detail.is_none() {
            return Vec::new();
        }
        self.detail = self.selected();
        match self.detail_id() {
            Some(id) if id != self.sales.product => self.sales.start(id),
            _ => Vec::new(),
        }
    }

    /// The id of the product the detail shows.
    pub fn detail_id(&self) -> Option<u64> {
        self.detail.as_ref().and_then(|p| p["id"].as_u64())
    }

    pub fn rows(&self) -> &[Json] {
        match &self.search {
            Some(search) => &search.rows,
            None => &self.page.rows,
        }
    }

    pub fn selected(&self) -> Option<Json> {
        self.rows().get(self.page.selected).cloned()
    }

    /// The request for the page to show: by the query's cursor while a query or a sort is
    /// in force, else by id.
    pub fn page_request(&self) -> (Purpose, Command) {
        match query::page_clauses(&self.page, self.query.as_ref(), &self.columns) {
            Some(clauses) => (
                Purpose::QueryPage(Tab::Products),
                Command::product_query(&clauses),
            ),
            None => (
                Purpose::ProductsPage,
                Command::product_list(self.page.after(), self.page.size),
            ),
        }
    }

    /// Puts a typed query (or none) in force, from the first page.
    pub fn set_query(&mut self, typed: Option<Typed>) {
        self.search = None;
        let sort = self.page.sort;
        query::requery(&mut self.page, &mut self.query, typed, sort);
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
        let columns = &self.columns;
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
            sort_records(&mut search.rows, columns, sort);
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

    /// Sorts the whole table (by the server, from the first page: true, to ask for it), or
    /// the search results held.
    pub fn set_sort(&mut self, sort: Option<crate::sort::Sort>) -> bool {
        let typed = self.query.take();
        query::requery(&mut self.page, &mut self.query, typed, sort);
        let Some(search) = &mut self.search else {
            return true;
        };
        match sort {
            Some(sort) => sort_records(&mut search.rows, &self.columns, sort),
            None => search.rows.sort_by_key(|r| r["id"].as_u64().unwrap_or(0)),
        }
        false
    }
}

pub fn render(frame: &mut Frame, area: Rect, products: &Products, chrome: &Chrome) {
    let [prompt, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let idle = match (&products.detail, &products.search) {
        (Some(_), _) => format!("Detail: {}", chrome.detail_hints),
        (None, Some(search)) => format!(
            "Search \"{}\": {} found{} · Esc to clear",
            search.query,
            search.rows.len(),
            if search.done { "" } else { " so far" }
        ),
        (None, None) => chrome.hints.clone(),
    };
    let line = super::prompt_line(chrome, Line::from(Span::styled(idle, theme::dim())));
    frame.render_widget(Paragraph::new(line), prompt);
    let (list_area, detail_area) = detail::split(main, products.detail.is_some());
    let title = match &products.search {
        Some(_) => format!(
            "Products — search results{}",
            table::sorted_note(products.page.sort, &products.columns, "")
        ),
        None => query::title(
            "Products",
            &products.page,
            products.query.as_ref(),
            &products.columns,
        ),
    };
    table::render_records(
        frame,
        list_area,
        title,
        &products.columns,
        products.rows(),
        Some(products.page.selected),
        products.page.sort,
    );
    if let (Some(product), Some(area)) = (&products.detail, detail_area) {
        render_detail(frame, area, product, &products.sales);
    }
}

/// The product's card: its own fields, its custom fields, its sales.
fn render_detail(frame: &mut Frame, area: Rect, product: &Json, sales: &Sales) {
    let mut lines = vec![
        Line::from(format!("id {}", field_text(product, "id"))),
        Line::from(format!("price: {}", field_text(product, "price"))),
        Line::from(format!("stock: {}", field_text(product, "stock"))),
    ];
    lines.extend(detail::custom_lines(product));
    lines.push(sales.line());
    detail::card(frame, area, field_text(product, "name"), lines);
}
