//! Watches: the changes to a key or a key range from a revision on, as one stream.
//!
//! A watch lives on one member's connection. It ends with an error when that connection fails
//! (the HTTP/2 pings notice a frozen member), when the member loses its raft leader (every
//! watch says `hasleader`), or when the revision asked for is compacted
//! ([`Error::Compacted`], with the oldest revision kept). The caller then reads what it missed
//! with a range and watches again from after that read: [`Watcher`] does not hide gaps.

use super::client::{Client, MAX_DECODING};
use super::kv::KeyValue;
use super::proto::etcdserverpb as pb;
use super::proto::mvccpb;
use crate::error::{Error, Result};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Put,
    /// Deleted, or its lease ran out (`kv` has the key and the deletion's revision).
    Delete,
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub kv: KeyValue,
}

/// The changes of one or more revisions, in order. `revision` is the store's revision the
/// batch brings the watcher to (every later event has a higher one).
#[derive(Clone, Debug, Default)]
pub struct WatchBatch {
    pub revision: i64,
    pub events: Vec<Event>,
}

/// An open watch; dropping it cancels the watch.
#[derive(Debug)]
pub struct Watcher {
    /// Kept open: closing the request side ends the watch.
    _requests: mpsc::Sender<pb::WatchRequest>,
    answers: tonic::Streaming<pb::WatchResponse>,
    /// An answer read while opening that was not the plain "created" one.
    pending: Option<pb::WatchResponse>,
    endpoint: String,
}

impl Watcher {
    /// The next batch of changes. Fragments of one large batch are joined first.
    /// Errors: [`Error::Compacted`] when the start revision is gone; [`Error::NotSent`] when
    /// the watch ended (connection lost, member without leader): watch again elsewhere.
    pub async fn next(&mut self) -> Result<WatchBatch> {
        let mut batch = WatchBatch::default();
        loop {
            let received = match self.pending.take() {
                Some(answer) => Ok(Some(answer)),
                None => self.answers.message().await,
            };
            let answer = match received {
                Ok(Some(answer)) => answer,
                Ok(None) => {
                    return Err(Error::NotSent(format!(
                        "etcd watch on {} ended",
                        self.endpoint
                    )))
                }
                Err(status) => {
                    return Err(Error::NotSent(format!(
                        "etcd watch on {}: {}",
                        self.endpoint,
                        status.message()
                    )))
                }
            };
            if answer.compact_revision > 0 {
                return Err(Error::Compacted {
                    compact_revision: answer.compact_revision,
                });
            }
            if answer.canceled {
                return Err(Error::NotSent(format!(
                    "etcd watch on {} cancelled: {}",
                    self.endpoint, answer.cancel_reason
                )));
            }
            if answer.created && answer.events.is_empty() {
                continue;
            }
            batch.revision = answer.header.map_or(batch.revision, |h| h.revision);
            batch.events.extend(answer.events.into_iter().map(event));
            if !answer.fragment {
                if let Some(last) = batch.events.last() {
                    batch.revision = batch.revision.max(last.kv.mod_revision);
                }
                return Ok(batch);
            }
        }
    }
}

fn event(event: mvccpb::Event) -> Event {
    let kind = if event.r#type == mvccpb::event::EventType::Delete as i32 {
        EventKind::Delete
    } else {
        EventKind::Put
    };
    Event {
        kind,
        kv: event.kv.map(KeyValue::from).unwrap_or(KeyValue {
            key: Vec::new(),
            value: Vec::new(),
            create_revision: 0,
            mod_revision: 0,
            version: 0,
            lease: 0,
        }),
    }
}

impl Client {
    /// Watches `key` (with `end` empty) or the range `key..end`, from `start_revision`
    /// (included; 0: from now). Opened on the current endpoint; the first answer (etcd's
    /// "created") is awaited within the call timeout, so a watch that opens is a live one.
    pub async fn watch(
        &self,
        key: impl Into<Vec<u8>>,
        end: impl Into<Vec<u8>>,
        start_revision: i64,
    ) -> Result<Watcher> {
        let create = pb::WatchRequest {
            request_union: Some(pb::watch_request::RequestUnion::CreateRequest(
                pb::WatchCreateRequest {
                    key: key.into(),
                    range_end: end.into(),
                    start_revision,
                    progress_notify: true,
                    fragment: true,
                    ..pb::WatchCreateRequest::default()
                },
            )),
        };
        let (index, channel) = self.current();
        let endpoint = self.inner.channels[index].0.clone();
        let timeout = self.options().call_timeout;
        let (requests, outgoing) = mpsc::channel(1);
        let opening = async {
            requests
                .send(create)
                .await
                .map_err(|_| Error::NotSent("etcd watch: request stream closed".into()))?;
            let mut client =
                pb::watch_client::WatchClient::new(channel).max_decoding_message_size(MAX_DECODING);
            let answers = client
                .watch(self.request(ReceiverStream::new(outgoing), true))
                .await
                .map_err(|status| {
                    Error::NotSent(format!("etcd watch on {endpoint}: {}", status.message()))
                })?;
            let mut answers = answers.into_inner();
            let first = answers.message().await.map_err(|status| {
                Error::NotSent(format!("etcd watch on {endpoint}: {}", status.message()))
            })?;
            Ok::<_, Error>((answers, first))
        };
        let (answers, first) = match tokio::time::timeout(timeout, opening).await {
            Ok(Ok(opened)) => opened,
            Ok(Err(error)) => {
                self.rotate(index);
                return Err(error);
            }
            Err(_) => {
                self.rotate(index);
                return Err(Error::NotSent(format!(
                    "etcd watch on {endpoint}: not opened within {timeout:?}"
                )));
            }
        };
        let plain_created = |answer: &pb::WatchResponse| {
            answer.created
                && !answer.canceled
                && answer.compact_revision == 0
                && answer.events.is_empty()
        };
        Ok(Watcher {
            _requests: requests,
            answers,
            pending: first.filter(|answer| !plain_created(answer)),
            endpoint,
        })
    }
}
