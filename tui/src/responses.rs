//! Where each reply goes: [`App::on_response`] puts a worker's answer into the right tab's
//! state (and its message on that tab's status line), and may ask for more (a page after a
//! save, the next step of a walk, the next blocked read of the feed).

use crate::app::{command, on_lane, App, Lane, Outgoing};
use crate::format::field_text;
use crate::net::{info_field, NodeRole, Purpose, Response};
use crate::screens;
use crate::screens::backup::BackupStatus;
use crate::tab::Tab;
use crm_server::client::Value;
use crm_server::request::Command;

impl App {
    /// Takes a worker's answer into the state; may ask for more.
    pub fn on_response(&mut self, response: Response) -> Outgoing {
        if response.purpose != Purpose::Feed {
            self.waiting = self.waiting.saturating_sub(1);
        }
        if response.purpose == Purpose::Role {
            if let Some(node) = NodeRole::from_reply(&response.result) {
                self.node = Some(node);
                return Vec::new();
            }
        }
        let tab = response.purpose.tab().unwrap_or(self.tab);
        let value = match response.result {
            Ok(value) => value,
            Err(message) => return self.on_error(response.purpose, tab, message),
        };
        let rows = || value.json_array().unwrap_or_default();
        match response.purpose {
            Purpose::Login => {
                let address = value.as_text().unwrap_or_else(|| self.address.clone());
                return self.connected(address);
            }
            Purpose::LaneUp | Purpose::Role => {}
            Purpose::Probe(role) => {
                self.probes.answer(role, true);
                if role == crate::role::Role::Admin {
                    self.take_info(&value);
                }
                return self.role_known();
            }
            Purpose::Counts => self.take_info(&value),
            Purpose::Count(tab) => {
                let total = value.integer().ok().and_then(|n| u64::try_from(n).ok());
                match tab {
                    Tab::Customers => self.customers.page.total = total,
                    _ => self.products.page.total = total,
                }
            }
            Purpose::CustomersPage => {
                self.customers.page.arrived(rows(), &self.customers.columns);
                // An open detail follows the selection onto the new page, or is read again.
                let shown = self.customers.search.is_none();
                let requests = self.customers.rows_reloaded(shown);
                return self.send_detail(requests);
            }
            Purpose::ProductsPage => {
                let rows = rows();
                self.remember_products(&rows);
                self.products.page.arrived(rows, &self.products.columns);
                let requests = self.products.follow_selection();
                return self.send_detail(requests);
            }
            Purpose::OrdersPage => self.orders.page.arrived(rows(), &screens::orders::COLUMNS),
            Purpose::QueryPage(tab) => {
                return self.query_page_arrived(tab, &value);
            }
            Purpose::Walk(tab) => return self.continue_walk(tab, rows()),
            Purpose::ProductSearch(query) => {
                let rows = rows();
                self.remember_products(&rows);
                let next = self.products.searched(&query, rows);
                let mut requests = self.products.follow_selection();
                match next {
                    Some(next) => requests.push((Purpose::ProductSearch(query), next.into())),
                    None => {
                        let found = self.products.rows().len();
                        self.say(tab, format!("{found} found for \"{query}\""), false);
                    }
                }
                return self.send_detail(requests);
            }
            Purpose::ProductName(id) => {
                if let Some(product) = value.json().ok().flatten() {
                    self.product_names.insert(id, field_text(&product, "name"));
                }
            }
            Purpose::Backups => self.backups.take(rows()),
            Purpose::Search => {
                if let Some(message) = self.customers.found(rows()) {
                    self.say(tab, message, false);
                }
                let requests = self.customers.rows_reloaded(true);
                return self.send_detail(requests);
            }
            Purpose::DetailOrders(id) => {
                let orders = rows();
                if let Some(detail) = self.customers.detail_of(id) {
                    detail.take_orders(orders);
                    return self.name_products(id);
                }
            }
            Purpose::DetailStats(id) => {
                if let Some(detail) = self.customers.detail_of(id) {
                    detail.stats = value.json().ok().flatten();
                }
            }
            Purpose::DetailRecord(id) => match value.json().ok().flatten() {
                Some(record) => self.customers.take_record(id, &record),
                None => self.say(tab, format!("customer {id} no longer exists"), true),
            },
            Purpose::Revealed(id) => match value.json().ok().flatten() {
                Some(plain) => {
                    if let Some(detail) = self.customers.detail_of(id) {
                        detail.customer = plain;
                        detail.revealed = true;
                    }
                    self.say(tab, format!("customer {id} revealed (journaled)"), false);
                }
                None => self.say(tab, format!("customer {id} no longer exists"), true),
            },
            Purpose::Exported(path) => self.say(
                tab,
                format!(
                    "exported to {path} ({})",
                    value.as_text().unwrap_or_default()
                ),
                false,
            ),
            Purpose::Forgotten(id) => {
                self.customers.detail = None;
                self.say(tab, format!("customer {id} forgotten for good"), false);
                return self.load_tab();
            }
            Purpose::TopCustomers => self.analytics.top_customers = rows(),
            Purpose::Monthly => self.analytics.monthly = rows(),
            Purpose::Rfm => self.analytics.rfm = rows(),
            Purpose::Clusters => self.analytics.clusters = rows(),
            Purpose::Anomalies => self.analytics.anomalies = rows(),
            Purpose::Forecast => self.analytics.forecast = value.json().ok().flatten(),
            Purpose::Churn => self.analytics.churn = value.json().ok().flatten(),
            Purpose::Save => {
                self.overlay = None;
                self.set_status("saved", false);
                let mut outgoing = self.load_tab();
                outgoing.extend(self.read_detail_again());
                return outgoing;
            }
            Purpose::Deleted => {
                self.set_status("deleted", false);
                return self.load_tab();
            }
            Purpose::BackupDone => {
                let summary = value.json().ok().flatten().unwrap_or_default();
                self.backups.status = BackupStatus {
                    running: false,
                    percent: 100,
                    ..BackupStatus::default()
                };
                self.say(
                    tab,
                    format!(
                        "backup {} written: {} records, {}",
                        field_text(&summary, "name"),
                        summary["records"],
                        crate::format::human_bytes(summary["bytes"].as_u64().unwrap_or(0))
                    ),
                    false,
                );
                if self.tab == Tab::Backup {
                    return self.load_tab();
                }
            }
            Purpose::Verified(name) => self.say(
                tab,
                format!("backup {name} verified: every chunk and the trailer check out"),
                false,
            ),
            Purpose::Info => self.take_info(&value),
            Purpose::JournalHead => {
                let head = value
                    .json()
                    .ok()
                    .flatten()
                    .and_then(|h| h["seq"].as_u64())
                    .unwrap_or(0);
                return self.journal_window(head + 1);
            }
            Purpose::JournalWindow { before, span } => {
                if let Some(wider) = self.journal.take_window(rows(), before, span) {
                    return match self.journal.window_request(before, wider) {
                        Ok(request) => {
                            let purpose = Purpose::JournalWindow {
                                before,
                                span: wider,
                            };
                            let outgoing = vec![command(purpose, request)];
                            self.send(outgoing)
                        }
                        Err(_) => Vec::new(),
                    };
                }
            }
            Purpose::JournalNewer => {
                self.journal.take_newer(rows());
                if !self.journal.older {
                    let outgoing = self.follow_feed();
                    return self.send(outgoing);
                }
            }
            Purpose::JournalMore => self.journal.take_more(rows()),
            Purpose::Feed => return self.on_feed(),
            Purpose::JournalVerified => {
                let message = "journal verified: the whole chain holds".to_string();
                self.journal.verified = Some((true, message.clone()));
                self.say(tab, message, false);
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
                self.say(tab, format!("customer {other} merged (u to undo)"), false);
                return self.load_tab();
            }
            Purpose::Schema => {
                self.schema.take(rows());
                return self.recolumn();
            }
            Purpose::ProductSales { product, after } => {
                let requests = self.products.sales.take(product, after, &rows());
                return self.send_detail(requests);
            }
            Purpose::SchemaChanged(message) => {
                self.say(tab, message, false);
                let outgoing = vec![command(Purpose::Schema, screens::schema::Schema::request())];
                return self.send(outgoing);
            }
            Purpose::Unmerged(other) => {
                self.duplicates.merged_away.retain(|id| *id != other);
                self.duplicates.records.clear();
                self.say(tab, format!("customer {other} is back"), false);
                return self.load_tab();
            }
        }
        Vec::new()
    }

