//! The sweep of dropped custom fields (`SCHEMA.FIELD.DROP`): the field leaves every reply at
//! once (the catalog marks it dropped), and its values leave the records here, a page of
//! records at a time, each page one write group like any other (so a cluster's followers
//! sweep with the leader, and a crash loses at most the page in flight).
//!
//! A customer that held a value of a dropped `PERSONAL` field is sealed again under a fresh
//! key and its old key destroyed, as `FORGET` does: every copy sealed before (sled's old
//! pages, the redo log) becomes unreadable with the master key. A kept merge holding one is
//! moved to a fresh key the same way. When a walk over every record of the kind finds no
//! value left, the field leaves the catalog (its name free again, and its place among the 64).
//!
//! Nothing here is kept on disk: the catalog says which fields are dropped, so after a
//! restart the sweep walks again from the first record (the pages it already swept cost a
//! read each).

use crate::error::{Kind, Result};
use crate::schema::{Catalog, Record};
use crate::store::Store;
use crate::write::Op;
use std::sync::atomic::{AtomicU64, Ordering};

/// Records read per step.
const PAGE: usize = 256;

/// Where the sweep is, for `INFO`'s `schema_sweep_progress`.
#[derive(Default)]
pub(crate) struct SweepState {
    /// The kind's id the walk continues after, and the field it sweeps (+1; 0: none).
    after: AtomicU64,
    field: AtomicU64,
    /// Records walked so far of `total`.
    done: AtomicU64,
    total: AtomicU64,
}

/// What one step of the sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepStep {
    /// No field is being swept.
    Idle,
    /// A page was swept; more may follow.
    Swept,
    /// A field's values are all gone and it left the catalog.
    Finished,
}

impl Store {
    /// One step of the sweep of dropped custom fields (see `sweep.rs`): run again and again
    /// by the server while it answers `Swept`.
    pub fn sweep_dropped_fields(&self) -> Result<SweepStep> {
        self.sweep_dropped_fields_by(PAGE)
    }

    /// One step of the sweep, reading `page` records (tests sweep small stores in pages).
    #[doc(hidden)]
    pub fn sweep_dropped_fields_by(&self, page: usize) -> Result<SweepStep> {
        let catalog = self.catalog();
        let state = &self.shared.sweep;
        let Some(field) = catalog.all().iter().find(|field| field.dropped) else {
            state.field.store(0, Ordering::Relaxed);
            return Ok(SweepStep::Idle);
        };
        if state.field.load(Ordering::Relaxed) != u64::from(field.id) + 1 {
            let counts = self.shared.counts()?;
            let total = match field.kind {
                Kind::Customer => counts.customers,
                _ => counts.products,
            };
            state.after.store(0, Ordering::Relaxed);
            state.done.store(0, Ordering::Relaxed);
            state.total.store(total.max(1), Ordering::Relaxed);
            state
                .field
                .store(u64::from(field.id) + 1, Ordering::Relaxed);
        }
        let after = state.after.load(Ordering::Relaxed);
        let dropped = |id: u32| catalog.by_id(id).is_some_and(|f| f.dropped);
        let (ids, last) = match field.kind {
            Kind::Customer => holding(self.customers(after, page)?, dropped),
            _ => holding(self.products(after, page)?, dropped),
        };
        if !ids.is_empty() {
            self.write(Op::SweepFields {
                kind: field.kind,
                ids,
            })?;
        }
        match last {
            Some((last, walked)) => {
                state.after.store(last, Ordering::Relaxed);
                state.done.fetch_add(walked, Ordering::Relaxed);
                Ok(SweepStep::Swept)
            }
            None => {
                self.write(Op::FinishSweep { field: field.id })?;
                state.field.store(0, Ordering::Relaxed);
                Ok(SweepStep::Finished)
            }
        }
    }

    /// How far the sweep of dropped fields is: 0 to 100, 100 when none runs.
    pub fn schema_sweep_progress(&self) -> u8 {
        let state = &self.shared.sweep;
        if !self.catalog().all().iter().any(|field| field.dropped) {
            return 100;
        }
        let (done, total) = (
            state.done.load(Ordering::Relaxed),
            state.total.load(Ordering::Relaxed).max(1),
        );
        u8::try_from((done.min(total) * 100 / total).min(99)).unwrap_or(99)
    }
}

/// The ids of the records that hold a value of a dropped field, and the last id read with how
/// many were read (`None`: none was left).
fn holding<R: Record>(
    records: Vec<R>,
    dropped: impl Fn(u32) -> bool,
) -> (Vec<u64>, Option<(u64, u64)>) {
    let last = records.last().map(|r| (r.id(), records.len() as u64));
    let ids = records
        .iter()
        .filter(|record| {
            record
                .custom()
                .is_some_and(|values| values.stored().iter().any(|(id, _)| dropped(*id)))
        })
        .map(Record::id)
        .collect();
    (ids, last)
}

/// Whether a catalog's dropped fields include a personal one with a value among `values`.
pub(crate) fn holds_dropped_personal(
    catalog: &Catalog,
    values: &crate::schema::CustomValues,
) -> bool {
    values
        .stored()
        .iter()
        .any(|(id, _)| catalog.by_id(*id).is_some_and(|f| f.dropped && f.personal))
}

/// Whether a catalog's dropped fields have a value among `values`.
pub(crate) fn holds_dropped(catalog: &Catalog, values: &crate::schema::CustomValues) -> bool {
    values
        .stored()
        .iter()
        .any(|(id, _)| catalog.by_id(*id).is_some_and(|f| f.dropped))
}

/// Keeps the values of fields that are not dropped.
pub(crate) fn without_dropped(catalog: &Catalog, values: &mut crate::schema::CustomValues) {
    values.retain(|id| !catalog.by_id(id).is_some_and(|f| f.dropped));
}
