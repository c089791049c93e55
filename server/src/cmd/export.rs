//! `CUSTOMER.EXPORT`: everything held about one customer, as one JSON document.
//!
//! Written piece by piece into one buffer — each order's JSON straight after the last, no
//! document tree — so a customer with many orders costs one pass and about the reply's size.

use crm_engine::journal::JournalFilter;
use crm_engine::{Error, Kind, OrderQuery, OrderScope, Result, Store};

/// Waits (a few seconds at most) until the journal is durable through `seq`: in `periodic`
/// durability the export's own entry is on disk only at the next flush.
pub async fn wait_durable(store: &Store, seq: u64) {
    let mut watch = store.journal_watch();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.journal_head().seq < seq {
        if tokio::time::timeout_at(deadline, watch.changed())
            .await
            .map_or(true, |changed| changed.is_err())
        {
            return;
        }
    }
}

/// `{"customer":{...},"orders":[...],"stats":{...},"journal":[...]}`, the journal up to and
/// including the export's own entry `seq`.
pub fn document(store: &Store, id: u64, seq: u64) -> Result<Vec<u8>> {
    let customer = store
        .customer(id)?
        .ok_or_else(|| Error::not_found(Kind::Customer, id))?;
    let rollup = store.customer_rollup(id)?.unwrap_or_default();
    let orders = store.orders(&OrderQuery {
        scope: OrderScope::Customer(id),
        since: None,
        until: None,
        after: 0,
        limit: usize::MAX,
    })?;
    let entries = store.journal(&JournalFilter {
        kind: Some(Kind::Customer),
        id: Some(id),
        limit: usize::MAX,
        ..JournalFilter::default()
    })?;
    let mut out = Vec::with_capacity(512 + orders.len() * 160);
    out.extend_from_slice(b"{\"customer\":");
    out.extend_from_slice(&customer.to_json_bytes());
    out.extend_from_slice(b",\"orders\":[");
    for (i, order) in orders.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&order.to_json_bytes());
    }
    out.extend_from_slice(b"],\"stats\":");
    out.extend_from_slice(&rollup.to_json(id).to_string().into_bytes());
    out.extend_from_slice(b",\"journal\":[");
    for (i, entry) in entries.iter().filter(|e| e.seq <= seq).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&entry.to_json().to_string().into_bytes());
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}
