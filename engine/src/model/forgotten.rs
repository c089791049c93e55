use serde::{Deserialize, Serialize};

/// What the store keeps of a customer it has forgotten: when, and which key slot it erased
/// (so that an erasure a crash interrupted is finished at the next open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forgotten {
    pub customer_id: u64,
    /// Seconds since the Unix epoch, UTC.
    pub at: i64,
    /// The keyring slot its record was sealed under (`None`: no record was present, as for an
    /// id a restore's `--forget` list names that the backup did not hold).
    pub slot: Option<u64>,
}

impl Forgotten {
    /// The `FORGET.LIST` object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "customer_id": self.customer_id,
            "at": crate::values::format_timestamp(self.at),
        })
    }
}
