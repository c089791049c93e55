//! Leases: grant, revoke, and a keeper task that renews one every third of its TTL.
//!
//! The keeper never gives up while the lease may still exist: etcd renews every lease when it
//! elects a new raft leader, so a lease can outlive a quorum loss, and the node that holds it
//! goes on as before once etcd is back (PROTOCOL.md: writes resume "with no action by anyone").
//! It reports what it knows in a `watch` channel: alive until some instant (counted from when
//! the renewal that proved it was *sent*), or expired (etcd answered TTL 0: the lease is gone).

use super::client::{Client, Retry};
use super::proto::etcdserverpb as pb;
use crate::error::{Error, Result};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

/// What a node knows of its lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseState {
    /// etcd keeps the lease at least until this instant (it may be in the past while
    /// renewals fail: then whether the lease still lives is not known).
    AliveUntil(Instant),
    /// etcd said the lease is gone (expired or revoked).
    Expired,
}

impl LeaseState {
    /// Whether the lease is known to be alive now.
    pub fn is_alive(&self) -> bool {
        matches!(self, LeaseState::AliveUntil(until) if *until > Instant::now())
    }
}

/// A lease etcd granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub id: i64,
    pub ttl: Duration,
}

/// The task renewing one lease; stops when dropped (the lease then runs out by itself, or is
/// revoked by [`Client::revoke`]).
#[derive(Debug)]
pub struct LeaseKeeper {
    lease: Lease,
    state: watch::Receiver<LeaseState>,
    task: JoinHandle<()>,
}

impl LeaseKeeper {
    /// The lease kept.
    pub fn lease(&self) -> Lease {
        self.lease
    }

    /// The latest state.
    pub fn state(&self) -> LeaseState {
        *self.state.borrow()
    }

    /// A receiver of every state change.
    pub fn subscribe(&self) -> watch::Receiver<LeaseState> {
        self.state.clone()
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lease_client(
    channel: tonic::transport::Channel,
) -> pb::lease_client::LeaseClient<tonic::transport::Channel> {
    pb::lease_client::LeaseClient::new(channel)
}

impl Client {
    /// Grants a lease of `ttl` (whole seconds, at least 1).
    pub async fn grant(&self, ttl: Duration) -> Result<Lease> {
        let seconds = i64::try_from(ttl.as_secs().max(1)).unwrap_or(i64::MAX);
        let request = pb::LeaseGrantRequest {
            ttl: seconds,
            id: 0,
        };
        let answer = self
            .call(
                "etcd lease grant",
                Retry::Once,
                true,
                request,
                |channel, request| async move { lease_client(channel).lease_grant(request).await },
            )
            .await?;
        if !answer.error.is_empty() {
            return Err(Error::Refused(format!(
                "etcd lease grant: {}",
                answer.error
            )));
        }
        Ok(Lease {
            id: answer.id,
            ttl: Duration::from_secs(u64::try_from(answer.ttl).unwrap_or(0)),
        })
    }

    /// Revokes a lease: every key bound to it goes at once.
    pub async fn revoke(&self, id: i64) -> Result<()> {
        let request = pb::LeaseRevokeRequest { id };
        self.call(
            "etcd lease revoke",
            Retry::Idempotent,
            true,
            request,
            |channel, request| async move { lease_client(channel).lease_revoke(request).await },
        )
        .await?;
        Ok(())
    }

    /// Starts renewing `lease` every third of its TTL, on a task of the current runtime.
    pub fn keep_alive(&self, lease: Lease) -> LeaseKeeper {
        let granted = LeaseState::AliveUntil(Instant::now() + lease.ttl);
        let (report, state) = watch::channel(granted);
        let client = self.clone();
        let task = tokio::spawn(async move { client.renew_forever(lease, report).await });
        LeaseKeeper { lease, state, task }
    }

    /// The keeper's loop: one keep-alive stream at a time, on the current endpoint; a failed or
    /// silent stream is dropped and the next endpoint tried.
    async fn renew_forever(self, lease: Lease, report: watch::Sender<LeaseState>) {
        let every = (lease.ttl / 3).max(Duration::from_millis(100));
        let timeout = self.options().call_timeout;
        loop {
            let (index, channel) = self.current();
            let (requests, outgoing) = mpsc::channel(1);
            // etcd answers the stream's headers with its first message, so the first renewal
            // is queued before the stream is opened.
            let mut sent_at = Instant::now();
            if requests
                .send(pb::LeaseKeepAliveRequest { id: lease.id })
                .await
                .is_err()
            {
                continue;
            }
            let stream = self.request(ReceiverStream::new(outgoing), true);
            let opened =
                tokio::time::timeout(timeout, lease_client(channel).lease_keep_alive(stream)).await;
            let mut answers = match opened {
                Ok(Ok(answers)) => answers.into_inner(),
                Ok(Err(status)) => {
                    tracing::debug!("etcd lease keep-alive stream: {status}");
                    if status.message().contains("invalid auth token") {
                        let _ = self.authenticate().await;
                    }
                    self.rotate(index);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(_) => {
                    self.rotate(index);
                    continue;
                }
            };
            loop {
                match tokio::time::timeout(timeout, answers.message()).await {
                    Ok(Ok(Some(answer))) if answer.ttl > 0 => {
                        let ttl = Duration::from_secs(u64::try_from(answer.ttl).unwrap_or(0));
                        report.send_replace(LeaseState::AliveUntil(sent_at + ttl));
                    }
                    Ok(Ok(Some(_))) => {
                        report.send_replace(LeaseState::Expired);
                        return;
                    }
                    Ok(Err(status)) if status.message().contains("invalid auth token") => {
                        let _ = self.authenticate().await;
                        break;
                    }
                    Ok(Ok(None)) | Ok(Err(_)) | Err(_) => {
                        self.rotate(index);
                        break;
                    }
                }
                tokio::time::sleep_until((sent_at + every).into()).await;
                sent_at = Instant::now();
                if requests
                    .send(pb::LeaseKeepAliveRequest { id: lease.id })
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    }
}
