//! The customers' blind indexes as a query reads them: which conditions the email's, the
//! phone's and the name words' indexes answer, and the customers they give.

use super::test::{Operator, Test};
use super::value::Key;
use crate::model::Customer;
use crate::schema::FieldId;
use crate::store::Store;
use std::collections::BTreeSet;

/// Whether a customer index serves a test on a field: the email's and the phone's for `=`
/// and `IN`, the name words' for `WORD`.
pub(crate) fn customer_index_serves(field: FieldId, test: &Test) -> bool {
    match test {
        Test::Compare(Operator::Eq, _) | Test::In(_) => {
            field == Customer::EMAIL || field == Customer::PHONE
        }
        Test::Words(_) => field == Customer::NAME,
        _ => false,
    }
}

/// The customers a blind index gives for a condition: by email or phone (`=`, `IN`), by the
/// words of the name (`WORD`).
pub(crate) fn customer_index_ids(store: &Store, field: FieldId, test: &Test) -> Option<Vec<u64>> {
    if !customer_index_serves(field, test) {
        return None;
    }
    let indexes = &store.shared.indexes;
    let keys = indexes.keys();
    let texts: Vec<&str> = match test {
        Test::Compare(_, Key::Text(text)) => vec![text],
        Test::In(values) => values
            .iter()
            .filter_map(|key| match key {
                Key::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect(),
        Test::Words(words) => {
            let index = indexes.name_words.read();
            let mut found: Option<BTreeSet<u64>> = None;
            for word in words {
                let ids: BTreeSet<u64> = index.ids_above(keys.name_word(word), 0).collect();
                found = Some(match found {
                    None => ids,
                    Some(previous) => previous.intersection(&ids).copied().collect(),
                });
            }
            return Some(found.unwrap_or_default().into_iter().collect());
        }
        _ => return None,
    };
    if field == Customer::EMAIL {
        return Some(
            texts
                .iter()
                .filter_map(|email| indexes.email_owner(email))
                .collect(),
        );
    }
    let index = indexes.phone.read();
    Some(
        texts
            .iter()
            .flat_map(|phone| index.ids_above(keys.phone(phone), 0).collect::<Vec<_>>())
            .collect(),
    )
}
