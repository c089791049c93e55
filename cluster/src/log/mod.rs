//! The leader's side of the replicated log: the write gate, the takeover after an election,
//! and the append protocol.
//!
//! **Append.** Each part of a group is entry `N`, written by one transaction that succeeds
//! only while the leader key still has this leader's fence and `log/N` does not exist yet:
//!
//! ```text
//! if create_revision(leader) == fence && create_revision(log/N) == 0
//!   then put(log/N, sealed)  else get(leader), get(log/N)
//! ```
//!
//! The engine's committer appends one group at a time and plans the next only once this one
//! is answered (so `N + 1` is never sent before `N` is settled); it fills each group instead
//! (the engine's `write/replicated.rs`: etcd's cost is per transaction).
//!
//! **Unknown outcome.** When the answer is lost, the leader sends the *identical* transaction
//! again (same `N`, same sealed bytes) until it gets an answer or `--lease-ttl` has passed:
//! success, or `log/N` holding our bytes, means committed; `log/N` absent or different with the
//! leader key no longer ours means it never landed and never can (its compare needs our
//! fence). Past the deadline the write is answered `TRYAGAIN`, and the node stays *uncertain*:
//! it keeps resending in the background, plans nothing, and never sends `N + 1` while `N` is
//! unknown; it accepts writes again once the answer came and the apply loop has applied up to
//! `N`.
//!
//! **Takeover.** A node that wins the election reads the log's head, waits until its apply
//! loop has applied every entry up to it, and appends a [`Entry::LeaderStart`] (which voids a
//! group the previous leader left half-written); only then does it accept writes.
//!
//! One file (about 570 lines of code, the rest its tests): the write gate, the append, the
//! resolution of an unknown outcome and the takeover share one `Writer` state under one lock,
//! and their order rules (never `N + 1` while `N` is unknown) are only checkable side by side;
//! the epoch rotation, which needs none of that, has its own file (`epoch.rs`).

mod epoch;

use crate::entry::{self, Entry};
use crate::error::{Error, Result};
use crate::etcd::{Client, Cmp, Compare, Op, Range, Txn};
use crate::handoff::Handoff;
use crate::keys::Keys;
use crate::role::{ClusterView, NodeInfo, Role, ViewHandle};
use crate::seam::Sealer;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Why a write is refused (nothing was applied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This node is not the leader: `READONLY`.
    ReadOnly,
    /// No quorum, no leader, or etcd refused: `CLUSTERDOWN` (the reason goes to the log).
    ClusterDown(String),
}

/// What became of an append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Committed in etcd; `position` is the entry of its last part.
    Committed { position: u64 },
    /// Certainly not in the log.
    Refused(Refusal),
    /// May or may not be in the log: `TRYAGAIN`.
    Unknown,
}

/// The result of sending one entry.
#[derive(Debug, PartialEq, Eq)]
enum Sent {
    Committed,
    /// The leader key is not ours any more: this node was deposed.
    Deposed,
    /// The entry number holds something else although this node leads: its idea of the log's
    /// head is wrong, so it steps down and a takeover reads the head again.
    Taken,
    Refused(String),
    Unknown,
}

/// The appender's state.
#[derive(Debug, Default)]
struct Writer {
    /// The fence the appender writes under, and the next entry number (0: not ready).
    fence: i64,
    next: u64,
    /// An entry whose outcome is not known yet.
    uncertain: Option<u64>,
    /// Writes wait until the apply loop has applied up to here (after an uncertain entry).
    settle_to: u64,
    /// The epoch the next entry is sealed under: the log's current one.
    epoch: u64,
    /// When that epoch began (the leader's clock, unix ms; `None`: not known, so old).
    epoch_began: Option<i64>,
}

/// The leader's log (cheap to clone). Implements the engine's `ReplicatedLog` when wired.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    keys: Keys,
    sealer: Arc<dyn Sealer>,
    view: ViewHandle,
    roles: watch::Receiver<ClusterView>,
    me: NodeInfo,
    lease_ttl: Duration,
    handoff: Handoff,
    writer: Mutex<Writer>,
    /// Held while an entry is numbered, sealed and sent: a group's parts, a new epoch and a
    /// start entry are appended one after the other, never interleaved.
    appending: tokio::sync::Mutex<()>,
    runtime: tokio::runtime::Handle,
}

