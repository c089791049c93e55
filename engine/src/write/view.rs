//! What a write sees and what it stages.
//!
//! A write group applies many operations in one `apply_batch`. Each operation must see the
//! effects of the ones before it in the same group (two adds of one email in one group: the
//! second must get `CONFLICT`), so reads go through a [`View`]: the tree overlaid with the
//! group's staged writes. An operation stages its writes in a [`Plan`]; only when it succeeds
//! are they merged into the view, so a refused operation leaves nothing behind.
//!
//! Records are staged as their encoded plain text and sealed once, when the group's batch is
//! built: a group of 5,000 orders of one product rewrites that product's stock 5,000 times,
//! and sealing (and re-opening) it each time was a third of the planning cost. The plain text
//! lives only in this committer's memory and is wiped when the group ends.
//!
//! The indexes live in memory (`indexes/`): an operation reads them through what the group
//! staged so far ([`StagedEmails`], [`StagedOrders`]), and stages a record's change as the
//! record before and after it; the committer applies the group's changes to the indexes once
//! its batch is in the tree.
//!
//! One file: the View (reads through the overlay) and the Plan (what it stages) are two sides
//! of one overlay and must agree on every key space; they change together.

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::indexes::{Indexes, Old, RecordChanges, StagedEmails, StagedOrders};
use crate::journal::Draft;
use crate::model::{Customer, CustomerRollup, Order, Product, ProductRollup};
use crate::record_ids::{IdChange, RecordIds};
use crate::rollup_table::{RollupChanges, RollupTable};
use crate::shared::Shared;
use crate::trees::{id_key, meta, Space};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use zeroize::Zeroizing;

/// A write staged by this group.
#[derive(Clone)]
enum Staged {
    Removed,
    /// A plain value (a counter, a merge's `W` entry).
    Plain(Vec<u8>),
    /// A record's encoded plain text, sealed under its key in [`View::into_batch`].
    Record(Zeroizing<Vec<u8>>),
    /// A customer record's encoded plain text, sealed under its own key (keyring slot).
    Customer {
        plain: Zeroizing<Vec<u8>>,
        slot: u64,
    },
}

/// The tree as the current write group sees it.
pub struct View<'a> {
    tree: &'a crate::storage::Tree,
    /// The in-memory indexes as the last group left them (`indexes/`).
    indexes: &'a Indexes,
    /// Which records exist: read here instead of the tree, changed with the indexes.
    record_ids: &'a RecordIds,
    /// Decoded records as last committed (the committer drops what a group changes before
    /// the next group plans), read for the products every order looks up.
    record_cache: &'a crate::record_cache::RecordCache,
    pub(crate) codec: &'a Codec,
    /// The keys users are stored under.
    pub(crate) blind: &'a crate::indexes::BlindKeys,
    /// Staged by earlier operations of this group.
    overlay: BTreeMap<Vec<u8>, Staged>,
    /// Numeric metadata (counts, high-water marks, the keyring's next slot) staged by this
    /// group, as numbers: every add reads and raises two of them, and decoding and
    /// re-encoding them per operation cost more than the rest of a counter's work. Sealed
    /// once, in [`View::into_batch`]. By storage key (`m ‖ name`).
    meta: HashMap<Vec<u8>, u64>,
    /// The rollups this group changes, for the in-memory rollup table (not in the tree).
    rollups: RollupChanges,
    /// The in-memory rollups as of the last applied group (see `rollup_table.rs`).
    rollup_table: &'a RollupTable,
    /// Tests of disk faults make every tree read fail through this.
    read_fault: &'a std::sync::atomic::AtomicBool,
    /// Keyring slots to erase once the group is durable (forgotten and deleted customers).
    erasures: Vec<u64>,
    /// The keyring slots this group's customers took (a replicated group carries their keys).
    taken_slots: Vec<u64>,
    /// The records this group changes, as they were before it and are after it.
    records: RecordChanges,
    /// The emails this group's customers took and freed.
    emails: StagedEmails,
    /// The orders this group added, moved or removed, by customer.
    customer_orders: StagedOrders,
}

impl<'a> View<'a> {
    /// The store as it stands, with nothing staged yet.
    pub fn new(shared: &'a Shared) -> Self {
        View {
            tree: &shared.tree,
            indexes: &shared.indexes,
            record_ids: &shared.record_ids,
            record_cache: &shared.record_cache,
            codec: &shared.codec,
            blind: &shared.blind,
            overlay: BTreeMap::new(),
            meta: HashMap::new(),
            rollups: RollupChanges::default(),
            rollup_table: &shared.rollup_table,
            read_fault: &shared.injected_read_fault,
            erasures: Vec::new(),
            taken_slots: Vec::new(),
            records: RecordChanges::default(),
            emails: StagedEmails::default(),
            customer_orders: StagedOrders::default(),
        }
    }

