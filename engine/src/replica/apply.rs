//! Applying the log: a group's effects from the plan (the leader's entry) and back (every
//! node's apply), and the node's position in the log.

use super::delta::GroupDelta;
use crate::error::{Error, Result};
use crate::indexes::{Change, Old, RecordChanges};
use crate::journal::page::{page_key, Page};
use crate::keyring::SLOT_LEN;
use crate::rollup_table::RollupChanges;
use crate::shared::Shared;
use crate::store::Store;
use crate::trees::{bytes_key, meta, Space};
use crate::write::view::Effects;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What [`Store::apply_replicated`] did with an entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// `false` when this node had applied the entry already (its position is at or below
    /// [`Store::cluster_applied`]): nothing changed.
    pub applied: bool,
    /// Whether the entry changed users (the server reloads who may log in).
    pub users_changed: bool,
}

/// The entry the leader appends for a group it planned: the group's effects, with the keys
/// of the keyring slots it took (read from this node's keyring, where planning made them).
pub(crate) fn delta_of(effects: &Effects, keyring: &crate::keyring::Keyring) -> Result<GroupDelta> {
    let slots = effects
        .taken_slots
        .iter()
        .map(|&slot| {
            keyring
                .raw(slot)
                .filter(|raw| !crate::keyring::is_erased(raw))
                .map(|raw| (slot, raw))
                .ok_or_else(|| {
                    Error::Corrupt(format!("keyring slot {slot} was taken but is not there"))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(GroupDelta {
        writes: effects
            .batch
            .writes()
            .map(|(key, value)| (key.to_vec(), value.map(<[u8]>::to_vec)))
            .collect(),
        customers: effects
            .rollups
            .customers
            .iter()
            .map(|(id, rollup)| (*id, *rollup))
            .collect(),
        products: effects
            .rollups
            .products
            .iter()
            .map(|(id, rollup)| (*id, *rollup))
            .collect(),
        slots,
        erasures: effects.erasures.clone(),
    })
}

/// A received entry, checked, ready to apply.
struct Received {
    effects: Effects,
    slots: Vec<(u64, [u8; SLOT_LEN])>,
    users_changed: bool,
}

/// Checks an entry's effects against what this node holds, and builds what applying them
/// changes. Reads and changes nothing but the entry: `CORRUPT` naming the first thing that
/// cannot be applied.
fn receive(shared: &Shared, delta: GroupDelta) -> Result<Received> {
    let local = bytes_key(Space::Meta, meta::CLUSTER_APPLIED);
    let mut batch = crate::storage::Batch::default();
    let mut ids = Vec::new();
    let mut journal = None;
    let mut users_changed = false;
    for (key, value) in delta.writes {
        let first = key.first().copied();
        if first.is_none()
            || crate::trees::is_memory_only(&key)
            || first == Some(Space::KeyringSlot as u8)
            || first == Some(0xFF)
            || key == local
        {
            return Err(refused(&format!(
                "writes {}, which no write group writes",
                describe(&key)
            )));
        }
        if let Some((space, id)) = crate::record_ids::record_key(&key) {
            ids.push((space, id, value.is_some()));
        }
        users_changed |= first == Some(Space::User as u8);
        if first == Some(Space::JournalPage as u8) {
            let Some(sealed) = &value else {
                return Err(refused("removes a journal page"));
            };
            if journal.is_some() {
                return Err(refused("holds two journal pages"));
            }
            journal = Some(next_page(shared, &key, sealed)?);
        }
        match value {
            Some(value) => batch.insert(key, value),
            None => batch.remove(key),
        }
    }
    if let Some((slot, _)) = delta
        .slots
        .iter()
        .find(|(_, raw)| crate::keyring::is_erased(raw))
    {
        return Err(refused(&format!(
            "takes keyring slot {slot} with no key in it"
        )));
    }
    Ok(Received {
        effects: Effects {
            batch,
            // Computed once the group's keyring slots are installed (`record_changes`).
            records: RecordChanges::default(),
            ids,
            rollups: RollupChanges {
                customers: delta.customers.into_iter().collect(),
                products: delta.products.into_iter().collect(),
            },
            erasures: delta.erasures,
            journal,
            taken_slots: delta.slots.iter().map(|(slot, _)| *slot).collect(),
        },
        slots: delta.slots,
        users_changed,
    })
}

/// Opens an entry's journal page, which must continue this node's chain where it ends: a
/// page that does not (another history, an entry skipped) is refused before anything changes.
fn next_page(
    shared: &Shared,
    key: &[u8],
    sealed: &[u8],
) -> Result<(crate::journal::Tail, Arc<Page>)> {
    let page =
        crate::journal::page::open(&shared.codec, key, sealed, Some(shared.journal.chain_key()))?;
    let tail = shared.journal.applied_tail();
    let (Some(first), Some(last)) = (page.entries.first(), page.entries.last()) else {
        return Err(refused("holds an empty journal page"));
    };
    if key != page_key(first.seq)
        || first.seq != tail.next_seq
        || page.chained_from != Some(tail.last_hash)
        || page.feed_before != tail.feed_count
        || page.broken_at.is_some()
    {
        return Err(refused(&format!(
            "holds journal entries {}-{}, which do not continue this node's journal (its next entry is {})",
            first.seq, last.seq, tail.next_seq
        )));
    }
    let after = crate::journal::Tail {
        next_seq: last.seq + 1,
        last_hash: last.hash,
        feed_count: page.feed_through(),
    };
    Ok((after, Arc::new(page)))
}

/// The records a replicated batch changes, as this node held them and as the batch leaves
/// them: what the indexes follow, the same changes the leader's planning collected. A record
/// this node holds but cannot open (its key erased) is `Unreadable`, as it was to the leader.
fn record_changes(shared: &Shared, batch: &crate::storage::Batch) -> Result<RecordChanges> {
    let mut changes = RecordChanges::default();
    for (key, value) in batch.writes() {
        let Some((space, id)) = crate::record_ids::record_key(key) else {
            continue;
        };
        match space {
            Space::Customer => {
                changes.customers.insert(id, change(shared, key, value)?);
            }
            Space::Product => {
                changes.products.insert(id, change(shared, key, value)?);
            }
            Space::Order => {
                changes.orders.insert(id, change(shared, key, value)?);
            }
            _ => {}
        }
    }
    Ok(changes)
}

/// One record's change: as this node holds it (no read when the node has no such record),
/// and as the batch's `value` leaves it.
fn change<R: serde::de::DeserializeOwned>(
    shared: &Shared,
    key: &[u8],
    value: Option<&[u8]>,
) -> Result<Change<R>> {
    let held = match shared.record_ids.contains(key) {
        Some(false) => None,
        _ => shared.tree.get(key)?,
    };
    let old = match held {
        None => Old::Absent,
        Some(sealed) => match shared.codec.open(key, &sealed) {
            Ok(record) => Old::Was(record),
            Err(Error::Corrupt(_)) => Old::Unreadable,
            Err(other) => return Err(other),
        },
    };
    let new = value
        .map(|sealed| shared.codec.open(key, sealed))
        .transpose()?;
    Ok(Change { old, new })
}

fn refused(what: &str) -> Error {
    Error::Corrupt(format!("a replicated log entry {what}"))
}

fn describe(key: &[u8]) -> String {
    match key.first() {
        None => "an empty key".into(),
        Some(first) => format!("a key of space {:?}", char::from(*first)),
    }
}

/// Applies the entry at `position` (under the committer's turn: no group is planned or
/// applied meanwhile). An entry this node holds already is skipped. One that cannot be
/// applied stops the node's replication (see [`Store::stop_replication`]); one whose apply
/// fails in storage halts the store, as a failed flush does.
pub(crate) fn apply_entry(shared: &Shared, position: u64, entry: &[u8]) -> Result<Applied> {
    shared.health()?;
    shared.replication_health()?;
    if position <= shared.cluster_applied.load(Ordering::Acquire) {
        return Ok(Applied::default());
    }
    let received = GroupDelta::decode(entry)
        .and_then(|delta| receive(shared, delta))
        .inspect_err(|error| shared.stop_replication(&format!("entry {position}: {error}")))?;
    let halting = |error: Error| {
        shared.halt(&error);
        error
    };
    // Before the batch, whose customers are sealed under these slots' keys.
    shared
        .codec
        .keyring()?
        .install(&received.slots)
        .map_err(halting)?;
    let mut effects = received.effects;
    effects.records = record_changes(shared, &effects.batch)
        .inspect_err(|error| shared.stop_replication(&format!("entry {position}: {error}")))?;
    crate::write::apply_group(shared, effects, Some(position)).map_err(halting)?;
    // Durable in the log already: the change feed may show it now.
    shared
        .journal
        .durable_through(shared.journal.applied_tail());
    Ok(Applied {
        applied: true,
        users_changed: received.users_changed,
    })
}

impl Store {
    /// Applies a committed log entry (the plain bytes of a [`GroupDelta`], as the leader's
    /// [`ReplicatedLog::append`](super::ReplicatedLog::append) received them) at `position`
    /// in the log, in order: every node, the leader included, calls this for every entry
    /// with a group, and an entry at or below [`Store::cluster_applied`] is skipped. Blocks
    /// while a write group is committed.
    pub fn apply_replicated(&self, position: u64, group: &[u8]) -> Result<Applied> {
        self.writer.apply_replicated(position, group)
    }

    /// Moves this node's position past log entry `position`, which carries no write group (a
    /// new leader's start, a new epoch's key). The position is persisted as a group's is, so
    /// the node's durable position ([`Store::cluster_durable`]) passes such entries too: the
    /// log's trimming waits for every node's durable position, and a log whose last entries
    /// carry no group could otherwise never be trimmed, nor its epochs' keys destroyed. An
    /// entry at or below [`Store::cluster_applied`] changes nothing.
    pub fn pass_replicated(&self, position: u64) -> Result<Applied> {
        let empty = GroupDelta::default().encode()?;
        self.writer.apply_replicated(position, &empty)
    }

    /// The position of the last log entry this store applied (0: none), persisted with the
    /// entry's batch: where the node catches up from after a restart.
    pub fn cluster_applied(&self) -> u64 {
        self.shared.cluster_applied.load(Ordering::Acquire)
    }

    /// The position of the last log entry that is durable in this node's own files (entries
    /// after it are applied but would be caught up from the log after a crash).
    pub fn cluster_durable(&self) -> u64 {
        self.shared.cluster_durable.load(Ordering::Acquire)
    }

    /// Stops applying the log and writing, until the store is reopened: for an entry that
    /// failed its integrity check (changed, moved, replayed or foreign), which the node logs as
    /// `CORRUPT`. Reads go on. Later calls keep the first cause.
    pub fn stop_replication(&self, cause: &str) {
        self.shared.stop_replication(cause);
    }

    /// Why the node stopped applying the log, if it did.
    pub fn replication_stopped(&self) -> Option<String> {
        self.shared
            .replication_health()
            .err()
            .map(|e| e.to_string())
    }
}
