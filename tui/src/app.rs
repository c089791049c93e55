//! The console's state and what each intent does to it. No I/O here: intents return the
//! requests to send, and replies come back through [`App::on_response`] (`responses.rs`).
//! Each tab's state lives beside its widget in `screens/`; this file routes, and keeps what
//! every tab shares: the connection (`link.rs`), the role, the status lines.

use crate::action::Action;
use crate::format::field_text;
use crate::line_input::LineInput;
use crate::net::{NodeRole, Purpose, Request};
use crate::overlay::{Login, Overlay, Prompt, PromptKind};
use crate::role::{Probes, Role};
use crate::screens::analytics::Analytics;
use crate::screens::backup::Backups;
use crate::screens::customers::Customers;
use crate::screens::duplicates::Duplicates;
use crate::screens::journal::Journal;
use crate::screens::orders::Orders;
use crate::screens::products::Products;
use crate::screens::schema::Schema;
use crate::tab::Tab;
use crate::wire::Words;
use std::collections::HashMap;

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
    /// Backups.
    Long,
    /// The change feed's blocked `XREAD`.
    Feed,
}

/// The state of the connection to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Not logged in yet (the login screen).
    Offline,
    /// Looking for a server among the addresses and logging in.
    Connecting {
        attempt: u32,
    },
    Up,
    /// The server went away: the next attempt is at tick `retry_at`.
    Down {
        attempt: u32,
        retry_at: usize,
        reason: String,
    },
}

/// A message on a tab's status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
}

/// Who logged in, kept to log in again after the server comes back. The password is wiped
/// on drop and left out of `Debug`.
#[derive(Clone, Default)]
pub struct Credentials {
    pub user: String,
    pub password: LineInput,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// The whole state of the console.
#[derive(Debug, Clone)]
pub struct App {
    /// The `--connect` addresses, tried in order.
    pub addresses: Vec<String>,
    /// The address connected to (or the first, before).
    pub address: String,
    pub tab: Tab,
    pub running: bool,
    /// The login screen, a form, a question or a prompt, when one is open.
    pub overlay: Option<Overlay>,
    /// Each tab's last message (by [`Tab::index`]), so one tab's error stays on that tab.
    pub statuses: Vec<Option<Status>>,
    /// Requests sent and not answered yet (drives the spinner).
    pub waiting: usize,
    pub tick: usize,
    /// The terminal's size (columns, lines): tables fetch as many rows as they show.
    pub viewport: (u16, u16),
    pub link: Link,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) probes: Probes,
    /// This node's place in a cluster, from the last `ROLE`.
    pub node: Option<NodeRole>,
    /// A follower's lag in entries, when `INFO` (admin) says it.
    pub lag_entries: Option<u64>,
    pub customers: Customers,
    pub products: Products,
    pub orders: Orders,
    pub analytics: Analytics,
    pub backups: Backups,
    pub journal: Journal,
    pub duplicates: Duplicates,
    /// The fields of customers and products (the Schema tab, the forms, the detail).
    pub schema: Schema,
    /// The Help tab's selected row (it scrolls on a short terminal).
    pub help_row: usize,
    /// Product names by id, for the orders in the customer detail.
    pub product_names: HashMap<u64, String>,
    /// Whether `INFO` may be asked for counts (false after a `NOPERM`).
    pub(crate) counts_by_info: bool,
}

/// Requests and the workers they go to.
pub type Outgoing = Vec<(Lane, Request)>;

pub(crate) fn on_lane(lane: Lane, purpose: Purpose, words: impl Into<Words>) -> (Lane, Request) {
    let args = words.into().0;
    (lane, Request::Command { purpose, args })
}

/// A request on the main connection.
pub(crate) fn command(purpose: Purpose, words: impl Into<Words>) -> (Lane, Request) {
    on_lane(Lane::Main, purpose, words)
}

impl App {
    /// A fresh console for `addresses` (comma-separated are split), on the login screen.
    pub fn new(addresses: &str, user: &str) -> App {
        let addresses: Vec<String> = addresses
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        App {
            address: addresses.first().cloned().unwrap_or_default(),
            addresses,
            tab: Tab::Customers,
            running: true,
            overlay: Some(Overlay::Login(Login {
                user: LineInput::new(user),
                ..Login::default()
            })),
            statuses: vec![None; Tab::ALL.len()],
            waiting: 0,
            tick: 0,
            // Unknown until the first `resize`.
            viewport: (0, 0),
            link: Link::Offline,
            credentials: None,
            probes: Probes::default(),
            node: None,
            lag_entries: None,
            customers: Customers::default(),
            products: Products::default(),
            orders: Orders::default(),
            analytics: Analytics::default(),
            backups: Backups::default(),
            journal: Journal::default(),
            duplicates: Duplicates::default(),
            schema: Schema::default(),
            help_row: 0,
            product_names: HashMap::new(),
            counts_by_info: true,
        }
    }

