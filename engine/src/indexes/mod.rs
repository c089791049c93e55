//! The indexes: typed structures in memory, one file each, never written to the tree.
//!
//! | index | answers | made of |
//! | --- | --- | --- |
//! | [`EmailIndex`] (`email.rs`) | `FIND EMAIL`, `UPSERT`, unique emails | customers |
//! | [`PhoneIndex`] (`phone.rs`) | `FIND PHONE` | customers |
//! | [`NameWordIndex`] (`name_words.rs`) | `FIND NAME` | customers |
//! | [`OrdersByCustomer`], [`OrdersByProduct`] | `ORDER.LIST CUSTOMER/PRODUCT`, `DEL`, `MERGE` | orders |
//! | [`OrdersByTime`] (`orders_by_time.rs`) | `ORDER.LIST ALL SINCE/UNTIL` | orders |
//! | [`JournalByRecord`] (`journal_by_record.rs`) | `AUDIT.LOG ID` | journal pages |
//! | [`OrderedIndex`] (`ordered.rs`) | conditions and sorting on any field | any record |
//! | [`QueryRows`] (`query_rows.rs`) | `*.QUERY`, `*.COUNT` on built-in fields that are not personal and on indexed custom fields | customers, products |
//!
//! The per-customer and per-product statistics (the rollups) are kept beside them, in
//! `rollup_table.rs`, and rebuilt in the same pass.
//!
//! Each index says which entries a record owns and follows a record's change with
//! `apply(id, old, new)`; `rebuild` builds it from every record at open. Personal values (email,
//! phone, name words) are held only as blind hashes (`blind.rs`), and every hit is checked
//! against the decrypted record, so a hash collision costs a decryption, never a wrong answer.
//!
//! # Why in memory
//!
//! sled 0.34 costs 10–13 µs per entry inside a batch, whatever the entry's size, and a lot of
//! space per entry on disk. Every index entry is a function of what the tree holds anyway —
//! the sealed customers (opened under their own keys), orders and journal pages — so the
//! tree holds none: a write stores its record and nothing else, and the indexes are rebuilt
//! when the store opens. A customer that does not open (damaged, or its key erased: a
//! restored record whose `FORGET` the restore is about to replay) has no entries, and is
//! `CORRUPT` when read.
//!
//! # Why they stay right
//!
//! * **Only the committer changes them**, right after the group's batch is applied to the
//!   tree and before any writer of the group is answered (`write/committer.rs`), from the
//!   group's [`RecordChanges`]: when a write is acknowledged, its entries are here. While it
//!   plans a group, the committer reads them under what the group staged so far
//!   ([`StagedEmails`], [`StagedOrders`]), so its checks see every acknowledged write and every
//!   earlier operation of the group.
//! * **A crash loses nothing:** nothing here is the only copy. At open they are rebuilt from
//!   what the tree recovered, whole groups or nothing.
//! * **A follower** of a cluster computes the same changes from the records a replicated batch
//!   writes and the ones its own tree held (`replica/apply.rs`), so its indexes equal the
//!   leader's.
//! * **Readers** that find an id here and then read its record may meet a group between its
//!   batch and this update: they check every record they open against what they asked for.
//!
//! # Memory
//!
//! About 40 bytes per customer for the email, 40 per phone and per name word, 16 per order in
//! each of the two order lists and 20–40 in the time index, about 30 per journal entry about
//! a record: an order costs about 110 bytes, a customer 160–200. Measured with
//! `examples/open_profile.rs` on 1,000,000 orders and 100,000 customers: 270 MiB resident
//! after the open, against 360 MiB with the byte-keyed indexes this replaced. Each index has
//! its own lock, so a reader of one never waits for a writer of another.

mod blind;
mod blind_ids;
#[cfg(test)]
mod building_tests;
mod changes;
mod email;
mod journal_by_record;
mod name_words;
mod order_lists;
mod ordered;
mod orders_by_customer;
mod orders_by_product;
mod orders_by_time;
mod phone;
mod query_rows;
mod records;

pub use blind::BlindKeys;
pub(crate) use changes::{stage, Change, Old, RecordChanges};
pub(crate) use email::{EmailIndex, StagedEmails};
pub(crate) use journal_by_record::JournalByRecord;
pub(crate) use name_words::NameWordIndex;
pub(crate) use orders_by_customer::{OrdersByCustomer, StagedOrders};
pub(crate) use orders_by_product::OrdersByProduct;
pub(crate) use orders_by_time::OrdersByTime;
pub(crate) use phone::PhoneIndex;
pub(crate) use query_rows::{QueryRows, Row};

