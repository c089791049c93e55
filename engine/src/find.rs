//! Lookups through the blind indexes: `CUSTOMER.FIND EMAIL | PHONE | NAME`.
//!
//! Every candidate an index yields is opened and compared with the query on its real value,
//! so a truncated-hash collision can never produce a wrong answer.

use crate::error::{Error, Result};
use crate::index::{email, name_words, phone};
use crate::model::Customer;
use crate::store::Store;
use crate::trees::{decode_u64, trailing_id};
use crate::values::{self, quote};
use std::collections::BTreeSet;

impl Store {
    /// The customer with this email (normalised first; `INVALID` if it is not an email).
    pub fn find_by_email(&self, address: &str) -> Result<Vec<Customer>> {
        let address = values::normalize_email(address)?;
        let Some(owner) = self
            .shared
            .tree
            .get(email::key(&self.shared.blind, &address))?
        else {
            return Ok(Vec::new());
        };
        let id = decode_u64(&owner).unwrap_or(0);
        Ok(self
            .customer(id)?
            .filter(|c| c.email == address)
            .into_iter()
            .collect())
    }

    /// The customers with this phone, ids ascending.
    pub fn find_by_phone(&self, number: &str) -> Result<Vec<Customer>> {
        let number = values::normalize_phone(number)?;
        let ids = self.ids_under(&phone::prefix(&self.shared.blind, &number))?;
        self.customers_matching(ids, |c| c.phone.as_deref() == Some(number.as_str()))
    }

    /// The customers whose name has every word of the query, ids ascending.
    pub fn find_by_name(&self, query: &str) -> Result<Vec<Customer>> {
        let words = values::name_words(query);
        if words.is_empty() {
            return Err(Error::invalid(
                "name",
                format!("{} has no words to look for", quote(query)),
            ));
        }
        let mut candidates: Option<BTreeSet<u64>> = None;
        for word in &words {
            let ids = self.ids_under(&name_words::prefix(&self.shared.blind, word))?;
            candidates = Some(match candidates {
                None => ids,
                Some(previous) => previous.intersection(&ids).copied().collect(),
            });
        }
        self.customers_matching(candidates.unwrap_or_default(), |c| {
            let have = values::name_words(&c.name);
            words.iter().all(|w| have.contains(w))
        })
    }

    fn ids_under(&self, prefix: &[u8]) -> Result<BTreeSet<u64>> {
        self.shared
            .tree
            .scan_prefix(prefix)
            .keys()
            .map(|key| Ok(trailing_id(&key?).unwrap_or(0)))
            .collect()
    }

    fn customers_matching(
        &self,
        ids: BTreeSet<u64>,
        matches: impl Fn(&Customer) -> bool,
    ) -> Result<Vec<Customer>> {
        let mut found = Vec::new();
        for id in ids {
            if let Some(customer) = self.customer(id)?.filter(&matches) {
                found.push(customer);
            }
        }
        Ok(found)
    }
}
