//! The write paths of the sweep of dropped custom fields (`sweep.rs` says why and when).
//! Not journaled: the fields already left every reply with the drop's own entry, and a sweep
//! changes nothing a reader can see.

use super::customer_record::{restage, restage_under_new_key};
use super::view::{Plan, View};
use super::Outcome;
use crate::error::{Kind, Result};
use crate::model::{Customer, KeptMerge};
use crate::sweep::{holds_dropped, holds_dropped_personal, without_dropped};
use crate::trees::{id_key, Space};

/// Takes the dropped fields' values out of the records `ids` of `kind` (a record gone since,
/// or holding none, is left).
pub fn sweep_records(view: &View, kind: Kind, ids: &[u64]) -> Result<(Plan, Outcome)> {
    let catalog = super::schema::catalog(view)?;
    let mut plan = Plan::default();
    for &id in ids {
        if kind == Kind::Customer {
            let Some(old) = view.record::<Customer>(&id_key(Space::Customer, id))? else {
                continue;
            };
            if !holds_dropped(&catalog, &old.custom) {
                continue;
            }
            let mut new = old.clone();
            without_dropped(&catalog, &mut new.custom);
            if holds_dropped_personal(&catalog, &old.custom) {
                restage_under_new_key(view, &mut plan, &old, &new)?;
            } else {
                restage(view, &mut plan, &old, &new)?;
            }
        } else {
            let Some(old) = view.product(id)? else {
                continue;
            };
            if !holds_dropped(&catalog, &old.custom) {
                continue;
            }
            let mut new = old.clone();
            without_dropped(&catalog, &mut new.custom);
            plan.put_product(Some(&old), &new);
        }
    }
    Ok((plan, Outcome::Done))
}

/// Ends the sweep of field `field`: the kept merges that still hold a dropped value are
/// sealed again without it (under a fresh key, the old one destroyed, when the field is
/// personal), and the field leaves the catalog.
pub fn finish(view: &View, field: u32) -> Result<(Plan, Outcome)> {
    let catalog = super::schema::catalog(view)?;
    let mut plan = Plan::default();
    for mut merge in view.records_under::<KeptMerge>(&Space::KeptMerge.prefix())? {
        if !holds_dropped(&catalog, &merge.other.custom) {
            continue;
        }
        let personal = holds_dropped_personal(&catalog, &merge.other.custom);
        without_dropped(&catalog, &mut merge.other.custom);
        merge
            .filled_custom
            .retain(|id| !catalog.by_id(*id).is_some_and(|f| f.dropped));
        let key = id_key(Space::KeptMerge, merge.other.id);
        let Some(slot) = view.keyed_slot(&key)? else {
            continue;
        };
        let slot = if personal {
            plan.erase_slot(slot);
            view.take_slot(&mut plan)?
        } else {
            slot
        };
        plan.put_keyed(&key, &merge, slot);
    }
    plan.put_record(&crate::trees::schema_key(), &catalog.swept(field));
    Ok((plan, Outcome::Done))
}
