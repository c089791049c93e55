//! `CUSTOMER.MERGE` and `UNMERGE`, and the purge of merges older than 30 days.
//!
//! A merge is one write like any other: the orders of `other` move to `keep` (their records;
//! the index of orders by customer follows them), the
//! two rollups follow, `keep` takes the phone or address it lacked, and `other` leaves every
//! index. What `UNMERGE` needs is kept at `M ‖ other` ([`KeptMerge`]), sealed under `other`'s
//! own key, which stays alive while the merge is kept; `W ‖ keep ‖ other` finds the merges into
//! a customer without opening them. Dropping a kept merge (forget, purge) destroys that key,
//! so the copy of the person it held is erased as a record is (see `keyring.rs`). What `keep`
//! held of `other` for a while is sealed under `keep`'s key: `UNMERGE` moves `keep` to a fresh
//! key and destroys that one, so erasing `other` later erases those copies too.

use super::customer_record::{check_email_free, restage, restage_under_new_key};
use super::view::{Plan, View};
use super::Outcome;
use crate::error::{Error, Kind, Result};
use crate::indexes::Old;
use crate::journal::{Draft, JournalOp};
use crate::model::{Customer, CustomerRollup, KeptMerge, Order};
use crate::schema::{FieldSet, MergeRule, Record};
use crate::trees::{id_key, pair_key, trailing_id, Space};

/// `CUSTOMER.MERGE keep other` at `at` (the server's merge clock).
pub fn merge(view: &View, keep_id: u64, other_id: u64, at: i64) -> Result<(Plan, Outcome)> {
    if keep_id == other_id {
        return Err(Error::invalid(
            "other",
            format!("customer {other_id} cannot be merged into itself"),
        ));
    }
    let keep: Customer = view
        .record(&id_key(Space::Customer, keep_id))?
        .ok_or_else(|| Error::not_found(Kind::Customer, keep_id))?;
    let other: Customer = view
        .record(&id_key(Space::Customer, other_id))?
        .ok_or_else(|| Error::not_found(Kind::Customer, other_id))?;
    let mut plan = Plan::default();

    let mut keep_rollup = view.customer_rollup(keep_id).unwrap_or_default();
    let mut moved_orders = Vec::new();
    for (order_id, _) in view.customer_orders(other_id) {
        let order = move_order(view, &mut plan, order_id, other_id, keep_id)?;
        keep_rollup.add(order.amount_cents(), order.created_at);
        moved_orders.push(order_id);
    }
    if !moved_orders.is_empty() {
        plan.put_rollup(keep_id, Some(keep_rollup));
        plan.put_rollup(other_id, None);
    }

    // `keep` takes the values it lacks of the fields merged that way (`schema/`).
    let schema = Customer::schema();
    let mut kept = keep.clone();
    let mut filled = FieldSet::default();
    for field in schema.fields() {
        if field.merge != MergeRule::FillIfUnset || field.get(&keep).is_some() {
            continue;
        }
        if let Some(value) = field.get(&other) {
            field.set(&mut kept, Some(value.to_owned()));
            filled = filled.with(schema, field.id);
        }
    }
    // And the custom fields it has no value of (the contract: `keep`'s unset ones).
    let catalog = super::schema::catalog(view)?;
    let mut filled_custom = Vec::new();
    for field in catalog.declared(Kind::Customer) {
        if keep.custom.get(field.id).is_none() {
            if let Some(value) = other.custom.get(field.id) {
                kept.custom.set(field.id, Some(value.clone()));
                filled_custom.push(field.id);
            }
        }
    }
    if kept != keep {
        restage(view, &mut plan, &keep, &kept)?;
    }

    plan.remove_customer(other_id, Old::Was(other.clone()));
    plan.adjust_count(view, Space::Customer, -1)?;
    let slot = match view.customer_slot(other_id)? {
        Some(slot) => slot,
        None => view.take_slot(&mut plan)?,
    };
    let mut kept_merge = KeptMerge::new(keep_id, other, moved_orders, filled, at);
    kept_merge.filled_custom = filled_custom.clone();
    plan.put_keyed(&id_key(Space::KeptMerge, other_id), &kept_merge, slot);
    plan.put(by_keep_key(keep_id, other_id), Vec::new());

    let other_field = format!("other:{other_id}");
    let custom_names = catalog.names_of(Kind::Customer, |id| filled_custom.contains(&id));
    let mut fields = vec![other_field.as_str()];
    fields.extend(schema.names(filled));
    fields.extend(custom_names.iter().map(String::as_str));
    plan.journal(Draft::record(
        JournalOp::Merge,
        Kind::Customer,
        keep_id,
        fields,
    ));
    Ok((plan, Outcome::Done))
}