use crate::codec::Codec;
use crate::error::{Kind, Result};
use crate::model::{Customer, Order, Product};
use crate::schema::{Catalog, CustomField};
use crate::trees::Space;
use rayon::prelude::*;
pub(crate) use records::stored_catalog;
use records::{opened_chunks, sealed_chunks};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// One index behind its own lock.
#[derive(Default)]
pub(crate) struct Locked<T>(RwLock<T>);

impl<T> Locked<T> {
    fn new(index: T) -> Self {
        Locked(RwLock::new(index))
    }

    /// A panic while holding the lock cannot leave a half-applied change that matters more
    /// than the lock: a reader sees what the last writer left.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Every index of one open store.
pub(crate) struct Indexes {
    keys: BlindKeys,
    pub email: Locked<EmailIndex>,
    pub phone: Locked<PhoneIndex>,
    pub name_words: Locked<NameWordIndex>,
    pub orders_by_customer: Locked<OrdersByCustomer>,
    pub orders_by_product: Locked<OrdersByProduct>,
    pub orders_by_time: Locked<OrdersByTime>,
    pub journal: Locked<JournalByRecord>,
    pub customer_rows: Locked<QueryRows<Customer>>,
    pub product_rows: Locked<QueryRows<Product>>,
}

impl Indexes {
    /// The keys of the blind hashes the customer indexes hold.
    pub fn keys(&self) -> &BlindKeys {
        &self.keys
    }

    /// The customer with this email (normalised), as the last group left the index.
    pub fn email_owner(&self, email: &str) -> Option<u64> {
        self.email.read().owner(&self.keys.email(email))
    }

    /// Follows a group's changes (the committer, once the group's batch is in the tree).
    pub fn apply(&self, changes: &RecordChanges, page: Option<&crate::journal::page::Page>) {
        if !changes.customers.is_empty() {
            let mut email = self.email.write();
            let mut phone = self.phone.write();
            let mut words = self.name_words.write();
            let mut rows = self.customer_rows.write();
            for (id, change) in &changes.customers {
                let new = change.new.as_ref();
                email.apply(&self.keys, *id, &change.old, new);
                phone.apply(&self.keys, *id, &change.old, new);
                words.apply(&self.keys, *id, &change.old, new);
                rows.apply(*id, &change.old, new);
            }
        }
        if !changes.products.is_empty() {
            let mut rows = self.product_rows.write();
            for (id, change) in &changes.products {
                rows.apply(*id, &change.old, change.new.as_ref());
            }
        }
        if !changes.orders.is_empty() {
            let mut by_customer = self.orders_by_customer.write();
            let mut by_product = self.orders_by_product.write();
            let mut by_time = self.orders_by_time.write();
            for (id, change) in &changes.orders {
                let new = change.new.as_ref();
                by_customer.apply(*id, &change.old, new);
                by_product.apply(*id, &change.old, new);
                by_time.apply(*id, &change.old, new);
            }
        }
        if let Some(page) = page {
            self.journal.write().apply(page);
        }
    }

