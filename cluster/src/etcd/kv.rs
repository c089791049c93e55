//! Keys and values: range, put, delete-range, transactions and compaction.
//!
//! The request shapes are our own small types (a [`Range`] builder, [`Compare`], [`Op`]) so
//! the rest of the crate never touches the generated protobuf structs.
//!
//! One file: the request builders and their answers are one vocabulary that `Client`'s calls
//! take and return; each piece is a few lines, and split they would only import each other.

use super::client::{Client, Retry, MAX_DECODING};
use super::proto::etcdserverpb as pb;
use super::proto::mvccpb;
use crate::error::Result;

/// A key and its value as etcd keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    /// The revision that created the key (the leader key's is the fencing token).
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    /// The lease the key is bound to (0: none).
    pub lease: i64,
}

impl From<mvccpb::KeyValue> for KeyValue {
    fn from(kv: mvccpb::KeyValue) -> Self {
        KeyValue {
            key: kv.key,
            value: kv.value,
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
            lease: kv.lease,
        }
    }
}

/// The end of the range of every key that starts with `prefix` (etcd's `range_end`).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte was 0xff: `\0` means "to the end of the key space".
    vec![0]
}

/// A read of one key or of a key range.
#[derive(Clone, Debug, Default)]
pub struct Range {
    key: Vec<u8>,
    end: Vec<u8>,
    limit: i64,
    revision: i64,
    keys_only: bool,
    count_only: bool,
    serializable: bool,
    descending: bool,
}

impl Range {
    /// One key.
    pub fn key(key: impl Into<Vec<u8>>) -> Range {
        Range {
            key: key.into(),
            ..Range::default()
        }
    }

    /// Every key from `from` (included) to `to` (excluded), in key order.
    pub fn between(from: impl Into<Vec<u8>>, to: impl Into<Vec<u8>>) -> Range {
        Range {
            key: from.into(),
            end: to.into(),
            ..Range::default()
        }
    }

    /// Every key starting with `prefix`, in key order.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> Range {
        let key = prefix.into();
        let end = prefix_end(&key);
        Range::between(key, end)
    }

    /// At most `limit` keys (`more` says whether some were left).
    pub fn limit(mut self, limit: i64) -> Range {
        self.limit = limit;
        self
    }

    /// As the store was at `revision` (fails with [`Error::Compacted`] if compacted).
    pub fn at_revision(mut self, revision: i64) -> Range {
        self.revision = revision;
        self
    }

    /// Keys without their values.
    pub fn keys_only(mut self) -> Range {
        self.keys_only = true;
        self
    }

    /// Only the count of keys.
    pub fn count_only(mut self) -> Range {
        self.count_only = true;
        self
    }

    /// Answered by the member alone, without agreeing with a quorum: may be stale, and does
    /// not count as quorum contact, but works without a quorum.
    pub fn serializable(mut self) -> Range {
        self.serializable = true;
        self
    }

    /// In descending key order (with `limit(1)`: the last key of the range).
    pub fn descending(mut self) -> Range {
        self.descending = true;
        self
    }

    fn into_request(self) -> pb::RangeRequest {
        pb::RangeRequest {
            key: self.key,
            range_end: self.end,
            limit: self.limit,
            revision: self.revision,
            sort_order: if self.descending {
                pb::range_request::SortOrder::Descend as i32
            } else {
                pb::range_request::SortOrder::None as i32
            },
            sort_target: pb::range_request::SortTarget::Key as i32,
            serializable: self.serializable,
            keys_only: self.keys_only,
            count_only: self.count_only,
            ..pb::RangeRequest::default()
        }
    }
}

/// The answer to a [`Range`].
#[derive(Clone, Debug, Default)]
pub struct RangeResult {
    /// The store's revision when the read was served.
    pub revision: i64,
    pub kvs: Vec<KeyValue>,
    /// Whether the limit left keys out.
    pub more: bool,
    /// The number of keys in the range (all of them, not only those returned).
    pub count: i64,
}

impl From<pb::RangeResponse> for RangeResult {
    fn from(response: pb::RangeResponse) -> Self {
        RangeResult {
            revision: response.header.map_or(0, |h| h.revision),
            kvs: response.kvs.into_iter().map(KeyValue::from).collect(),
            more: response.more,
            count: response.count,
        }
    }
}

/// How a [`Compare`] compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Equal,
    NotEqual,
    Greater,
    Less,
}

/// One condition of a transaction, on one key (a missing key has revisions and version 0).
#[derive(Clone, Debug)]
pub struct Compare {
    key: Vec<u8>,
    cmp: Cmp,
    target: Target,
}

#[derive(Clone, Debug)]
enum Target {
    CreateRevision(i64),
    ModRevision(i64),
    Version(i64),
    Value(Vec<u8>),
}

impl Compare {
    /// The key's creation revision (0: the key does not exist).
    pub fn create_revision(key: impl Into<Vec<u8>>, cmp: Cmp, revision: i64) -> Compare {
        Compare {
            key: key.into(),
            cmp,
            target: Target::CreateRevision(revision),
        }
    }