/// Unix time in milliseconds (the leader's clock, stamped on entries).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Log {
    /// A log writing through `client` for node `me`. Must be made inside a tokio runtime:
    /// [`Log::append`] blocks on it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        keys: Keys,
        sealer: Arc<dyn Sealer>,
        view: ViewHandle,
        me: NodeInfo,
        lease_ttl: Duration,
        handoff: Handoff,
    ) -> Log {
        let roles = view.subscribe();
        Log {
            inner: Arc::new(Inner {
                client,
                keys,
                sealer,
                view,
                roles,
                me,
                lease_ttl,
                handoff,
                writer: Mutex::new(Writer::default()),
                appending: tokio::sync::Mutex::new(()),
                runtime: tokio::runtime::Handle::current(),
            }),
        }
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        // A panic while holding this lock is impossible (no code under it can panic);
        // recovering the guard keeps the gate working regardless.
        self.inner
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The write gate, in the contract's order: `CLUSTERDOWN` without recent quorum contact or
    /// without a known leader; `READONLY` on a follower; `CLUSTERDOWN` on a leader that is not
    /// ready (catching up, or uncertain about an entry).
    pub fn may_write(&self) -> Result<(), Refusal> {
        let ttl = self.inner.lease_ttl;
        if !self.inner.client.contact().is_fresh(ttl) {
            return Err(Refusal::ClusterDown(format!(
                "no answer from an etcd quorum for more than {}s",
                ttl.as_secs()
            )));
        }
        let view = self.inner.roles.borrow();
        if let Some(reason) = &view.stopped {
            return Err(Refusal::ClusterDown(format!(
                "this node stopped applying: {reason}"
            )));
        }
        match view.role {
            Role::Follower if view.leader.is_none() => {
                Err(Refusal::ClusterDown("no leader is known".into()))
            }
            Role::Follower => Err(Refusal::ReadOnly),
            Role::Leader { ready: false, .. } => Err(Refusal::ClusterDown(
                "the new leader is still applying the log".into(),
            )),
            Role::Leader { fence, ready: true } => {
                let applied = view.applied;
                drop(view);
                let writer = self.writer();
                if let Some(number) = writer.uncertain {
                    return Err(Refusal::ClusterDown(format!(
                        "waiting to learn whether log entry {number} was committed"
                    )));
                }
                if applied < writer.settle_to {
                    return Err(Refusal::ClusterDown(format!(
                        "applying the log up to entry {}",
                        writer.settle_to
                    )));
                }
                if writer.fence != fence || writer.next == 0 {
                    return Err(Refusal::ClusterDown("the leader is starting".into()));
                }
                Ok(())
            }
        }
    }

    /// Appends one write group and blocks until etcd committed it, refused it, or its outcome
    /// could not be learned within `--lease-ttl`. Called from the engine's committer thread
    /// (never from inside the runtime).
    pub fn append(&self, group: Vec<u8>) -> AppendOutcome {
        self.inner.runtime.block_on(self.append_async(group))
    }

    /// [`Log::append`] for async callers.
    pub async fn append_async(&self, group: Vec<u8>) -> AppendOutcome {
        let deadline = Instant::now() + self.inner.lease_ttl;
        if let Err(refusal) = self.may_write() {
            return AppendOutcome::Refused(refusal);
        }
        // Behind a new epoch's entry being sent (at most half the TTL): the gate again after.
        let Ok(_appending) =
            tokio::time::timeout_at(deadline.into(), self.inner.appending.lock()).await
        else {
            return AppendOutcome::Refused(Refusal::ClusterDown(
                "the leader could not append in time".into(),
            ));
        };
        if let Err(refusal) = self.may_write() {
            return AppendOutcome::Refused(refusal);
        }
        let (fence, first, epoch) = {
            let writer = self.writer();
            (writer.fence, writer.next, writer.epoch)
        };
        let parts = match entry::split(&group, first, now_ms()) {
            Ok(parts) => parts,
            Err(e) => return AppendOutcome::Refused(Refusal::ClusterDown(e.to_string())),
        };
        let last = first + parts.len() as u64 - 1;
        for (number, part) in (first..).zip(parts) {
            let sealed = match self.inner.sealer.seal(epoch, number, &part.encode()) {
                Ok(sealed) => sealed,
                Err(e) => return AppendOutcome::Refused(Refusal::ClusterDown(e.to_string())),
            };
            let is_last = number == last;
            if is_last {
                self.inner.handoff.sending(number);
            }
            match self
                .send(number, &sealed, fence, Some(deadline), false)
                .await
            {
                Sent::Committed => self.writer().next = number + 1,
                Sent::Deposed => {
                    self.inner.handoff.refused(number);
                    self.step_down(fence);
                    return AppendOutcome::Refused(Refusal::ReadOnly);
                }
                Sent::Refused(reason) => {
                    self.inner.handoff.refused(number);
                    tracing::warn!("etcd refused log entry {number}: {reason}");
                    return AppendOutcome::Refused(Refusal::ClusterDown(reason));
                }
                Sent::Taken => {
                    self.inner.handoff.refused(number);
                    tracing::error!("log entry {number} is taken while this node leads");
                    self.step_down(fence);
                    return AppendOutcome::Refused(Refusal::ClusterDown(format!(
                        "log entry {number} was already taken"
                    )));
                }
                Sent::Unknown => {
                    self.inner.handoff.unknown(number);
                    self.resolve_later(number, sealed, fence);
                    // A group whose last part was never sent is certainly incomplete.
                    return if is_last {
                        AppendOutcome::Unknown
                    } else {
                        AppendOutcome::Refused(Refusal::ClusterDown(format!(
                            "etcd did not answer for log entry {number}"
                        )))
                    };
                }
            }
        }
        self.inner.handoff.committed(last);
        AppendOutcome::Committed { position: last }
    }

    /// Sends the fenced transaction writing entry `number` until it is answered, or until
    /// `deadline` (none: for as long as this node leads with `fence`).
    /// `unanswered`: an earlier send of the same transaction went unanswered (a refusal then
    /// says nothing of whether that one landed).
    async fn send(
        &self,
        number: u64,
        sealed: &[u8],
        fence: i64,
        deadline: Option<Instant>,
        unanswered: bool,
    ) -> Sent {
        let leader = self.inner.keys.leader();
        let key = self.inner.keys.entry(number);
        let txn = Txn::new()
            .when([
                Compare::create_revision(leader.clone(), Cmp::Equal, fence),
                Compare::create_revision(key.clone(), Cmp::Equal, 0),
            ])
            .then([Op::put(key.clone(), sealed.to_vec())])
            .otherwise([Op::get(leader), Op::get(key)]);
        let mut sent_unanswered = unanswered;
        loop {
            match self.inner.client.txn(txn.clone()).await {
                Ok(answer) if answer.succeeded => return Sent::Committed,
                Ok(answer) => {
                    let entry = answer.get(1).and_then(|r| r.kvs.first());
                    if entry.is_some_and(|kv| kv.value == sealed) {
                        return Sent::Committed;
                    }
                    let holder = answer.get(0).and_then(|r| r.kvs.first());
                    if holder.map(|kv| kv.create_revision) != Some(fence) {
                        return Sent::Deposed;
                    }
                    // Entry N holds something else while this node still leads: no other
                    // node can write under this fence, so the log is not what we think.
                    return Sent::Taken;
                }
                Err(Error::Unknown(reason)) => {
                    tracing::debug!("log entry {number}: {reason}");
                    sent_unanswered = true;
                }
                Err(error) if !sent_unanswered && !matches!(error, Error::NotSent(_)) => {
                    return Sent::Refused(error.to_string());
                }
                Err(error) => tracing::debug!("log entry {number}: {error}"),
            }
            let stop = match deadline {
                Some(deadline) => Instant::now() >= deadline,
                None => !self.leads_with(fence),
            };
            if stop {
                return if sent_unanswered {
                    Sent::Unknown
                } else {
                    Sent::Refused("etcd could not be reached".into())
                };
            }
            let pause = Duration::from_millis(if deadline.is_some() { 20 } else { 200 });
            tokio::time::sleep(pause).await;
        }
    }

    /// Whether this node's view still says it leads with `fence`.
    fn leads_with(&self, fence: i64) -> bool {
        matches!(self.inner.roles.borrow().role, Role::Leader { fence: f, .. } if f == fence)
    }

    /// After an unknown outcome: resend entry `number` in the background until answered.
    fn resolve_later(&self, number: u64, sealed: Vec<u8>, fence: i64) {
        {
            let mut writer = self.writer();
            writer.uncertain = Some(number);
        }
        let log = self.clone();
        self.inner.runtime.spawn(async move {
            let outcome = log.send(number, &sealed, fence, None, true).await;
            tracing::info!("log entry {number}, whose outcome was unknown: {outcome:?}");
            let mut writer = log.writer();
            if writer.fence != fence {
                // A later leadership of this node has its own state: leave it alone.
                return;
            }
            writer.uncertain = None;
            match outcome {
                Sent::Committed => {
                    writer.next = writer.next.max(number + 1);
                    writer.settle_to = writer.settle_to.max(number);
                }
                Sent::Deposed => {
                    drop(writer);
                    log.step_down(fence);
                }
                // Not answered while this node led, refused, or taken: it steps down so that
                // the next leader's takeover settles the log's head.
                Sent::Refused(_) | Sent::Unknown | Sent::Taken => {
                    drop(writer);
                    log.step_down(fence);
                }
            }
        });
    }

    /// Leaves the leadership held with `fence` (the election then resigns the key).
    fn step_down(&self, fence: i64) {
        {
            let mut writer = self.writer();
            if writer.fence == fence {
                writer.next = 0;
            }
        }
        self.inner.view.update(|view| match view.role {
            Role::Leader { fence: f, .. } if f == fence => {
                view.role = Role::Follower;
                view.leader = None;
                true
            }
            _ => false,
        });
    }

    /// The last entry number in the log (0: empty), read linearizably.
    pub async fn head(&self) -> Result<u64> {
        let keys = &self.inner.keys;
        let range = self
            .inner
            .client
            .range(
                Range::between(keys.log(), keys.log_end())
                    .descending()
                    .limit(1)
                    .keys_only(),
            )
            .await?;
        Ok(range
            .kvs
            .first()
            .and_then(|kv| keys.entry_number(&kv.key))
            .unwrap_or(0))
    }

    /// Runs for as long as the node does: each time the election makes this node leader,
    /// brings it to ready (see the module's "Takeover").
    pub async fn run_takeovers(self) {
        let mut roles = self.inner.view.subscribe();
        loop {
            let role = roles.borrow_and_update().role;
            if let Role::Leader {
                fence,
                ready: false,
            } = role
            {
                self.take_over(fence).await;
            }
            if roles.changed().await.is_err() {
                return;
            }
        }
    }

    async fn take_over(&self, fence: i64) {
        let mut roles = self.inner.view.subscribe();
        while self.leads_with(fence) {
            let head = match self.head().await {
                Ok(head) => head,
                Err(e) => {
                    tracing::debug!("takeover: reading the log's head: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Every entry up to the head applied (or the leadership gone).
            let caught_up = roles
                .wait_for(|view| {
                    view.applied >= head
                        || !matches!(view.role, Role::Leader { fence: f, .. } if f == fence)
                        || view.stopped.is_some()
                })
                .await
                .map(|view| view.applied >= head && view.stopped.is_none());
            if !matches!(caught_up, Ok(true)) || !self.leads_with(fence) {
                return;
            }
            let (epoch, epoch_began) = match self.epoch_at(head).await {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!("takeover: finding the log's epoch: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let number = head + 1;
            let start = Entry::LeaderStart {
                at_ms: now_ms(),
                node: self.inner.me.node.clone(),
                runid: self.inner.me.runid.clone(),
                fence,
            };
            let sealed = match self.inner.sealer.seal(epoch, number, &start.encode()) {
                Ok(sealed) => sealed,
                Err(e) => {
                    tracing::error!("takeover: sealing the start entry: {e}");
                    return;
                }
            };
            let deadline = Instant::now() + self.inner.lease_ttl;
            let sent = {
                let _appending = self.inner.appending.lock().await;
                self.send(number, &sealed, fence, Some(deadline), false)
                    .await
            };
            match sent {
                Sent::Committed => {
                    {
                        let mut writer = self.writer();
                        *writer = Writer {
                            fence,
                            next: number + 1,
                            uncertain: None,
                            settle_to: head,
                            epoch,
                            epoch_began,
                        };
                    }
                    self.inner.view.update(|view| match view.role {
                        Role::Leader {
                            fence: f,
                            ready: false,
                        } if f == fence => {
                            view.role = Role::Leader { fence, ready: true };
                            true
                        }
                        _ => false,
                    });
                    tracing::info!("leading from log entry {number} (epoch {epoch})");
                    return;
                }
                Sent::Deposed | Sent::Taken => {
                    self.step_down(fence);
                    return;
                }
                // A start entry that may have landed is harmless: read the head again.
                Sent::Refused(reason) => {
                    tracing::warn!("takeover: {reason}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Sent::Unknown => {}
            }
        }
    }

    /// The fence this node leads with, while it leads and accepts writes.
    pub fn ready_fence(&self) -> Option<i64> {
        match self.inner.roles.borrow().role {
            Role::Leader { fence, ready: true } => Some(fence),
            _ => None,
        }
    }

    /// The sealer (the trimmer opens entries to read their time).
    pub fn sealer(&self) -> &Arc<dyn Sealer> {
        &self.inner.sealer
    }

    /// The etcd client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The etcd keys.
    pub fn keys(&self) -> &Keys {
        &self.inner.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::ClientOptions;

    struct Plain;

    impl Sealer for Plain {
        fn seal(&self, _: u64, _: u64, plain: &[u8]) -> Result<Vec<u8>> {
            Ok(plain.to_vec())
        }

        fn open(&self, _: u64, sealed: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
            Ok(zeroize::Zeroizing::new(sealed.to_vec()))
        }

        fn epoch_of(&self, _: &[u8]) -> Option<u64> {
            Some(1)
        }

        fn newest_epoch(&self) -> Option<u64> {
            Some(1)
        }

        fn learn_epoch(&self, _: u64, _: &crate::entry::EpochKey) -> Result<()> {
            Ok(())
        }

        fn destroy_epochs_before(&self, _: u64) -> Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_write_gate_answers_in_the_contracts_order() {
        // Nothing listens there: the client connects lazily and is never used here.
        let options =
            ClientOptions::for_lease_ttl(vec!["http://127.0.0.1:9".into()], Duration::from_secs(2));
        let client = Client::connect(options).await.unwrap();
        let view = ViewHandle::new();
        let me = NodeInfo {
            node: "a".into(),
            ..NodeInfo::default()
        };
        let log = Log::new(
            client.clone(),
            Keys::new("t"),
            Arc::new(Plain),
            view.clone(),
            me.clone(),
            Duration::from_secs(2),
            Handoff::new(),
        );
        let down = |refusal: Result<(), Refusal>| matches!(refusal, Err(Refusal::ClusterDown(_)));
        // No quorum contact yet: CLUSTERDOWN, whatever the role.
        view.update(|v| {
            v.leader = Some(me.clone());
            true
        });
        assert!(down(log.may_write()));
        client.contact().record(Instant::now());
        // A follower that knows a leader: READONLY; one that knows none: CLUSTERDOWN.
        assert_eq!(log.may_write(), Err(Refusal::ReadOnly));
        view.update(|v| {
            v.leader = None;
            true
        });
        assert!(down(log.may_write()));
        // A leader still applying the log: CLUSTERDOWN (clients retry).
        view.update(|v| {
            v.role = Role::Leader {
                fence: 3,
                ready: false,
            };
            v.leader = Some(me.clone());
            true
        });
        assert!(down(log.may_write()));
        // A node that stopped applying refuses writes until restarted.
        view.update(|v| {
            v.role = Role::Leader {
                fence: 3,
                ready: true,
            };
            v.stopped = Some("CORRUPT log entry 9".into());
            true
        });
        assert!(down(log.may_write()));
        assert!(matches!(
            log.append_async(b"x".to_vec()).await,
            AppendOutcome::Refused(Refusal::ClusterDown(_))
        ));
    }
}