    /// How keys are read now.
    pub fn mode(&self) -> Mode {
        match &self.overlay {
            None => Mode::Normal,
            Some(Overlay::Confirm { .. }) => Mode::Confirming,
            Some(_) => Mode::Typing,
        }
    }

    /// Whether the current tab shows a record's detail (its keys are then the detail's).
    pub fn detail_open(&self) -> bool {
        match self.tab {
            Tab::Customers => self.customers.detail.is_some(),
            Tab::Products => self.products.detail.is_some(),
            _ => false,
        }
    }

    /// The open prompt, if any.
    pub fn prompt(&self) -> Option<&Prompt> {
        match &self.overlay {
            Some(Overlay::Prompt(prompt)) => Some(prompt),
            _ => None,
        }
    }

    pub fn logging_in(&self) -> bool {
        matches!(self.overlay, Some(Overlay::Login(_)))
    }

    /// The user's role, once the probes have told it.
    pub fn role(&self) -> Option<Role> {
        self.probes.role()
    }

    /// Whether the role may do what needs `needs` (true while the role is not known yet).
    pub fn may(&self, needs: Role) -> bool {
        self.role().is_none_or(|role| role >= needs)
    }

    /// Puts a password on the login screen (from `CRM_PASSWORD`).
    pub fn set_password(&mut self, password: String) {
        if let Some(Overlay::Login(login)) = &mut self.overlay {
            login.password = LineInput::new(&password);
        }
        zeroize::Zeroize::zeroize(&mut { password });
    }

    /// Counts the requests for the spinner (not the feed's, which block by design). While
    /// the connection is not up, commands are not sent: the status line says why.
    pub(crate) fn send(&mut self, outgoing: Outgoing) -> Outgoing {
        let up = self.link == Link::Up;
        let (sent, held): (Outgoing, Outgoing) = outgoing
            .into_iter()
            .partition(|(_, request)| up || matches!(request, Request::Connect { .. }));
        if !held.is_empty() {
            if let Some(text) = self.link_message() {
                self.set_status(text, true);
            }
        }
        self.waiting += sent
            .iter()
            .filter(|(lane, request)| {
                *lane != Lane::Feed || matches!(request, Request::Connect { .. })
            })
            .count();
        sent
    }

    /// Puts a message on the current tab's status line.
    pub(crate) fn set_status(&mut self, message: impl Into<String>, error: bool) {
        self.say(self.tab, message, error);
    }

    /// Puts a message on a tab's status line.
    pub(crate) fn say(&mut self, tab: Tab, message: impl Into<String>, error: bool) {
        if let Some(slot) = self.statuses.get_mut(tab.index()) {
            *slot = Some(Status {
                text: message.into(),
                error,
            });
        }
    }

    /// The current tab's status line.
    pub fn status(&self) -> Option<&Status> {
        self.statuses.get(self.tab.index()).and_then(Option::as_ref)
    }

