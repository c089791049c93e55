//! Customers: the paged table (its built-in columns, then one per custom field), search or
//! query results, and the detail pane of the selected one, with its state and the requests it
//! makes. The detail follows the selection, shows the custom fields the record carries, lists
//! the customer's orders newest first with product names, and scrolls (`J`/`K`).

use super::detail::{self, date};
use super::table::{self, column, Column, Kind};
use super::Chrome;
use crate::columns::Columns;
use crate::format::field_text;
use crate::net::Purpose;
use crate::page::Page;
use crate::query::{self, Typed};
use crate::sort::{sort_records, Sort};
use crate::tab::Tab;
use crate::theme;
use crate::wire::Words;
use crm_server::request::{Command, FindBy, OrderRange, OrderScope};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use serde_json::Value as Json;
use std::collections::HashMap;

/// The columns every customer has; the custom fields' follow them ([`Customers::columns`]).
pub static BUILT_IN: [Column; 5] = [
    column("ID", "id", Kind::Number),
    column("Name", "name", Kind::Text),
    column("Email", "email", Kind::Text),
    column("Phone", "phone", Kind::Text),
    column("Created", "created_at", Kind::Time),
];

/// Orders the detail asks for at most (a customer with more is said to have more).
pub const DETAIL_ORDERS: usize = 10_000;

/// A customer opened with Enter: the record, its orders (newest first) and its
/// `STATS.CUSTOMER`.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    pub customer: Json,
    pub orders: Vec<Json>,
    /// Whether the orders have arrived.
    pub orders_loaded: bool,
    pub stats: Option<Json>,
    /// Whether `customer` is the plain record `CUSTOMER.REVEAL` gave (for a masked user).
    pub revealed: bool,
    /// The first order line shown.
    pub scroll: usize,
}

impl Detail {
    /// Takes the orders, newest first (ties: the larger id first).
    pub fn take_orders(&mut self, mut orders: Vec<Json>) {
        orders.sort_by(|a, b| {
            field_text(b, "created_at")
                .cmp(&field_text(a, "created_at"))
                .then(b["id"].as_u64().cmp(&a["id"].as_u64()))
        });
        self.orders = orders;
        self.orders_loaded = true;
        self.scroll = 0;
    }
}

/// The Customers tab's state.
#[derive(Debug, Clone)]
pub struct Customers {
    pub page: Page,
    /// The last search and its results (shown instead of the page until Esc).
    pub search: Option<(String, Vec<Json>)>,
    /// The query typed at `/` in force on the table (`where ... sort ...`).
    pub query: Option<Typed>,
    pub detail: Option<Detail>,
    /// The table's columns: [`BUILT_IN`], then one per custom field of customers.
    pub columns: Columns,
}

impl Default for Customers {
    fn default() -> Customers {
        Customers {
            page: Page::default(),
            search: None,
            query: None,
            detail: None,
            columns: Columns::new(&BUILT_IN),
        }
    }
}

