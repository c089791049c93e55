use super::Customer;
use crate::schema::{FieldSet, Record};
use serde::{Deserialize, Serialize};

/// How long `CUSTOMER.UNMERGE` may undo a merge: 30 days, in seconds.
pub const MERGE_KEPT_SECS: i64 = 2_592_000;

/// What a `CUSTOMER.MERGE` keeps so that `UNMERGE` can put things back: the merged-away
/// customer as it was and the orders that moved. Sealed under the merged-away customer's own
/// key (its keyring slot stays alive while the merge is kept), so forgetting or purging the
/// merge destroys this copy of the person as it destroys a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptMerge {
    /// The customer the orders moved to.
    pub keep: u64,
    /// The merged-away customer, as it was before the merge.
    pub other: Customer,
    /// The ids of the orders that moved, ascending.
    pub moved_orders: Vec<u64>,
    /// Whether `keep` took its phone from `other`.
    pub filled_phone: bool,
    /// Whether `keep` took its address from `other`.
    pub filled_address: bool,
    /// The custom fields (by id) `keep` took from `other`.
    pub filled_custom: Vec<u32>,
    /// When the merge was made, by the server's clock (seconds since the Unix epoch, UTC).
    pub at: i64,
}

impl KeptMerge {
    /// What `CUSTOMER.MERGE` keeps: `filled` are the fields (of the customer schema) `keep`
    /// took from `other`. (The stored form names the two fields merged that way today.)
    pub fn new(
        keep: u64,
        other: Customer,
        moved_orders: Vec<u64>,
        filled: FieldSet,
        at: i64,
    ) -> Self {
        let schema = Customer::schema();
        KeptMerge {
            keep,
            other,
            moved_orders,
            filled_phone: filled.has(schema, Customer::PHONE),
            filled_address: filled.has(schema, Customer::ADDRESS),
            filled_custom: Vec::new(),
            at,
        }
    }

    /// The fields (of the customer schema) `keep` took from `other`: copies of `keep` sealed
    /// while the merge was kept may hold `other`'s values of them.
    pub fn filled(&self) -> FieldSet {
        let schema = Customer::schema();
        let mut filled = FieldSet::default();
        if self.filled_phone {
            filled = filled.with(schema, Customer::PHONE);
        }
        if self.filled_address {
            filled = filled.with(schema, Customer::ADDRESS);
        }
        filled
    }

    /// Whether `UNMERGE` may still undo it at `now`.
    pub fn is_kept_at(&self, now: i64) -> bool {
        now.saturating_sub(self.at) <= MERGE_KEPT_SECS
    }
}
