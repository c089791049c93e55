//! The election: one lease-bound leader key, taken with a transaction.
//!
//! A node campaigns by creating `/crm/NAME/leader` bound to its lease, only if the key does
//! not exist (`create_revision == 0`); exactly one contender's transaction succeeds, and the
//! others read the winner in the same transaction. The key's `create_revision` is the winner's
//! **fence**: every append compares it (log.rs), so a deposed leader's append fails even if it
//! does not know yet that it was deposed. The key goes when the leader's lease runs out (a
//! killed, paused or cut-off leader) or when it resigns; every node watches the key and
//! campaigns when it goes.
//!
//! A leader steps down when etcd says its lease expired, when the key is no longer its own, or
//! when an append failed its fence (the log sets the role back to follower). A lease that only
//! *might* have run out (etcd unreachable) is kept: etcd renews every lease when it regains a
//! quorum, and the same leader then goes on, with no new election. Writes meanwhile get
//! `CLUSTERDOWN` from the quorum-contact clock (log.rs).

use crate::codec::{Decoder, Encoder};
use crate::error::{Error, Result};
use crate::etcd::{Client, Cmp, Compare, EventKind, KeyValue, LeaseState, Op, Txn};
use crate::keys::Keys;
use crate::mac::MacKey;
use crate::role::{Link, NodeInfo, Role, ViewHandle};
use std::time::Duration;
use tokio::sync::watch;

const LEADER_VERSION: u8 = 1;

/// The value of the leader key (and of `last-leader`, stored under `key`): who leads and
/// where clients reach it.
pub fn encode_leader(key: &[u8], mac: &MacKey, me: &NodeInfo) -> Vec<u8> {
    let payload = Encoder::new()
        .u8(LEADER_VERSION)
        .str(&me.node)
        .str(&me.runid)
        .str(&me.advertise)
        .finish();
    mac.sign(key, &payload)
}

/// Reads a value of the leader key (or of `last-leader`) stored under `key`; an unsigned or
/// foreign one is an error, and is ignored.
pub fn decode_leader(key: &[u8], mac: &MacKey, value: &[u8]) -> Result<NodeInfo> {
    let payload = mac.verify(key, value)?;
    let mut decoder = Decoder::new(payload, "leader key");
    if decoder.u8()? != LEADER_VERSION {
        return Err(Error::Malformed {
            what: "leader key".into(),
            message: "unknown version".into(),
        });
    }
    let leader = NodeInfo {
        node: decoder.str()?,
        runid: decoder.str()?,
        advertise: decoder.str()?,
        live: true,
        ..NodeInfo::default()
    };
    decoder.finish()?;
    Ok(leader)
}

/// The outcome of one campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Campaign {
    /// This node took the key; `fence` is its create revision.
    Won { fence: i64 },
    /// Another node holds it (`leader` is `None` when its value fails its MAC).
    Lost {
        leader: Option<NodeInfo>,
        fence: i64,
        revision: i64,
    },
}

/// One node's part in the election.
#[derive(Clone, Debug)]
pub struct Election {
    client: Client,
    keys: Keys,
    mac: MacKey,
    me: NodeInfo,
    lease_ttl: Duration,
}

impl Election {
    pub fn new(
        client: Client,
        keys: Keys,
        mac: MacKey,
        me: NodeInfo,
        lease_ttl: Duration,
    ) -> Election {
        Election {
            client,
            keys,
            mac,
            me,
            lease_ttl,
        }
    }

    /// Takes the leader key if it is free, bound to `lease`.
    pub async fn campaign(&self, lease: i64) -> Result<Campaign> {
        let key = self.keys.leader();
        let value = encode_leader(&key, &self.mac, &self.me);
        let txn = Txn::new()
            .when([Compare::create_revision(key.clone(), Cmp::Equal, 0)])
            .then([Op::put_leased(key.clone(), value, lease)])
            .otherwise([Op::get(key)]);
        // A lost answer is resolved by reading: the key then says whether we hold it.
        let answer = match self.client.txn(txn).await {
            Ok(answer) => answer,
            Err(Error::Unknown(reason)) => {
                tracing::debug!("campaign outcome unknown ({reason}); reading the leader key");
                return self.read().await;
            }
            Err(other) => return Err(other),
        };
        if answer.succeeded {
            return Ok(Campaign::Won {
                fence: answer.revision,
            });
        }
        match answer.get(0).and_then(|range| range.kvs.first()) {
            Some(kv) => Ok(self.lost_to(kv, answer.revision)),
            // The key went between the compare and the read: impossible in one txn, but a
            // campaign again is the safe answer.
            None => Ok(Campaign::Lost {
                leader: None,
                fence: 0,
                revision: answer.revision,
            }),
        }
    }

