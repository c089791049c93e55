//! A full consistency check: counts, rollups, references and indexes agree with the records.
//!
//! Restore runs it before reporting success; the crash and race tests run it after every round.

use crate::error::{Error, Result};
use crate::model::Order;
use crate::store::Store;
use crate::trees::{id_key, Space};
use crate::Kind;

/// What the check counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub customers: u64,
    pub products: u64,
    pub orders: u64,
}

fn corrupt(message: String) -> Error {
    Error::Corrupt(format!("consistency check: {message}"))
}

impl Store {
    /// The customers' query rows rebuilt from the stored records, held in an opaque box until
    /// dropped: a benchmark's way to weigh what the rows cost per customer with an allocation
    /// counter (`query-bench`); nothing else needs it.
    #[doc(hidden)]
    pub fn customer_query_rows_rebuilt(&self) -> Result<Box<dyn std::any::Any + Send>> {
        let rows = crate::indexes::customer_rows_rebuilt(&self.shared.tree, &self.shared.codec)?;
        Ok(Box::new(rows))
    }

    /// Checks every invariant the write path maintains; the first one broken is the error.
    pub fn check_consistency(&self) -> Result<CheckReport> {
        let tree = &self.shared.tree;
        let count = |space: Space| tree.scan_prefix(space.prefix()).count() as u64;
        let report = CheckReport {
            customers: count(Space::Customer),
            products: count(Space::Product),
            orders: count(Space::Order),
        };
        let counts = self.counts()?;
        if (counts.customers, counts.products, counts.orders)
            != (report.customers, report.products, report.orders)
        {
            return Err(corrupt(format!(
                "counters say {}/{}/{} customers/products/orders, the records are {}/{}/{}",
                counts.customers,
                counts.products,
                counts.orders,
                report.customers,
                report.products,
                report.orders
            )));
        }
        // Every order is in a page (layout 6): a loose one is left by an unfinished upgrade,
        // which every open finishes, or was put there by something else than this build.
        let loose = tree.loose_orders()?;
        if loose > 0 {
            return Err(corrupt(format!(
                "{loose} orders have an entry of their own instead of a place in a page"
            )));
        }
        self.shared.record_ids.check(tree)?;
        // No record has an id above its kind's high-water mark (new ids above it are not looked
        // up before they are claimed).
        for (space, kind) in [
            (Space::Customer, Kind::Customer),
            (Space::Product, Kind::Product),
            (Space::Order, Kind::Order),
        ] {
            let highest = match tree.scan_prefix(space.prefix()).next_back() {
                Some(entry) => crate::trees::trailing_id(&entry?.0).unwrap_or(u64::MAX),
                None => 0,
            };
            let mark = self.high_water(kind)?;
            if highest > mark {
                return Err(corrupt(format!(
                    "{kind} {highest} is above the {kind} id high-water mark {mark}"
                )));
            }
        }
        // The indexes and rollups equal what the records imply, rebuilt as an open does.
        let mut recomputed = crate::rollup_table::RollupBuilder::default();
        let rebuilt = crate::indexes::Indexes::rebuild(
            tree,
            &self.shared.codec,
            self.shared.indexes.keys().clone(),
            &mut recomputed,
        )?;
        let differ = self.shared.indexes.differences(&rebuilt);
        if !differ.is_empty() {
            return Err(corrupt(format!(
                "the in-memory indexes disagree with the records: {}",
                differ.join(", ")
            )));
        }
        // Orders: references.
        let orders: Vec<Order> = self.scan_orders(|_| true)?;
        for order in &orders {
            // A forgotten customer's orders stay (accounts need them).
            if tree
                .get(id_key(Space::Customer, order.customer_id))?
                .is_none()
                && !tree.contains_key(id_key(Space::Forgotten, order.customer_id))?
            {
                return Err(corrupt(format!(
                    "order {} refers to missing customer {}",
                    order.id, order.customer_id
                )));
            }
            if tree
                .get(id_key(Space::Product, order.product_id))?
                .is_none()
            {
                return Err(corrupt(format!(
                    "order {} refers to missing product {}",
                    order.id, order.product_id
                )));
            }
        }
        let recomputed = recomputed.finish();
        // The indexes and the rollups live in memory only: none is left in the tree.
        for space in crate::trees::MEMORY_ONLY {
            if count(space) != 0 {
                return Err(corrupt(format!(
                    "the tree still holds {} entries of the in-memory space '{}'",
                    count(space),
                    space as u8 as char
                )));
            }
        }
        if self.customer_rollups()? != recomputed.all() {
            return Err(corrupt(
                "the in-memory customer rollups disagree with the orders".into(),
            ));
        }
        if self.product_rollups()? != recomputed.products() {
            return Err(corrupt(
                "the in-memory product rollups disagree with the orders".into(),
            ));
        }
        // The journal: an unbroken chain, and exactly one index entry per entry about a record.
        let journal = self.verify_journal()?;
        let indexed = self.shared.indexes.journal.read().len();
        if indexed != journal.about_records {
            return Err(corrupt(format!(
                "the journal index has {indexed} entries for {} journal entries about records",
                journal.about_records
            )));
        }
        self.check_kept_merges()?;
        Ok(report)
    }

    /// Every kept merge has its `W` entry and none other exists; a merged-away customer is
    /// not live.
    fn check_kept_merges(&self) -> Result<()> {
        let tree = &self.shared.tree;
        let mut by_keep = 0;
        for entry in tree.scan_prefix(Space::MergesByKeep.prefix()) {
            let (key, _) = entry?;
            by_keep += 1;
            let other = crate::trees::trailing_id(&key).unwrap_or(0);
            let keep = key
                .get(1..9)
                .and_then(crate::trees::decode_u64)
                .unwrap_or(0);
            let merge: crate::model::KeptMerge = match tree.get(id_key(Space::KeptMerge, other))? {
                Some(sealed) => self
                    .shared
                    .codec
                    .open(&id_key(Space::KeptMerge, other), &sealed)?,
                None => {
                    return Err(corrupt(format!(
                        "customer {keep} lists a merge of customer {other} that is not kept"
                    )))
                }
            };
            if merge.keep != keep || merge.other.id != other {
                return Err(corrupt(format!(
                    "the kept merge of customer {other} disagrees with its index entry"
                )));
            }
            if tree.contains_key(id_key(Space::Customer, other))? {
                return Err(corrupt(format!(
                    "customer {other} is both live and kept as merged away"
                )));
            }
        }
        let kept = tree.scan_prefix(Space::KeptMerge.prefix()).count();
        if kept != by_keep {
            return Err(corrupt(format!(
                "{kept} kept merges but {by_keep} index entries for them"
            )));
        }
        Ok(())
    }
}
