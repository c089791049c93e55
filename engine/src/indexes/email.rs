//! The unique email index: a customer's email (its blind hash) → the customer's id.
//!
//! Answers `CUSTOMER.FIND EMAIL`, `UPSERT`'s match, and the check that makes emails unique.

use super::blind::{BlindKeys, ByBlindHash, EmailHash};
use super::changes::Old;
use crate::model::Customer;
use std::collections::HashMap;

/// Every customer's email hash and id (about 40 bytes a customer).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct EmailIndex {
    owners: HashMap<EmailHash, u64, ByBlindHash>,
}

impl EmailIndex {
    /// The customer whose email has this hash.
    pub fn owner(&self, hash: &EmailHash) -> Option<u64> {
        self.owners.get(hash).copied()
    }

    /// Follows one customer's change. An entry is removed only while it still names this
    /// customer, so the changes of one group may be applied in any order (an email one
    /// customer freed and another took in the same group stays the other's).
    pub fn apply(
        &mut self,
        keys: &BlindKeys,
        id: u64,
        old: &Old<Customer>,
        new: Option<&Customer>,
    ) {
        match old {
            Old::Was(old) if new.is_none_or(|new| new.email != old.email) => {
                let hash = keys.email(&old.email);
                if self.owners.get(&hash) == Some(&id) {
                    self.owners.remove(&hash);
                }
            }
            Old::Unreadable => self.owners.retain(|_, owner| *owner != id),
            Old::Was(_) | Old::Absent => {}
        }
        if let Some(new) = new {
            self.owners.insert(keys.email(&new.email), id);
        }
    }

    /// The index of these customers.
    pub fn rebuild(entries: impl IntoIterator<Item = (EmailHash, u64)>) -> EmailIndex {
        let mut owners = HashMap::with_hasher(ByBlindHash);
        owners.extend(entries);
        EmailIndex { owners }
    }
}

/// The emails a write group took and freed, over the index as the last group left it: what
/// the group's later operations see (an email added twice in one group is a `CONFLICT`).
#[derive(Default)]
pub(crate) struct StagedEmails {
    /// By normalised email: its owner now (`None`: freed by this group).
    owners: HashMap<String, Option<u64>>,
}

impl StagedEmails {
    /// The owner of `email` as the group leaves it so far; `committed` reads the index when
    /// the group has not touched the email.
    pub fn owner(&self, email: &str, committed: impl FnOnce() -> Option<u64>) -> Option<u64> {
        match self.owners.get(email) {
            Some(owner) => *owner,
            None => committed(),
        }
    }

    /// Follows one operation's change to a customer.
    pub fn stage(&mut self, id: u64, old: Option<&Customer>, new: Option<&Customer>) {
        if let Some(old) = old {
            if new.is_none_or(|new| new.email != old.email) {
                self.owners.insert(old.email.clone(), None);
            }
        }
        if let Some(new) = new {
            self.owners.insert(new.email.clone(), Some(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::MasterKey;

    fn customer(id: u64, email: &str) -> Customer {
        Customer {
            id,
            name: "N".into(),
            email: email.into(),
            phone: None,
            address: None,
            created_at: 0,
            custom: Default::default(),
        }
    }

    // Guards against an email freed by one customer and taken by another in the same group
    // being removed when the freeing change is applied after the taking one.
    #[test]
    fn a_freed_email_taken_in_the_same_group_stays_whatever_the_order() {
        let keys = BlindKeys::derive(&MasterKey::from_bytes([3; 32]));
        let a = customer(1, "x@example.com");
        let a_moved = customer(1, "y@example.com");
        let b = customer(2, "x@example.com");
        let mut index = EmailIndex::rebuild([(keys.email("x@example.com"), 1)]);
        index.apply(&keys, 2, &Old::Absent, Some(&b));
        index.apply(&keys, 1, &Old::Was(a), Some(&a_moved));
        assert_eq!(index.owner(&keys.email("x@example.com")), Some(2));
        assert_eq!(index.owner(&keys.email("y@example.com")), Some(1));
        index.apply(&keys, 1, &Old::Unreadable, None);
        assert_eq!(index.owner(&keys.email("y@example.com")), None);
        assert_eq!(index.owners.len(), 1);
    }
}