    /// Applies one intent; returns the requests to send.
    pub fn apply(&mut self, action: Action) -> Outgoing {
        match &self.overlay {
            Some(Overlay::Login(_)) => return self.apply_login(action),
            Some(Overlay::Form(_)) => return self.apply_form(action),
            Some(Overlay::Prompt(_)) => return self.apply_prompt(action),
            Some(Overlay::Confirm { .. }) => {
                let Some(Overlay::Confirm {
                    request, purpose, ..
                }) = self.overlay.take()
                else {
                    return Vec::new();
                };
                if action != Action::Confirm {
                    return Vec::new();
                }
                let outgoing = vec![command(purpose, request)];
                return self.send(outgoing);
            }
            None => {}
        }
        if let Some(reason) = self.forbidden(&action) {
            self.set_status(reason, true);
            return Vec::new();
        }
        match action {
            Action::Quit => {
                self.running = false;
                Vec::new()
            }
            Action::NextTab => self.go_to(self.tab.next()),
            Action::PreviousTab => self.go_to(self.tab.previous()),
            Action::GoToTab(index) => match Tab::at(index) {
                Some(tab) => self.go_to(tab),
                None => Vec::new(),
            },
            Action::ToggleHelp => self.go_to(if self.tab == Tab::Help {
                Tab::Customers
            } else {
                Tab::Help
            }),
            Action::Up | Action::Down => {
                let delta = if action == Action::Up { -1 } else { 1 };
                self.move_selection(delta)
            }
            Action::Top => self.go_top(),
            Action::Bottom => self.go_bottom(),
            Action::NextPage => self.turn_page(true),
            Action::PreviousPage => self.turn_page(false),
            Action::SortNext | Action::SortFlip => self.sort(action == Action::SortFlip),
            Action::Refresh => {
                if matches!(self.link, Link::Down { .. }) {
                    return self.reconnect();
                }
                self.load_tab()
            }
            Action::StartInput => {
                // A query in force comes back to be changed; a search starts afresh.
                let typed = |query: &Option<crate::query::Typed>| {
                    query.as_ref().map(|t| t.text.clone()).unwrap_or_default()
                };
                let (kind, input) = match self.tab {
                    Tab::Customers => (PromptKind::Search, typed(&self.customers.query)),
                    Tab::Products => (PromptKind::ProductSearch, typed(&self.products.query)),
                    Tab::Orders => (PromptKind::OrderFilter, self.orders.filter.clone()),
                    Tab::Journal => (PromptKind::JournalFilter, self.journal.filter.clone()),
                    _ => return Vec::new(),
                };
                self.overlay = Some(Overlay::Prompt(Prompt::new(kind, &input)));
                Vec::new()
            }
            Action::Submit if self.tab == Tab::Customers => {
                let requests = self.customers.open_detail();
                self.send_detail(requests)
            }
            Action::Submit if self.tab == Tab::Products => {
                let requests = self.products.open_detail();
                self.send_detail(requests)
            }
            Action::ScrollDetail(delta) => {
                self.customers.scroll_detail(delta);
                Vec::new()
            }
            Action::Cancel => self.cancel(),
            Action::Add => self.open_form(false),
            Action::Edit if self.tab == Tab::Analytics => {
                self.overlay = Some(Overlay::Form(self.analytics.parameters_form()));
                Vec::new()
            }
            Action::Edit => self.open_form(true),
            Action::Delete => {
                self.ask_delete();
                Vec::new()
            }
            Action::ToggleIndex => {
                let question = self.schema.ask_index();
                self.ask(question);
                Vec::new()
            }
            Action::StartBackup if self.tab == Tab::Backup => {
                self.overlay = Some(Overlay::Prompt(Prompt::new(PromptKind::BackupName, "")));
                Vec::new()
            }
            Action::VerifyBackup if self.tab == Tab::Backup => {
                let Some(name) = self
                    .backups
                    .page
                    .selected_row()
                    .map(|r| field_text(r, "name"))
                else {
                    return Vec::new();
                };
                let outgoing = vec![command(
                    Purpose::Verified(name.clone()),
                    crm_server::request::Command::backup_verify(&name),
                )];
                self.send(outgoing)
            }
            other => self.apply_privacy_and_quality(other),
        }
    }

    /// Esc on a tab: closes the detail, else clears the search, query or filter in force.
    fn cancel(&mut self) -> Outgoing {
        match self.tab {
            Tab::Customers => {
                if self.customers.detail.take().is_some() {
                    return Vec::new();
                }
                if self.customers.search.take().is_some() {
                    self.customers.page.selected = 0;
                    return self.reload_if_moved();
                }
                if self.customers.query.is_some() {
                    self.customers.set_query(None);
                    self.set_status("query cleared", false);
                    return self.load_tab();
                }
                Vec::new()
            }
            Tab::Products => {
                if self.products.detail.take().is_some() {
                    return Vec::new();
                }
                if self.products.search.take().is_some() {
                    return self.reload_if_moved();
                }
                if self.products.query.is_some() {
                    self.products.set_query(None);
                    self.set_status("query cleared", false);
                    return self.load_tab();
                }
                Vec::new()
            }
            Tab::Orders if !self.orders.filter.is_empty() => {
                self.orders.filter.clear();
                self.orders.page.request_first();
                self.set_status("filter cleared", false);
                self.load_tab()
            }
            Tab::Journal if !self.journal.filter.is_empty() => {
                self.journal.filter.clear();
                self.set_status("filter cleared", false);
                self.load_tab()
            }
            _ => Vec::new(),
        }
    }
}
