//! A member's status (Maintenance.Status): version, database size, its raft leader.

use super::client::{Client, Retry};
use super::proto::etcdserverpb as pb;
use crate::error::Result;

/// What the answering member says of itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The endpoint that answered (the one calls go to now).
    pub endpoint: String,
    /// etcd's version, e.g. `3.4.23`.
    pub version: String,
    /// The database file's size in bytes (etcd's quota counts this, not the part in use).
    pub db_size: i64,
    /// The part of the database in use, in bytes.
    pub db_size_in_use: i64,
    /// The member this one takes for the raft leader (0: none).
    pub leader: u64,
    /// This member's id.
    pub member: u64,
    pub raft_index: u64,
    pub raft_term: u64,
    /// Alarms (e.g. `NOSPACE`) and other errors the member reports.
    pub errors: Vec<String>,
}

impl Client {
    /// The status of the member the client uses now (served by that member alone: it answers
    /// without a quorum, so it proves no quorum contact).
    pub async fn status(&self) -> Result<Status> {
        let answer = self
            .call(
                "etcd status",
                Retry::Idempotent,
                false,
                pb::StatusRequest {},
                |channel, request| async move {
                    pb::maintenance_client::MaintenanceClient::new(channel)
                        .status(request)
                        .await
                },
            )
            .await?;
        // A call moves to another endpoint only when one fails: the current one answered.
        let (current, _) = self.current();
        let endpoint = self.inner.channels[current].0.clone();
        Ok(Status {
            endpoint,
            version: answer.version,
            db_size: answer.db_size,
            db_size_in_use: answer.db_size_in_use,
            leader: answer.leader,
            member: answer.header.map_or(0, |h| h.member_id),
            raft_index: answer.raft_index,
            raft_term: answer.raft_term,
            errors: answer.errors,
        })
    }
}