    /// The customer that has this email (normalised), as this group leaves it so far.
    pub fn email_owner(&self, email: &str) -> Option<u64> {
        self.emails.owner(email, || self.indexes.email_owner(email))
    }

    /// A customer's orders and their times, ascending by order, as this group leaves them so
    /// far.
    pub fn customer_orders(&self, customer: u64) -> Vec<(u64, i64)> {
        let committed = self.indexes.orders_by_customer.read();
        self.customer_orders.of(customer, committed.of(customer))
    }

    /// The tree, unless a test made its reads fail.
    fn tree(&self) -> Result<&'a crate::storage::Tree> {
        if self.read_fault.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::Storage(
                "injected read failure: No space left on device".into(),
            ));
        }
        Ok(self.tree)
    }

    /// A customer's rollup: as this group staged it, else from the in-memory table, which the
    /// committer brings up to date right after each group's batch.
    pub fn customer_rollup(&self, customer_id: u64) -> Option<CustomerRollup> {
        match self.rollups.customers.get(&customer_id) {
            Some(staged) => *staged,
            None => self.rollup_table.get(customer_id),
        }
    }

    /// A product's rollup, as [`View::customer_rollup`] reads a customer's.
    pub fn product_rollup(&self, product_id: u64) -> Option<ProductRollup> {
        match self.rollups.products.get(&product_id) {
            Some(staged) => *staged,
            None => self.rollup_table.product(product_id),
        }
    }

    /// Whether a key holds anything, plain or record.
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        match self.overlay.get(key) {
            Some(Staged::Removed) => Ok(false),
            Some(_) => Ok(true),
            None => {
                let tree = self.tree()?;
                match self.record_ids.contains(key) {
                    Some(found) => Ok(found),
                    None => Ok(tree.contains_key(key)?),
                }
            }
        }
    }

    /// Every live plain entry under a prefix, in key order. Used only on short ranges (the
    /// merges into one customer), never on a whole key space.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.merged_prefix(prefix)?
            .into_iter()
            .map(|(key, entry)| match entry {
                Staged::Plain(value) => Ok((key, value)),
                _ => Err(not_plain(&key)),
            })
            .collect()
    }

    /// Every live record under a prefix (the users), opened.
    pub fn records_under<T: DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>> {
        self.merged_prefix(prefix)?
            .into_iter()
            .map(|(key, entry)| match entry {
                Staged::Record(plain) | Staged::Customer { plain, .. } => {
                    self.codec.decode(&key, &plain)
                }
                Staged::Plain(sealed) => self.codec.open(&key, &sealed),
                Staged::Removed => Err(not_plain(&key)),
            })
            .collect()
    }

    /// The tree's entries under a prefix with this group's staged writes laid over them; tree
    /// values come back as [`Staged::Plain`] (sealed bytes for records).
    fn merged_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Staged)>> {
        let mut merged: BTreeMap<Vec<u8>, Staged> = BTreeMap::new();
        for entry in self.tree()?.scan_prefix(prefix) {
            let (key, value) = entry?;
            merged.insert(key.to_vec(), Staged::Plain(value.to_vec()));
        }
        for (key, staged) in self.overlay.range(prefix.to_vec()..) {
            if !key.starts_with(prefix) {
                break;
            }
            match staged {
                Staged::Removed => merged.remove(key),
                other => merged.insert(key.clone(), other.clone()),
            };
        }
        Ok(merged.into_iter().collect())
    }

    /// Opens the record at a key, if there is one.
    pub fn record<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.overlay.get(key) {
            Some(Staged::Record(plain) | Staged::Customer { plain, .. }) => {
                self.codec.decode(key, plain).map(Some)
            }
            Some(Staged::Removed) => Ok(None),
            Some(Staged::Plain(_)) => Err(Error::Corrupt(format!(
                "{} was staged as a plain value",
                crate::codec::describe_key(key)
            ))),
            None => self
                .tree()?
                .get(key)?
                .map(|sealed| self.codec.open(key, &sealed))
                .transpose(),
        }
    }

    /// A product: as this group staged it, else through the record cache (a hit neither
    /// reads the tree nor decrypts; an order looks up its product every time).
    pub fn product(&self, id: u64) -> Result<Option<crate::model::Product>> {
        let key = id_key(Space::Product, id);
        if self.overlay.contains_key(key.as_slice()) {
            return self.record(&key);
        }
        // A failing disk fails this read as it would fail the tree's.
        let tree = self.tree()?;
        let load = || -> Result<Option<crate::model::Product>> {
            tree.get(key)?
                .map(|sealed| self.codec.open(&key, &sealed))
                .transpose()
        };
        Ok(self
            .record_cache
            .get_or_load(id, load)?
            .map(std::sync::Arc::unwrap_or_clone))
    }

    /// The keyring slot of a customer's record (`None`: no record, or one sealed under the
    /// record key by an older layout).
    pub fn customer_slot(&self, id: u64) -> Result<Option<u64>> {
        self.keyed_slot(&id_key(Space::Customer, id))
    }

    /// The keyring slot the value at `key` is sealed under (`None`: nothing there, or a value
    /// sealed under the data key).
    pub fn keyed_slot(&self, key: &[u8]) -> Result<Option<u64>> {
        match self.overlay.get(key) {
            Some(Staged::Customer { slot, .. }) => Ok(Some(*slot)),
            Some(_) => Ok(None),
            None => Ok(self
                .tree()?
                .get(key)?
                .and_then(|sealed| crate::codec::keyed_slot(&sealed))),
        }
    }

    /// Takes the next keyring slot for a new customer key (the keyring makes slots ahead, so
    /// this is an fsync only once per [`crate::keyring::RESERVE`] customers).
    pub fn take_slot(&self, plan: &mut Plan) -> Result<u64> {
        // A plan that takes two slots (an unmerge: the customer coming back and `keep`'s fresh
        // key) must not get the same one twice: its own staged counter comes first.
        let next = match plan.staged_meta_u64(meta::KEYRING_NEXT) {
            Some(next) => next,
            None => self.meta_u64(meta::KEYRING_NEXT)?,
        };
        self.codec.keyring()?.ensure(next + 1)?;
        plan.put_meta_u64(meta::KEYRING_NEXT, next + 1);
        plan.taken_slots.push(next);
        Ok(next)
    }

    /// A numeric metadata entry (0 when absent); sealed like a record, so a changed counter or
    /// high-water mark is `CORRUPT`, not trusted.
    pub fn meta_u64(&self, name: &[u8]) -> Result<u64> {
        let key = crate::trees::bytes_key(Space::Meta, name);
        if let Some(value) = self.meta.get(&key) {
            return Ok(*value);
        }
        Ok(self.record::<u64>(&key)?.unwrap_or(0))
    }

    /// Whether a record of a kind exists.
    pub fn exists(&self, space: Space, id: u64) -> Result<bool> {
        self.contains(&id_key(space, id))
    }

    /// Merges a successful operation's writes.
    pub fn absorb(&mut self, plan: Plan) {
        for (key, value) in plan.writes {
            self.overlay.insert(key, value);
        }
        self.meta.extend(plan.meta);
        self.rollups.customers.extend(plan.rollups.customers);
        self.rollups.products.extend(plan.rollups.products);
        self.erasures.extend(plan.erasures);
        self.taken_slots.extend(plan.taken_slots);
        for change in plan.records {
            match change {
                RecordChange::Customer { id, old, new } => {
                    self.emails.stage(id, old.as_ref(), new.as_ref());
                    crate::indexes::stage(&mut self.records.customers, id, old, new);
                }
                RecordChange::Product { id, old, new } => {
                    crate::indexes::stage(&mut self.records.products, id, old, new);
                }
                RecordChange::Order { id, old, new } => {
                    self.customer_orders.stage(id, old.as_ref(), new.as_ref());
                    crate::indexes::stage(&mut self.records.orders, id, old, new);
                }
            }
        }
    }

    /// Stages the group's journal page (sealed with the batch; the journal's index follows the
    /// page itself once it is applied).
    pub fn put_journal(&mut self, staged: &crate::journal::StagedPage) {
        self.overlay
            .insert(staged.key.to_vec(), Staged::Record(staged.plain.clone()));
    }

    /// What applying the group changes: its writes as one sled batch, each staged record
    /// sealed once, and its changes to what is kept in memory (applied once the batch is).
    pub fn into_effects(self, journal: Option<JournalStep>) -> Result<Effects> {
        let mut batch = crate::storage::Batch::default();
        let mut ids = Vec::new();
        for (key, value) in &self.meta {
            batch.insert(key.clone(), self.codec.seal(key, value));
        }
        for (key, staged) in self.overlay {
            if let Some((space, id)) = crate::record_ids::record_key(&key) {
                ids.push((space, id, !matches!(staged, Staged::Removed)));
            }
            if crate::trees::is_memory_only(&key) {
                return Err(Error::Corrupt(format!(
                    "{} was staged for the tree, but this layout keeps it in memory only",
                    crate::codec::describe_key(&key)
                )));
            }
            match staged {
                Staged::Plain(value) => batch.insert(key, value),
                Staged::Record(plain) => {
                    let sealed = self.codec.seal_encoded(&key, &plain);
                    batch.insert(key, sealed)
                }
                Staged::Customer { plain, slot } => {
                    let sealed = self.codec.seal_keyed(&key, slot, &plain)?;
                    batch.insert(key, sealed)
                }
                Staged::Removed => batch.remove(key),
            }
        }
        Ok(Effects {
            batch,
            records: self.records,
            ids,
            rollups: self.rollups,
            erasures: self.erasures,
            journal,
            taken_slots: self.taken_slots,
        })
    }

    /// Whether nothing was staged.
    pub fn is_empty(&self) -> bool {
        self.overlay.is_empty() && self.meta.is_empty()
    }
}

