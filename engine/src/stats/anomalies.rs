//! `STATS.ANOMALIES`: orders whose amount is far from the median, by the robust z-score
//! `|amount − median| / (1.4826 × MAD)`.

use crate::error::Result;
use crate::model::Order;
use crate::store::Store;
use crate::Kind;

/// An unusual order and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub order: Order,
    pub score: f64,
}

impl Anomaly {
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = self.order.to_json();
        value["score"] = serde_json::json!((self.score * 1e6).round() / 1e6);
        value
    }
}

/// The median of sorted values; the mean of the middle two for an even count.
pub(crate) fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Orders scoring above `threshold`, score descending then id, at most `limit`.
///
/// The scan keeps only (id, amount) — 16 bytes an order, not the whole record — and the orders
/// reported are read again by id at the end (one deleted meanwhile is left out).
pub fn anomalies(store: &Store, threshold: f64, limit: usize) -> Result<Vec<Anomaly>> {
    let amounts_by_id: Vec<(u64, u64)> = store.par_fold(
        Kind::Order,
        Vec::new,
        |all: &mut Vec<(u64, u64)>, order: Order| all.push((order.id, order.amount_cents())),
        |all, mut part| all.append(&mut part),
    )?;
    let mut amounts: Vec<f64> = amounts_by_id.iter().map(|(_, a)| *a as f64).collect();
    amounts.sort_by(f64::total_cmp);
    let centre = median(&amounts);
    for amount in &mut amounts {
        *amount = (*amount - centre).abs();
    }
    amounts.sort_by(f64::total_cmp);
    let mad = median(&amounts);
    drop(amounts);
    if mad == 0.0 {
        return Ok(Vec::new());
    }
    let mut found: Vec<(f64, u64)> = amounts_by_id
        .into_iter()
        .filter_map(|(id, amount)| {
            let score = (amount as f64 - centre).abs() / (1.4826 * mad);
            (score > threshold).then_some((score, id))
        })
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    found.truncate(limit);
    let mut anomalies = Vec::with_capacity(found.len());
    for (score, id) in found {
        if let Some(order) = store.order(id)? {
            anomalies.push(Anomaly { order, score });
        }
    }
    Ok(anomalies)
}