impl Customers {
    /// The rows shown: search results, or the page.
    pub fn rows(&self) -> &[Json] {
        match &self.search {
            Some((_, rows)) => rows,
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
                Purpose::QueryPage(Tab::Customers),
                Command::customer_query(&clauses),
            ),
            None => (
                Purpose::CustomersPage,
                Command::customer_list(self.page.after(), self.page.size),
            ),
        }
    }

    /// Puts a typed query (or none) in force, from the first page.
    pub fn set_query(&mut self, typed: Option<Typed>) {
        self.search = None;
        let sort = self.page.sort;
        query::requery(&mut self.page, &mut self.query, typed, sort);
    }

    /// Sorts the whole table (by the server, from the first page: true, to ask for it), or
    /// the search results held.
    pub fn set_sort(&mut self, sort: Option<Sort>) -> bool {
        let typed = self.query.take();
        query::requery(&mut self.page, &mut self.query, typed, sort);
        let Some((_, rows)) = &mut self.search else {
            return true;
        };
        match sort {
            Some(sort) => sort_records(rows, &self.columns, sort),
            None => rows.sort_by_key(|r| r["id"].as_u64().unwrap_or(0)),
        }
        false
    }

    /// The search request for a query (an email, a phone, or name words).
    pub fn search(&mut self, query: String) -> Option<Command> {
        if query.is_empty() {
            self.search = None;
            return None;
        }
        let request = Command::customer_find(search_kind(&query), &query);
        self.search = Some((query, Vec::new()));
        self.page.selected = 0;
        Some(request)
    }

    /// Takes search results, in the sort in force.
    pub fn found(&mut self, mut rows: Vec<Json>) -> Option<String> {
        if let Some(sort) = self.page.sort {
            sort_records(&mut rows, &self.columns, sort);
        }
        let (query, results) = self.search.as_mut()?;
        *results = rows;
        Some(format!("{} found for \"{query}\"", results.len()))
    }

    /// Opens the selected customer; the requests that fill the detail.
    pub fn open_detail(&mut self) -> Vec<(Purpose, Words)> {
        let Some(customer) = self.selected() else {
            return Vec::new();
        };
        let Some(id) = customer["id"].as_u64() else {
            return Vec::new();
        };
        self.detail = Some(Detail {
            customer,
            ..Detail::default()
        });
        detail_requests(id)
    }

    /// After the rows were read again (a page, a query page or search results arrived): an
    /// open detail follows the selection to another customer, or, while the same customer
    /// stays selected, shows its record as just read (it may have been edited, here or
    /// elsewhere) and asks again for its orders and statistics, which may have changed too.
    /// `shown`: whether the rows read are the ones shown (a page read while search results
    /// are shown says nothing of them). A revealed record gives way to the one read.
    pub fn rows_reloaded(&mut self, shown: bool) -> Vec<(Purpose, Words)> {
        let selected = self.selected();
        let Some(id) = self.detail_id() else {
            return Vec::new();
        };
        let same = selected.as_ref().and_then(|c| c["id"].as_u64()) == Some(id);
        match (selected, &mut self.detail) {
            (Some(record), Some(detail)) if same && shown => {
                detail.customer = record;
                detail.revealed = false;
                detail_requests(id)
            }
            _ if same => Vec::new(),
            _ => self.follow_selection(),
        }
    }

    /// The record of customer `id` read again (`CUSTOMER.GET`, after a save): the detail
    /// and the rows that hold it show it.
    pub fn take_record(&mut self, id: u64, record: &Json) {
        if let Some(detail) = self.detail_of(id) {
            detail.customer = record.clone();
            detail.revealed = false;
        }
        let searched = self.search.iter_mut().flat_map(|(_, rows)| rows.iter_mut());
        for row in searched.chain(self.page.rows.iter_mut()) {
            if row["id"].as_u64() == Some(id) {
                *row = record.clone();
            }
        }
    }

    /// After the selection moved: an open detail follows it to the newly selected customer.
    pub fn follow_selection(&mut self) -> Vec<(Purpose, Words)> {
        let shown = self.detail_id();
        let selected = self.selected().and_then(|c| c["id"].as_u64());
        if shown.is_some() && selected.is_some() && shown != selected {
            return self.open_detail();
        }
        Vec::new()
    }

    pub fn scroll_detail(&mut self, delta: isize) {
        if let Some(detail) = &mut self.detail {
            let last = detail.orders.len().saturating_sub(1) as isize;
            detail.scroll = (detail.scroll as isize + delta).clamp(0, last.max(0)) as usize;
        }
    }

    /// The open detail if it is about customer `id`.
    pub fn detail_of(&mut self, id: u64) -> Option<&mut Detail> {
        self.detail
            .as_mut()
            .filter(|d| d.customer["id"].as_u64() == Some(id))
    }

    pub fn detail_id(&self) -> Option<u64> {
        self.detail.as_ref().and_then(|d| d.customer["id"].as_u64())
    }
}

/// What fills the detail of customer `id`: its orders and its statistics.
fn detail_requests(id: u64) -> Vec<(Purpose, Words)> {
    let orders = OrderScope::Customer(id.to_string());
    vec![
        (
            Purpose::DetailOrders(id),
            Command::order_list(&orders, &OrderRange::default(), DETAIL_ORDERS).into(),
        ),
        (Purpose::DetailStats(id), Command::stats_customer(id).into()),
    ]
}

/// How a search query is meant: an email, a phone number, or name words.
pub fn search_kind(query: &str) -> FindBy {
    if query.contains('@') {
        FindBy::Email
    } else if query.chars().any(|c| c.is_ascii_digit())
        && query
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        FindBy::Phone
    } else {
        FindBy::Name
    }
}

