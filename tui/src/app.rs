//! The console's state and what each intent does to it. No I/O here: intents return the
//! requests to send, and replies come back through [`App::on_response`] (`responses.rs`).
//! Each tab's state lives beside its widget in `screens/`; this file routes.

use crate::action::Action;
use crate::net::{Purpose, Request};
use crate::overlay::{Login, Overlay, Prompt, PromptKind};
use crate::page::{field_text, Page, PAGE_SIZE};
use crate::screens::analytics::Analytics;
use crate::screens::backup::BackupStatus;
use crate::screens::customers::Customers;
use crate::screens::duplicates::Duplicates;
use crate::screens::journal::Journal;
use crate::tab::Tab;

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

/// The whole state of the console.
#[derive(Debug, Clone)]
pub struct App {
    pub address: String,
    pub tab: Tab,
    pub running: bool,
    /// The login screen, a form, a question or a prompt, when one is open.
    pub overlay: Option<Overlay>,
    /// The last message for the status bar, and whether it is an error.
    pub status: Option<(String, bool)>,
    /// Requests sent and not answered yet (drives the spinner).
    pub waiting: usize,
    pub tick: usize,
    pub customers: Customers,
    pub products: Page,
    pub orders: Page,
    /// The orders filter in force (`customer 7`, `product 3 since 2026-01-01`...).
    pub order_filter: String,
    pub analytics: Analytics,
    pub backups: Page,
    pub backup: BackupStatus,
    pub journal: Journal,
    pub duplicates: Duplicates,
}

/// Requests and the workers they go to.
pub type Outgoing = Vec<(Lane, Request)>;

pub(crate) fn on_lane(lane: Lane, purpose: Purpose, args: Vec<String>) -> (Lane, Request) {
    (lane, Request::Command { purpose, args })
}

pub(crate) fn command(purpose: Purpose, args: &[&str]) -> (Lane, Request) {
    on_lane(
        Lane::Main,
        purpose,
        args.iter().map(|s| s.to_string()).collect(),
    )
}

