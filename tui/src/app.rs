//! The console's state and what each intent does to it. No I/O here: intents return the
//! requests to send, and replies come back through [`App::on_response`] (`responses.rs`).
//! Each tab's state lives beside its widget in `screens/`; this file routes.

use crate::action::Action;
use crate::net::{Purpose, Request};
use crate::overlay::{Login, Overlay, Prompt, PromptKind};
use crate::page::{field_text, Page};
use crate::screens::analytics::Analytics;
use crate::screens::backup::BackupStatus;
use crate::screens::customers::Customers;
use crate::screens::duplicates::Duplicates;
use crate::screens::journal::Journal;
use crate::tab::Tab;
use crm_server::request::Command;

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

pub(crate) fn on_lane(lane: Lane, purpose: Purpose, command: Command) -> (Lane, Request) {
    let args = command.into_words();
    (lane, Request::Command { purpose, args })
}

/// A request on the main connection.
pub(crate) fn command(purpose: Purpose, command: Command) -> (Lane, Request) {
    on_lane(Lane::Main, purpose, command)
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
                    .map(|(purpose, request)| command(purpose, request))
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
                    Command::backup_verify(&name),
                )];
                self.send(outgoing)
            }
            other => self.apply_privacy_and_quality(other),
        }
    }

    /// Called about ten times a second: advances the spinner, polls a running backup.
    pub fn on_tick(&mut self) -> Outgoing {
        self.tick = self.tick.wrapping_add(1);
        if self.backup.running && self.tick.is_multiple_of(5) && !self.logging_in() {
            return self.send(vec![command(Purpose::Info, Command::info())]);
        }
        Vec::new()
    }
}