    /// The key's last modification revision.
    pub fn mod_revision(key: impl Into<Vec<u8>>, cmp: Cmp, revision: i64) -> Compare {
        Compare {
            key: key.into(),
            cmp,
            target: Target::ModRevision(revision),
        }
    }

    /// The key's version (0: the key does not exist).
    pub fn version(key: impl Into<Vec<u8>>, cmp: Cmp, version: i64) -> Compare {
        Compare {
            key: key.into(),
            cmp,
            target: Target::Version(version),
        }
    }

    /// The key's value.
    pub fn value(key: impl Into<Vec<u8>>, cmp: Cmp, value: impl Into<Vec<u8>>) -> Compare {
        Compare {
            key: key.into(),
            cmp,
            target: Target::Value(value.into()),
        }
    }

    fn into_proto(self) -> pb::Compare {
        use pb::compare::{CompareResult, CompareTarget, TargetUnion};
        let result = match self.cmp {
            Cmp::Equal => CompareResult::Equal,
            Cmp::NotEqual => CompareResult::NotEqual,
            Cmp::Greater => CompareResult::Greater,
            Cmp::Less => CompareResult::Less,
        };
        let (target, union) = match self.target {
            Target::CreateRevision(r) => (CompareTarget::Create, TargetUnion::CreateRevision(r)),
            Target::ModRevision(r) => (CompareTarget::Mod, TargetUnion::ModRevision(r)),
            Target::Version(v) => (CompareTarget::Version, TargetUnion::Version(v)),
            Target::Value(v) => (CompareTarget::Value, TargetUnion::Value(v)),
        };
        pb::Compare {
            result: result as i32,
            target: target as i32,
            key: self.key,
            range_end: Vec::new(),
            target_union: Some(union),
        }
    }
}

/// One operation of a transaction.
#[derive(Clone, Debug)]
pub enum Op {
    /// Writes a key, bound to a lease when `lease` is not 0.
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
        lease: i64,
    },
    /// Reads.
    Get(Range),
    /// Deletes one key (`end` empty) or a range.
    Delete { key: Vec<u8>, end: Vec<u8> },
}