    /// `INFO`: the counts behind "page 7 of 42", a running backup, a follower's lag.
    fn take_info(&mut self, value: &Value) {
        let info = value.as_text().unwrap_or_default();
        let has = |key: &str| info.lines().any(|l| l.starts_with(&format!("{key}:")));
        if has("customers") {
            // A table a query narrows has its own count (`*.COUNT WHERE ...`).
            if !crate::query::narrows(self.customers.query.as_ref()) {
                self.customers.page.total = Some(info_field(&info, "customers"));
            }
            if !crate::query::narrows(self.products.query.as_ref()) {
                self.products.page.total = Some(info_field(&info, "products"));
            }
            if self.orders.filter.is_empty() {
                self.orders.page.total = Some(info_field(&info, "orders"));
            }
        }
        self.lag_entries = has("lag_entries").then(|| info_field(&info, "lag_entries"));
        if info_field(&info, "backup_in_progress") == 1 {
            self.backups.status = BackupStatus {
                running: true,
                percent: info_field(&info, "backup_progress"),
                records: info_field(&info, "backup_records"),
                bytes: info_field(&info, "backup_bytes"),
            };
        }
    }

    /// Every probe answered: a tab the role may not use says so (and its requests stop).
    pub(crate) fn role_known(&mut self) -> Outgoing {
        let Some(role) = self.role() else {
            return Vec::new();
        };
        if role < crate::role::Role::Admin {
            self.counts_by_info = false;
        }
        if role < App::tab_needs(self.tab) {
            return self.load_tab();
        }
        Vec::new()
    }

