//! The console's state and what each intent does to it. No I/O here: intents return the
//! requests to send, and replies come back through [`App::on_response`].

use crate::action::Action;
use crate::net::{Purpose, Request, Response};
use serde_json::Value as Json;

/// The tabs, in order.
pub const TABS: [&str; 6] = [
    "Customers",
    "Products",
    "Orders",
    "Analytics",
    "Backup",
    "Help",
];
const CUSTOMERS: usize = 0;
const PRODUCTS: usize = 1;
const ORDERS: usize = 2;
const ANALYTICS: usize = 3;
const BACKUP: usize = 4;
const HELP: usize = 5;
/// Rows fetched per page.
pub const PAGE_SIZE: usize = 20;

/// How keys are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// A prompt, form or the login screen has the keyboard.
    Typing,
    /// A yes/no question is open.
    Confirming,
}

/// Which worker a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Main,
    Long,
}

/// A page of records fetched with `AFTER` / `LIMIT`, never the whole table.
#[derive(Debug, Default, Clone)]
pub struct Page {
    pub rows: Vec<Json>,
    pub selected: usize,
    /// The `AFTER` cursor of each page visited; the last is the current page's.
    pub cursors: Vec<u64>,
}

impl Page {
    pub fn after(&self) -> u64 {
        self.cursors.last().copied().unwrap_or(0)
    }

    pub fn selected_row(&self) -> Option<&Json> {
        self.rows.get(self.selected)
    }

    fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            self.selected = 0;
            return;
        }
        let last = self.rows.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
    }
}

/// One input field of a form, with the server's complaint about it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub label: &'static str,
    /// The protocol keyword (`NAME`, `EMAIL`, ...); the error's field name is its lower case.
    pub keyword: &'static str,
    pub value: String,
    pub error: Option<String>,
}

/// What a form adds or edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    NewCustomer,
    EditCustomer(u64),
    NewProduct,
    EditProduct(u64),
}

/// An add or edit form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub kind: FormKind,
    pub fields: Vec<Field>,
    pub focus: usize,
}

impl Form {
    fn field(label: &'static str, keyword: &'static str, value: &str) -> Field {
        Field {
            label,
            keyword,
            value: value.to_string(),
            error: None,
        }
    }

    pub fn title(&self) -> &'static str {
        match self.kind {
            FormKind::NewCustomer => "New customer",
            FormKind::EditCustomer(_) => "Edit customer",
            FormKind::NewProduct => "New product",
            FormKind::EditProduct(_) => "Edit product",
        }
    }

    /// The request that saves the form.
    fn command(&self) -> Vec<String> {
        let mut args: Vec<String> = match self.kind {
            FormKind::NewCustomer => vec!["CUSTOMER.ADD".into()],
            FormKind::EditCustomer(id) => vec!["CUSTOMER.UPDATE".into(), id.to_string()],
            FormKind::NewProduct => vec!["PRODUCT.ADD".into()],
            FormKind::EditProduct(id) => vec!["PRODUCT.UPDATE".into(), id.to_string()],
        };
        let adding = matches!(self.kind, FormKind::NewCustomer | FormKind::NewProduct);
        for field in &self.fields {
            // An add leaves optional fields out; an edit sends them all (empty clears).
            if adding
                && field.value.trim().is_empty()
                && !matches!(field.keyword, "NAME" | "EMAIL" | "PRICE")
            {
                continue;
            }
            args.push(field.keyword.to_string());
            args.push(field.value.clone());
        }
        args
    }

    /// Puts a server error at the field it names (`INVALID email: ...`); false if none matches.
    fn show_error(&mut self, message: &str) -> bool {
        let detail = message.split_once(' ').map_or(message, |(_, rest)| rest);
        let lower = detail.to_lowercase();
        for field in &mut self.fields {
            field.error = None;
        }
        for (i, field) in self.fields.iter_mut().enumerate() {
            let name = field.keyword.to_lowercase();
            if lower.starts_with(&format!("{name}:")) || lower.starts_with(&format!("{name} ")) {
                field.error = Some(message.to_string());
                self.focus = i;
                return true;
            }
        }
        false
    }
}

/// A customer opened with Enter: the record, its orders and its `STATS.CUSTOMER`.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    pub customer: Json,
    pub orders: Vec<Json>,
    pub stats: Option<Json>,
}