    fn lost_to(&self, kv: &KeyValue, revision: i64) -> Campaign {
        let leader = decode_leader(&self.keys.leader(), &self.mac, &kv.value)
            .map_err(|e| tracing::warn!("ignoring the leader key: {e}"))
            .ok();
        if leader.as_ref().is_some_and(|l| l.runid == self.me.runid) {
            return Campaign::Won {
                fence: kv.create_revision,
            };
        }
        Campaign::Lost {
            leader,
            fence: kv.create_revision,
            revision,
        }
    }

    /// Reads the leader key: [`Campaign::Won`] if it is this run's own.
    pub async fn read(&self) -> Result<Campaign> {
        let range = self
            .client
            .range(crate::etcd::Range::key(self.keys.leader()))
            .await?;
        Ok(match range.kvs.first() {
            Some(kv) => self.lost_to(kv, range.revision),
            None => Campaign::Lost {
                leader: None,
                fence: 0,
                revision: range.revision,
            },
        })
    }

    /// Records this node as the last leader (`last-leader`, kept after the leader key goes),
    /// so the master entry can name it while there is no leader.
    pub async fn record_last_leader(&self) -> Result<()> {
        let key = self.keys.last_leader();
        let value = encode_leader(&key, &self.mac, &self.me);
        self.client.put(key, value, 0).await.map(|_| ())
    }

    /// The last leader recorded, if any (a value failing its MAC is ignored).
    pub async fn last_leader(&self) -> Result<Option<NodeInfo>> {
        let key = self.keys.last_leader();
        Ok(self.client.get(key.clone()).await?.and_then(|kv| {
            decode_leader(&key, &self.mac, &kv.value)
                .map(|mut leader| {
                    leader.live = false;
                    leader
                })
                .map_err(|e| tracing::warn!("ignoring the last leader: {e}"))
                .ok()
        }))
    }

    /// Deletes the leader key if it is still the one with `fence` (a clean step-down: the
    /// others need not wait for the lease to run out).
    pub async fn resign(&self, fence: i64) -> Result<()> {
        let key = self.keys.leader();
        let txn = Txn::new()
            .when([Compare::create_revision(key.clone(), Cmp::Equal, fence)])
            .then([Op::delete(key)]);
        self.client.txn(txn).await.map(|_| ())
    }

