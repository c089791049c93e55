//! Reads of records, pages and rollups. Readers never wait for the committer: each batch is
//! applied atomically, so a read sees a write group entirely or not at all.

use crate::error::{Kind, Result};
use crate::model::{Customer, CustomerRollup, Order, Product, ProductRollup, Role, User};
use crate::record_cache::CachedKind;
use crate::store::Store;
use crate::trees::{id_key, meta, Space};
use serde::de::DeserializeOwned;
use std::collections::BinaryHeap;
use std::sync::Arc;

pub use crate::shared::Counts;

/// Which orders `ORDER.LIST` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderScope {
    All,
    Customer(u64),
    Product(u64),
}

/// The filters and page of `ORDER.LIST`.
#[derive(Debug, Clone, Copy)]
pub struct OrderQuery {
    pub scope: OrderScope,
    /// Inclusive.
    pub since: Option<i64>,
    /// Exclusive.
    pub until: Option<i64>,
    /// Only ids greater than this.
    pub after: u64,
    pub limit: usize,
}

impl OrderQuery {
    fn admits_time(&self, at: i64) -> bool {
        self.since.is_none_or(|since| at >= since) && self.until.is_none_or(|until| at < until)
    }

    /// Whether an opened order belongs in the answer.
    fn admits(&self, order: &Order) -> bool {
        let in_scope = match self.scope {
            OrderScope::All => true,
            OrderScope::Customer(id) => order.customer_id == id,
            OrderScope::Product(id) => order.product_id == id,
        };
        in_scope && order.id > self.after && self.admits_time(order.created_at)
    }
}

