//! Customers: the paged table or search results, and the detail pane of the selected one, with
//! its state and the requests it makes.

use super::table;
use super::Chrome;
use crate::net::Purpose;
use crate::page::{field_text, Page, PAGE_SIZE};
use crate::theme;
use crm_server::request::{Command, FindBy, OrderRange, OrderScope};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use serde_json::Value as Json;

const COLUMNS: [(&str, &str, u16); 5] = [
    ("ID", "id", 8),
    ("Name", "name", 26),
    ("Email", "email", 34),
    ("Phone", "phone", 16),
    ("Created", "created_at", 21),
];

/// A customer opened with Enter: the record, its orders and its `STATS.CUSTOMER`.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    pub customer: Json,
    pub orders: Vec<Json>,
    pub stats: Option<Json>,
    /// Whether `customer` is the plain record `CUSTOMER.REVEAL` gave (for a masked user).
    pub revealed: bool,
}

/// The Customers tab's state.
#[derive(Debug, Clone, Default)]
pub struct Customers {
    pub page: Page,
    /// The last search and its results (shown instead of the page until Esc).
    pub search: Option<(String, Vec<Json>)>,
    pub detail: Option<Detail>,
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

    pub fn move_by(&mut self, delta: isize) {
        let len = self.rows().len();
        self.page.selected =
            (self.page.selected as isize + delta).clamp(0, len.saturating_sub(1) as isize) as usize;
    }

    pub fn page_request(&self) -> Command {
        Command::customer_list(self.page.after(), PAGE_SIZE)
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

    /// Opens the selected customer; the requests that fill the detail.
    pub fn open_detail(&mut self) -> Vec<(Purpose, Command)> {
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
        let orders = OrderScope::Customer(id.to_string());
        vec![
            (
                Purpose::DetailOrders(id),
                Command::order_list(&orders, &OrderRange::default(), 50),
            ),
            (Purpose::DetailStats(id), Command::stats_customer(id)),
        ]
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

pub fn render(frame: &mut Frame, area: Rect, customers: &Customers, chrome: &Chrome) {
    let [prompt, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let idle = match &customers.search {
        Some((query, rows)) => format!("Search \"{query}\": {} found · Esc to clear", rows.len()),
        None => chrome.hints.clone(),
    };
    let prompt_line = super::prompt_line(chrome, Line::from(Span::styled(idle, theme::dim())));
    frame.render_widget(Paragraph::new(prompt_line), prompt);
    let (list_area, detail_area) = if customers.detail.is_some() {
        let [list, detail] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(main);
        (list, Some(detail))
    } else {
        (main, None)
    };
    let title = match &customers.search {
        Some(_) => "Customers — search results".to_string(),
        None => format!(
            "Customers — page {} (after id {})",
            customers.page.cursors.len() + 1,
            customers.page.after()
        ),
    };
    table::render(
        frame,
        list_area,
        title,
        &COLUMNS,
        customers.rows(),
        customers.page.selected,
    );
    if let (Some(detail), Some(area)) = (&customers.detail, detail_area) {
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
            Paragraph::new(lines).block(Block::bordered().title(if detail.revealed {
                "Detail (revealed: journaled) · Esc to close"
            } else {
                "Detail · Esc to close"
            })),
            area,
        );
    }
}
