//! Loading: which requests (re)load each tab, the feed's blocked read, a detail's requests,
//! sorting, switching tabs, and the page sizes that fill the screen. Moving the selection and
//! the pages is `moving.rs`.

use crate::app::{command, on_lane, App, Lane, Outgoing};
use crate::net::Purpose;
use crate::page::Page;
use crate::role::Role;
use crate::screens;
use crate::screens::duplicates::Duplicates;
use crate::screens::schema::Schema;
use crate::sort::Sort;
use crate::tab::Tab;
use crate::wire::Words;
use crm_server::request::Command;

impl App {
    /// The least role a tab needs (the server answers `NOPERM` to what it shows otherwise).
    pub fn tab_needs(tab: Tab) -> Role {
        match tab {
            Tab::Analytics | Tab::Duplicates => Role::Analyst,
            Tab::Backup | Tab::Journal | Tab::Schema => Role::Admin,
            _ => Role::Reader,
        }
    }

    /// Why the role may not do `action` here, if it may not.
    pub(crate) fn forbidden(&self, action: &crate::action::Action) -> Option<String> {
        let role = self.role()?;
        let binding = crate::keys::binding(action, self.tab, self.detail_open())?;
        let what = format!("{} ({})", binding.label, binding.help);
        (role < binding.needs).then(|| crate::role::denied(&what, binding.needs, role))
    }

    /// The requests that (re)load what the current tab shows.
    pub fn load_tab(&mut self) -> Outgoing {
        if let Some(role) = self.role() {
            let needs = App::tab_needs(self.tab);
            if role < needs {
                let reason = crate::role::denied(self.tab.title(), needs, role);
                if self.tab == Tab::Analytics {
                    self.analytics.denied = Some(reason.clone());
                }
                self.set_status(reason, true);
                return Vec::new();
            }
        }
        if self.tab == Tab::Analytics {
            self.analytics.denied = None;
        }
        let outgoing = match self.tab {
            Tab::Customers | Tab::Products => {
                let mut outgoing = self.table_page_request(self.tab);
                outgoing.extend(self.count_request(self.tab));
                outgoing
            }
            Tab::Orders => match screens::orders::request(
                &self.orders.filter,
                self.orders.page.after(),
                self.orders.page.size,
            ) {
                Ok(request) => {
                    let mut outgoing = vec![command(Purpose::OrdersPage, request)];
                    if self.orders.filter.is_empty() {
                        outgoing.extend(self.count_request(Tab::Orders));
                    } else {
                        self.orders.page.total = None;
                    }
                    outgoing
                }
                Err(message) => {
                    self.orders.page.failed();
                    self.set_status(message, true);
                    Vec::new()
                }
            },
            Tab::Analytics => self
                .analytics
                .requests()
                .into_iter()
                .map(|(purpose, words)| command(purpose, words))
                .collect(),
            Tab::Backup => vec![
                command(Purpose::Backups, Command::backup_list()),
                command(Purpose::Info, Command::info()),
            ],
            Tab::Journal => {
                self.journal.older = false;
                let mut outgoing = vec![command(Purpose::JournalHead, crate::wire::audit_head())];
                outgoing.extend(self.follow_feed());
                outgoing
            }
            Tab::Duplicates => vec![command(Purpose::Duplicates, Duplicates::request())],
            Tab::Schema => vec![command(Purpose::Schema, Schema::request())],
            Tab::Help => Vec::new(),
        };
        self.send(outgoing)
    }

    /// The tab again, at the page it shows (after a reconnection or a resize).
    pub(crate) fn reload_tab(&mut self) -> Outgoing {
        for page in [
            &mut self.customers.page,
            &mut self.products.page,
            &mut self.orders.page,
        ] {
            page.request_again();
        }
        if self.tab == Tab::Journal && self.journal.older {
            let before = self.journal.last_seq() + 1;
            return self.journal_window(before);
        }
        self.load_tab()
    }

    /// After a search is cleared: the page again if a sort moved it meanwhile.
    pub(crate) fn reload_if_moved(&mut self) -> Outgoing {
        if self.page_mut().is_some_and(|page| page.is_pending()) {
            self.load_tab()
        } else {
            Vec::new()
        }
    }

    /// The page request of the Customers or Products table (a list by id, or a query).
    pub(crate) fn table_page_request(&self, tab: Tab) -> Outgoing {
        let (purpose, request) = match tab {
            Tab::Customers => self.customers.page_request(),
            _ => self.products.page_request(),
        };
        vec![command(purpose, request)]
    }

