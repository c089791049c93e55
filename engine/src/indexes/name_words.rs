//! The name-word index: each whole word of a customer's name (its blind hash) → the customers
//! whose name has it, ascending. Words are those of [`crate::values::name_words`] (NFC, lower
//! case, runs of letters and digits), so `FIND NAME ada` finds `Ada Lovelace` without the name
//! being kept in plain. Answers `CUSTOMER.FIND NAME`.

use super::blind::BlindKeys;
use super::blind_ids::BlindIds;
use super::changes::Old;
use crate::model::Customer;
use crate::values::name_words;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct NameWordIndex {
    ids: BlindIds,
}

impl NameWordIndex {
    /// The customers whose name has the word with this hash, ids above `after`, ascending.
    pub fn ids_above(&self, hash: u64, after: u64) -> impl Iterator<Item = u64> + '_ {
        self.ids.ids_above(hash, after)
    }

    /// The entries a customer owns: one per distinct word of its name.
    pub fn entries(keys: &BlindKeys, customer: &Customer) -> Vec<u64> {
        name_words(&customer.name)
            .iter()
            .map(|word| keys.name_word(word))
            .collect()
    }

    /// Follows one customer's change (a name that did not change costs no hash).
    pub fn apply(
        &mut self,
        keys: &BlindKeys,
        id: u64,
        old: &Old<Customer>,
        new: Option<&Customer>,
    ) {
        if let (Old::Was(old), Some(new)) = (old, new) {
            if old.name == new.name {
                return;
            }
        }
        self.ids
            .apply(id, old, new, |customer| Self::entries(keys, customer));
    }

    /// The index of these (hash, customer id) pairs.
    pub fn rebuild(pairs: Vec<(u64, u64)>) -> NameWordIndex {
        NameWordIndex {
            ids: BlindIds::rebuild(pairs),
        }
    }
}