/// What the Analytics tab shows.
#[derive(Debug, Clone, Default)]
pub struct Analytics {
    pub top_customers: Vec<Json>,
    pub monthly: Vec<Json>,
    pub rfm: Vec<Json>,
    pub clusters: Vec<Json>,
    pub anomalies: Vec<Json>,
}

/// The login screen.
#[derive(Debug, Clone, Default)]
pub struct Login {
    pub user: String,
    pub password: String,
    /// 0: user, 1: password.
    pub focus: usize,
    pub error: Option<String>,
}

/// A running or finished backup, as `INFO` reports it.
#[derive(Debug, Clone, Default)]
pub struct BackupStatus {
    pub running: bool,
    pub percent: u64,
    pub records: u64,
    pub bytes: u64,
}

/// The whole state of the console.
#[derive(Debug, Clone)]
pub struct App {
    pub address: String,
    pub tab: usize,
    pub running: bool,
    pub login: Option<Login>,
    /// The last message for the status bar, and whether it is an error.
    pub status: Option<(String, bool)>,
    /// Requests sent and not answered yet (drives the spinner).
    pub waiting: usize,
    pub tick: usize,
    pub customers: Page,
    /// The search prompt while typing.
    pub search_input: Option<String>,
    /// The last search and its results (shown instead of the page until Esc).
    pub search: Option<(String, Vec<Json>)>,
    pub detail: Option<Detail>,
    pub form: Option<Form>,
    /// A yes/no question and the request to send on yes.
    pub confirm: Option<(String, Vec<String>)>,
    pub products: Page,
    pub orders: Page,
    /// The orders filter in force (`customer 7`, `product 3 since 2026-01-01`...).
    pub order_filter: String,
    pub filter_input: Option<String>,
    pub analytics: Analytics,
    pub backups: Page,
    pub backup: BackupStatus,
}

/// A request and the worker it goes to.
pub type Outgoing = Vec<(Lane, Request)>;

fn command(purpose: Purpose, args: &[&str]) -> (Lane, Request) {
    (
        Lane::Main,
        Request::Command {
            purpose,
            args: args.iter().map(|s| s.to_string()).collect(),
        },
    )
}