    /// The count behind "page 7 of 42": `INFO` for an admin (unless a query narrows the
    /// table), else `*.COUNT` with the query's conditions (orders have none), else nothing.
    pub(crate) fn count_request(&mut self, tab: Tab) -> Vec<(Lane, crate::net::Request)> {
        let typed = match tab {
            Tab::Customers => self.customers.query.as_ref(),
            Tab::Products => self.products.query.as_ref(),
            _ => None,
        };
        if self.counts_by_info && self.may(Role::Admin) && !crate::query::narrows(typed) {
            return vec![command(Purpose::Counts, Command::info())];
        }
        let conditions = typed.map(|t| t.conditions.as_slice()).unwrap_or_default();
        match tab {
            Tab::Customers => vec![command(
                Purpose::Count(tab),
                Command::customer_count(conditions),
            )],
            Tab::Products => vec![command(
                Purpose::Count(tab),
                Command::product_count(conditions),
            )],
            _ => Vec::new(),
        }
    }

    /// The journal window that ends before entry `before`.
    pub(crate) fn journal_window(&mut self, before: u64) -> Outgoing {
        let span = self.journal.first_span();
        match self.journal.window_request(before, span) {
            Ok(request) => {
                let outgoing = vec![command(Purpose::JournalWindow { before, span }, request)];
                self.send(outgoing)
            }
            Err(message) => {
                self.set_status(message, true);
                Vec::new()
            }
        }
    }

    /// The blocked `XREAD` that follows the feed, unless one is out already or an older
    /// window is shown.
    pub(crate) fn follow_feed(&mut self) -> Outgoing {
        if self.journal.following || self.journal.older {
            return Vec::new();
        }
        self.journal.following = true;
        vec![on_lane(
            Lane::Feed,
            Purpose::Feed,
            self.journal.follow_request(),
        )]
    }

    /// The paged table of the current tab (not while a search shows its results).
    pub(crate) fn page_mut(&mut self) -> Option<&mut Page> {
        match self.tab {
            Tab::Customers if self.customers.search.is_none() => Some(&mut self.customers.page),
            Tab::Products if self.products.search.is_none() => Some(&mut self.products.page),
            Tab::Orders => Some(&mut self.orders.page),
            _ => None,
        }
    }

    /// The page request of the current tab, after its page was moved.
    pub(crate) fn page_request(&mut self) -> Outgoing {
        self.load_tab()
    }

    /// Sends the requests of a detail (a customer's or a product's).
    pub(crate) fn send_detail(&mut self, requests: Vec<(Purpose, Words)>) -> Outgoing {
        let outgoing = requests
            .into_iter()
            .map(|(purpose, words)| command(purpose, words))
            .collect();
        self.send(outgoing)
    }

    /// `s`/`S`: sorts the current table by the next column, or turns the direction: the
    /// whole table of Customers and Products (by the server), the rows held elsewhere.
    pub(crate) fn sort(&mut self, flip: bool) -> Outgoing {
        let (current, columns) = match self.tab {
            Tab::Customers => (self.customers.page.sort, self.customers.columns.len()),
            Tab::Products => (self.products.page.sort, self.products.columns.len()),
            Tab::Orders => (self.orders.page.sort, screens::orders::COLUMNS.len()),
            Tab::Backup => (self.backups.page.sort, screens::backup::COLUMNS.len()),
            _ => return Vec::new(),
        };
        let sort = if flip {
            Some(Sort::flip(current))
        } else {
            Sort::next(current, columns)
        };
        let whole_table = match self.tab {
            Tab::Customers => self.customers.set_sort(sort),
            Tab::Products => self.products.set_sort(sort),
            Tab::Orders => {
                self.orders.page.set_sort(sort, &screens::orders::COLUMNS);
                false
            }
            _ => {
                self.backups.page.set_sort(sort, &screens::backup::COLUMNS);
                false
            }
        };
        if whole_table {
            self.load_tab()
        } else {
            Vec::new()
        }
    }

    pub(crate) fn go_to(&mut self, tab: Tab) -> Outgoing {
        self.tab = tab;
        self.customers.detail = None;
        self.products.detail = None;
        self.load_tab()
    }

    /// The terminal is `width` × `height`: pages hold what the screen shows. A page size that
    /// changed reloads the tab.
    pub fn resize(&mut self, width: u16, height: u16) -> Outgoing {
        if self.viewport == (width, height) {
            return Vec::new();
        }
        self.viewport = (width, height);
        let listed = screens::customers::rows_fitting(height);
        let mut changed = false;
        for page in [
            &mut self.customers.page,
            &mut self.products.page,
            &mut self.orders.page,
        ] {
            changed |= page.size != listed;
            page.size = listed;
        }
        // Only a paged tab asks again (Analytics' statistics do not change with the size).
        let paged = matches!(self.tab, Tab::Customers | Tab::Products | Tab::Orders);
        if changed && paged && self.link == crate::app::Link::Up && !self.logging_in() {
            return self.reload_tab();
        }
        Vec::new()
    }
}
