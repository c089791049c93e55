//! `STATS.ANOMALIES`: orders whose amount is far from the median, by the robust z-score
//! `|amount − median| / (1.4826 × MAD)`.

use crate::error::Result;
use crate::model::Order;
use crate::store::Store;

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
pub fn anomalies(store: &Store, threshold: f64, limit: usize) -> Result<Vec<Anomaly>> {
    let orders = store.scan_orders(|_| true)?;
    let mut amounts: Vec<f64> = orders.iter().map(|o| o.amount_cents() as f64).collect();
    amounts.sort_by(f64::total_cmp);
    let centre = median(&amounts);
    let mut deviations: Vec<f64> = amounts.iter().map(|a| (a - centre).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = median(&deviations);
    if mad == 0.0 {
        return Ok(Vec::new());
    }
    let mut found: Vec<Anomaly> = orders
        .into_iter()
        .filter_map(|order| {
            let score = (order.amount_cents() as f64 - centre).abs() / (1.4826 * mad);
            (score > threshold).then_some(Anomaly { order, score })
        })
        .collect();
    found.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.order.id.cmp(&b.order.id))
    });
    found.truncate(limit);
    Ok(found)
}
