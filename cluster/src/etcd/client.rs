//! The connection to etcd: one gRPC channel per endpoint, the login token, and the one place
//! every unary call goes through (timeout, endpoint rotation, token refresh, error classes).
//!
//! Why not one load-balanced channel: a balanced channel keeps sending a share of the requests
//! to a dead member and cannot say which member a stalled request went to. Here every call uses
//! the *current* endpoint and moves to the next one when the current one failed to take a
//! request or let it time out, so a killed or frozen member costs one failed call, not a share
//! of all of them.

use super::class::{classify, Failure};
use super::contact::QuorumContact;
use super::proto::etcdserverpb::{auth_client::AuthClient, AuthenticateRequest};
use crate::error::{Error, Result};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::Status;
use zeroize::Zeroizing;

/// The largest message this client accepts from etcd: a catch-up read or watch batch may carry
/// many 512 KiB log parts, far past tonic's 4 MiB default.
pub(crate) const MAX_DECODING: usize = 64 << 20;

/// The environment variables that carry etcd's login (PROTOCOL.md, "Start").
pub const USER_VARIABLE: &str = "CRM_ETCD_USER";
/// See [`USER_VARIABLE`].
pub const PASSWORD_VARIABLE: &str = "CRM_ETCD_PASSWORD";

/// An etcd user and password (the password is wiped from memory when dropped and never shown).
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <hidden> }}",
            self.user
        )
    }
}

impl Credentials {
    /// The login from `CRM_ETCD_USER` and `CRM_ETCD_PASSWORD`: `None` when the user is unset,
    /// an error when only one of the two is set.
    pub fn from_env() -> Result<Option<Credentials>> {
        let user = std::env::var(USER_VARIABLE).ok().filter(|u| !u.is_empty());
        let password = std::env::var(PASSWORD_VARIABLE).ok().map(Zeroizing::new);
        match (user, password) {
            (None, None) => Ok(None),
            (Some(user), Some(password)) => Ok(Some(Credentials { user, password })),
            (Some(_), None) => Err(Error::Config(format!(
                "{USER_VARIABLE} is set but {PASSWORD_VARIABLE} is not: set both to log in to etcd, or neither"
            ))),
            (None, Some(_)) => Err(Error::Config(format!(
                "{PASSWORD_VARIABLE} is set but {USER_VARIABLE} is not: set both to log in to etcd, or neither"
            ))),
        }
    }
}

/// How to reach etcd.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Client URLs, `http://host:port`.
    pub endpoints: Vec<String>,
    /// The login, if etcd has authentication on.
    pub credentials: Option<Credentials>,
    /// How long one request may take before its outcome counts as unknown.
    pub call_timeout: Duration,
    /// How long making a connection may take before the request counts as never sent.
    pub connect_timeout: Duration,
    /// HTTP/2 ping interval (and ping timeout): a frozen member's connection is dropped after
    /// about twice this, which also ends the watches and lease streams on it.
    pub keep_alive: Duration,
}

impl ClientOptions {
    /// Options derived from the lease TTL: every call and ping a third of the TTL (at least
    /// 300 ms), so a frozen etcd member is left well before a lease can run out.
    pub fn for_lease_ttl(endpoints: Vec<String>, lease_ttl: Duration) -> ClientOptions {
        let third = (lease_ttl / 3).max(Duration::from_millis(300));
        ClientOptions {
            endpoints,
            credentials: None,
            call_timeout: third,
            connect_timeout: third,
            keep_alive: third,
        }
    }
}

/// Whether a call may be sent again after an unknown outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A read: sending it twice changes nothing, so a lost answer is retried elsewhere.
    Idempotent,
    /// A write: a lost answer is returned as [`Error::Unknown`] for the caller to resolve.
    Once,
}

/// A cheap-to-clone handle on the etcd cluster.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) channels: Vec<(String, Channel)>,
    current: AtomicUsize,
    token: RwLock<Option<AsciiMetadataValue>>,
    pub(crate) options: ClientOptions,
    pub(crate) contact: QuorumContact,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.inner.options.endpoints)
            .finish()
    }
}

impl Client {
    /// Prepares the channels (connections are made on first use) and logs in when credentials
    /// are given. Fails on a malformed URL, or when the login is refused or no endpoint
    /// answers it within the call timeout.
    pub async fn connect(options: ClientOptions) -> Result<Client> {
        if options.endpoints.is_empty() {
            return Err(Error::Config("--cluster: no etcd endpoint given".into()));
        }
        let mut channels = Vec::with_capacity(options.endpoints.len());
        for url in &options.endpoints {
            let endpoint = Endpoint::from_shared(url.clone())
                .map_err(|e| Error::Config(format!("--cluster: bad etcd URL {url:?}: {e}")))?
                .connect_timeout(options.connect_timeout)
                .http2_keep_alive_interval(options.keep_alive)
                .keep_alive_timeout(options.keep_alive)
                .keep_alive_while_idle(true)
                .tcp_nodelay(true);
            channels.push((url.clone(), endpoint.connect_lazy()));
        }
        let client = Client {
            inner: Arc::new(Inner {
                channels,
                current: AtomicUsize::new(0),
                token: RwLock::new(None),
                options,
                contact: QuorumContact::new(),
            }),
        };
        if client.inner.options.credentials.is_some() {
            client.authenticate().await?;
        }
        Ok(client)
    }