impl Op {
    /// A put without a lease.
    pub fn put(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Op {
        Op::Put {
            key: key.into(),
            value: value.into(),
            lease: 0,
        }
    }

    /// A put bound to a lease (the key goes when the lease does).
    pub fn put_leased(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>, lease: i64) -> Op {
        Op::Put {
            key: key.into(),
            value: value.into(),
            lease,
        }
    }

    /// A read of one key.
    pub fn get(key: impl Into<Vec<u8>>) -> Op {
        Op::Get(Range::key(key))
    }

    /// A delete of one key.
    pub fn delete(key: impl Into<Vec<u8>>) -> Op {
        Op::Delete {
            key: key.into(),
            end: Vec::new(),
        }
    }

    /// A delete of the keys from `key` (included) to `end` (excluded).
    pub fn delete_range(key: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Op {
        Op::Delete {
            key: key.into(),
            end: end.into(),
        }
    }

    fn into_proto(self) -> pb::RequestOp {
        use pb::request_op::Request;
        let request = match self {
            Op::Put { key, value, lease } => Request::RequestPut(pb::PutRequest {
                key,
                value,
                lease,
                ..pb::PutRequest::default()
            }),
            Op::Get(range) => Request::RequestRange(range.into_request()),
            Op::Delete { key, end } => Request::RequestDeleteRange(pb::DeleteRangeRequest {
                key,
                range_end: end,
                ..pb::DeleteRangeRequest::default()
            }),
        };
        pb::RequestOp {
            request: Some(request),
        }
    }
}

/// A transaction: if every compare holds, `then` runs, else `otherwise`; atomically.
#[derive(Clone, Debug, Default)]
pub struct Txn {
    compares: Vec<Compare>,
    then: Vec<Op>,
    otherwise: Vec<Op>,
}

impl Txn {
    /// An empty transaction (it succeeds and does nothing).
    pub fn new() -> Txn {
        Txn::default()
    }

    /// The conditions (all must hold).
    pub fn when(mut self, compares: impl IntoIterator<Item = Compare>) -> Txn {
        self.compares.extend(compares);
        self
    }

    /// What runs when every condition holds.
    pub fn then(mut self, ops: impl IntoIterator<Item = Op>) -> Txn {
        self.then.extend(ops);
        self
    }

    /// What runs when a condition fails.
    pub fn otherwise(mut self, ops: impl IntoIterator<Item = Op>) -> Txn {
        self.otherwise.extend(ops);
        self
    }

    fn into_request(self) -> pb::TxnRequest {
        pb::TxnRequest {
            compare: self.compares.into_iter().map(Compare::into_proto).collect(),
            success: self.then.into_iter().map(Op::into_proto).collect(),
            failure: self.otherwise.into_iter().map(Op::into_proto).collect(),
        }
    }
}

/// What one operation of a transaction gave.
#[derive(Clone, Debug)]
pub enum OpResult {
    Put,
    Get(RangeResult),
    /// The number of keys deleted.
    Delete(i64),
    /// A nested transaction (this crate sends none).
    Txn,
}

/// The answer to a [`Txn`].
#[derive(Clone, Debug)]
pub struct TxnResult {
    /// Whether every compare held (so `then` ran).
    pub succeeded: bool,
    /// The store's revision after the transaction (the revision of its writes, if any).
    pub revision: i64,
    /// One result per operation of the branch that ran.
    pub results: Vec<OpResult>,
}

impl TxnResult {
    /// The result of the `index`-th operation when it was a read.
    pub fn get(&self, index: usize) -> Option<&RangeResult> {
        match self.results.get(index) {
            Some(OpResult::Get(range)) => Some(range),
            _ => None,
        }
    }
}

impl From<pb::TxnResponse> for TxnResult {
    fn from(response: pb::TxnResponse) -> Self {
        use pb::response_op::Response;
        let results = response
            .responses
            .into_iter()
            .filter_map(|op| op.response)
            .map(|op| match op {
                Response::ResponseRange(range) => OpResult::Get(range.into()),
                Response::ResponsePut(_) => OpResult::Put,
                Response::ResponseDeleteRange(delete) => OpResult::Delete(delete.deleted),
                Response::ResponseTxn(_) => OpResult::Txn,
            })
            .collect();
        TxnResult {
            succeeded: response.succeeded,
            revision: response.header.map_or(0, |h| h.revision),
            results,
        }
    }
}

fn kv(channel: tonic::transport::Channel) -> pb::kv_client::KvClient<tonic::transport::Channel> {
    pb::kv_client::KvClient::new(channel).max_decoding_message_size(MAX_DECODING)
}

impl Client {
    /// Reads a key or a range. Linearizable unless [`Range::serializable`]; retried on the next
    /// endpoint when an answer is lost.
    pub async fn range(&self, range: Range) -> Result<RangeResult> {
        let linearizable = !range.serializable;
        let request = range.into_request();
        let answer = self
            .call(
                "etcd range",
                Retry::Idempotent,
                linearizable,
                request,
                |channel, request| async move { kv(channel).range(request).await },
            )
            .await?;
        Ok(answer.into())
    }

    /// Reads one key's value and metadata (`None`: no such key).
    pub async fn get(&self, key: impl Into<Vec<u8>>) -> Result<Option<KeyValue>> {
        Ok(self.range(Range::key(key)).await?.kvs.into_iter().next())
    }

    /// Writes a key (bound to `lease` unless 0); returns the revision of the write.
    pub async fn put(
        &self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
        lease: i64,
    ) -> Result<i64> {
        let request = pb::PutRequest {
            key: key.into(),
            value: value.into(),
            lease,
            ..pb::PutRequest::default()
        };
        let answer = self
            .call(
                "etcd put",
                Retry::Once,
                true,
                request,
                |channel, request| async move { kv(channel).put(request).await },
            )
            .await?;
        Ok(answer.header.map_or(0, |h| h.revision))
    }

    /// Deletes the keys from `key` (included) to `end` (excluded; empty: `key` alone); returns
    /// the revision and how many keys went.
    pub async fn delete_range(
        &self,
        key: impl Into<Vec<u8>>,
        end: impl Into<Vec<u8>>,
    ) -> Result<(i64, i64)> {
        let request = pb::DeleteRangeRequest {
            key: key.into(),
            range_end: end.into(),
            ..pb::DeleteRangeRequest::default()
        };
        let answer = self
            .call(
                "etcd delete",
                Retry::Once,
                true,
                request,
                |channel, request| async move { kv(channel).delete_range(request).await },
            )
            .await?;
        Ok((answer.header.map_or(0, |h| h.revision), answer.deleted))
    }

    /// Runs a transaction. A lost answer is [`Error::Unknown`]: the caller decides whether the
    /// identical transaction may be sent again.
    pub async fn txn(&self, txn: Txn) -> Result<TxnResult> {
        let request = txn.into_request();
        let answer = self
            .call(
                "etcd txn",
                Retry::Once,
                true,
                request,
                |channel, request| async move { kv(channel).txn(request).await },
            )
            .await?;
        Ok(answer.into())
    }

    /// Discards the history before `revision` (keys deleted or overwritten before it can no
    /// longer be read or watched). Compacting twice to the same revision is refused by etcd;
    /// that refusal is returned as is.
    pub async fn compact(&self, revision: i64) -> Result<()> {
        let request = pb::CompactionRequest {
            revision,
            physical: false,
        };
        self.call(
            "etcd compact",
            Retry::Once,
            true,
            request,
            |channel, request| async move { kv(channel).compact(request).await },
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_its_successor() {
        assert_eq!(prefix_end(b"/crm/a/"), b"/crm/a0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }
}