/// The journal's step in a group: its tail once the group is applied, and the group's page.
pub(crate) type JournalStep = (
    crate::journal::Tail,
    std::sync::Arc<crate::journal::page::Page>,
);

/// What applying one write group changes: planned by the committer, or decoded from a
/// replicated log entry (`replica/delta.rs`); applied the same way either way
/// (`committer::apply_group`).
pub(crate) struct Effects {
    /// The tree's writes, records sealed.
    pub batch: crate::storage::Batch,
    /// The records the group changes, before and after it: what the indexes follow.
    pub records: RecordChanges,
    /// The records that now exist or no longer do (`record_ids.rs`).
    pub ids: Vec<IdChange>,
    /// The rollups the group changes (`None`: no orders any more).
    pub rollups: RollupChanges,
    /// The keyring slots to erase once the group's batch is durable.
    pub erasures: Vec<u64>,
    /// The group's journal page, if it journaled anything.
    pub journal: Option<JournalStep>,
    /// The keyring slots the group's customers took.
    pub taken_slots: Vec<u64>,
}

/// The writes one operation stages. Reads go to the view (the state before this operation).
#[derive(Default)]
pub struct Plan {
    writes: Vec<(Vec<u8>, Staged)>,
    /// Numeric metadata by storage key (see [`View::meta_u64`]).
    meta: Vec<(Vec<u8>, u64)>,
    rollups: RollupChanges,
    /// Keyring slots whose keys are destroyed once this write is durable.
    erasures: Vec<u64>,
    /// Keyring slots this operation took for new customer keys.
    taken_slots: Vec<u64>,
    /// What the journal says of the operation (`None`: it wrote nothing, as a skipped
    /// bootstrap).
    journal: Option<Draft>,
    /// The records it changes, each as it was before this operation and is after it.
    records: Vec<RecordChange>,
}

