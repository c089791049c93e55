//! Staging a changed customer and checking its email is free: what adding, updating, merging
//! and unmerging a customer all do the same way.

use super::view::{Plan, View};
use crate::error::{Error, Result};
use crate::model::Customer;

/// `CONFLICT` unless the email is free or already belongs to `allowed_owner`.
pub(super) fn check_email_free(
    view: &View,
    address: &str,
    allowed_owner: Option<u64>,
) -> Result<()> {
    if let Some(owner) = view.email_owner(address) {
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

/// Stages a changed customer under its own key.
pub(super) fn restage(view: &View, plan: &mut Plan, old: &Customer, new: &Customer) -> Result<()> {
    // A record an older layout sealed under the record key gets a key of its own now.
    let slot = match view.customer_slot(new.id)? {
        Some(slot) => slot,
        None => view.take_slot(plan)?,
    };
    plan.put_customer(Some(old), new, slot);
    Ok(())
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
    plan.put_customer(Some(old), new, slot);
    Ok(())
}
