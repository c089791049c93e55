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

/// How many ranges a scan is cut into: enough to balance a few dozen cores.
const RANGES: u64 = 64;

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
        let space = match kind {
            Kind::Customer => Space::Customer,
            Kind::Product => Space::Product,
            _ => Space::Order,
        };
        let high_water = self.high_water(kind)?;
        let width = high_water / RANGES + 1;
        let partials: Vec<Result<A>> = (0..RANGES)
            .into_par_iter()
            .map(|range| {
                let mut partial = empty();
                let start = range * width + 1;
                if start > high_water {
                    return Ok(partial);
                }
                let end = (start + width).min(high_water + 1);
                for entry in self
                    .shared
                    .tree
                    .range(id_key(space, start)..id_key(space, end))
                {
                    let (key, sealed) = entry?;
                    fold(&mut partial, self.shared.codec.open(&key, &sealed)?);
                }
                Ok(partial)
            })
            .collect();
        let mut total = empty();
        for partial in partials {
            merge(&mut total, partial?);
        }
        Ok(total)
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
