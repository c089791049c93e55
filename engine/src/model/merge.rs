use super::Customer;
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
    /// When the merge was made, by the server's clock (seconds since the Unix epoch, UTC).
    pub at: i64,
}

impl KeptMerge {
    /// Whether `keep` took any value from `other` (then copies of `keep` sealed while the
    /// merge was kept may hold `other`'s values).
    pub fn filled_any(&self) -> bool {
        self.filled_phone || self.filled_address
    }

    /// Whether `UNMERGE` may still undo it at `now`.
    pub fn is_kept_at(&self, now: i64) -> bool {
        now.saturating_sub(self.at) <= MERGE_KEPT_SECS
    }
}
