//! The shape the orders-by-customer and orders-by-product indexes share: a list of (order,
//! time) per owner, ascending by order.
//!
//! # Why lists
//!
//! As a B-tree of (owner, order) → time, an entry costs ~45 bytes and a descent through a tree
//! of millions of entries for every order written. As `owner → [(order, time)]` it costs 16
//! bytes, and an order (whose id is the largest so far) is pushed onto its owner's list after
//! a descent through a map of owners only (customers, products).

use super::changes::Old;
use crate::model::Order;
use std::collections::BTreeMap;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct OrderLists {
    owners: BTreeMap<u64, Vec<(u64, i64)>>,
}

impl OrderLists {
    /// An owner's orders with their times, ascending by order (empty when it has none).
    pub fn of(&self, owner: u64) -> &[(u64, i64)] {
        self.owners.get(&owner).map_or(&[], Vec::as_slice)
    }

    /// Adds an order to its owner's list, or sets its time if it is there.
    pub fn insert(&mut self, owner: u64, order: u64, time: i64) {
        let list = self.owners.entry(owner).or_default();
        match list.last() {
            // The usual case: a new order has the largest id.
            Some((last, _)) if *last < order => list.push((order, time)),
            None => list.push((order, time)),
            _ => match list.binary_search_by_key(&order, |(o, _)| *o) {
                Ok(at) => list[at].1 = time,
                Err(at) => list.insert(at, (order, time)),
            },
        }
    }

    /// Follows one order's change; `owner` says whose list an order is on (an order that
    /// moves changes lists).
    pub fn apply(
        &mut self,
        id: u64,
        old: &Old<Order>,
        new: Option<&Order>,
        owner: fn(&Order) -> u64,
    ) {
        if let Old::Was(old) = old {
            self.remove(owner(old), id);
        }
        if let Some(new) = new {
            self.insert(owner(new), id, new.created_at);
        }
    }

    /// Removes an order from its owner's list (nothing if it is not there).
    pub fn remove(&mut self, owner: u64, order: u64) {
        let Some(list) = self.owners.get_mut(&owner) else {
            return;
        };
        if let Ok(at) = list.binary_search_by_key(&order, |(o, _)| *o) {
            list.remove(at);
        }
        if list.is_empty() {
            self.owners.remove(&owner);
        }
    }

    /// The lists of these (owner, order, time) entries.
    pub fn rebuild(mut entries: Vec<(u64, u64, i64)>) -> OrderLists {
        entries.sort_unstable();
        let mut lists = OrderLists::default();
        for (owner, order, time) in entries {
            lists.insert(owner, order, time);
        }
        lists
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;

    /// Lists answer exactly as a sorted map of the same entries.
    #[test]
    fn lists_agree_with_a_sorted_map() {
        for seed in 0..40 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut lists = OrderLists::default();
            let mut model: BTreeMap<(u64, u64), i64> = BTreeMap::new();
            for _ in 0..400 {
                let (owner, order) = (rng.gen_range(0..8), rng.gen_range(0..60));
                if rng.gen_bool(0.7) {
                    let time = rng.gen::<i64>();
                    lists.insert(owner, order, time);
                    model.insert((owner, order), time);
                } else {
                    lists.remove(owner, order);
                    model.remove(&(owner, order));
                }
                let entries: usize = lists.owners.values().map(Vec::len).sum();
                assert_eq!(entries, model.len());
            }
            for owner in 0..9 {
                let expected: Vec<(u64, i64)> = model
                    .range((owner, 0)..=(owner, u64::MAX))
                    .map(|((_, order), time)| (*order, *time))
                    .collect();
                assert_eq!(lists.of(owner), expected.as_slice(), "seed {seed}");
            }
        }
    }
}
