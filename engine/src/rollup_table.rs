//! The per-customer and per-product rollups, in memory only.
//!
//! A rollup is a function of the orders: a customer's count, total and first and last order
//! times; a product's orders, units and revenue. Layouts up to 4 kept both sealed in the tree
//! as well, two of the three entries an imported order wrote, rewritten by every order (and
//! sled keeps every rewritten version until it cleans the segment). Layout 5 keeps them only
//! here: the committer applies a group's changes right after the group's batch, before any
//! writer of the group is answered, and the table is rebuilt from the sealed orders at open,
//! in the same pass that rebuilds the order indexes (`indexes/`), so after a crash it is
//! what the orders that survived imply. `check_consistency` recomputes both from the orders.
//!
//! About 64 bytes per customer with orders and per product with orders.

use crate::model::{CustomerRollup, Order, ProductRollup};
use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A write group's changes to the table (`None`: no orders any more).
#[derive(Default)]
pub struct RollupChanges {
    pub customers: BTreeMap<u64, Option<CustomerRollup>>,
    pub products: BTreeMap<u64, Option<ProductRollup>>,
}

#[derive(Default)]
struct Tables {
    customers: BTreeMap<u64, CustomerRollup>,
    products: BTreeMap<u64, ProductRollup>,
}

/// The table, behind a lock readers share.
#[derive(Default)]
pub struct RollupTable {
    tables: RwLock<Tables>,
}

/// Builds the table from every order, at open.
#[derive(Default)]
pub struct RollupBuilder {
    tables: Tables,
}

impl RollupBuilder {
    /// Counts one order.
    pub fn add(&mut self, order: &Order) {
        self.tables
            .customers
            .entry(order.customer_id)
            .or_default()
            .add(order.amount_cents(), order.created_at);
        self.tables
            .products
            .entry(order.product_id)
            .or_default()
            .add(order.quantity, order.amount_cents());
    }

    pub fn finish(self) -> RollupTable {
        RollupTable {
            tables: RwLock::new(self.tables),
        }
    }
}

impl RollupTable {
    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        // Every change is one insert or remove: a panic under the lock leaves nothing half-done.
        self.tables
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.tables
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies a committed group's changes.
    pub fn apply(&self, changes: RollupChanges) {
        if changes.customers.is_empty() && changes.products.is_empty() {
            return;
        }
        let mut tables = self.write();
        apply_to(&mut tables.customers, changes.customers);
        apply_to(&mut tables.products, changes.products);
    }

    /// One customer's rollup, if it has orders.
    pub fn get(&self, customer: u64) -> Option<CustomerRollup> {
        self.read().customers.get(&customer).copied()
    }

    /// Every customer rollup, ids ascending.
    pub fn all(&self) -> Vec<(u64, CustomerRollup)> {
        listed(&self.read().customers)
    }

    /// One product's rollup, if it has orders.
    pub fn product(&self, product: u64) -> Option<ProductRollup> {
        self.read().products.get(&product).copied()
    }

    /// Every product rollup, ids ascending.
    pub fn products(&self) -> Vec<(u64, ProductRollup)> {
        listed(&self.read().products)
    }
}

fn listed<T: Copy>(table: &BTreeMap<u64, T>) -> Vec<(u64, T)> {
    table.iter().map(|(id, r)| (*id, *r)).collect()
}

fn apply_to<T>(table: &mut BTreeMap<u64, T>, changes: BTreeMap<u64, Option<T>>) {
    for (id, rollup) in changes {
        match rollup {
            Some(rollup) => table.insert(id, rollup),
            None => table.remove(&id),
        };
    }
}
