//! One connection's own state, and how it logs in and stays logged in.
//!
//! Authentication is a property of the session: `AUTH` and `HELLO ... AUTH` go through
//! [`Session::log_in`], which asks the [`Authenticator`](crate::auth::Authenticator) and applies
//! the per-address slowing of failures ([`LoginThrottle`](crate::throttle::LoginThrottle)).
//! Before every command the session checks that its user still exists with the credentials it
//! proved ([`Session::recheck_user`]), so deleting a user or changing its password ends the
//! rights of its open connections.

use crate::state::Shared;
use crate::subscriptions::Subscriptions;
use crm_engine::{Cancel, Role};
use std::net::IpAddr;
use tokio::time::Instant;

/// One connection's own state.
#[derive(Debug)]
pub struct Session {
    /// The connection's number, never reused while the server runs.
    pub id: u64,
    /// The client's address, for the per-address slowing of failed logins.
    pub peer: IpAddr,
    /// The authenticated user and role.
    pub user: Option<(String, Role)>,
    /// Whether the user sees customers masked (`USER.MASK`).
    pub masked: bool,
    /// RESP version: 2 or 3.
    pub proto: u8,
    /// Set by `CLIENT SETNAME` or `HELLO ... SETNAME`.
    pub name: Option<String>,
    /// The authenticator's users generation when this session last checked its user.
    pub users_seen: u64,
    /// BLAKE3 of the user's stored password hash at `AUTH`: a user deleted and added again, or
    /// given a new password, no longer matches.
    pub credential: Option<[u8; 32]>,
    /// Raised when the client goes away or the server stops: a heavy command running for this
    /// session gives up.
    pub cancel: Cancel,
    /// `SUBSCRIBE` and `PSUBSCRIBE`: while any is held, a RESP2 connection takes only the
    /// subscription commands, `PING` and `QUIT`.
    pub subscriptions: Subscriptions,
}

impl Session {
    pub fn new(id: u64, peer: IpAddr) -> Session {
        Session {
            id,
            peer,
            user: None,
            masked: false,
            proto: 2,
            name: None,
            users_seen: 0,
            credential: None,
            cancel: Cancel::default(),
            subscriptions: Subscriptions::default(),
        }
    }

    /// Whether `AUTH` (or `HELLO ... AUTH`) succeeded on this connection.
    pub fn is_authenticated(&self) -> bool {
        self.user.is_some()
    }

    /// The authenticated user's name.
    pub fn user_name(&self) -> Option<&str> {
        self.user.as_ref().map(|(name, _)| name.as_str())
    }

    /// Checks credentials (slowed per address on failure) and, on success, authenticates the
    /// session. `read_at` is when the request arrived: the slowing counts from it.
    pub async fn log_in(
        &mut self,
        shared: &Shared,
        user: &str,
        password: &str,
        read_at: Instant,
    ) -> bool {
        // Read before the check: a deletion racing with it then makes the next command re-check.
        let generation = shared.authenticator.users_generation();
        let login = shared
            .throttle
            .attempt(self.peer, read_at, async {
                shared
                    .authenticator
                    .authenticate(&shared.store, user, password)
                    .await
            })
            .await;
        match login {
            Some(login) => {
                self.user = Some((user.to_string(), login.role));
                self.masked = login.masked;
                self.users_seen = generation;
                self.credential = Some(login.credential);
                true
            }
            None => {
                tracing::warn!(connection = self.id, "failed AUTH");
                false
            }
        }
    }

    /// Ends the authentication of a session whose user was deleted (or deleted and added
    /// again, or given a new password by someone else) since it last looked, so those open
    /// connections cannot keep using the old rights: their next command gets `NOAUTH`. A
    /// changed role or mask applies from the next command too.
    pub fn recheck_user(&mut self, shared: &Shared) {
        let generation = shared.authenticator.users_generation();
        if self.users_seen == generation {
            return;
        }
        let Some((name, _)) = &self.user else {
            return;
        };
        match shared.store.user(name) {
            Ok(Some(user))
                if Some(crate::auth::credential_tag(&user.password_hash)) == self.credential =>
            {
                self.masked = user.masked;
                self.user = Some((user.name, user.role));
            }
            Ok(_) => {
                tracing::info!(
                    connection = self.id,
                    "the session's user was deleted or changed"
                );
                self.user = None;
                self.credential = None;
            }
            // The store cannot say (halted): check again before the next command.
            Err(_) => return,
        }
        self.users_seen = generation;
    }

    /// Keeps the session's own login valid after it changed its own password.
    pub fn refresh_own_credential(&mut self, shared: &Shared, changed_user: &str) {
        if self.user_name() != Some(changed_user) {
            return;
        }
        if let Ok(Some(user)) = shared.store.user(changed_user) {
            self.credential = Some(crate::auth::credential_tag(&user.password_hash));
            self.users_seen = shared.authenticator.users_generation();
        }
    }
}
