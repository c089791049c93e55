//! What the console does with an error reply: a lost connection starts the reconnection, a
//! probe's `NOPERM` tells the role, a refused page leaves the table where it was (a refused
//! query page may start the query again: `query_pages.rs`), a form's error goes to its
//! field; anything else goes to the status line of the tab the request was for.

use crate::app::{App, Outgoing};
use crate::net::{connection_lost, Purpose};
use crate::overlay::Overlay;
use crate::tab::Tab;

impl App {
    /// Takes an error reply to a request made for `purpose` (shown on `tab`); may ask for
    /// more.
    pub(crate) fn on_error(&mut self, purpose: Purpose, tab: Tab, message: String) -> Outgoing {
        if purpose == Purpose::Login {
            self.login_failed(message);
            return Vec::new();
        }
        // The backup or feed connection could not follow the main one: start over.
        if purpose == Purpose::LaneUp || connection_lost(&message) {
            self.lost(message);
            return Vec::new();
        }
        let noperm = message.starts_with("NOPERM");
        match purpose {
            Purpose::Probe(role) => {
                self.probes.answer(role, !noperm);
                return self.role_known();
            }
            Purpose::Counts => {
                self.counts_by_info = !noperm;
                if noperm {
                    let outgoing = self.count_request(self.tab);
                    return self.send(outgoing);
                }
            }
            // A server without the schema's counts: the page number goes without a total.
            Purpose::Count(_) | Purpose::ProductName(_) | Purpose::Role => {}
            Purpose::QueryPage(tab) => return self.query_page_refused(tab, message),
            Purpose::CustomersPage
            | Purpose::ProductsPage
            | Purpose::OrdersPage
            | Purpose::Walk(_) => {
                for page in [
                    &mut self.customers.page,
                    &mut self.products.page,
                    &mut self.orders.page,
                ] {
                    page.failed();
                }
                self.say(tab, message, true);
            }
            _ if tab == Tab::Analytics => {
                if noperm {
                    self.analytics.denied = Some(message.clone());
                }
                self.say(tab, message, true);
            }
            Purpose::Save => {
                let placed = match &mut self.overlay {
                    Some(Overlay::Form(form)) => form.show_error(&message),
                    _ => false,
                };
                if !placed {
                    self.set_status(message, true);
                }
            }
            Purpose::BackupDone => {
                self.backups.status.running = false;
                self.say(tab, message, true);
            }
            Purpose::Feed => self.journal.following = false,
            Purpose::ProductSales { product, after } => {
                if self.products.sales.refused(product, after, message.clone()) {
                    self.say(tab, message, true);
                }
            }
            Purpose::JournalVerified => {
                self.journal.verified = Some((false, message.clone()));
                self.say(tab, message, true);
            }
            _ => self.say(tab, message, true),
        }
        Vec::new()
    }
}