impl App {
    /// A fresh console for `address`, on the login screen.
    pub fn new(address: &str, user: &str) -> App {
        App {
            address: address.to_string(),
            tab: Tab::Customers,
            running: true,
            overlay: Some(Overlay::Login(Login {
                user: user.to_string(),
                ..Login::default()
            })),
            status: None,
            waiting: 0,
            tick: 0,
            customers: Customers::default(),
            products: Page::default(),
            orders: Page::default(),
            order_filter: String::new(),
            analytics: Analytics::default(),
            backups: Page::default(),
            backup: BackupStatus::default(),
            journal: Journal::default(),
            duplicates: Duplicates::default(),
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

    /// Puts a password on the login screen (from `CRM_PASSWORD`).
    pub fn set_password(&mut self, password: String) {
        if let Some(Overlay::Login(login)) = &mut self.overlay {
            login.password = zeroize::Zeroizing::new(password);
        }
    }

    /// The requests that log in with what the login screen holds.
    pub fn submit_login(&mut self) -> Outgoing {
        let Some(Overlay::Login(login)) = &self.overlay else {
            return Vec::new();
        };
        let connect = || Request::Connect {
            address: self.address.clone(),
            user: login.user.clone(),
            password: login.password.clone(),
        };
        let outgoing = vec![
            (Lane::Main, connect()),
            (Lane::Long, connect()),
            (Lane::Feed, connect()),
        ];
        self.send(outgoing)
    }

    /// Counts the requests for the spinner (not the feed's, which block by design).
    pub(crate) fn send(&mut self, outgoing: Outgoing) -> Outgoing {
        self.waiting += outgoing
            .iter()
            .filter(|(lane, request)| {
                *lane != Lane::Feed || matches!(request, Request::Connect { .. })
            })
            .count();
        outgoing
    }

    pub(crate) fn set_status(&mut self, message: impl Into<String>, error: bool) {
        self.status = Some((message.into(), error));
    }

    /// The requests that (re)load what the current tab shows.
    pub fn load_tab(&mut self) -> Outgoing {
        let outgoing = match self.tab {
            Tab::Customers => vec![on_lane(
                Lane::Main,
                Purpose::CustomersPage,
                self.customers.page_request(),
            )],
            Tab::Products => vec![command(
                Purpose::ProductsPage,
                &[
                    "PRODUCT.LIST",
                    "AFTER",
                    &self.products.after().to_string(),
                    "LIMIT",
                    &PAGE_SIZE.to_string(),
                ],
            )],
            Tab::Orders => {
                match crate::screens::orders::request(&self.order_filter, &self.orders) {
                    Ok(args) => vec![on_lane(Lane::Main, Purpose::OrdersPage, args)],
                    Err(message) => {
                        self.set_status(message, true);
                        Vec::new()
                    }
                }
            }
            Tab::Analytics => vec![
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
            Tab::Backup => vec![
                command(Purpose::Backups, &["BACKUP.LIST"]),
                command(Purpose::Info, &["INFO"]),
            ],
            Tab::Journal => match self.journal.request(0) {
                Ok(args) => {
                    let mut outgoing = vec![on_lane(Lane::Main, Purpose::JournalPage, args)];
                    outgoing.extend(self.follow_feed());
                    outgoing
                }
                Err(message) => {
                    self.set_status(message, true);
                    Vec::new()
                }
            },
            Tab::Duplicates => vec![on_lane(
                Lane::Main,
                Purpose::Duplicates,
                Duplicates::request(),
            )],
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

    fn page_mut(&mut self) -> Option<&mut Page> {
        match self.tab {
            Tab::Customers if self.customers.search.is_none() => Some(&mut self.customers.page),
            Tab::Products => Some(&mut self.products),
            Tab::Orders => Some(&mut self.orders),
            Tab::Backup => Some(&mut self.backups),
            _ => None,
        }
    }

    /// Applies one intent; returns the requests to send.
    pub fn apply(&mut self, action: Action) -> Outgoing {
        match &self.overlay {
            Some(Overlay::Login(_)) => return self.apply_login(action),
            Some(Overlay::Form(_)) => return self.apply_form(action),
            Some(Overlay::Prompt(_)) => return self.apply_prompt(action),
            Some(Overlay::Confirm { .. }) => {
                let Some(Overlay::Confirm { args, purpose, .. }) = self.overlay.take() else {
                    return Vec::new();
                };
                if action != Action::Confirm {
                    return Vec::new();
                }
                let outgoing = vec![on_lane(Lane::Main, purpose, args)];
                return self.send(outgoing);
            }
            None => {}
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
            Action::NextPage | Action::PreviousPage => {
                let forward = action == Action::NextPage;
                let moved =
                    self.page_mut()
                        .is_some_and(|page| if forward { page.advance() } else { page.back() });
                if moved {
                    self.load_tab()
                } else {
                    Vec::new()
                }
            }
            Action::Refresh => self.load_tab(),
            Action::StartInput => {
                let (kind, input) = match self.tab {
                    Tab::Customers => (PromptKind::Search, String::new()),
                    Tab::Orders => (PromptKind::OrderFilter, self.order_filter.clone()),
                    Tab::Journal => (PromptKind::JournalFilter, self.journal.filter.clone()),
                    _ => return Vec::new(),
                };
                self.overlay = Some(Overlay::Prompt(Prompt { kind, input }));
                Vec::new()
            }
            Action::Submit if self.tab == Tab::Customers => {
                let requests = self.customers.open_detail();
                let outgoing = requests
                    .into_iter()
                    .map(|(purpose, args)| on_lane(Lane::Main, purpose, args))
                    .collect();
                self.send(outgoing)
            }
            Action::Cancel => {
                if self.customers.detail.take().is_none() {
                    self.customers.search = None;
                    self.customers.page.selected = 0;
                }
                Vec::new()
            }
            Action::Add => self.open_form(false),
            Action::Edit => self.open_form(true),
            Action::Delete => {
                self.ask_delete();
                Vec::new()
            }
            Action::StartBackup if self.tab == Tab::Backup => self.start_backup(),
            Action::VerifyBackup if self.tab == Tab::Backup => {
                let Some(name) = self.backups.selected_row().map(|r| field_text(r, "name")) else {
                    return Vec::new();
                };
                let outgoing = vec![command(
                    Purpose::Verified(name.clone()),
                    &["BACKUP.VERIFY", &name],
                )];
                self.send(outgoing)
            }
            other => self.apply_privacy_and_quality(other),
        }
    }

    fn move_selection(&mut self, delta: isize) -> Outgoing {
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

    fn start_backup(&mut self) -> Outgoing {
        if self.backup.running {
            self.set_status("a backup is already running", true);
            return Vec::new();
        }
        self.backup = BackupStatus {
            running: true,
            ..BackupStatus::default()
        };
        self.set_status("backup started", false);
        let outgoing = vec![on_lane(
            Lane::Long,
            Purpose::BackupDone,
            vec!["BACKUP".into()],
        )];
        self.send(outgoing)
    }

    fn go_to(&mut self, tab: Tab) -> Outgoing {
        self.tab = tab;
        self.customers.detail = None;
        self.load_tab()
    }

    fn ask_delete(&mut self) {
        let (kind, row) = match self.tab {
            Tab::Customers => ("CUSTOMER", self.customers.selected()),
            Tab::Products => ("PRODUCT", self.products.selected_row().cloned()),
            _ => return,
        };
        if let Some(id) = row.and_then(|r| r["id"].as_u64()) {
            self.overlay = Some(Overlay::Confirm {
                question: format!("Delete {} {id}? (y/n)", kind.to_lowercase()),
                args: vec![format!("{kind}.DEL"), id.to_string()],
                purpose: Purpose::Deleted,
            });
        }
    }

    /// Called about ten times a second: advances the spinner, polls a running backup.
    pub fn on_tick(&mut self) -> Outgoing {
        self.tick = self.tick.wrapping_add(1);
        if self.backup.running && self.tick.is_multiple_of(5) && !self.logging_in() {
            return self.send(vec![command(Purpose::Info, &["INFO"])]);
        }
        Vec::new()
    }
}
