//! The connection: logging in, noticing the server is gone, and reconnecting with a backoff.
//!
//! The main connection finds the server among the `--connect` addresses (a cluster's leader
//! first, `net.rs`); the backup and feed connections then follow it to that address. Any
//! request that fails for want of a connection marks the link down: pages stay as they were,
//! the status line counts down to the next attempt (0.5 s, then doubling to 10 s; `r` tries at
//! once), and once logged in again the tab reloads. `ROLE`, polled every few seconds, notices a
//! server that went away while nothing else was asked.

use crate::app::{command, App, Credentials, Lane, Link, Outgoing};
use crate::net::{Purpose, Request};
use crate::overlay::{Login, Overlay};
use crate::role::Probes;

/// Ticks (of 100 ms) between two `ROLE`s.
pub const ROLE_POLL_TICKS: usize = 50;

/// Ticks to wait before attempt `attempt` (1 is the first retry): 0.5 s doubling to 10 s.
pub fn backoff_ticks(attempt: u32) -> usize {
    (5usize << attempt.saturating_sub(1).min(5)).min(100)
}

impl App {
    /// Called about ten times a second: advances the spinner, retries a lost connection,
    /// polls `ROLE` (the cluster line, and the heartbeat that notices a server gone) and a
    /// running backup.
    pub fn on_tick(&mut self) -> Outgoing {
        self.tick = self.tick.wrapping_add(1);
        match &self.link {
            Link::Down { retry_at, .. } if self.tick >= *retry_at => return self.reconnect(),
            Link::Up => {}
            _ => return Vec::new(),
        }
        let mut outgoing = Vec::new();
        if self.tick.is_multiple_of(ROLE_POLL_TICKS) {
            outgoing.push(command(Purpose::Role, crate::wire::role()));
        }
        if self.backups.status.running && self.tick.is_multiple_of(5) {
            outgoing.push(command(Purpose::Info, crm_server::request::Command::info()));
        }
        self.send(outgoing)
    }

    /// The requests that log in with what the login screen holds.
    pub fn submit_login(&mut self) -> Outgoing {
        let Some(Overlay::Login(login)) = &self.overlay else {
            return Vec::new();
        };
        self.credentials = Some(Credentials {
            user: login.user.text().to_string(),
            password: login.password.clone(),
        });
        self.link = Link::Connecting { attempt: 0 };
        self.connect_main()
    }

    fn connect_request(&self, purpose: Purpose, addresses: Vec<String>) -> Option<Request> {
        let credentials = self.credentials.as_ref()?;
        Some(Request::Connect {
            purpose,
            addresses,
            user: credentials.user.clone(),
            password: zeroize::Zeroizing::new(credentials.password.text().to_string()),
        })
    }

    fn connect_main(&mut self) -> Outgoing {
        let request = self.connect_request(Purpose::Login, self.addresses.clone());
        let outgoing = request.map(|r| (Lane::Main, r)).into_iter().collect();
        self.send(outgoing)
    }

    /// Tries the addresses again now.
    pub(crate) fn reconnect(&mut self) -> Outgoing {
        let attempt = match &self.link {
            Link::Down { attempt, .. } => *attempt,
            _ => 0,
        };
        self.link = Link::Connecting { attempt };
        self.connect_main()
    }

    /// The main connection is logged in at `address`: the other connections follow it, the
    /// role is probed, the cluster line read, and the tab (re)loaded.
    pub(crate) fn connected(&mut self, address: String) -> Outgoing {
        let again = matches!(self.link, Link::Connecting { attempt } if attempt > 0);
        self.address = address.clone();
        self.link = Link::Up;
        if self.logging_in() {
            self.overlay = None;
        }
        for tab in crate::tab::Tab::ALL {
            if let Some(Some(status)) = self.statuses.get(tab.index()) {
                if crate::net::connection_lost(&status.text)
                    || status.text.starts_with("not connected")
                {
                    self.statuses[tab.index()] = None;
                }
            }
        }
        let message = if again {
            format!("reconnected to {address}")
        } else {
            format!("connected to {address}")
        };
        self.set_status(message, false);
        let mut outgoing: Outgoing = [Lane::Long, Lane::Feed]
            .into_iter()
            .filter_map(|lane| {
                self.connect_request(Purpose::LaneUp, vec![address.clone()])
                    .map(|r| (lane, r))
            })
            .collect();
        self.probes = Probes::default();
        self.analytics.denied = None;
        outgoing.extend(
            crate::role::PROBED
                .into_iter()
                .map(|role| command(Purpose::Probe(role), crate::role::probe(role))),
        );
        outgoing.push(command(Purpose::Role, crate::wire::role()));
        // The forms and the detail need the custom fields, whatever the tab and the role.
        outgoing.push(command(
            Purpose::Schema,
            crate::screens::schema::Schema::request(),
        ));
        self.journal.following = false;
        let mut outgoing = self.send(outgoing);
        outgoing.extend(self.reload_tab());
        outgoing
    }

    /// A login failed: on the login screen, say why; after a lost connection, wait and retry
    /// (unless the server refused the password: then the login screen again).
    pub(crate) fn login_failed(&mut self, message: String) {
        let retrying = matches!(self.link, Link::Connecting { attempt } if attempt > 0)
            || matches!(self.link, Link::Down { .. });
        if retrying && crate::net::connection_lost(&message) {
            let attempt = match self.link {
                Link::Connecting { attempt } | Link::Down { attempt, .. } => attempt,
                _ => 0,
            };
            self.down(message, attempt + 1);
            return;
        }
        self.link = Link::Offline;
        if !self.logging_in() {
            let user = self
                .credentials
                .as_ref()
                .map(|c| c.user.clone())
                .unwrap_or_default();
            self.overlay = Some(Overlay::Login(Login {
                user: crate::line_input::LineInput::new(&user),
                ..Login::default()
            }));
        }
        if let Some(Overlay::Login(login)) = &mut self.overlay {
            login.error = Some(message);
            login.password.clear();
            login.focus = 1;
        }
        self.credentials = None;
        self.waiting = 0;
    }

    /// A request failed for want of a connection.
    pub(crate) fn lost(&mut self, reason: String) {
        if self.link == Link::Up {
            self.down(reason, 1);
        }
    }

    fn down(&mut self, reason: String, attempt: u32) {
        self.link = Link::Down {
            attempt,
            retry_at: self.tick + backoff_ticks(attempt),
            reason,
        };
        self.journal.following = false;
        // A backup the server was writing when it went is not running any more.
        self.backups.status.running = false;
        self.waiting = 0;
        for page in [
            &mut self.customers.page,
            &mut self.products.page,
            &mut self.orders.page,
        ] {
            page.failed();
        }
    }

    /// What the status line says while the connection is not up.
    pub fn link_message(&self) -> Option<String> {
        match &self.link {
            Link::Down {
                attempt,
                retry_at,
                reason,
            } => {
                let seconds = retry_at.saturating_sub(self.tick) as f64 / 10.0;
                Some(format!(
                    "connection lost ({reason}) · reconnecting in {seconds:.1} s (attempt {attempt}) · r: now"
                ))
            }
            Link::Connecting { attempt } if *attempt > 0 => Some(format!(
                "reconnecting to {} (attempt {attempt})...",
                self.addresses.join(", ")
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_to_ten_seconds() {
        let waits: Vec<usize> = (1..=8).map(backoff_ticks).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 100, 100, 100]);
    }
}
