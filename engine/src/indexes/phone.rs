//! The phone index: a customer's phone (its blind hash) → the customers with it, ascending.
//! Phones need not be unique (a household shares one). Answers `CUSTOMER.FIND PHONE`.

use super::blind::BlindKeys;
use super::blind_ids::BlindIds;
use super::changes::Old;
use crate::model::Customer;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PhoneIndex {
    ids: BlindIds,
}

impl PhoneIndex {
    /// The customers whose phone has this hash, ids above `after`, ascending.
    pub fn ids_above(&self, hash: u64, after: u64) -> impl Iterator<Item = u64> + '_ {
        self.ids.ids_above(hash, after)
    }

    /// The entry a customer owns (none without a phone).
    pub fn entry(keys: &BlindKeys, customer: &Customer) -> Option<u64> {
        customer.phone.as_deref().map(|phone| keys.phone(phone))
    }

    /// Follows one customer's change.
    pub fn apply(
        &mut self,
        keys: &BlindKeys,
        id: u64,
        old: &Old<Customer>,
        new: Option<&Customer>,
    ) {
        self.ids.apply(id, old, new, |customer| {
            Self::entry(keys, customer).into_iter().collect()
        });
    }

    /// The index of these (hash, customer id) pairs.
    pub fn rebuild(pairs: Vec<(u64, u64)>) -> PhoneIndex {
        PhoneIndex {
            ids: BlindIds::rebuild(pairs),
        }
    }
}