    /// The quorum-contact clock every linearizable answer updates.
    pub fn contact(&self) -> &QuorumContact {
        &self.inner.contact
    }

    /// The options this client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// The endpoint calls go to now, and its channel.
    pub(crate) fn current(&self) -> (usize, Channel) {
        let index = self.inner.current.load(Ordering::Acquire) % self.inner.channels.len();
        (index, self.inner.channels[index].1.clone())
    }

    /// Moves calls to the endpoint whose URL is `url` (compared without a trailing `/`);
    /// `false` when no endpoint has that URL (the member advertises another name for itself).
    pub(crate) fn move_to(&self, url: &str) -> bool {
        let wanted = url.trim_end_matches('/');
        let found = self
            .inner
            .channels
            .iter()
            .position(|(endpoint, _)| endpoint.trim_end_matches('/') == wanted);
        if let Some(index) = found {
            self.inner.current.store(index, Ordering::Release);
        }
        found.is_some()
    }

    /// Moves to the endpoint after `failed`, unless another caller already moved on.
    pub(crate) fn rotate(&self, failed: usize) {
        let next = (failed + 1) % self.inner.channels.len();
        let _ =
            self.inner
                .current
                .compare_exchange(failed, next, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Wraps a message in a request carrying the login token and, when `needs_leader`, etcd's
    /// "has leader" mark (a member cut off from its raft leader then refuses at once instead of
    /// stalling; requests a member answers alone, such as serializable reads, go without it).
    pub(crate) fn request<T>(&self, message: T, needs_leader: bool) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let metadata = request.metadata_mut();
        if needs_leader {
            metadata.insert("hasleader", MetadataValue::from_static("true"));
        }
        if let Ok(token) = self.inner.token.read() {
            if let Some(token) = token.as_ref() {
                metadata.insert("token", token.clone());
            }
        }
        request
    }

    /// Logs in (again) and keeps the token for later requests.
    pub(crate) async fn authenticate(&self) -> Result<()> {
        let Some(credentials) = self.inner.options.credentials.clone() else {
            return Err(Error::Refused(
                "etcd asks for a login: set CRM_ETCD_USER and CRM_ETCD_PASSWORD".into(),
            ));
        };
        let login = AuthenticateRequest {
            name: credentials.user.clone(),
            password: credentials.password.to_string(),
        };
        let answer = self
            .call(
                "etcd login",
                Retry::Idempotent,
                false,
                login,
                |channel, mut request| async move {
                    // The login itself goes without the (expired) token.
                    request.metadata_mut().remove("token");
                    AuthClient::new(channel).authenticate(request).await
                },
            )
            .await
            .map_err(|e| match e {
                Error::Refused(reason) => Error::Refused(format!(
                    "etcd login as {:?} refused ({reason})",
                    credentials.user
                )),
                other => other,
            })?;
        let token = AsciiMetadataValue::try_from(answer.token.as_str())
            .map_err(|_| Error::Refused("etcd gave a login token that is not ASCII".into()))?;
        if let Ok(mut slot) = self.inner.token.write() {
            *slot = Some(token);
        }
        Ok(())
    }

    /// Sends one unary request: each attempt gets the call timeout; a request that never
    /// reached etcd is sent to the next endpoint until the call timeout has passed (and every
    /// endpoint was tried); an expired token is renewed once; a lost answer is retried on the
    /// next endpoint for reads and returned as [`Error::Unknown`] for writes.
    /// `linearizable`: a success proves quorum contact (see [`QuorumContact`]).
    pub(crate) async fn call<Req, Resp, F, Fut>(
        &self,
        what: &str,
        retry: Retry,
        linearizable: bool,
        message: Req,
        send: F,
    ) -> Result<Resp>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
    {
        let timeout = self.inner.options.call_timeout;
        let endpoints = self.inner.channels.len();
        let started = Instant::now();
        let mut attempts = 0usize;
        let mut renewed = false;
        loop {
            let (index, channel) = self.current();
            let sent_at = Instant::now();
            let request = self.request(message.clone(), linearizable);
            attempts += 1;
            let failure = match tokio::time::timeout(timeout, send(channel, request)).await {
                Ok(Ok(response)) => {
                    if linearizable {
                        self.inner.contact.record(sent_at);
                    }
                    return Ok(response.into_inner());
                }
                Ok(Err(status)) => classify(what, &status),
                Err(_) => Failure::Error(Error::Unknown(format!(
                    "{what}: no answer from {} within {timeout:?}",
                    self.inner.channels[index].0
                ))),
            };
            let tried_all = attempts >= endpoints;
            let in_time = started.elapsed() < timeout;
            match failure {
                Failure::TokenExpired if !renewed => {
                    renewed = true;
                    Box::pin(self.authenticate()).await?;
                }
                Failure::TokenExpired => {
                    return Err(Error::Refused(format!(
                        "{what}: etcd refused a fresh login token"
                    )))
                }
                Failure::Error(Error::NotSent(reason)) => {
                    self.rotate(index);
                    if tried_all && !in_time {
                        return Err(Error::NotSent(reason));
                    }
                    if attempts.is_multiple_of(endpoints) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                Failure::Error(Error::Unknown(reason)) => {
                    self.rotate(index);
                    if retry == Retry::Once || (tried_all && !in_time) {
                        return Err(Error::Unknown(reason));
                    }
                }
                Failure::Error(error) => return Err(error),
            }
        }
    }
}