    /// The indexes the tree's records and journal pages imply (at open). Every order opened
    /// on the way is also counted into `rollups`, so the rollups cost no second pass.
    pub fn rebuild(
        tree: &crate::storage::Tree,
        codec: &Codec,
        keys: BlindKeys,
        rollups: &mut crate::rollup_table::RollupBuilder,
    ) -> Result<Indexes> {
        let (mut emails, mut phones, mut words) = (Vec::new(), Vec::new(), Vec::new());
        let catalog = stored_catalog(tree, codec)?;
        let customer_indexed = query_rows::indexed_fields(&catalog, Kind::Customer);
        let product_indexed = query_rows::indexed_fields(&catalog, Kind::Product);
        let mut customer_rows = Vec::new();
        for chunk in sealed_chunks(tree, Space::Customer) {
            let owned: Vec<Option<CustomerEntries>> = chunk?
                .par_iter()
                .map(|(key, sealed)| match codec.open::<Customer>(key, sealed) {
                    Ok(customer) => Ok(Some(CustomerEntries::of(
                        &keys,
                        &customer,
                        &customer_indexed,
                    ))),
                    // Unreadable (damaged, or its key erased): it is `CORRUPT` when read, and
                    // no lookup finds it; the rest of the store stays open.
                    Err(error) if error.kind() == crate::ErrorKind::Corrupt => Ok(None),
                    Err(error) => Err(error),
                })
                .collect::<Result<_>>()?;
            for entries in owned.into_iter().flatten() {
                let id = entries.id;
                emails.push((entries.email, id));
                phones.extend(entries.phone.map(|hash| (hash, id)));
                words.extend(entries.words.into_iter().map(|hash| (hash, id)));
                customer_rows.push((id, entries.row));
            }
        }
        let mut product_rows = Vec::new();
        for chunk in sealed_chunks(tree, Space::Product) {
            let opened: Vec<Product> = chunk?
                .par_iter()
                .map(|(key, sealed)| codec.open(key, sealed))
                .collect::<Result<_>>()?;
            product_rows.extend(
                opened
                    .iter()
                    .map(|p| (p.id, QueryRows::row_of(p, &product_indexed))),
            );
        }
        let (mut by_customer, mut by_product, mut by_time) = (Vec::new(), Vec::new(), Vec::new());
        for chunk in sealed_chunks(tree, Space::Order) {
            let opened: Vec<Order> = chunk?
                .par_iter()
                .map(|(key, sealed)| codec.open(key, sealed))
                .collect::<Result<_>>()?;
            for order in opened {
                rollups.add(&order);
                by_customer.push((order.customer_id, order.id, order.created_at));
                by_product.push((order.product_id, order.id, order.created_at));
                by_time.push((order.created_at, order.id));
            }
        }
        let mut journal: Vec<(Kind, u64, u64)> = Vec::new();
        for chunk in sealed_chunks(tree, Space::JournalPage) {
            let about: Vec<Vec<(Kind, u64, u64)>> = chunk?
                .par_iter()
                .map(|(key, sealed)| {
                    let page = crate::journal::page::open(codec, key, sealed, None)?;
                    Ok(page.about_records().collect())
                })
                .collect::<Result<_>>()?;
            journal.extend(about.into_iter().flatten());
        }
        // Built from sorted pairs, the B-trees' nodes are full: less memory than inserts.
        phones.par_sort_unstable();
        words.par_sort_unstable();
        by_time.par_sort_unstable();
        Ok(Indexes {
            email: Locked::new(EmailIndex::rebuild(emails)),
            phone: Locked::new(PhoneIndex::rebuild(phones)),
            name_words: Locked::new(NameWordIndex::rebuild(words)),
            orders_by_customer: Locked::new(OrdersByCustomer::rebuild(by_customer)),
            orders_by_product: Locked::new(OrdersByProduct::rebuild(by_product)),
            orders_by_time: Locked::new(OrdersByTime::rebuild(by_time)),
            journal: Locked::new(JournalByRecord::rebuild(journal)),
            customer_rows: Locked::new(QueryRows::rebuild(customer_rows, customer_indexed)),
            product_rows: Locked::new(QueryRows::rebuild(product_rows, product_indexed)),
            keys,
        })
    }

    /// Starts keeping the values of the custom fields `catalog` indexes and the rows do not
    /// keep yet (cheap: their builds are [`Indexes::build_custom`]'s); run, by the committer or
    /// a follower's applier, before `catalog` is stored in memory. Whether any build started.
    pub fn start_custom(&self, catalog: &Catalog) -> bool {
        let customers = query_rows::indexed_fields(catalog, Kind::Customer);
        let products = query_rows::indexed_fields(catalog, Kind::Product);
        let customers = self.customer_rows.write().start(&customers);
        self.product_rows.write().start(&products) || customers
    }

    /// The custom fields whose index is being built (not yet for queries).
    pub fn building_custom(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.customer_rows.read().building().collect();
        ids.extend(self.product_rows.read().building());
        ids
    }

    /// Whether an index build waits that no caller has claimed yet.
    pub fn unclaimed_custom(&self) -> bool {
        self.customer_rows.read().unclaimed() || self.product_rows.read().unclaimed()
    }