    /// After a save on the Customers tab: the open detail's customer read again, as the
    /// table's reload does not when it shows search results (or the row left the page).
    fn read_detail_again(&mut self) -> Outgoing {
        let Some(id) = self
            .customers
            .detail_id()
            .filter(|_| self.tab == Tab::Customers)
        else {
            return Vec::new();
        };
        let outgoing = vec![command(
            Purpose::DetailRecord(id),
            Command::customer_get(id),
        )];
        self.send(outgoing)
    }

    /// Keeps product names seen, for the customer detail.
    pub(crate) fn remember_products(&mut self, rows: &[serde_json::Value]) {
        for row in rows {
            if let Some(id) = row["id"].as_u64() {
                self.product_names.insert(id, field_text(row, "name"));
            }
        }
    }

    /// Asks for the names of the products in customer `id`'s orders not known yet.
    fn name_products(&mut self, id: u64) -> Outgoing {
        let mut missing: Vec<u64> = self
            .customers
            .detail_of(id)
            .map(|d| {
                d.orders
                    .iter()
                    .filter_map(|o| o["product_id"].as_u64())
                    .collect()
            })
            .unwrap_or_default();
        missing.sort_unstable();
        missing.dedup();
        missing.retain(|p| !self.product_names.contains_key(p));
        let outgoing = missing
            .into_iter()
            .map(|p| command(Purpose::ProductName(p), Command::product_get(p)))
            .collect();
        self.send(outgoing)
    }

    /// The schema arrived: the Customers and Products tables take its custom fields as
    /// columns, and the one shown is asked for again if its sort's field is gone.
    fn recolumn(&mut self) -> Outgoing {
        let customers = self.customers.columns.set_custom(
            self.schema.custom_columns("customer"),
            &mut self.customers.page,
            &mut self.customers.query,
        );
        let products = self.products.columns.set_custom(
            self.schema.custom_columns("product"),
            &mut self.products.page,
            &mut self.products.query,
        );
        let shown = match self.tab {
            Tab::Customers => customers,
            Tab::Products => products,
            _ => false,
        };
        if shown {
            self.set_status(
                "the sort's field is gone: back to the server's order",
                false,
            );
            return self.load_tab();
        }
        Vec::new()
    }

    /// One read of the way to the last page arrived: the next, or the last page shown.
    fn continue_walk(&mut self, tab: Tab, rows: Vec<serde_json::Value>) -> Outgoing {
        let (page, columns): (_, &[crate::screens::table::Column]) = match tab {
            Tab::Customers => (&mut self.customers.page, &self.customers.columns),
            Tab::Products => (&mut self.products.page, &self.products.columns),
            _ => (&mut self.orders.page, &screens::orders::COLUMNS),
        };
        match page.walked(rows, columns) {
            Some(after) if self.tab == tab => self.walk_request(after),
            Some(_) => {
                page.failed();
                Vec::new()
            }
            None => {
                self.say(tab, "the last page", false);
                Vec::new()
            }
        }
    }

    /// A blocked read of the feed returned: fetch what is new, and block again while the
    /// Journal tab shows the latest entries.
    fn on_feed(&mut self) -> Outgoing {
        self.journal.following = false;
        if self.tab != Tab::Journal || self.journal.older {
            return Vec::new();
        }
        let mut outgoing = match self
            .journal
            .request(self.journal.last_seq(), screens::journal::SHOWN)
        {
            Ok(args) => vec![on_lane(Lane::Main, Purpose::JournalMore, args)],
            Err(_) => Vec::new(),
        };
        outgoing.extend(self.follow_feed());
        self.send(outgoing)
    }
}
