//! The Customers and Products tables while they page by a query's cursors (a typed query or
//! a whole-table sort): a page arrived, or the server refused the one asked for.
//!
//! A cursor is valid only with the same conditions and sort while the schema does not change
//! (PROTOCOL, Schema): once a field is added or dropped, the server refuses every cursor made
//! before with `INVALID` (its message speaks of other conditions or another sort, as the
//! schema's generation is part of the query's fingerprint), and the console has no way to
//! mend one. The console always sends a cursor with the conditions and sort that made it,
//! so such a refusal means the schema changed: the query starts again from its first page,
//! which needs no cursor. If the query itself no longer holds (its field was dropped), that
//! first page is refused in turn, with the server's message naming the field, and the
//! status line says it.

use crate::app::{App, Outgoing};
use crate::page::{Landing, FIRST_CURSOR};
use crate::tab::Tab;
use crm_server::client::Value;

/// What the status line says when a query starts again because its cursor was refused.
pub const STARTS_AGAIN: &str = "the schema changed: the query starts again";

impl App {
    /// A page of a query arrived: shown, and on the way to the last page (`End`), the next
    /// asked for.
    pub(crate) fn query_page_arrived(&mut self, tab: Tab, value: &Value) -> Outgoing {
        let (next, rows) = query_reply(value);
        if tab == Tab::Products {
            self.remember_products(&rows);
        }
        let page = match tab {
            Tab::Customers => &mut self.customers.page,
            _ => &mut self.products.page,
        };
        page.arrived_query(rows, next);
        if let Some(cursors) = page.by_query.as_mut().filter(|q| q.to_end) {
            cursors.to_end = false;
            if self.tab == tab && page.request_next(Landing::Bottom) {
                if let Some(cursors) = &mut page.by_query {
                    cursors.to_end = true;
                }
                let outgoing = self.table_page_request(tab);
                return self.send(outgoing);
            }
            self.say(tab, "the last page", false);
        }
        if tab == Tab::Customers {
            let shown = self.customers.search.is_none();
            let requests = self.customers.rows_reloaded(shown);
            return self.send_detail(requests);
        }
        let requests = self.products.follow_selection();
        self.send_detail(requests)
    }

    /// The server refused a query page. A page asked for with a cursor: `INVALID` means
    /// the cursor no longer holds (see the module's comment), so the query starts again
    /// from its first page. Any other refusal, or one of a first page (no cursor to blame:
    /// asking again would loop), is said on the status line and nothing moves.
    pub(crate) fn query_page_refused(&mut self, tab: Tab, message: String) -> Outgoing {
        let page = match tab {
            Tab::Customers => &mut self.customers.page,
            _ => &mut self.products.page,
        };
        let with_cursor = page.by_query.is_some() && page.cursor() != FIRST_CURSOR;
        page.failed();
        if with_cursor && message.starts_with("INVALID") {
            page.request_first();
            self.say(tab, STARTS_AGAIN, false);
            let outgoing = self.table_page_request(tab);
            return self.send(outgoing);
        }
        self.say(tab, message, true);
        Vec::new()
    }
}

/// A `*.QUERY` reply: the cursor of the next page (`"0"`: none) and the records.
fn query_reply(value: &Value) -> (String, Vec<serde_json::Value>) {
    match value {
        Value::Array(parts) => (
            parts.first().and_then(Value::as_text).unwrap_or_default(),
            parts
                .get(1)
                .and_then(|records| records.json_array().ok())
                .unwrap_or_default(),
        ),
        _ => (FIRST_CURSOR.to_string(), Vec::new()),
    }
}