    /// Waits until the leader key holding `fence` is gone or replaced, or `stop` says to stop
    /// waiting. The key is watched from after `revision` and read every third of the lease
    /// TTL besides (a watch on a frozen member can stay silent; each read also proves quorum
    /// contact).
    async fn until_replaced(
        &self,
        fence: i64,
        mut revision: i64,
        stop: &mut (impl FnMut() -> bool + Send),
        wake: &mut Wake,
    ) {
        let poll = (self.lease_ttl / 3).max(Duration::from_millis(100));
        let key = self.keys.leader();
        loop {
            let mut watcher = self
                .client
                .watch(key.clone(), Vec::new(), revision + 1)
                .await
                .ok();
            loop {
                if stop() {
                    return;
                }
                let event = async {
                    match watcher.as_mut() {
                        Some(w) => Some(w.next().await),
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    batch = event => match batch {
                        Some(Ok(batch)) => {
                            revision = revision.max(batch.revision);
                            let replaced = batch.events.iter().any(|e| {
                                e.kind == EventKind::Delete || e.kv.create_revision != fence
                            });
                            if replaced {
                                return;
                            }
                        }
                        _ => break,
                    },
                    () = tokio::time::sleep(poll) => {
                        if let Ok(range) = self.client.range(crate::etcd::Range::key(key.clone())).await {
                            revision = revision.max(range.revision);
                            if range.kvs.first().map(|kv| kv.create_revision) != Some(fence) {
                                return;
                            }
                        }
                        if watcher.is_none() {
                            break;
                        }
                    }
                    () = wake.changed() => {}
                }
            }
        }
    }

    /// The election, for as long as the node runs: campaign whenever the leader key is free,
    /// hold it while leader, follow the winner otherwise. `lease` gives the node's current
    /// lease and what is known of it (the registry keeps it); `eligible` says whether the node
    /// may lead (a node still copying a snapshot may not).
    pub async fn run(
        self,
        view: ViewHandle,
        mut lease: watch::Receiver<Option<(i64, LeaseState)>>,
        mut eligible: watch::Receiver<bool>,
    ) {
        let roles = view.subscribe();
        loop {
            let current = *lease.borrow_and_update();
            let Some((lease_id, LeaseState::AliveUntil(_))) = current else {
                let _ = lease.changed().await;
                continue;
            };
            let may_lead = *eligible.borrow_and_update();
            let outcome = if may_lead {
                self.campaign(lease_id).await
            } else {
                self.read().await
            };
            match outcome {
                Ok(Campaign::Won { fence }) => {
                    let me = self.me.clone();
                    view.update(|v| {
                        v.role = Role::Leader {
                            fence,
                            ready: false,
                        };
                        v.link = Link::Connected;
                        v.leader = Some(me.clone());
                        v.last_leader = Some(me);
                        true
                    });
                    tracing::info!("elected leader (fence {fence})");
                    if let Err(e) = self.record_last_leader().await {
                        tracing::debug!("recording the last leader: {e}");
                    }
                    let wake = Wake::new(&lease, &roles, &eligible);
                    let mut stop = || {
                        let lease_gone = match *wake.lease.borrow() {
                            Some((id, LeaseState::AliveUntil(_))) => id != lease_id,
                            _ => true,
                        };
                        let deposed = !matches!(
                            wake.roles.borrow().role,
                            Role::Leader { fence: f, .. } if f == fence
                        );
                        lease_gone || deposed
                    };
                    // `stop` borrows `wake`'s receivers; give the loop its own handle.
                    let mut wake_loop = Wake::detached(&wake);
                    self.until_replaced(fence, fence, &mut stop, &mut wake_loop)
                        .await;
                    drop(wake);
                    view.update(|v| {
                        let was = v.is_leader();
                        v.role = Role::Follower;
                        v.leader = None;
                        v.link = Link::Connect;
                        was
                    });
                    tracing::info!("stepped down as leader (fence {fence})");
                    if let Err(e) = self.resign(fence).await {
                        tracing::debug!("resigning: {e}");
                    }
                }
                Ok(Campaign::Lost {
                    leader,
                    fence,
                    revision,
                }) => {
                    view.update(|v| {
                        let changed = v.leader != leader || v.is_leader();
                        v.role = Role::Follower;
                        v.link = if leader.is_some() {
                            Link::Connected
                        } else {
                            Link::Connect
                        };
                        if leader.is_some() {
                            v.last_leader.clone_from(&leader);
                        }
                        v.leader = leader;
                        changed
                    });
                    if fence == 0 {
                        // No leader: campaign again at once, or look again soon.
                        let pause = if may_lead { 50 } else { 300 };
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                        continue;
                    }
                    let was_eligible = *eligible.borrow();
                    let wake = Wake::new(&lease, &roles, &eligible);
                    let mut stop = || {
                        let lease_gone = match *wake.lease.borrow() {
                            Some((id, LeaseState::AliveUntil(_))) => id != lease_id,
                            _ => true,
                        };
                        lease_gone || *wake.eligible.borrow() != was_eligible
                    };
                    let mut wake_loop = Wake::detached(&wake);
                    self.until_replaced(fence, revision, &mut stop, &mut wake_loop)
                        .await;
                }
                Err(e) => {
                    tracing::debug!("campaign: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// The receivers whose changes make a waiting election look again.
struct Wake {
    lease: watch::Receiver<Option<(i64, LeaseState)>>,
    roles: watch::Receiver<crate::role::ClusterView>,
    eligible: watch::Receiver<bool>,
}

impl Wake {
    fn new(
        lease: &watch::Receiver<Option<(i64, LeaseState)>>,
        roles: &watch::Receiver<crate::role::ClusterView>,
        eligible: &watch::Receiver<bool>,
    ) -> Wake {
        Wake {
            lease: lease.clone(),
            roles: roles.clone(),
            eligible: eligible.clone(),
        }
    }

    fn detached(other: &Wake) -> Wake {
        Wake {
            lease: other.lease.clone(),
            roles: other.roles.clone(),
            eligible: other.eligible.clone(),
        }
    }

    /// Resolves when any of the receivers sees a change.
    async fn changed(&mut self) {
        tokio::select! {
            _ = self.lease.changed() => {}
            _ = self.roles.changed() => {}
            _ = self.eligible.changed() => {}
        }
    }
}
