//! The write paths of customers: add, update, delete, with their blind index entries.

use super::ids;
use super::view::{Plan, View};
use super::Outcome;
use crate::error::{Error, Kind, Result};
use crate::index::{email, name_words, phone};
use crate::journal::{Draft, JournalOp};
use crate::model::{Customer, CustomerPatch, NewCustomer};
use crate::trees::{decode_u64, id_key, Space};
use crate::values::{now, quote};

/// `CONFLICT` unless the email is free or already belongs to `allowed_owner`.
fn check_email_free(view: &View, address: &str, allowed_owner: Option<u64>) -> Result<()> {
    if let Some(owner) = view.get(&email::key(view.blind, address))? {
        let owner = decode_u64(&owner).unwrap_or(0);
        if Some(owner) != allowed_owner {
            return Err(Error::Conflict(format!(
                "email {} belongs to customer {owner}",
                quote(address)
            )));
        }
    }
    Ok(())
}

/// The index entries a customer owns, so add, update and delete stay symmetric.
fn index_entries(view: &View, customer: &Customer) -> Vec<(Vec<u8>, Vec<u8>)> {
    let id = customer.id;
    let mut entries = vec![(
        email::key(view.blind, &customer.email),
        id.to_be_bytes().to_vec(),
    )];
    if let Some(number) = &customer.phone {
        entries.push((phone::key(view.blind, number, id), Vec::new()));
    }
    for key in name_words::keys_for(view.blind, &customer.name, id) {
        entries.push((key, Vec::new()));
    }
    entries
}

pub fn add(view: &View, new: &NewCustomer) -> Result<(Plan, Outcome)> {
    let mut plan = Plan::default();
    let id = ids::choose(view, Space::Customer, new.id)?;
    check_email_free(view, &new.email, None)?;
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
    };
    for (key, value) in index_entries(view, &customer) {
        plan.put(key, value);
    }
    plan.put_record(&id_key(Space::Customer, id), &customer);
    plan.adjust_count(view, Space::Customer, 1)?;
    plan.journal(Draft::record(
        JournalOp::Add,
        Kind::Customer,
        id,
        given_fields(new),
    ));
    Ok((plan, Outcome::Id(id)))
}

/// The keys an add was given, in the record's key order (an empty phone or address is absent).
fn given_fields(new: &NewCustomer) -> Vec<&'static str> {
    let mut fields = vec!["name", "email"];
    if new.phone.is_some() {
        fields.push("phone");
    }
    if new.address.is_some() {
        fields.push("address");
    }
    if new.created_at.is_some() {
        fields.push("created_at");
    }
    if new.id.is_some() {
        fields.push("id");
    }
    fields
}

/// The fields whose stored value differs, in the record's key order.
pub(super) fn changed_fields(old: &Customer, new: &Customer) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if old.name != new.name {
        fields.push("name");
    }
    if old.email != new.email {
        fields.push("email");
    }
    if old.phone != new.phone {
        fields.push("phone");
    }
    if old.address != new.address {
        fields.push("address");
    }
    fields
}

pub fn update(view: &View, id: u64, patch: &CustomerPatch) -> Result<(Plan, Outcome)> {
    let key = id_key(Space::Customer, id);
    let old: Customer = view
        .record(&key)?
        .ok_or_else(|| Error::not_found(Kind::Customer, id))?;
    let mut new = old.clone();
    patch.apply_to(&mut new);
    if new.email != old.email {
        check_email_free(view, &new.email, Some(id))?;
    }
    let mut plan = Plan::default();
    let old_entries = index_entries(view, &old);
    let new_entries = index_entries(view, &new);
    for (key, _) in &old_entries {
        if !new_entries.iter().any(|(k, _)| k == key) {
            plan.remove(key.clone());
        }
    }
    for (key, value) in new_entries {
        plan.put(key, value);
    }
    plan.put_record(&key, &new);
    plan.journal(Draft::record(
        JournalOp::Update,
        Kind::Customer,
        id,
        changed_fields(&old, &new),
    ));
    Ok((plan, Outcome::Done))
}

pub fn delete(view: &View, id: u64) -> Result<(Plan, Outcome)> {
    let key = id_key(Space::Customer, id);
    let old: Customer = view
        .record(&key)?
        .ok_or_else(|| Error::not_found(Kind::Customer, id))?;
    if let Some(rollup) = view.customer_rollup(id).filter(|r| r.order_count > 0) {
        return Err(super::still_ordered(Kind::Customer, id, rollup.order_count));
    }
    let mut plan = Plan::default();
    for (key, _) in index_entries(view, &old) {
        plan.remove(key);
    }
    plan.remove(key.to_vec());
    plan.adjust_count(view, Space::Customer, -1)?;
    plan.journal(Draft::record(
        JournalOp::Delete,
        Kind::Customer,
        id,
        Vec::new(),
    ));
    Ok((plan, Outcome::Done))
}
