//! Moving around: which requests (re)load each tab, the feed's blocked read, paging and the
//! selection.

use crate::app::{command, on_lane, App, Lane, Outgoing};
use crate::net::Purpose;
use crate::page::{Page, PAGE_SIZE};
use crate::screens::duplicates::Duplicates;
use crate::tab::Tab;
use crm_server::request::Command;

impl App {
    /// The requests that (re)load what the current tab shows.
    pub fn load_tab(&mut self) -> Outgoing {
        let outgoing = match self.tab {
            Tab::Customers => vec![command(
                Purpose::CustomersPage,
                self.customers.page_request(),
            )],
            Tab::Products => vec![command(
                Purpose::ProductsPage,
                Command::product_list(self.products.after(), PAGE_SIZE),
            )],
            Tab::Orders => {
                match crate::screens::orders::request(&self.order_filter, &self.orders) {
                    Ok(request) => vec![command(Purpose::OrdersPage, request)],
                    Err(message) => {
                        self.set_status(message, true);
                        Vec::new()
                    }
                }
            }
            Tab::Analytics => vec![
                command(Purpose::TopCustomers, Command::stats_top_customers(10)),
                command(Purpose::Monthly, Command::stats_monthly()),
                command(Purpose::Rfm, Command::stats_rfm()),
                command(Purpose::Clusters, Command::stats_clusters(4, 1)),
                command(Purpose::Anomalies, Command::stats_anomalies(10)),
            ],
            Tab::Backup => vec![
                command(Purpose::Backups, Command::backup_list()),
                command(Purpose::Info, Command::info()),
            ],
            Tab::Journal => match self.journal.request(0) {
                Ok(request) => {
                    let mut outgoing = vec![command(Purpose::JournalPage, request)];
                    outgoing.extend(self.follow_feed());
                    outgoing
                }
                Err(message) => {
                    self.set_status(message, true);
                    Vec::new()
                }
            },
            Tab::Duplicates => vec![command(Purpose::Duplicates, Duplicates::request())],
            Tab::Help => Vec::new(),
        };
        self.send(outgoing)
    }

    /// The blocked `XREAD` that follows the feed, unless one is out already.
    pub(crate) fn follow_feed(&mut self) -> Outgoing {
        if self.journal.following {
            return Vec::new();
        }
        self.journal.following = true;
        vec![on_lane(
            Lane::Feed,
            Purpose::Feed,
            self.journal.follow_request(),
        )]
    }

    pub(crate) fn page_mut(&mut self) -> Option<&mut Page> {
        match self.tab {
            Tab::Customers if self.customers.search.is_none() => Some(&mut self.customers.page),
            Tab::Products => Some(&mut self.products),
            Tab::Orders => Some(&mut self.orders),
            Tab::Backup => Some(&mut self.backups),
            _ => None,
        }
    }

    pub(crate) fn move_selection(&mut self, delta: isize) -> Outgoing {
        match self.tab {
            Tab::Customers => self.customers.move_by(delta),
            Tab::Journal => self.journal.move_by(delta),
            Tab::Duplicates => {
                self.duplicates.move_by(delta);
                return self.load_pair();
            }
            _ => {
                if let Some(page) = self.page_mut() {
                    page.move_by(delta);
                }
            }
        }
        Vec::new()
    }

    pub(crate) fn go_to(&mut self, tab: Tab) -> Outgoing {
        self.tab = tab;
        self.customers.detail = None;
        self.load_tab()
    }
}
