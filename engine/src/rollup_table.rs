//! The per-customer rollups in memory, in plain form.
//!
//! The sealed rollups in the tree are the durable truth; this table is a copy the committer
//! keeps in step (it applies a group's rollup changes right after the group's batch, before any
//! writer of the group is answered), so `STATS.CUSTOMER(S)` read memory instead of opening every
//! rollup. It is rebuilt from the tree at open. About 64 bytes per customer with orders.

use crate::codec::Codec;
use crate::error::Result;
use crate::model::CustomerRollup;
use crate::trees::{trailing_id, Space};
use std::collections::BTreeMap;
use std::sync::RwLock;

/// The table, behind a lock readers share.
#[derive(Default)]
pub struct RollupTable {
    rollups: RwLock<BTreeMap<u64, CustomerRollup>>,
}

impl RollupTable {
    /// Reads every sealed rollup of the tree.
    pub fn load(tree: &sled::Tree, codec: &Codec) -> Result<RollupTable> {
        let mut rollups = BTreeMap::new();
        for entry in tree.scan_prefix(Space::CustomerRollup.prefix()) {
            let (key, sealed) = entry?;
            rollups.insert(trailing_id(&key).unwrap_or(0), codec.open(&key, &sealed)?);
        }
        Ok(RollupTable {
            rollups: RwLock::new(rollups),
        })
    }

    /// Applies a committed group's changes.
    pub fn apply(&self, changes: BTreeMap<u64, Option<CustomerRollup>>) {
        if changes.is_empty() {
            return;
        }
        let mut rollups = self
            .rollups
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (customer, rollup) in changes {
            match rollup {
                Some(rollup) => rollups.insert(customer, rollup),
                None => rollups.remove(&customer),
            };
        }
    }

    /// One customer's rollup, if it has orders.
    pub fn get(&self, customer: u64) -> Option<CustomerRollup> {
        self.rollups
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&customer)
            .copied()
    }

    /// Every rollup, ids ascending.
    pub fn all(&self) -> Vec<(u64, CustomerRollup)> {
        self.rollups
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(id, r)| (*id, *r))
            .collect()
    }
}