    /// Builds the indexes started and not claimed by another caller: every record of their
    /// kind opened, a chunk at a time on every core, outside any write group (writes go on;
    /// the rows they touch are theirs: `query_rows.rs`), then handed to queries. Whether any
    /// was built.
    pub fn build_custom(&self, tree: &crate::storage::Tree, codec: &Codec) -> Result<bool> {
        let customers = build_kind::<Customer>(&self.customer_rows, tree, codec, Space::Customer)?;
        let products = build_kind::<Product>(&self.product_rows, tree, codec, Space::Product)?;
        Ok(customers || products)
    }

    /// Stops keeping the custom fields `catalog` no longer indexes (once it is in use).
    pub fn shrink_custom(&self, catalog: &Catalog) {
        self.customer_rows
            .write()
            .shrink(&query_rows::indexed_fields(catalog, Kind::Customer));
        self.product_rows
            .write()
            .shrink(&query_rows::indexed_fields(catalog, Kind::Product));
    }

    /// The names of the indexes that differ from `other`'s (the consistency check compares
    /// the live indexes with a rebuild; the cluster's tests, a follower's with its leader's).
    pub fn differences(&self, other: &Indexes) -> Vec<&'static str> {
        let mut differ = Vec::new();
        let mut compare = |name, same: bool| {
            if !same {
                differ.push(name);
            }
        };
        compare("email", *self.email.read() == *other.email.read());
        compare("phone", *self.phone.read() == *other.phone.read());
        compare(
            "name words",
            *self.name_words.read() == *other.name_words.read(),
        );
        compare(
            "orders by customer",
            *self.orders_by_customer.read() == *other.orders_by_customer.read(),
        );
        compare(
            "orders by product",
            *self.orders_by_product.read() == *other.orders_by_product.read(),
        );
        compare(
            "orders by time",
            *self.orders_by_time.read() == *other.orders_by_time.read(),
        );
        compare("journal", *self.journal.read() == *other.journal.read());
        compare(
            "customer rows",
            *self.customer_rows.read() == *other.customer_rows.read(),
        );
        compare(
            "product rows",
            *self.product_rows.read() == *other.product_rows.read(),
        );
        differ
    }
}

/// The entries one customer owns in the customer indexes.
struct CustomerEntries {
    id: u64,
    email: blind::EmailHash,
    phone: Option<u64>,
    words: Vec<u64>,
    row: query_rows::Row,
}

impl CustomerEntries {
    fn of(keys: &BlindKeys, customer: &Customer, indexed: &[CustomField]) -> CustomerEntries {
        CustomerEntries {
            id: customer.id,
            email: keys.email(&customer.email),
            phone: PhoneIndex::entry(keys, customer),
            words: NameWordIndex::entries(keys, customer),
            row: QueryRows::row_of(customer, indexed),
        }
    }
}

/// Builds the claimable indexes of one kind's rows (`Indexes::build_custom`); gives them
/// back on a failure, for another caller to build.
fn build_kind<R: crate::schema::Record + serde::de::DeserializeOwned + Send>(
    rows: &Locked<QueryRows<R>>,
    tree: &crate::storage::Tree,
    codec: &Codec,
    space: Space,
) -> Result<bool> {
    let claims = rows.write().claim();
    if claims.is_empty() {
        return Ok(false);
    }
    let filled = opened_chunks::<R>(tree, codec, space).try_for_each(|records| {
        rows.write().fill(&claims, &records?);
        Ok(())
    });
    match filled {
        Ok(()) => {
            rows.write().finish(&claims);
            Ok(true)
        }
        Err(error) => {
            rows.write().unclaim(&claims);
            Err(error)
        }
    }
}

/// The customers' query rows as an open builds them from the stored records, on their own
/// (the records opened on the way are freed before this returns): what a benchmark holds to
/// weigh the rows' heap per customer (`query-bench`, the README's figure).
pub(crate) fn customer_rows_rebuilt(
    tree: &crate::storage::Tree,
    codec: &Codec,
) -> Result<QueryRows<Customer>> {
    let indexed = query_rows::indexed_fields(&stored_catalog(tree, codec)?, Kind::Customer);
    let mut rows: Vec<(u64, query_rows::Row)> = Vec::new();
    for chunk in opened_chunks::<Customer>(tree, codec, Space::Customer) {
        rows.extend(
            chunk?
                .iter()
                .map(|c| (c.id, QueryRows::row_of(c, &indexed))),
        );
    }
    Ok(QueryRows::rebuild(rows, indexed))
}