/// One operation's change to a record the indexes are made of.
enum RecordChange {
    Customer {
        id: u64,
        old: Old<Customer>,
        new: Option<Customer>,
    },
    Product {
        id: u64,
        old: Old<Product>,
        new: Option<Product>,
    },
    Order {
        id: u64,
        old: Old<Order>,
        new: Option<Order>,
    },
}

/// A record before an operation: the one it read, or none.
fn was<R: Clone>(record: Option<&R>) -> Old<R> {
    match record {
        Some(record) => Old::Was(record.clone()),
        None => Old::Absent,
    }
}

impl Plan {
    /// A plan whose journal entry is `draft`.
    pub fn journaled(draft: Draft) -> Plan {
        Plan {
            journal: Some(draft),
            ..Plan::default()
        }
    }

    /// Sets the operation's journal entry.
    pub fn journal(&mut self, draft: Draft) {
        self.journal = Some(draft);
    }

    /// Takes the journal entry out (the committer numbers and chains it).
    pub fn take_journal(&mut self) -> Option<Draft> {
        self.journal.take()
    }

    /// Stages a plain value (never an index entry: the indexes follow the records).
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.push((key.into(), Staged::Plain(value.into())));
    }

    /// Stages a removal.
    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.writes.push((key.into(), Staged::Removed));
    }

    /// Stages a record that no index is made of (a user, a forgotten id), sealed when the
    /// group's batch is built.
    pub fn put_record<T: Serialize>(&mut self, key: &[u8], value: &T) {
        self.writes
            .push((key.to_vec(), Staged::Record(crate::codec::encode(value))));
    }

    /// Stages a value sealed under the key in a keyring slot (a kept merge).
    pub fn put_keyed<T: Serialize>(&mut self, key: &[u8], value: &T, slot: u64) {
        self.writes.push((
            key.to_vec(),
            Staged::Customer {
                plain: crate::codec::encode(value),
                slot,
            },
        ));
    }

    /// Stages a customer (`old`: as this operation read it, `None` for a new one), sealed under
    /// the key in its keyring slot.
    pub fn put_customer(&mut self, old: Option<&Customer>, new: &Customer, slot: u64) {
        self.put_keyed(&id_key(Space::Customer, new.id), new, slot);
        self.records.push(RecordChange::Customer {
            id: new.id,
            old: was(old),
            new: Some(new.clone()),
        });
    }

    /// Stages the removal of a customer (`Old::Unreadable` for one whose values no longer
    /// open: its index entries are found by id).
    pub fn remove_customer(&mut self, id: u64, old: Old<Customer>) {
        self.remove(id_key(Space::Customer, id).to_vec());
        self.records
            .push(RecordChange::Customer { id, old, new: None });
    }

    /// Stages a product (`old`: as this operation read it, `None` for a new one).
    pub fn put_product(&mut self, old: Option<&Product>, new: &Product) {
        self.put_record(&id_key(Space::Product, new.id), new);
        self.records.push(RecordChange::Product {
            id: new.id,
            old: was(old),
            new: Some(new.clone()),
        });
    }

    /// Stages the removal of a product.
    pub fn remove_product(&mut self, old: &Product) {
        self.remove(id_key(Space::Product, old.id).to_vec());
        self.records.push(RecordChange::Product {
            id: old.id,
            old: Old::Was(old.clone()),
            new: None,
        });
    }

    /// Stages an order (`old`: as this operation read it, `None` for a new one).
    pub fn put_order(&mut self, old: Option<&Order>, new: &Order) {
        self.put_record(&id_key(Space::Order, new.id), new);
        self.records.push(RecordChange::Order {
            id: new.id,
            old: was(old),
            new: Some(new.clone()),
        });
    }

    /// Stages the removal of an order.
    pub fn remove_order(&mut self, old: &Order) {
        self.remove(id_key(Space::Order, old.id).to_vec());
        self.records.push(RecordChange::Order {
            id: old.id,
            old: Old::Was(old.clone()),
            new: None,
        });
    }

    /// Destroys a keyring slot's key once this write is durable. The batch also records the
    /// slot as pending (`x` ‖ slot), so that a crash before the overwrite is finished at open.
    pub fn erase_slot(&mut self, slot: u64) {
        self.put(id_key(Space::PendingErasure, slot).to_vec(), Vec::new());
        self.erasures.push(slot);
    }

    /// Stages a customer's rollup (`None`: no orders left), for the in-memory table only.
    pub fn put_rollup(&mut self, customer_id: u64, rollup: Option<CustomerRollup>) {
        self.rollups.customers.insert(customer_id, rollup);
    }

    /// Stages a product's rollup (`None`: no orders left), for the in-memory table only.
    pub fn put_product_rollup(&mut self, product_id: u64, rollup: Option<ProductRollup>) {
        self.rollups.products.insert(product_id, rollup);
    }

    /// Stages a numeric metadata entry (sealed with the group's batch).
    pub fn put_meta_u64(&mut self, name: &[u8], value: u64) {
        self.meta
            .push((crate::trees::bytes_key(Space::Meta, name), value));
    }

    /// A numeric metadata entry this plan staged, if it did (the last value staged).
    fn staged_meta_u64(&self, name: &[u8]) -> Option<u64> {
        let key = crate::trees::bytes_key(Space::Meta, name);
        self.meta
            .iter()
            .rev()
            .find(|(staged, _)| *staged == key)
            .map(|(_, value)| *value)
    }

    /// Adds `delta` to the live count of a kind.
    pub fn adjust_count(&mut self, view: &View, kind: Space, delta: i64) -> Result<()> {
        let name = meta::count(kind as u8);
        let current = view.meta_u64(&name)?;
        self.put_meta_u64(&name, current.saturating_add_signed(delta));
        Ok(())
    }
}

/// A record key read as a plain value: a bug in a write path, reported rather than trusted.
fn not_plain(key: &[u8]) -> Error {
    Error::Corrupt(format!(
        "{} was read as a plain value",
        crate::codec::describe_key(key)
    ))
}
