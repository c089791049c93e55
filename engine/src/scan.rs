//! The one parallel scan every full-scan statistic uses.
//!
//! A kind's id space `1..=high-water` is cut into a fixed number of ranges; `rayon` scans,
//! opens and decodes the ranges on all cores, folding each into its own partial aggregate; the
//! partials are then merged in range order. Because the ranges do not depend on the number of
//! threads and the merge order is fixed, every result is the same whatever `RAYON_NUM_THREADS`
//! is — floating-point sums included.

use crate::error::{Kind, Result};
use crate::model::Order;
use crate::store::Store;
use crate::trees::{id_key, Space};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

/// How many ranges a scan is cut into: enough to balance a few dozen cores.
const RANGES: u64 = 64;
/// How many records a range opens between two looks at the cancel flag (about a millisecond).
const CANCEL_CHECK_EVERY: usize = 1024;

impl Store {
    /// Folds every record of a kind in parallel: `fold` adds a record to a partial, `merge`
    /// combines two partials (called in range order).
    pub fn par_fold<T, A>(
        &self,
        kind: Kind,
        empty: impl Fn() -> A + Sync + Send,
        fold: impl Fn(&mut A, T) + Sync + Send,
        merge: impl Fn(&mut A, A),
    ) -> Result<A>
    where
        T: DeserializeOwned,
        A: Send,
    {
        let mut total = empty();
        for partial in self.par_partials(kind, &empty, &fold)? {
            merge(&mut total, partial);
        }
        Ok(total)
    }

    /// Folds every record into one accumulator per customer. Each range folds into its own
    /// map; the maps are then combined in one hash map — with 100,000 customers, merging 64
    /// ordered maps one into another took longer than the scan. (Not a table indexed by id:
    /// explicit ids go up to 2^53.) `merge` must not depend on order (sums, min, max, lists
    /// sorted afterwards): the combining order is not fixed.
    pub fn par_fold_by_customer<T, V>(
        &self,
        kind: Kind,
        fold: impl Fn(&mut BTreeMap<u64, V>, T) + Sync + Send,
        merge: impl Fn(&mut V, V),
    ) -> Result<BTreeMap<u64, V>>
    where
        T: DeserializeOwned,
        V: Send,
    {
        let partials = self.par_partials(kind, &BTreeMap::new, &fold)?;
        let largest = partials.iter().map(BTreeMap::len).max().unwrap_or(0);
        let mut combined: HashMap<u64, V> = HashMap::with_capacity(largest * 2);
        for partial in partials {
            for (id, value) in partial {
                match combined.entry(id) {
                    Entry::Occupied(mut held) => merge(held.get_mut(), value),
                    Entry::Vacant(free) => {
                        free.insert(value);
                    }
                }
            }
        }
        Ok(combined.into_iter().collect())
    }

    /// The per-range partials of a parallel fold, in range order.
    fn par_partials<T, A>(
        &self,
        kind: Kind,
        empty: &(impl Fn() -> A + Sync + Send),
        fold: &(impl Fn(&mut A, T) + Sync + Send),
    ) -> Result<Vec<A>>
    where
        T: DeserializeOwned,
        A: Send,
    {
        let space = match kind {
            Kind::Customer => Space::Customer,
            Kind::Product => Space::Product,
            _ => Space::Order,
        };
        let high_water = self.high_water(kind)?;
        let width = high_water / RANGES + 1;
        (0..RANGES)
            .into_par_iter()
            .map(|range| {
                let mut partial = empty();
                let start = range * width + 1;
                if start > high_water {
                    return Ok(partial);
                }
                self.cancel.check()?;
                let end = (start + width).min(high_water + 1);
                for (seen, entry) in self
                    .shared
                    .tree
                    .range(id_key(space, start)..id_key(space, end))
                    .enumerate()
                {
                    if seen % CANCEL_CHECK_EVERY == CANCEL_CHECK_EVERY - 1 {
                        self.cancel.check()?;
                    }
                    let (key, sealed) = entry?;
                    fold(&mut partial, self.shared.codec.open(&key, &sealed)?);
                }
                Ok(partial)
            })
            .collect()
    }

    /// Every order accepted by `keep`, in id order, opened in parallel.
    pub fn scan_orders(&self, keep: impl Fn(&Order) -> bool + Sync + Send) -> Result<Vec<Order>> {
        self.par_fold(
            Kind::Order,
            Vec::new,
            |orders: &mut Vec<Order>, order: Order| {
                if keep(&order) {
                    orders.push(order);
                }
            },
            |all, mut part| all.append(&mut part),
        )
    }
}