/// `CUSTOMER.UNMERGE other` at `now` (the server's merge clock).
pub fn unmerge(view: &View, other_id: u64, now: i64) -> Result<(Plan, Outcome)> {
    let no_merge = || {
        Error::not_found(
            Kind::Customer,
            format!("{other_id}: no merge of it is kept"),
        )
    };
    let merge = kept(view, other_id, now)?.ok_or_else(no_merge)?;
    if view.contains(&id_key(Space::Forgotten, merge.keep))? {
        return Err(no_merge());
    }
    let keep_id = merge.keep;
    let other = merge.other.clone();
    check_email_free(view, &other.email, None)?;
    if view.exists(Space::Customer, other_id)? {
        return Err(Error::Conflict(format!("customer {other_id} exists")));
    }
    let mut plan = Plan::default();

    // The orders that moved and that `keep` still owns go back.
    let mut other_rollup = CustomerRollup::default();
    let mut back = Vec::new();
    let mut back_cents = 0u128;
    for &order_id in &merge.moved_orders {
        let Some(order) = view.record::<Order>(&id_key(Space::Order, order_id))? else {
            continue;
        };
        if order.customer_id != keep_id {
            continue;
        }
        let order = move_order(view, &mut plan, order_id, keep_id, other_id)?;
        other_rollup.add(order.amount_cents(), order.created_at);
        back_cents += u128::from(order.amount_cents());
        back.push(order_id);
    }
    if !back.is_empty() {
        let old = view.customer_rollup(keep_id).unwrap_or_default();
        // The orders `keep` had before this operation, but those that go back.
        let times: Vec<i64> = view
            .customer_orders(keep_id)
            .into_iter()
            .filter(|(id, _)| back.binary_search(id).is_err())
            .map(|(_, at)| at)
            .collect();
        let remaining = CustomerRollup {
            order_count: old.order_count.saturating_sub(back.len() as u64),
            total_cents: old.total_cents.saturating_sub(back_cents),
            first_order: times.iter().copied().min(),
            last_order: times.iter().copied().max(),
        };
        plan.put_rollup(keep_id, (remaining.order_count > 0).then_some(remaining));
        plan.put_rollup(other_id, Some(other_rollup));
    }

    // A field `keep` took from `other` is cleared if it still holds that value. Every copy of
    // `keep` sealed since the merge may hold one (an update meanwhile left old copies behind
    // in sled and the redo log), so `keep` moves to a fresh key and the one those copies are
    // sealed under is destroyed: `FORGET other` then leaves nothing of `other` readable. A
    // merge that filled nothing put nothing of `other` in `keep`, and keeps its key.
    let filled = merge.filled();
    if !filled.is_empty() || !merge.filled_custom.is_empty() {
        if let Some(keep) = view.record::<Customer>(&id_key(Space::Customer, keep_id))? {
            let schema = Customer::schema();
            let mut cleared = keep.clone();
            for field in schema.fields() {
                if filled.has(schema, field.id) && field.get(&keep) == field.get(&other) {
                    field.set(&mut cleared, None);
                }
            }
            for &id in &merge.filled_custom {
                if keep.custom.get(id).is_some() && keep.custom.get(id) == other.custom.get(id) {
                    cleared.custom.set(id, None);
                }
            }
            restage_under_new_key(view, &mut plan, &keep, &cleared)?;
        }
    }

    let slot = match view.keyed_slot(&id_key(Space::KeptMerge, other_id))? {
        Some(slot) => slot,
        None => view.take_slot(&mut plan)?,
    };
    plan.put_customer(None, &other, slot);
    plan.adjust_count(view, Space::Customer, 1)?;
    plan.remove(id_key(Space::KeptMerge, other_id).to_vec());
    plan.remove(by_keep_key(keep_id, other_id));
    let keep_field = format!("keep:{keep_id}");
    plan.journal(Draft::record(
        JournalOp::Unmerge,
        Kind::Customer,
        other_id,
        vec![keep_field.as_str()],
    ));
    Ok((plan, Outcome::Done))
}

/// Drops every merge older than 30 days at `now`, destroying the merged-away customers' keys
/// (`Skipped` when there is none).
pub fn purge_expired(view: &View, now: i64) -> Result<(Plan, Outcome)> {
    let mut plan = Plan::default();
    let mut purged = 0;
    for merge in view.records_under::<KeptMerge>(&Space::KeptMerge.prefix())? {
        if !merge.is_kept_at(now) {
            drop_kept(view, &mut plan, merge.keep, merge.other.id)?;
            purged += 1;
        }
    }
    Ok((
        plan,
        if purged > 0 {
            Outcome::Done
        } else {
            Outcome::Skipped
        },
    ))
}

/// The merge that took customer `other_id` away, if it is still kept at `now`.
pub(super) fn kept(view: &View, other_id: u64, now: i64) -> Result<Option<KeptMerge>> {
    Ok(view
        .record::<KeptMerge>(&id_key(Space::KeptMerge, other_id))?
        .filter(|merge| merge.is_kept_at(now)))
}

/// Stages the end of a kept merge: its entries go and the merged-away customer's key is
/// destroyed once the write is durable.
pub(super) fn drop_kept(view: &View, plan: &mut Plan, keep_id: u64, other_id: u64) -> Result<()> {
    let key = id_key(Space::KeptMerge, other_id);
    if let Some(slot) = view.keyed_slot(&key)? {
        plan.erase_slot(slot);
    }
    plan.remove(key.to_vec());
    plan.remove(by_keep_key(keep_id, other_id));
    Ok(())
}

/// The customers merged into `keep_id` whose merges are stored (kept or not yet purged).
pub(super) fn merged_into(view: &View, keep_id: u64) -> Result<Vec<u64>> {
    Ok(view
        .scan_prefix(&id_key(Space::MergesByKeep, keep_id))?
        .into_iter()
        .filter_map(|(key, _)| trailing_id(&key))
        .collect())
}

fn by_keep_key(keep_id: u64, other_id: u64) -> Vec<u8> {
    pair_key(Space::MergesByKeep, &keep_id.to_be_bytes(), other_id)
}

/// Moves one order from customer `from` to `to` (the index of orders by customer follows
/// its record).
fn move_order(view: &View, plan: &mut Plan, order_id: u64, from: u64, to: u64) -> Result<Order> {
    let order_key = id_key(Space::Order, order_id);
    let old: Order = view.record(&order_key)?.ok_or_else(|| {
        Error::Corrupt(format!(
            "customer {from}'s order index names order {order_id}, which is missing"
        ))
    })?;
    let mut order = old.clone();
    order.customer_id = to;
    plan.put_order(Some(&old), &order);
    Ok(order)
}
