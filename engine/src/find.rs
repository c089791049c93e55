//! Lookups through the blind indexes: `CUSTOMER.FIND EMAIL | PHONE | NAME`.
//!
//! Every candidate an index yields is opened and compared with the query on its real value,
//! so a truncated-hash collision can never produce a wrong answer. Results page like the lists
//! (ids above `after`, at most `limit`), and only the candidates of the page are opened: a
//! common name word costs one index scan, not a decryption per customer who has it.

use crate::error::{Error, Result};
use crate::model::Customer;
use crate::store::Store;
use crate::values::{self, quote};
use std::collections::BTreeSet;

impl Store {
    /// The customer with this email (normalised first; `INVALID` if it is not an email), if
    /// its id is above `after`.
    pub fn find_by_email(&self, address: &str, after: u64, limit: usize) -> Result<Vec<Customer>> {
        let address = values::normalize_email(address)?;
        let Some(id) = self.shared.indexes.email_owner(&address) else {
            return Ok(Vec::new());
        };
        if id <= after || limit == 0 {
            return Ok(Vec::new());
        }
        Ok(self
            .customer(id)?
            .filter(|c| c.email == address)
            .into_iter()
            .collect())
    }

    /// The customers with this phone, ids ascending, above `after`, at most `limit`.
    pub fn find_by_phone(&self, number: &str, after: u64, limit: usize) -> Result<Vec<Customer>> {
        let number = values::normalize_phone(number)?;
        let hash = self.shared.indexes.keys().phone(&number);
        let ids: BTreeSet<u64> = self
            .shared
            .indexes
            .phone
            .read()
            .ids_above(hash, after)
            .collect();
        self.customers_matching(ids, limit, |c| c.phone.as_deref() == Some(number.as_str()))
    }

    /// The customers whose name has every word of the query, ids ascending, above `after`, at
    /// most `limit`.
    pub fn find_by_name(&self, query: &str, after: u64, limit: usize) -> Result<Vec<Customer>> {
        let mut words = values::name_words(query);
        if words.is_empty() {
            return Err(Error::invalid(
                "name",
                format!("{} has no words to look for", quote(query)),
            ));
        }
        // A word given twice narrows nothing; each distinct word costs one index scan.
        words.sort_unstable();
        words.dedup();
        let mut candidates: Option<BTreeSet<u64>> = None;
        for word in &words {
            let hash = self.shared.indexes.keys().name_word(word);
            let ids: BTreeSet<u64> = self
                .shared
                .indexes
                .name_words
                .read()
                .ids_above(hash, after)
                .collect();
            let narrowed = match candidates {
                None => ids,
                Some(previous) => previous.intersection(&ids).copied().collect(),
            };
            // Nobody has every word so far: the other words cannot bring anyone back.
            if narrowed.is_empty() {
                return Ok(Vec::new());
            }
            candidates = Some(narrowed);
        }
        self.customers_matching(candidates.unwrap_or_default(), limit, |c| {
            let have = values::name_words(&c.name);
            words.iter().all(|w| have.contains(w))
        })
    }

    /// Opens candidates in id order and keeps the first `limit` that really match.
    fn customers_matching(
        &self,
        ids: BTreeSet<u64>,
        limit: usize,
        matches: impl Fn(&Customer) -> bool,
    ) -> Result<Vec<Customer>> {
        let mut found = Vec::new();
        for id in ids {
            if found.len() >= limit {
                break;
            }
            if let Some(customer) = self.customer(id)?.filter(&matches) {
                found.push(customer);
            }
        }
        Ok(found)
    }
}
