//! The write paths of customers: add, update, delete, forget, upsert.

use super::customer_record::{check_email_free, restage};
use super::ids;
use super::op::UpsertKind;
use super::view::{Plan, View};
use super::Outcome;
use crate::error::{Error, Kind, Result};
use crate::indexes::Old;
use crate::journal::{Draft, JournalOp};
use crate::model::{Customer, CustomerPatch, CustomerUpsert, Forgotten, NewCustomer};
use crate::schema::Record;
use crate::trees::{id_key, Space};
use crate::values::now;

pub fn add(view: &View, new: &NewCustomer) -> Result<(Plan, Outcome)> {
    let catalog = super::schema::checked(view, Kind::Customer, &new.custom)?;
    let mut plan = Plan::default();
    let id = ids::choose(view, Space::Customer, new.id)?;
    check_email_free(view, &new.email, None)?;
    check_not_retired(view, id, new.id.is_some())?;
    ids::claim(
        view,
        &mut plan,
        Space::Customer,
        Kind::Customer,
        id,
        new.id.is_some(),
    )?;
    let customer = Customer {
        id,
        name: new.name.clone(),
        email: new.email.clone(),
        phone: new.phone.clone(),
        address: new.address.clone(),
        created_at: new.created_at.unwrap_or_else(now),
        custom: new.custom.to_values(),
    };
    let slot = view.take_slot(&mut plan)?;
    plan.put_customer(None, &customer, slot);
    plan.adjust_count(view, Space::Customer, 1)?;
    let names = given_names(catalog.as_ref(), new);
    plan.journal(Draft::record(
        JournalOp::Add,
        Kind::Customer,
        id,
        names.iter().map(String::as_str).collect(),
    ));
    Ok((plan, Outcome::Id(id)))
}

/// The names of the fields an add gives: the built-in ones, then the custom ones.
fn given_names(catalog: Option<&crate::schema::Catalog>, new: &NewCustomer) -> Vec<String> {
    let mut names: Vec<String> = Customer::schema()
        .names(new.given())
        .into_iter()
        .map(str::to_string)
        .collect();
    names.extend(custom_names(catalog, new.custom.set_ids().collect()));
    names
}

/// The names of the custom fields `ids` (of customers), in declaration order.
fn custom_names(catalog: Option<&crate::schema::Catalog>, ids: Vec<u32>) -> Vec<String> {
    catalog.map_or_else(Vec::new, |catalog| {
        catalog.names_of(Kind::Customer, |id| ids.contains(&id))
    })
}

/// The names of the fields that differ between two versions of a customer: the built-in
/// ones, then the custom ones (the catalog is read only when one differs).
pub(super) fn changed_names(view: &View, old: &Customer, new: &Customer) -> Result<Vec<String>> {
    let schema = Customer::schema();
    let mut names: Vec<String> = schema
        .names(schema.changed(old, new))
        .into_iter()
        .map(str::to_string)
        .collect();
    let ids = crate::schema::custom::changed_ids(&old.custom, &new.custom);
    if !ids.is_empty() {
        let catalog = super::schema::catalog(view)?;
        names.extend(custom_names(Some(&catalog), ids));
    }
    Ok(names)
}

/// `CONFLICT` for the id of a forgotten customer (never used again) or of one merged away
/// while its merge is kept (`UNMERGE` would bring it back). A merged-away customer was live,
/// so its id is below the high-water mark and only an `explicit` id can be it: a generated
/// one skips that read and its decryption. (A forgotten id can lie above the mark: a restore's
/// `--forget` list may name ids the backup never held.)
fn check_not_retired(view: &View, id: u64, explicit: bool) -> Result<()> {
    if view.contains(&id_key(Space::Forgotten, id))? {
        return Err(Error::Conflict(format!(
            "customer {id} was forgotten: its id is never used again"
        )));
    }
    if !explicit {
        return Ok(());
    }
    if let Some(merge) = super::merge::kept(view, id, crate::values::merge_clock())? {
        return Err(Error::Conflict(format!(
            "customer {id} was merged into customer {}: its merge is kept for CUSTOMER.UNMERGE",
            merge.keep
        )));
    }
    Ok(())
}