impl Store {
    pub(crate) fn record<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.shared.tree.get(key)? {
            Some(sealed) => self.shared.codec.open(key, &sealed).map(Some),
            None => Ok(None),
        }
    }

    /// A customer, product or order by id, through the record cache.
    fn cached<T: CachedKind + DeserializeOwned>(&self, id: u64) -> Result<Option<Arc<T>>> {
        self.shared
            .record_cache
            .get_or_load(id, || self.record(&id_key(T::SPACE, id)))
    }

    /// A customer by id.
    pub fn customer(&self, id: u64) -> Result<Option<Customer>> {
        Ok(self.customer_shared(id)?.map(Arc::unwrap_or_clone))
    }

    /// A customer by id, shared with the record cache (nothing copied on a hit).
    pub fn customer_shared(&self, id: u64) -> Result<Option<Arc<Customer>>> {
        self.cached(id)
    }

    /// A product by id.
    pub fn product(&self, id: u64) -> Result<Option<Product>> {
        Ok(self.product_shared(id)?.map(Arc::unwrap_or_clone))
    }

    /// A product by id, shared with the record cache (nothing copied on a hit).
    pub fn product_shared(&self, id: u64) -> Result<Option<Arc<Product>>> {
        self.cached(id)
    }

    /// An order by id.
    pub fn order(&self, id: u64) -> Result<Option<Order>> {
        Ok(self.order_shared(id)?.map(Arc::unwrap_or_clone))
    }

    /// An order by id, shared with the record cache (nothing copied on a hit).
    pub fn order_shared(&self, id: u64) -> Result<Option<Arc<Order>>> {
        self.cached(id)
    }

    /// Records of one kind with ids greater than `after`, ascending, at most `limit`.
    fn page<T: DeserializeOwned>(&self, space: Space, after: u64, limit: usize) -> Result<Vec<T>> {
        let Some(start) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let mut page = Vec::new();
        for entry in self.shared.tree.range(id_key(space, start)..) {
            let (key, sealed) = entry?;
            if key.first() != Some(&(space as u8)) || page.len() >= limit {
                break;
            }
            page.push(self.shared.codec.open(&key, &sealed)?);
        }
        Ok(page)
    }

    /// `CUSTOMER.LIST AFTER after LIMIT limit`.
    pub fn customers(&self, after: u64, limit: usize) -> Result<Vec<Customer>> {
        self.page(Space::Customer, after, limit)
    }

    /// `PRODUCT.LIST AFTER after LIMIT limit`.
    pub fn products(&self, after: u64, limit: usize) -> Result<Vec<Product>> {
        self.page(Space::Product, after, limit)
    }

    /// `ORDER.LIST`: ids ascending, after the cursor, within the time window.
    ///
    /// The index entries that lead to an order are not authenticated (see SECURITY.md), so
    /// every order found is checked against its sealed record: a tampered entry can hide an
    /// order from a list, never put a wrong one in it.
    pub fn orders(&self, query: &OrderQuery) -> Result<Vec<Order>> {
        let ids = match query.scope {
            OrderScope::Customer(id) => {
                indexed_order_ids(self.shared.indexes.orders_by_customer.read().of(id), query)
            }
            OrderScope::Product(id) => {
                indexed_order_ids(self.shared.indexes.orders_by_product.read().of(id), query)
            }
            OrderScope::All if query.since.is_none() && query.until.is_none() => {
                return self.page(Space::Order, query.after, query.limit);
            }
            OrderScope::All => return self.orders_in_time_range(query),
        };
        let mut orders = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(order) = self.order(id)?.filter(|o| query.admits(o)) {
                orders.push(order);
            }
        }
        Ok(orders)
    }

    /// `ORDER.LIST ALL` within a time window: the first `limit` orders by id after the cursor
    /// whose time is in the window.
    ///
    /// Two walks reach that answer, and they run in step, so the cost is at most about twice
    /// the cheaper one's: the time index over the window (cheap entries, but the whole window
    /// must be read before the smallest ids are known), and the orders in id order from the
    /// cursor (each opened to read its time, but done as soon as `limit` fall in the window).
    /// A narrow window ends the first; a wide one ends the second after about `limit` orders.
    fn orders_in_time_range(&self, query: &OrderQuery) -> Result<Vec<Order>> {
        /// Time-index entries read per order opened: an entry costs about a quarter of an open.
        const ENTRIES_PER_OPEN: usize = 4;
        let Some(first_id) = query.after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let mut by_time = self.orders_by_time(query.since.unwrap_or(i64::MIN), query.until);
        let mut by_id = self
            .shared
            .tree
            .range(id_key(Space::Order, first_id)..=id_key(Space::Order, u64::MAX));
        let mut smallest: BinaryHeap<u64> = BinaryHeap::new();
        let mut found: Vec<Order> = Vec::new();
        loop {
            for _ in 0..ENTRIES_PER_OPEN {
                let Some(entry) = by_time.next() else {
                    let ids = smallest.into_sorted_vec();
                    let mut orders = Vec::with_capacity(ids.len());
                    for id in ids {
                        if let Some(order) = self.order(id)?.filter(|o| query.admits(o)) {
                            orders.push(order);
                        }
                    }
                    return Ok(orders);
                };
                let (_, id) = entry;
                if id <= query.after {
                    continue;
                }
                if smallest.len() < query.limit {
                    smallest.push(id);
                } else if smallest.peek().is_some_and(|largest| id < *largest) {
                    smallest.pop();
                    smallest.push(id);
                }
            }
            match by_id.next() {
                None => return Ok(found),
                Some(entry) => {
                    let (key, sealed) = entry?;
                    let order: Order = self.shared.codec.open(&key, &sealed)?;
                    if query.admits_time(order.created_at) {
                        found.push(order);
                        if found.len() >= query.limit {
                            return Ok(found);
                        }
                    }
                }
            }
        }
    }

    /// The rollup of one customer: `None` if the customer does not exist (a forgotten one
    /// keeps its rollup: its orders stay), zeros if it has no orders.
    pub fn customer_rollup(&self, id: u64) -> Result<Option<CustomerRollup>> {
        if !self.shared.tree.contains_key(id_key(Space::Customer, id))? && !self.is_forgotten(id)? {
            return Ok(None);
        }
        Ok(Some(self.shared.rollup_table.get(id).unwrap_or_default()))
    }

    /// Every customer rollup (customers with at least one order), ids ascending, from the
    /// in-memory rollup table.
    pub fn customer_rollups(&self) -> Result<Vec<(u64, CustomerRollup)>> {
        Ok(self.shared.rollup_table.all())
    }

    /// Every product rollup (products with at least one order), ids ascending, from the
    /// in-memory rollup table.
    pub fn product_rollups(&self) -> Result<Vec<(u64, ProductRollup)>> {
        Ok(self.shared.rollup_table.products())
    }

    /// The number of live records of each kind.
    pub fn counts(&self) -> Result<Counts> {
        self.shared.counts()
    }

    /// The largest id ever used for a kind (ids above it are never reused).
    pub fn high_water(&self, kind: Kind) -> Result<u64> {
        let space = match kind {
            Kind::Customer => Space::Customer,
            Kind::Product => Space::Product,
            _ => Space::Order,
        };
        self.shared.meta_u64(&meta::high_water(space as u8))
    }

    /// A user by name.
    pub fn user(&self, name: &str) -> Result<Option<User>> {
        let user: Option<User> = self.record(&self.shared.blind.user_key(name))?;
        // The key is a hash of the name: a record moved there from another user's key fails
        // to open, and the name inside must be this one.
        Ok(user.filter(|u| u.name == name))
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let mut users = self
            .shared
            .tree
            .scan_prefix(Space::User.prefix())
            .map(|entry| {
                let (key, sealed) = entry?;
                self.shared.codec.open(&key, &sealed)
            })
            .collect::<Result<Vec<User>>>()?;
        users.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(users)
    }

    /// Whether any user has the admin role.
    pub fn has_admin(&self) -> Result<bool> {
        Ok(self.users()?.iter().any(|u| u.role == Role::Admin))
    }
}

/// The ids of one customer's or product's orders (with their times, ascending by order) that
/// the query's cursor, window and limit admit.
fn indexed_order_ids(orders: &[(u64, i64)], query: &OrderQuery) -> Vec<u64> {
    let from = orders.partition_point(|(id, _)| *id <= query.after);
    orders[from..]
        .iter()
        .filter(|(_, at)| query.admits_time(*at))
        .take(query.limit)
        .map(|(id, _)| *id)
        .collect()
}

impl Store {
    /// The (time, order) pairs from `since` to `until` (exclusive) in time order, read from the
    /// index in chunks so that no reader holds its lock for long. The first chunk is small and
    /// each next one twice as large: most walks stop after a few entries (one page), and must
    /// not pay for a thousand copied ones.
    fn orders_by_time(
        &self,
        since: i64,
        until: Option<i64>,
    ) -> impl Iterator<Item = (i64, u64)> + '_ {
        const FIRST_CHUNK: usize = 16;
        const LARGEST_CHUNK: usize = 1024;
        let mut chunk = std::collections::VecDeque::new();
        let mut after = None;
        let mut done = false;
        let mut size = FIRST_CHUNK;
        std::iter::from_fn(move || {
            if chunk.is_empty() && !done {
                let read = self
                    .shared
                    .indexes
                    .orders_by_time
                    .read()
                    .range(since, until, after, size);
                done = read.len() < size;
                size = (size * 2).min(LARGEST_CHUNK);
                after = read.last().copied();
                chunk.extend(read);
            }
            chunk.pop_front()
        })
    }
}
