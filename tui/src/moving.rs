//! Moving the selection: a row up or down (to the next or previous page at an edge), the
//! first row (`g`), the last row of the last page (`G`, read a thousand ids at a time), and
//! the journal's newer entries.

use crate::app::{command, App, Outgoing};
use crate::net::Purpose;
use crate::page::Landing;
use crate::screens;
use crate::tab::Tab;
use crm_server::request::Command;

/// Moves a selection among `len` rows (search results are not paged); always inside.
fn move_within(selected: &mut usize, delta: isize, len: usize) -> bool {
    *selected = (*selected as isize + delta).clamp(0, len.saturating_sub(1) as isize) as usize;
    true
}

impl App {
    pub(crate) fn move_selection(&mut self, delta: isize) -> Outgoing {
        let inside = match self.tab {
            Tab::Customers if self.customers.search.is_some() => {
                let len = self.customers.rows().len();
                move_within(&mut self.customers.page.selected, delta, len)
            }
            Tab::Products if self.products.search.is_some() => {
                let len = self.products.rows().len();
                move_within(&mut self.products.page.selected, delta, len)
            }
            Tab::Journal => {
                self.journal.move_by(delta);
                true
            }
            Tab::Duplicates => {
                self.duplicates.move_by(delta);
                return self.load_pair();
            }
            Tab::Backup => {
                self.backups.page.move_by(delta);
                true
            }
            Tab::Schema => {
                self.schema.page.move_by(delta);
                true
            }
            Tab::Help => move_within(&mut self.help_row, delta, crate::screens::help::rows()),
            _ => self.page_mut().is_none_or(|page| page.move_by(delta)),
        };
        if !inside {
            // Past a page's edge: the next or previous page, landing at its near end.
            let moved = self.page_mut().is_some_and(|page| {
                if delta > 0 {
                    page.request_next(Landing::Top)
                } else {
                    page.request_previous(Landing::Bottom)
                }
            });
            if moved {
                return self.page_request();
            }
        }
        match self.tab {
            Tab::Customers => {
                let requests = self.customers.follow_selection();
                self.send_detail(requests)
            }
            Tab::Products => {
                let requests = self.products.follow_selection();
                self.send_detail(requests)
            }
            _ => Vec::new(),
        }
    }

    pub(crate) fn turn_page(&mut self, forward: bool) -> Outgoing {
        if self.tab == Tab::Journal {
            return if forward {
                self.journal_newer()
            } else {
                let before = self.journal.first_seq();
                if before <= 1 {
                    self.set_status("this is the first entry", false);
                    return Vec::new();
                }
                self.journal.older = true;
                self.journal_window(before)
            };
        }
        let landing = Landing::Top;
        let moved = self.page_mut().is_some_and(|page| {
            if forward {
                page.request_next(landing)
            } else {
                page.request_previous(landing)
            }
        });
        if moved {
            self.page_request()
        } else {
            Vec::new()
        }
    }

    fn journal_newer(&mut self) -> Outgoing {
        if !self.journal.older {
            return Vec::new();
        }
        match self
            .journal
            .request(self.journal.last_seq(), crate::screens::journal::SHOWN)
        {
            Ok(request) => {
                let outgoing = vec![command(Purpose::JournalNewer, request)];
                self.send(outgoing)
            }
            Err(message) => {
                self.set_status(message, true);
                Vec::new()
            }
        }
    }

    /// `g`/Home: the first row of the first page.
    pub(crate) fn go_top(&mut self) -> Outgoing {
        match self.tab {
            Tab::Journal => {
                self.journal.selected = 0;
                return Vec::new();
            }
            Tab::Duplicates => {
                self.duplicates.selected = 0;
                return self.load_pair();
            }
            Tab::Backup => {
                self.backups.page.selected = 0;
                return Vec::new();
            }
            _ => {}
        }
        match self.page_mut() {
            Some(page) if !page.on_first_page() => {
                page.request_first();
                self.page_request()
            }
            Some(page) => {
                page.selected = 0;
                Vec::new()
            }
            None => {
                self.customers.page.selected = 0;
                self.products.page.selected = 0;
                Vec::new()
            }
        }
    }

    /// `G`/End: the last row of the last page (reading the ids up to it, a thousand at a time).
    pub(crate) fn go_bottom(&mut self) -> Outgoing {
        match self.tab {
            Tab::Journal => {
                self.journal.selected = self.journal.entries.len().saturating_sub(1);
                return Vec::new();
            }
            Tab::Duplicates => {
                self.duplicates.selected = self.duplicates.pairs.len().saturating_sub(1);
                return self.load_pair();
            }
            Tab::Backup => {
                self.backups.page.selected = self.backups.page.rows.len().saturating_sub(1);
                return Vec::new();
            }
            _ => {}
        }
        let search = match self.tab {
            Tab::Customers => self.customers.search.is_some(),
            Tab::Products => self.products.search.is_some(),
            _ => false,
        };
        if search {
            let len = match self.tab {
                Tab::Customers => self.customers.rows().len(),
                _ => self.products.rows().len(),
            };
            let page = match self.tab {
                Tab::Customers => &mut self.customers.page,
                _ => &mut self.products.page,
            };
            page.selected = len.saturating_sub(1);
            return Vec::new();
        }
        let Some(page) = self.page_mut() else {
            return Vec::new();
        };
        if let Some(cursors) = &mut page.by_query {
            // A query's pages are found by their cursors only: turn them to the last.
            cursors.to_end = true;
            if !page.request_next(Landing::Bottom) {
                page.failed();
                page.selected = page.rows.len().saturating_sub(1);
                return Vec::new();
            }
            self.set_status("reading to the last page...", false);
            let outgoing = self.table_page_request(self.tab);
            return self.send(outgoing);
        }
        if page.rows.len() < page.size {
            page.selected = page.rows.len().saturating_sub(1);
            return Vec::new();
        }
        let after = page.start_walk();
        self.set_status("reading to the last page...", false);
        self.walk_request(after)
    }

    /// One read of the way to the last page of the current tab.
    pub(crate) fn walk_request(&mut self, after: u64) -> Outgoing {
        let step = crate::page::WALK_STEP;
        let request = match self.tab {
            Tab::Customers => Ok(Command::customer_list(after, step)),
            Tab::Products => Ok(Command::product_list(after, step)),
            Tab::Orders => screens::orders::request(&self.orders.filter, after, step),
            _ => return Vec::new(),
        };
        match request {
            Ok(request) => {
                let outgoing = vec![command(Purpose::Walk(self.tab), request)];
                self.send(outgoing)
            }
            Err(message) => {
                self.set_status(message, true);
                Vec::new()
            }
        }
    }
}
