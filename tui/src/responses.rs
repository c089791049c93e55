//! Where each reply goes: [`App::on_response`] puts a worker's answer into the right tab's
//! state, and may ask for more (a page after a save, the next blocked read of the feed).

use crate::app::{on_lane, App, Lane, Outgoing};
use crate::net::{info_field, Purpose, Response};
use crate::overlay::{Login, Overlay};
use crate::page::field_text;
use crate::screens::backup::BackupStatus;
use crate::tab::Tab;

impl App {
    /// Takes a worker's answer into the state; may ask for more.
    pub fn on_response(&mut self, response: Response) -> Outgoing {
        if response.purpose != Purpose::Feed {
            self.waiting = self.waiting.saturating_sub(1);
        }
        let value = match response.result {
            Ok(value) => value,
            Err(message) => return self.on_error(response.purpose, message),
        };
        let rows = || value.json_array().unwrap_or_default();
        match response.purpose {
            Purpose::Login => {
                if self.logging_in() {
                    self.overlay = None;
                    self.set_status(format!("connected to {}", self.address), false);
                    return self.load_tab();
                }
            }
            Purpose::CustomersPage => self.customers.page.set_rows(rows()),
            Purpose::ProductsPage => self.products.set_rows(rows()),
            Purpose::OrdersPage => self.orders.set_rows(rows()),
            Purpose::Backups => self.backups.set_rows(rows()),
            Purpose::Search => {
                let found = rows();
                if let Some((query, results)) = self.customers.search.as_mut() {
                    let message = format!("{} found for \"{query}\"", found.len());
                    *results = found;
                    self.set_status(message, false);
                }
            }
            Purpose::DetailOrders(id) => {
                if let Some(detail) = self.customers.detail_of(id) {
                    detail.orders = rows();
                }
            }
            Purpose::DetailStats(id) => {
                if let Some(detail) = self.customers.detail_of(id) {
                    detail.stats = value.json().ok().flatten();
                }
            }
            Purpose::Revealed(id) => match value.json().ok().flatten() {
                Some(plain) => {
                    if let Some(detail) = self.customers.detail_of(id) {
                        detail.customer = plain;
                        detail.revealed = true;
                    }
                    self.set_status(format!("customer {id} revealed (journaled)"), false);
                }
                None => self.set_status(format!("customer {id} no longer exists"), true),
            },
            Purpose::Exported(path) => self.set_status(
                format!(
                    "exported to {path} ({})",
                    value.as_text().unwrap_or_default()
                ),
                false,
            ),
            Purpose::Forgotten(id) => {
                self.customers.detail = None;
                self.set_status(format!("customer {id} forgotten for good"), false);
                return self.load_tab();
            }
            Purpose::TopCustomers => self.analytics.top_customers = rows(),
            Purpose::Monthly => self.analytics.monthly = rows(),
            Purpose::Rfm => self.analytics.rfm = rows(),
            Purpose::Clusters => self.analytics.clusters = rows(),
            Purpose::Anomalies => self.analytics.anomalies = rows(),
            Purpose::Save => {
                self.overlay = None;
                self.set_status("saved", false);
                return self.load_tab();
            }
            Purpose::Deleted => {
                self.set_status("deleted", false);
                return self.load_tab();
            }
            Purpose::BackupDone => {
                let summary = value.json().ok().flatten().unwrap_or_default();
                self.backup = BackupStatus {
                    running: false,
                    percent: 100,
                    ..BackupStatus::default()
                };
                self.set_status(
                    format!(
                        "backup {} written: {} records, {} bytes",
                        field_text(&summary, "name"),
                        summary["records"],
                        summary["bytes"]
                    ),
                    false,
                );
                if self.tab == Tab::Backup {
                    return self.load_tab();
                }
            }
            Purpose::Verified(name) => self.set_status(
                format!("backup {name} verified: every chunk and the trailer check out"),
                false,
            ),
            Purpose::Info => {
                let info = value.as_text().unwrap_or_default();
                if info_field(&info, "backup_in_progress") == 1 {
                    self.backup = BackupStatus {
                        running: true,
                        percent: info_field(&info, "backup_progress"),
                        records: info_field(&info, "backup_records"),
                        bytes: info_field(&info, "backup_bytes"),
                    };
                }
            }
            Purpose::JournalPage => self.journal.take(rows(), true),
            Purpose::JournalMore => self.journal.take(rows(), false),
            Purpose::Feed => return self.on_feed(),
            Purpose::JournalVerified => {
                let message = format!(
                    "journal verified: the chain of {} entries holds",
                    self.journal.last_seq()
                );
                self.journal.verified = Some((true, message.clone()));
                self.set_status(message, false);
            }
            Purpose::Duplicates => {
                self.duplicates.pairs = rows();
                self.duplicates.move_by(0);
                return self.load_pair();
            }
            Purpose::PairRecord(id) => {
                if let Some(record) = value.json().ok().flatten() {
                    self.duplicates.records.insert(id, record);
                }
            }
            Purpose::Merged(other) => {
                self.duplicates.merged_away.push(other);
                self.duplicates.records.clear();
                self.set_status(format!("customer {other} merged (u to undo)"), false);
                return self.load_tab();
            }
            Purpose::Unmerged(other) => {
                self.duplicates.merged_away.retain(|id| *id != other);
                self.duplicates.records.clear();
                self.set_status(format!("customer {other} is back"), false);
                return self.load_tab();
            }
        }
        Vec::new()
    }

    /// A blocked read of the feed returned: fetch what is new, and block again while the
    /// Journal tab is open.
    fn on_feed(&mut self) -> Outgoing {
        self.journal.following = false;
        if self.tab != Tab::Journal {
            return Vec::new();
        }
        let mut outgoing = match self.journal.request(self.journal.last_seq()) {
            Ok(args) => vec![on_lane(Lane::Main, Purpose::JournalMore, args)],
            Err(_) => Vec::new(),
        };
        outgoing.extend(self.follow_feed());
        self.send(outgoing)
    }

    fn on_error(&mut self, purpose: Purpose, message: String) -> Outgoing {
        match purpose {
            Purpose::Login => {
                if !self.logging_in() {
                    self.overlay = Some(Overlay::Login(Login::default()));
                }
                if let Some(Overlay::Login(login)) = &mut self.overlay {
                    login.error = Some(message);
                    login.password.clear();
                    login.focus = 1;
                }
                // The other lanes' logins failed too; count them once.
                self.waiting = 0;
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
                self.backup.running = false;
                self.set_status(message, true);
            }
            Purpose::Feed => self.journal.following = false,
            Purpose::JournalVerified => {
                self.journal.verified = Some((false, message.clone()));
                self.set_status(message, true);
            }
            _ => self.set_status(message, true),
        }
        Vec::new()
    }
}
