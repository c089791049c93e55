//! A customer's blind index entries and its email's uniqueness: what adding, updating,
//! merging and unmerging a customer all stage the same way.

use super::view::{Plan, View};
use crate::error::{Error, Result};
use crate::index::email;
use crate::model::Customer;
use crate::trees::{decode_u64, id_key, Space};

/// `CONFLICT` unless the email is free or already belongs to `allowed_owner`.
pub(super) fn check_email_free(
    view: &View,
    address: &str,
    allowed_owner: Option<u64>,
) -> Result<()> {
    if let Some(owner) = view.get(&email::key(view.blind, address))? {
        let owner = decode_u64(&owner).unwrap_or(0);
        if Some(owner) != allowed_owner {
            return Err(Error::EmailTaken {
                email: address.to_string(),
                owner,
                given: None,
            });
        }
    }
    Ok(())
}

/// The index entries a customer owns, so add, update and delete stay symmetric.
pub(super) fn index_entries(view: &View, customer: &Customer) -> Vec<(Vec<u8>, Vec<u8>)> {
    crate::index::customer_entries(view.blind, customer)
}

/// Stages a changed customer: its record under its own key, and the index entries that
/// changed with it.
pub(super) fn restage(view: &View, plan: &mut Plan, old: &Customer, new: &Customer) -> Result<()> {
    // A record an older layout sealed under the record key gets a key of its own now.
    let slot = match view.customer_slot(new.id)? {
        Some(slot) => slot,
        None => view.take_slot(plan)?,
    };
    stage(view, plan, old, new, slot)
}

/// Stages a changed customer as [`restage`] does, but under a fresh key, and destroys the key
/// it was sealed under once the write is durable: every copy of the record sealed before — in
/// sled's old pages, in the redo log — becomes unreadable, as a forgotten customer's copies
/// do (`keyring.rs`). The erasure is staged in the same batch (`Plan::erase_slot`), so a crash
/// before the key's overwrite is finished at the next open.
pub(super) fn restage_under_new_key(
    view: &View,
    plan: &mut Plan,
    old: &Customer,
    new: &Customer,
) -> Result<()> {
    if let Some(slot) = view.customer_slot(new.id)? {
        plan.erase_slot(slot);
    }
    let slot = view.take_slot(plan)?;
    stage(view, plan, old, new, slot)
}

/// The record under keyring slot `slot`, and the index entries that changed.
fn stage(view: &View, plan: &mut Plan, old: &Customer, new: &Customer, slot: u64) -> Result<()> {
    let old_entries = index_entries(view, old);
    let new_entries = index_entries(view, new);
    for (key, _) in &old_entries {
        if !new_entries.iter().any(|(k, _)| k == key) {
            plan.remove(key.clone());
        }
    }
    for (key, value) in new_entries {
        plan.put(key, value);
    }
    plan.put_customer(&id_key(Space::Customer, new.id), new, slot);
    Ok(())
}
