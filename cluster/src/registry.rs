//! Node registrations: who is in the cluster, where clients reach it, how far it has applied.
//!
//! Each live node keeps `nodes/NODE` bound to its lease (so it goes when the node does) and
//! `members/NODE`, unbound, saying when it was last seen live: a node whose lease ran out is
//! listed `s_down` from the latter until `--log-retain` has passed (PROTOCOL.md, Sentinel
//! flags). Both values are MACed (mac.rs). A registration carries the node's random id from its
//! data folder (identity.rs): a node restarted on its own folder replaces its earlier
//! registration at once, while another process with the same `--node` name is refused.

use crate::codec::{Decoder, Encoder};
use crate::error::{Error, Result};
use crate::etcd::{Client, Cmp, Compare, LeaseKeeper, LeaseState, Op, Range, Txn};
use crate::identity::{hex, Id};
use crate::keys::Keys;
use crate::mac::MacKey;
use crate::role::{NodeInfo, ViewHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

const VERSION: u8 = 1;

/// What a node publishes about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub node: String,
    /// The random id in the node's data folder.
    pub node_id: Id,
    pub runid: String,
    pub advertise: String,
    pub applied: u64,
    pub durable: u64,
    /// Where joining nodes fetch a snapshot from (`host:port`; empty: nowhere).
    pub snapshot: String,
    /// When it was written (unix ms).
    pub seen_ms: i64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Registration {
    fn encode(&self, mac: &MacKey, key: &[u8]) -> Vec<u8> {
        let payload = Encoder::new()
            .u8(VERSION)
            .str(&self.node)
            .rest(&self.node_id)
            .str(&self.runid)
            .str(&self.advertise)
            .u64(self.applied)
            .u64(self.durable)
            .str(&self.snapshot)
            .i64(self.seen_ms)
            .finish();
        mac.sign(key, &payload)
    }

    pub(crate) fn decode(mac: &MacKey, key: &[u8], value: &[u8]) -> Result<Registration> {
        let payload = mac.verify(key, value)?;
        let mut decoder = Decoder::new(payload, "node registration");
        if decoder.u8()? != VERSION {
            return Err(Error::Malformed {
                what: "node registration".into(),
                message: "unknown version".into(),
            });
        }
        let registration = Registration {
            node: decoder.str()?,
            node_id: decoder.fixed()?,
            runid: decoder.str()?,
            advertise: decoder.str()?,
            applied: decoder.u64()?,
            durable: decoder.u64()?,
            snapshot: decoder.str()?,
            seen_ms: decoder.i64()?,
        };
        decoder.finish()?;
        Ok(registration)
    }

    fn info(&self, live: bool) -> NodeInfo {
        NodeInfo {
            node: self.node.clone(),
            advertise: self.advertise.clone(),
            runid: self.runid.clone(),
            applied: self.applied,
            durable: self.durable,
            live,
        }
    }
}

/// The registry of one cluster.
#[derive(Clone, Debug)]
pub struct Registry {
    client: Client,
    keys: Keys,
    mac: MacKey,
    lease_ttl: Duration,
    log_retain: Duration,
}

impl Registry {
    pub fn new(
        client: Client,
        keys: Keys,
        mac: MacKey,
        lease_ttl: Duration,
        log_retain: Duration,
    ) -> Registry {
        Registry {
            client,
            keys,
            mac,
            lease_ttl,
            log_retain,
        }
    }

    /// The key values about nodes and the log's ages are MACed with.
    pub fn mac(&self) -> &MacKey {
        &self.mac
    }

    /// Registers this node under `lease`. Refused (one line, for `serve`'s refusal) when
    /// another live node holds the name; this node's own earlier registration (same node id,
    /// an earlier run) is replaced.
    pub async fn register(&self, me: &Registration, lease: i64) -> Result<()> {
        let key = self.keys.node(&me.node);
        let mut me = me.clone();
        me.seen_ms = now_ms();
        let value = me.encode(&self.mac, &key);
        let free = Txn::new()
            .when([Compare::version(key.clone(), Cmp::Equal, 0)])
            .then([Op::put_leased(key.clone(), value.clone(), lease)])
            .otherwise([Op::get(key.clone())]);
        let answer = self.client.txn(free).await?;
        if answer.succeeded {
            return self.seen(&me).await;
        }
        let Some(held) = answer.get(0).and_then(|r| r.kvs.first()).cloned() else {
            return Err(Error::NotSent(
                "the registration changed while registering; try again".into(),
            ));
        };
        let holder = Registration::decode(&self.mac, &key, &held.value);
        match holder {
            Ok(other) if other.node_id != me.node_id => Err(Error::Config(format!(
                "another live node is named {:?} (at {}, node id {}): give this node another --node name",
                me.node,
                other.advertise,
                hex(&other.node_id)
            ))),
            // Our own earlier run, or a value that fails its MAC (not a node of this cluster):
            // replace it, if it is still the one read.
            _ => {
                let replace = Txn::new()
                    .when([Compare::mod_revision(key.clone(), Cmp::Equal, held.mod_revision)])
                    .then([Op::put_leased(key, value, lease)]);
                if self.client.txn(replace).await?.succeeded {
                    self.seen(&me).await
                } else {
                    Err(Error::NotSent("the registration changed while registering; try again".into()))
                }
            }
        }
    }

    /// Updates this node's registration (positions, address) under `lease`.
    pub async fn refresh(&self, me: &Registration, lease: i64) -> Result<()> {
        let key = self.keys.node(&me.node);
        let mut me = me.clone();
        me.seen_ms = now_ms();
        self.client
            .put(key.clone(), me.encode(&self.mac, &key), lease)
            .await?;
        self.seen(&me).await
    }

    /// Records when this node was last seen live (`members/NODE`, no lease).
    async fn seen(&self, me: &Registration) -> Result<()> {
        let key = self.keys.member(&me.node);
        self.client
            .put(key.clone(), me.encode(&self.mac, &key), 0)
            .await
            .map(|_| ())
    }

    /// Whether a node was last seen live within `--log-retain`.
    fn recently_seen(&self, registration: &Registration) -> bool {
        let retain_ms = i64::try_from(self.log_retain.as_millis()).unwrap_or(i64::MAX);
        now_ms().saturating_sub(registration.seen_ms) <= retain_ms
    }

    /// Every live node, and every node seen within `--log-retain` whose lease has gone
    /// (`live: false`), sorted by name. Values failing their MAC are left out (logged).
    pub async fn list(&self) -> Result<Vec<NodeInfo>> {
        let live = self.client.range(Range::prefix(self.keys.nodes())).await?;
        let seen = self
            .client
            .range(Range::prefix(self.keys.members()))
            .await?;
        let mut nodes: std::collections::BTreeMap<String, NodeInfo> = Default::default();
        for (kvs, is_live) in [(&seen.kvs, false), (&live.kvs, true)] {
            for kv in kvs.iter() {
                match Registration::decode(&self.mac, &kv.key, &kv.value) {
                    Ok(r) if is_live || self.recently_seen(&r) => {
                        nodes.insert(r.node.clone(), r.info(is_live));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("ignoring a node registration: {e}"),
                }
            }
        }
        Ok(nodes.into_values().collect())
    }

    /// Keeps the view's node list current between this node's own refreshes: watches the
    /// registrations and lists the nodes again at each change, so a node that joins or
    /// leaves shows in `SENTINEL`, `ROLE` and `INFO` at once rather than half a TTL later.
    pub async fn follow_nodes(self, view: ViewHandle) {
        loop {
            let followed: Result<()> = async {
                let prefix = self.keys.nodes();
                let mut watcher = self
                    .client
                    .watch(prefix.clone(), crate::etcd::prefix_end(&prefix), 0)
                    .await?;
                loop {
                    watcher.next().await?;
                    let nodes = self.list().await?;
                    view.update(|v| {
                        let changed = v.nodes != nodes;
                        v.nodes = nodes;
                        changed
                    });
                }
            }
            .await;
            if let Err(e) = followed {
                tracing::debug!("watching the node registrations: {e}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Every live node's registration, read now (values failing their MAC are left out: not
    /// nodes of this cluster). What trimming the log waits for.
    pub async fn live(&self) -> Result<Vec<Registration>> {
        let live = self.client.range(Range::prefix(self.keys.nodes())).await?;
        Ok(live
            .kvs
            .iter()
            .filter_map(|kv| {
                Registration::decode(&self.mac, &kv.key, &kv.value)
                    .map_err(|e| tracing::warn!("ignoring a node registration: {e}"))
                    .ok()
            })
            .collect())
    }

    /// Deletes the "last seen" keys of nodes gone for longer than `--log-retain` (run by the
    /// leader now and then). Returns how many went.
    pub async fn forget_departed(&self) -> Result<usize> {
        let live = self
            .client
            .range(Range::prefix(self.keys.nodes()).keys_only())
            .await?;
        let seen = self
            .client
            .range(Range::prefix(self.keys.members()))
            .await?;
        let live_names: Vec<&str> = live
            .kvs
            .iter()
            .filter_map(|kv| self.keys.node_name(&kv.key))
            .collect();
        let mut forgotten = 0;
        for kv in &seen.kvs {
            let Some(name) = self.keys.node_name(&kv.key) else {
                continue;
            };
            let stale = match Registration::decode(&self.mac, &kv.key, &kv.value) {
                Ok(r) => !self.recently_seen(&r),
                Err(_) => true,
            };
            if stale && !live_names.contains(&name) {
                let guarded = Txn::new()
                    .when([Compare::mod_revision(
                        kv.key.clone(),
                        Cmp::Equal,
                        kv.mod_revision,
                    )])
                    .then([Op::delete(kv.key.clone())]);
                if self.client.txn(guarded).await?.succeeded {
                    forgotten += 1;
                }
            }
        }
        Ok(forgotten)
    }

    /// Keeps this node registered for as long as it runs: grants a lease, renews it, registers
    /// under it, and starts over with a new lease when etcd says the old one is gone (a node
    /// paused past its lease). Publishes the current lease and its state for the election, and
    /// refreshes the registration and the view's node list every half TTL with what
    /// `positions` gives (applied, durable). `first`: a lease already granted and registered
    /// under (by [`Registry::register`] at start-up, where a refusal stops the node).
    pub async fn keep_registered(
        self,
        mut me: Registration,
        lease_out: watch::Sender<Option<(i64, LeaseState)>>,
        view: ViewHandle,
        positions: impl Fn() -> (u64, u64) + Send,
        first: Option<LeaseKeeper>,
    ) {
        let every = (self.lease_ttl / 2).max(Duration::from_millis(200));
        let mut first = first;
        loop {
            let (keeper, mut registered) = match first.take() {
                Some(keeper) => (keeper, true),
                None => match self.client.grant(self.lease_ttl).await {
                    Ok(lease) => (self.client.keep_alive(lease), false),
                    Err(e) => {
                        tracing::debug!("granting a lease: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                },
            };
            let lease = keeper.lease();
            let mut state = keeper.subscribe();
            loop {
                let current = *state.borrow_and_update();
                lease_out.send_replace(Some((lease.id, current)));
                if current == LeaseState::Expired {
                    tracing::warn!("this node's etcd lease expired; taking a new one");
                    break;
                }
                (me.applied, me.durable) = positions();
                let written = if registered {
                    self.refresh(&me, lease.id).await
                } else {
                    self.register(&me, lease.id).await
                };
                match written {
                    Ok(()) => registered = true,
                    Err(e) => tracing::debug!("registering: {e}"),
                }
                if let Ok(nodes) = self.list().await {
                    view.update(|v| {
                        let changed = v.nodes != nodes;
                        v.nodes = nodes;
                        changed
                    });
                }
                tokio::select! {
                    _ = state.changed() => {}
                    () = tokio::time::sleep(every) => {}
                }
            }
            lease_out.send_replace(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_round_trips_under_its_own_key_only() {
        let mac = MacKey::new([3; 32]);
        let keys = Keys::new("c");
        let r = Registration {
            node: "n1".into(),
            node_id: [9; 16],
            runid: "ab".repeat(20),
            advertise: "127.0.0.1:7000".into(),
            applied: 5,
            durable: 4,
            snapshot: String::new(),
            seen_ms: 1,
        };
        let value = r.encode(&mac, &keys.node("n1"));
        assert_eq!(
            Registration::decode(&mac, &keys.node("n1"), &value).unwrap(),
            r
        );
        assert!(Registration::decode(&mac, &keys.node("n2"), &value).is_err());
    }
}