pub fn update(view: &View, id: u64, patch: &CustomerPatch) -> Result<(Plan, Outcome)> {
    let key = id_key(Space::Customer, id);
    let old: Customer = view
        .record(&key)?
        .ok_or_else(|| Error::not_found(Kind::Customer, id))?;
    super::schema::checked(view, Kind::Customer, &patch.custom)?;
    let mut new = old.clone();
    patch.apply_to(&mut new);
    if new.email != old.email {
        check_email_free(view, &new.email, Some(id))?;
    }
    let mut plan = Plan::default();
    restage(view, &mut plan, &old, &new)?;
    let names = changed_names(view, &old, &new)?;
    plan.journal(Draft::record(
        JournalOp::Update,
        Kind::Customer,
        id,
        names.iter().map(String::as_str).collect(),
    ));
    Ok((plan, Outcome::Done))
}

pub fn delete(view: &View, id: u64) -> Result<(Plan, Outcome)> {
    let key = id_key(Space::Customer, id);
    let old: Customer = view
        .record(&key)?
        .ok_or_else(|| Error::not_found(Kind::Customer, id))?;
    if let Some(rollup) = view.customer_rollup(id).filter(|r| r.order_count > 0) {
        return Err(Error::StillOrdered {
            kind: Kind::Customer,
            id,
            orders: rollup.order_count,
        });
    }
    let mut plan = Plan::default();
    plan.remove_customer(id, Old::Was(old));
    plan.adjust_count(view, Space::Customer, -1)?;
    // A deleted customer's key is of no more use: destroying it makes the copies of the record
    // sled still keeps unreadable too.
    if let Some(slot) = view.customer_slot(id)? {
        plan.erase_slot(slot);
    }
    plan.journal(Draft::record(
        JournalOp::Delete,
        Kind::Customer,
        id,
        Vec::new(),
    ));
    Ok((plan, Outcome::Done))
}

/// `CUSTOMER.FORGET`: the record and its blind index entries go, its key is destroyed once the
/// write is durable (see `keyring.rs` for why that erases every stored copy), and the id joins
/// the forgotten list. Its orders and rollup stay: accounts need them, and they hold no
/// personal value.
///
/// Every kept merge into the customer is erased with it; a customer merged away while its
/// merge is kept may be forgotten too (its kept copy is then erased).
pub fn forget(view: &View, id: u64, at: i64) -> Result<(Plan, Outcome)> {
    let key = id_key(Space::Customer, id);
    let mut plan = Plan::default();
    let Some(old) = view.record::<Customer>(&key)? else {
        let merge = super::merge::kept(view, id, crate::values::merge_clock())?
            .ok_or_else(|| Error::not_found(Kind::Customer, id))?;
        forget_merged_away(view, &mut plan, id, merge.keep, at)?;
        return Ok((plan, Outcome::Done));
    };
    finish_forget(view, &mut plan, id, Old::Was(old), at)?;
    Ok((plan, Outcome::Done))
}

/// Forgets a customer that a stored merge took away: the kept copy goes with its key.
fn forget_merged_away(view: &View, plan: &mut Plan, id: u64, keep: u64, at: i64) -> Result<()> {
    let slot = view.keyed_slot(&id_key(Space::KeptMerge, id))?;
    super::merge::drop_kept(view, plan, keep, id)?;
    record_forgotten(plan, id, at, slot);
    Ok(())
}

/// The part of a forget that does not need the record's values (`old`: the record, or
/// `Unreadable` when its key is gone).
fn finish_forget(view: &View, plan: &mut Plan, id: u64, old: Old<Customer>, at: i64) -> Result<()> {
    let slot = view.customer_slot(id)?;
    plan.remove_customer(id, old);
    plan.adjust_count(view, Space::Customer, -1)?;
    if let Some(slot) = slot {
        plan.erase_slot(slot);
    }
    for other in super::merge::merged_into(view, id)? {
        super::merge::drop_kept(view, plan, id, other)?;
    }
    record_forgotten(plan, id, at, slot);
    Ok(())
}

/// The forgotten-list entry and the journal entry of a forget.
fn record_forgotten(plan: &mut Plan, id: u64, at: i64, slot: Option<u64>) {
    plan.put_record(
        &id_key(Space::Forgotten, id),
        &Forgotten {
            customer_id: id,
            at,
            slot,
        },
    );
    plan.journal(Draft::record(
        JournalOp::Forget,
        Kind::Customer,
        id,
        Vec::new(),
    ));
}