fn text(value: &Json, key: &str) -> String {
    match &value[key] {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

impl App {
    /// A fresh console for `address`; `login` opens on the login screen.
    pub fn new(address: &str, user: &str) -> App {
        App {
            address: address.to_string(),
            tab: CUSTOMERS,
            running: true,
            login: Some(Login {
                user: user.to_string(),
                ..Login::default()
            }),
            status: None,
            waiting: 0,
            tick: 0,
            customers: Page::default(),
            search_input: None,
            search: None,
            detail: None,
            form: None,
            confirm: None,
            products: Page::default(),
            orders: Page::default(),
            order_filter: String::new(),
            filter_input: None,
            analytics: Analytics::default(),
            backups: Page::default(),
            backup: BackupStatus::default(),
        }
    }

    /// How keys are read now.
    pub fn mode(&self) -> Mode {
        if self.confirm.is_some() {
            Mode::Confirming
        } else if self.login.is_some()
            || self.form.is_some()
            || self.search_input.is_some()
            || self.filter_input.is_some()
        {
            Mode::Typing
        } else {
            Mode::Normal
        }
    }

    /// The request that logs in with what the login screen holds.
    pub fn submit_login(&mut self) -> Outgoing {
        let Some(login) = &self.login else {
            return Vec::new();
        };
        let connect = |user: &str, password: &str| Request::Connect {
            address: self.address.clone(),
            user: user.to_string(),
            password: zeroize::Zeroizing::new(password.to_string()),
        };
        self.waiting += 2;
        vec![
            (Lane::Main, connect(&login.user, &login.password)),
            (Lane::Long, connect(&login.user, &login.password)),
        ]
    }

    fn send(&mut self, outgoing: Outgoing) -> Outgoing {
        self.waiting += outgoing.len();
        outgoing
    }

    fn set_status(&mut self, message: impl Into<String>, error: bool) {
        self.status = Some((message.into(), error));
    }

    /// The requests that (re)load what the current tab shows.
    pub fn load_tab(&mut self) -> Outgoing {
        let outgoing = match self.tab {
            CUSTOMERS => vec![self.customers_page()],
            PRODUCTS => vec![command(
                Purpose::ProductsPage,
                &[
                    "PRODUCT.LIST",
                    "AFTER",
                    &self.products.after().to_string(),
                    "LIMIT",
                    &PAGE_SIZE.to_string(),
                ],
            )],
            ORDERS => match self.orders_request() {
                Ok(request) => vec![request],
                Err(message) => {
                    self.set_status(message, true);
                    Vec::new()
                }
            },
            ANALYTICS => vec![
                command(
                    Purpose::TopCustomers,
                    &["STATS.CUSTOMERS", "BY", "TOTAL", "LIMIT", "10"],
                ),
                command(Purpose::Monthly, &["STATS.MONTHLY"]),
                command(Purpose::Rfm, &["STATS.RFM"]),
                command(
                    Purpose::Clusters,
                    &["STATS.CLUSTERS", "K", "4", "SEED", "1"],
                ),
                command(Purpose::Anomalies, &["STATS.ANOMALIES", "LIMIT", "10"]),
            ],
            BACKUP => vec![
                command(Purpose::Backups, &["BACKUP.LIST"]),
                command(Purpose::Info, &["INFO"]),
            ],
            _ => Vec::new(),
        };
        self.send(outgoing)
    }

    fn customers_page(&self) -> (Lane, Request) {
        command(
            Purpose::CustomersPage,
            &[
                "CUSTOMER.LIST",
                "AFTER",
                &self.customers.after().to_string(),
                "LIMIT",
                &PAGE_SIZE.to_string(),
            ],
        )
    }

    /// Builds `ORDER.LIST` from the filter text: `customer 7`, `product 3`, `since T`, `until T`.
    fn orders_request(&self) -> Result<(Lane, Request), String> {
        let words: Vec<&str> = self.order_filter.split_whitespace().collect();
        let mut scope = vec!["ALL".to_string()];
        let mut extra: Vec<String> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let value = words
                .get(i + 1)
                .ok_or_else(|| format!("filter: '{}' needs a value", words[i]))?;
            match words[i].to_ascii_lowercase().as_str() {
                "customer" => scope = vec!["CUSTOMER".into(), value.to_string()],
                "product" => scope = vec!["PRODUCT".into(), value.to_string()],
                "since" => extra.extend(["SINCE".to_string(), value.to_string()]),
                "until" => extra.extend(["UNTIL".to_string(), value.to_string()]),
                other => {
                    return Err(format!(
                        "filter: unknown word '{other}' (customer, product, since, until)"
                    ))
                }
            }
            i += 2;
        }
        let mut args = vec!["ORDER.LIST".to_string()];
        args.extend(scope);
        args.extend(extra);
        args.extend([
            "AFTER".to_string(),
            self.orders.after().to_string(),
            "LIMIT".to_string(),
            PAGE_SIZE.to_string(),
        ]);
        Ok((
            Lane::Main,
            Request::Command {
                purpose: Purpose::OrdersPage,
                args,
            },
        ))
    }

    fn page_mut(&mut self) -> Option<&mut Page> {
        match self.tab {
            CUSTOMERS if self.search.is_none() => Some(&mut self.customers),
            PRODUCTS => Some(&mut self.products),
            ORDERS => Some(&mut self.orders),
            BACKUP => Some(&mut self.backups),
            _ => None,
        }
    }

    /// The rows the Customers tab shows: search results, or the page.
    pub fn customer_rows(&self) -> &[Json] {
        match &self.search {
            Some((_, rows)) => rows,
            None => &self.customers.rows,
        }
    }

    fn selected_customer(&self) -> Option<Json> {
        self.customer_rows().get(self.customers.selected).cloned()
    }

    /// Applies one intent; returns the requests to send.
    pub fn apply(&mut self, action: Action) -> Outgoing {
        if self.login.is_some() {
            return self.apply_login(action);
        }
        if self.form.is_some() {
            return self.apply_form(action);
        }
        if let Some((_, request)) = self.confirm.clone() {
            self.confirm = None;
            return match action {
                Action::Confirm => {
                    let refs: Vec<&str> = request.iter().map(String::as_str).collect();
                    let outgoing = vec![command(Purpose::Deleted, &refs)];
                    self.send(outgoing)
                }
                _ => Vec::new(),
            };
        }
        if self.search_input.is_some() || self.filter_input.is_some() {
            return self.apply_prompt(action);
        }
        match action {
            Action::Quit => {
                self.running = false;
                Vec::new()
            }
            Action::NextTab => self.go_to((self.tab + 1) % TABS.len()),
            Action::PreviousTab => self.go_to((self.tab + TABS.len() - 1) % TABS.len()),
            Action::GoToTab(tab) => self.go_to(tab.min(TABS.len() - 1)),
            Action::ToggleHelp => self.go_to(if self.tab == HELP { CUSTOMERS } else { HELP }),
            Action::Up | Action::Down => {
                let delta = if action == Action::Up { -1 } else { 1 };
                if self.tab == CUSTOMERS && self.search.is_some() {
                    let len = self.customer_rows().len();
                    self.customers.selected = (self.customers.selected as isize + delta)
                        .clamp(0, len.saturating_sub(1) as isize)
                        as usize;
                } else if let Some(page) = self.page_mut() {
                    page.move_by(delta);
                }
                Vec::new()
            }
            Action::NextPage => {
                if let Some(page) = self.page_mut() {
                    let last_id = page.rows.last().and_then(|r| r["id"].as_u64());
                    match last_id {
                        Some(id) if page.rows.len() >= PAGE_SIZE => page.cursors.push(id),
                        _ => return Vec::new(),
                    }
                }
                self.load_tab()
            }
            Action::PreviousPage => {
                if let Some(page) = self.page_mut() {
                    if page.cursors.pop().is_none() {
                        return Vec::new();
                    }
                }
                self.load_tab()
            }
            Action::Refresh => self.load_tab(),
            Action::StartInput => {
                match self.tab {
                    CUSTOMERS => self.search_input = Some(String::new()),
                    ORDERS => self.filter_input = Some(self.order_filter.clone()),
                    _ => {}
                }
                Vec::new()
            }
            Action::Submit if self.tab == CUSTOMERS => self.open_detail(),
            Action::Cancel => {
                if self.detail.take().is_none() {
                    self.search = None;
                    self.customers.selected = 0;
                }
                Vec::new()
            }
            Action::Add => self.open_form(None),
            Action::Edit => self.open_form(Some(())),
            Action::Delete => {
                self.ask_delete();
                Vec::new()
            }
            Action::StartBackup if self.tab == BACKUP => {
                if self.backup.running {
                    self.set_status("a backup is already running", true);
                    return Vec::new();
                }
                self.backup = BackupStatus {
                    running: true,
                    ..BackupStatus::default()
                };
                self.set_status("backup started", false);
                let outgoing = vec![(
                    Lane::Long,
                    Request::Command {
                        purpose: Purpose::BackupDone,
                        args: vec!["BACKUP".into()],
                    },
                )];
                self.send(outgoing)
            }
            Action::VerifyBackup if self.tab == BACKUP => {
                let Some(name) = self.backups.selected_row().map(|r| text(r, "name")) else {
                    return Vec::new();
                };
                let outgoing = vec![command(
                    Purpose::Verified(name.clone()),
                    &["BACKUP.VERIFY", &name],
                )];
                self.send(outgoing)
            }
            _ => Vec::new(),
        }
    }

    fn go_to(&mut self, tab: usize) -> Outgoing {
        self.tab = tab;
        self.detail = None;
        self.load_tab()
    }

    fn open_detail(&mut self) -> Outgoing {
        let Some(customer) = self.selected_customer() else {
            return Vec::new();
        };
        let Some(id) = customer["id"].as_u64() else {
            return Vec::new();
        };
        self.detail = Some(Detail {
            customer,
            orders: Vec::new(),
            stats: None,
        });
        let id_text = id.to_string();
        let outgoing = vec![
            command(
                Purpose::DetailOrders(id),
                &["ORDER.LIST", "CUSTOMER", &id_text, "LIMIT", "50"],
            ),
            command(Purpose::DetailStats(id), &["STATS.CUSTOMER", &id_text]),
        ];
        self.send(outgoing)
    }

    fn open_form(&mut self, edit: Option<()>) -> Outgoing {
        let selected = match self.tab {
            CUSTOMERS => self.selected_customer(),
            PRODUCTS => self.products.selected_row().cloned(),
            _ => return Vec::new(),
        };
        let editing = edit
            .and(selected.clone())
            .and_then(|row| row["id"].as_u64().map(|id| (id, row)));
        if edit.is_some() && editing.is_none() {
            return Vec::new();
        }
        let value = |key: &str| {
            editing
                .as_ref()
                .map(|(_, row)| text(row, key))
                .unwrap_or_default()
        };
        self.form = Some(match self.tab {
            CUSTOMERS => Form {
                kind: editing
                    .as_ref()
                    .map_or(FormKind::NewCustomer, |(id, _)| FormKind::EditCustomer(*id)),
                fields: vec![
                    Form::field("Name", "NAME", &value("name")),
                    Form::field("Email", "EMAIL", &value("email")),
                    Form::field("Phone", "PHONE", &value("phone")),
                    Form::field("Address", "ADDRESS", &value("address")),
                ],
                focus: 0,
            },
            _ => Form {
                kind: editing
                    .as_ref()
                    .map_or(FormKind::NewProduct, |(id, _)| FormKind::EditProduct(*id)),
                fields: vec![
                    Form::field("Name", "NAME", &value("name")),
                    Form::field("Price", "PRICE", &value("price")),
                    Form::field("Stock", "STOCK", &value("stock")),
                ],
                focus: 0,
            },
        });
        Vec::new()
    }

    fn ask_delete(&mut self) {
        let (kind, row) = match self.tab {
            CUSTOMERS => ("CUSTOMER", self.selected_customer()),
            PRODUCTS => ("PRODUCT", self.products.selected_row().cloned()),
            _ => return,
        };
        if let Some(id) = row.and_then(|r| r["id"].as_u64()) {
            self.confirm = Some((
                format!("Delete {} {id}? (y/n)", kind.to_lowercase()),
                vec![format!("{kind}.DEL"), id.to_string()],
            ));
        }
    }

    fn apply_login(&mut self, action: Action) -> Outgoing {
        let Some(login) = self.login.as_mut() else {
            return Vec::new();
        };
        match action {
            Action::Quit | Action::Cancel => self.running = false,
            Action::NextField => login.focus = 1 - login.focus,
            Action::Type(c) => {
                if login.focus == 0 {
                    login.user.push(c)
                } else {
                    login.password.push(c)
                }
            }
            Action::Backspace => {
                if login.focus == 0 {
                    login.user.pop();
                } else {
                    login.password.pop();
                }
            }
            Action::Submit => {
                if login.focus == 0 {
                    login.focus = 1;
                } else {
                    login.error = None;
                    return self.submit_login();
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn apply_form(&mut self, action: Action) -> Outgoing {
        let Some(form) = self.form.as_mut() else {
            return Vec::new();
        };
        match action {
            Action::Cancel => self.form = None,
            Action::Quit => self.running = false,
            Action::NextField => form.focus = (form.focus + 1) % form.fields.len(),
            Action::Type(c) => form.fields[form.focus].value.push(c),
            Action::Backspace => {
                form.fields[form.focus].value.pop();
            }
            Action::Submit => {
                let args = form.command();
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let outgoing = vec![command(Purpose::Save, &refs)];
                return self.send(outgoing);
            }
            _ => {}
        }
        Vec::new()
    }

    fn apply_prompt(&mut self, action: Action) -> Outgoing {
        let searching = self.search_input.is_some();
        let Some(input) = (if searching {
            self.search_input.as_mut()
        } else {
            self.filter_input.as_mut()
        }) else {
            return Vec::new();
        };
        match action {
            Action::Type(c) => input.push(c),
            Action::Backspace => {
                input.pop();
            }
            Action::Cancel => {
                self.search_input = None;
                self.filter_input = None;
            }
            Action::Submit => {
                let query = input.trim().to_string();
                self.search_input = None;
                self.filter_input = None;
                if searching {
                    if query.is_empty() {
                        self.search = None;
                        return Vec::new();
                    }
                    let by = search_kind(&query);
                    let outgoing = vec![command(Purpose::Search, &["CUSTOMER.FIND", by, &query])];
                    self.search = Some((query, Vec::new()));
                    self.customers.selected = 0;
                    return self.send(outgoing);
                }
                self.order_filter = query;
                self.orders.cursors.clear();
                self.orders.selected = 0;
                return self.load_tab();
            }
            _ => {}
        }
        Vec::new()
    }

    /// Takes a worker's answer into the state; may ask for more.
    pub fn on_response(&mut self, response: Response) -> Outgoing {
        self.waiting = self.waiting.saturating_sub(1);
        let value = match response.result {
            Ok(value) => value,
            Err(message) => return self.on_error(response.purpose, message),
        };
        let rows = || value.json_array().unwrap_or_default();
        match response.purpose {
            Purpose::Login => {
                if self.login.take().is_some() {
                    self.set_status(format!("connected to {}", self.address), false);
                    return self.load_tab();
                }
            }
            Purpose::CustomersPage => set_rows(&mut self.customers, rows()),
            Purpose::ProductsPage => set_rows(&mut self.products, rows()),
            Purpose::OrdersPage => set_rows(&mut self.orders, rows()),
            Purpose::Backups => set_rows(&mut self.backups, rows()),
            Purpose::Search => {
                let found = rows();
                if let Some((query, results)) = self.search.as_mut() {
                    let message = format!("{} found for \"{query}\"", found.len());
                    *results = found;
                    self.set_status(message, false);
                }
            }
            Purpose::DetailOrders(id) => {
                if let Some(detail) = self
                    .detail
                    .as_mut()
                    .filter(|d| d.customer["id"].as_u64() == Some(id))
                {
                    detail.orders = rows();
                }
            }
            Purpose::DetailStats(id) => {
                if let Some(detail) = self
                    .detail
                    .as_mut()
                    .filter(|d| d.customer["id"].as_u64() == Some(id))
                {
                    detail.stats = value.json().ok().flatten();
                }
            }
            Purpose::TopCustomers => self.analytics.top_customers = rows(),
            Purpose::Monthly => self.analytics.monthly = rows(),
            Purpose::Rfm => self.analytics.rfm = rows(),
            Purpose::Clusters => self.analytics.clusters = rows(),
            Purpose::Anomalies => self.analytics.anomalies = rows(),
            Purpose::Save => {
                self.form = None;
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
                        text(&summary, "name"),
                        summary["records"],
                        summary["bytes"]
                    ),
                    false,
                );
                if self.tab == BACKUP {
                    return self.load_tab();
                }
            }
            Purpose::Verified(name) => self.set_status(
                format!("backup {name} verified: every chunk and the trailer check out"),
                false,
            ),
            Purpose::Info => {
                let info = value.as_text().unwrap_or_default();
                let field = |key: &str| {
                    info.lines()
                        .find_map(|l| {
                            l.strip_prefix(key)?
                                .strip_prefix(':')?
                                .trim()
                                .parse::<u64>()
                                .ok()
                        })
                        .unwrap_or(0)
                };
                if field("backup_in_progress") == 1 {
                    self.backup = BackupStatus {
                        running: true,
                        percent: field("backup_progress"),
                        records: field("backup_records"),
                        bytes: field("backup_bytes"),
                    };
                }
            }
        }
        Vec::new()
    }

    fn on_error(&mut self, purpose: Purpose, message: String) -> Outgoing {
        match purpose {
            Purpose::Login => {
                let login = self.login.get_or_insert_with(Login::default);
                login.error = Some(message);
                login.password.clear();
                login.focus = 1;
                // The other lane's login failed too; count it once.
                self.waiting = 0;
            }
            Purpose::Save => {
                let placed = self
                    .form
                    .as_mut()
                    .is_some_and(|form| form.show_error(&message));
                if !placed {
                    self.set_status(message, true);
                }
            }
            Purpose::BackupDone => {
                self.backup.running = false;
                self.set_status(message, true);
            }
            _ => self.set_status(message, true),
        }
        Vec::new()
    }

    /// Called about ten times a second: advances the spinner, polls a running backup.
    pub fn on_tick(&mut self) -> Outgoing {
        self.tick = self.tick.wrapping_add(1);
        if self.backup.running && self.tick.is_multiple_of(5) && self.login.is_none() {
            return self.send(vec![command(Purpose::Info, &["INFO"])]);
        }
        Vec::new()
    }
}

fn set_rows(page: &mut Page, rows: Vec<Json>) {
    page.rows = rows;
    page.selected = page.selected.min(page.rows.len().saturating_sub(1));
}

/// How a search query is meant: an email, a phone number, or name words.
pub fn search_kind(query: &str) -> &'static str {
    if query.contains('@') {
        "EMAIL"
    } else if query.chars().any(|c| c.is_ascii_digit())
        && query
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        "PHONE"
    } else {
        "NAME"
    }
}

/// A field of a JSON record as display text (money strings, numbers, null as empty).
pub fn field_text(value: &Json, key: &str) -> String {
    text(value, key)
}