/// Lines of the table a page of this tab shows on a screen `height` lines high.
pub fn rows_fitting(height: u16) -> usize {
    // Tab bar, status line, prompt line.
    table::rows_fitting(height.saturating_sub(3))
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    customers: &Customers,
    products: &HashMap<u64, String>,
    chrome: &Chrome,
) {
    let [prompt, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let idle = match (&customers.detail, &customers.search) {
        (Some(_), _) => format!("Detail: {}", chrome.detail_hints),
        (None, Some((query, rows))) => {
            format!("Search \"{query}\": {} found · Esc to clear", rows.len())
        }
        (None, None) => chrome.hints.clone(),
    };
    let prompt_line = super::prompt_line(chrome, Line::from(Span::styled(idle, theme::dim())));
    frame.render_widget(Paragraph::new(prompt_line), prompt);
    let (list_area, detail_area) = detail::split(main, customers.detail.is_some());
    let title = match &customers.search {
        Some(_) => format!(
            "Customers — search results{}",
            table::sorted_note(customers.page.sort, &customers.columns, "")
        ),
        None => query::title(
            "Customers",
            &customers.page,
            customers.query.as_ref(),
            &customers.columns,
        ),
    };
    table::render_records(
        frame,
        list_area,
        title,
        &customers.columns,
        customers.rows(),
        Some(customers.page.selected),
        customers.page.sort,
    );
    if let (Some(detail), Some(area)) = (&customers.detail, detail_area) {
        render_detail(frame, area, detail, products);
    }
}

/// The columns of the detail's orders.
/// The product's name goes last: it is what gives way when the pane is narrow.
const ORDER_COLUMNS: [Column; 5] = [
    column("Date", "created_at", Kind::Time),
    column("#", "id", Kind::Number),
    column("Amount", "amount", Kind::Number),
    column("Qty", "quantity", Kind::Number),
    column("Product", "product", Kind::Text),
];

fn render_detail(frame: &mut Frame, area: Rect, detail: &Detail, products: &HashMap<u64, String>) {
    let c = &detail.customer;
    let mut lines = vec![
        Line::from(format!(
            "id {} · {}",
            field_text(c, "id"),
            field_text(c, "email")
        )),
        Line::from(format!("phone: {}", field_text(c, "phone"))),
        Line::from(format!("address: {}", field_text(c, "address"))),
        Line::from(format!("since: {}", field_text(c, "created_at"))),
    ];
    lines.extend(detail::custom_lines(c));
    match &detail.stats {
        Some(s) => {
            lines.push(Line::from(Span::styled(
                format!(
                    "{} orders · total {}",
                    field_text(s, "order_count"),
                    field_text(s, "total_amount"),
                ),
                theme::header(),
            )));
            lines.push(Line::from(format!(
                "first {} · last {}",
                date(&field_text(s, "first_order")),
                date(&field_text(s, "last_order"))
            )));
        }
        None => lines.push(Line::from("loading statistics...")),
    }
    let title = format!(
        "{}{}",
        field_text(c, "name"),
        if detail.revealed {
            " (revealed: journaled)"
        } else {
            ""
        }
    );
    let list = detail::card(frame, area, title, lines);
    let room = table::rows_fitting(list.height);
    let from = detail.scroll.min(detail.orders.len());
    let end = (from + room).min(detail.orders.len());
    let title = if !detail.orders_loaded {
        "Orders: loading...".to_string()
    } else if detail.orders.is_empty() {
        "Orders: none".to_string()
    } else {
        let more = if detail.orders.len() >= DETAIL_ORDERS {
            " (the first 10000 by id)"
        } else {
            ""
        };
        format!(
            "Orders, newest first: {}-{end} of {}{more}",
            from + 1,
            detail.orders.len()
        )
    };
    let named: Vec<Json> = detail.orders[from..end]
        .iter()
        .map(|order| {
            let product = order["product_id"].as_u64().unwrap_or(0);
            let mut row = order.clone();
            row["product"] = Json::String(
                products
                    .get(&product)
                    .cloned()
                    .unwrap_or_else(|| format!("product {product}")),
            );
            row
        })
        .collect();
    table::render_records(frame, list, title, &ORDER_COLUMNS, &named, None, None);
}