/// A forget that a restore applies (`--forget`, or a customer whose key a backup lacks because
/// it was forgotten while the backup ran): idempotent, and for an id the store does not hold it
/// only records the id as forgotten.
pub fn forget_restored(view: &View, id: u64, at: i64) -> Result<(Plan, Outcome)> {
    let forgotten_key = id_key(Space::Forgotten, id);
    let key = id_key(Space::Customer, id);
    if !view.exists(Space::Customer, id)? {
        if view.contains(&forgotten_key)? {
            return Ok((Plan::default(), Outcome::Skipped));
        }
        let mut plan = Plan::default();
        if let Some(merge) =
            view.record::<crate::model::KeptMerge>(&id_key(Space::KeptMerge, id))?
        {
            // Present as a kept merge (even one past its 30 days, not yet purged).
            forget_merged_away(view, &mut plan, id, merge.keep, at)?;
            return Ok((plan, Outcome::Done));
        }
        plan.put_record(
            &forgotten_key,
            &Forgotten {
                customer_id: id,
                at,
                slot: None,
            },
        );
        return Ok((plan, Outcome::Skipped));
    }
    match view.record::<Customer>(&key) {
        Ok(_) => forget(view, id, at),
        Err(Error::Corrupt(_)) if key_erased(view, id)? => {
            // The values are unreadable: the indexes find the customer's entries by id.
            let mut plan = Plan::default();
            finish_forget(view, &mut plan, id, Old::Unreadable, at)?;
            Ok((plan, Outcome::Done))
        }
        Err(other) => Err(other),
    }
}

fn key_erased(view: &View, id: u64) -> Result<bool> {
    match view.customer_slot(id)? {
        Some(slot) => Ok(view
            .codec
            .keyring()?
            .raw(slot)
            .is_none_or(|raw| crate::keyring::is_erased(&raw))),
        None => Ok(false),
    }
}

/// `CUSTOMER.REVEAL` and `CUSTOMER.EXPORT` change nothing but the journal: who saw what.
/// A reveal of no customer journals nothing (`Skipped`); an export of none is `NOTFOUND`.
pub fn disclose(view: &View, id: u64, op: JournalOp) -> Result<(Plan, Outcome)> {
    if !view.exists(Space::Customer, id)? {
        if op == JournalOp::Export {
            return Err(Error::not_found(Kind::Customer, id));
        }
        return Ok((Plan::default(), Outcome::Skipped));
    }
    Ok((
        Plan::journaled(Draft::record(op, Kind::Customer, id, Vec::new())),
        Outcome::Journaled(0),
    ))
}

/// `CUSTOMER.UPSERT`: decided here, against the current state, so that two upserts of one email
/// racing each other make one customer (the second finds the first's).
pub fn upsert(view: &View, upsert: &CustomerUpsert) -> Result<(Plan, Outcome)> {
    let Some(owner) = view.email_owner(&upsert.email) else {
        let new = upsert.to_new();
        let catalog = super::schema::checked(view, Kind::Customer, &new.custom)?;
        let fields = given_names(catalog.as_ref(), &new);
        if upsert.dry_run {
            if let Some(id) = upsert.id {
                if view.exists(Space::Customer, id)? {
                    return Err(Error::Conflict(format!("customer {id} exists")));
                }
                check_not_retired(view, id, true)?;
            }
            let id = 0;
            let kind = UpsertKind::Created;
            return Ok((Plan::default(), Outcome::Upserted { id, kind, fields }));
        }
        let (plan, outcome) = add(view, &new)?;
        let id = outcome.id();
        let kind = UpsertKind::Created;
        return Ok((plan, Outcome::Upserted { id, kind, fields }));
    };
    if let Some(given) = upsert.id.filter(|given| *given != owner) {
        return Err(Error::EmailTaken {
            email: upsert.email.clone(),
            owner,
            given: Some(given),
        });
    }
    let old: Customer = view
        .record(&id_key(Space::Customer, owner))?
        .ok_or_else(|| {
            Error::Corrupt(format!(
                "the email index points to missing customer {owner}"
            ))
        })?;
    super::schema::checked(view, Kind::Customer, &upsert.custom)?;
    let mut new = old.clone();
    upsert.to_patch().apply_to(&mut new);
    let fields = changed_names(view, &old, &new)?;
    let id = owner;
    if fields.is_empty() {
        let kind = UpsertKind::Unchanged;
        return Ok((Plan::default(), Outcome::Upserted { id, kind, fields }));
    }
    let kind = UpsertKind::Updated;
    if upsert.dry_run {
        return Ok((Plan::default(), Outcome::Upserted { id, kind, fields }));
    }
    let (plan, _) = update(view, owner, &upsert.to_patch())?;
    Ok((plan, Outcome::Upserted { id, kind, fields }))
}
