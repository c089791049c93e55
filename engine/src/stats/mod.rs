//! Analytics: one file per statistic. Every full-scan statistic reads through
//! [`Store::par_fold`](crate::Store::par_fold); per-customer totals read the rollups the write
//! path maintains. All money is integer cents; every result is deterministic.

mod anomalies;
mod churn;
mod clusters;
mod customers;
mod forecast;
mod monthly;
mod products;
mod rfm;

pub use anomalies::{anomalies, Anomaly};
pub use churn::{churn, Churn};
pub use clusters::{clusters, Cluster};
pub use customers::{customer_table, recompute_customer_rollups, CustomerOrder};
pub use forecast::{forecast, Forecast};
pub use monthly::{monthly, Month};
pub use products::{products, ProductRow};
pub use rfm::{rfm, rfm_scores, RfmScore, Segment, SegmentRow, SEGMENTS};

use crate::error::Result;
use crate::store::Store;
use std::collections::BTreeMap;

/// One customer's recency, frequency and monetary value at a moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rfm {
    pub customer_id: u64,
    /// Whole days from the last order to the moment, rounded down.
    pub recency_days: i64,
    pub frequency: u64,
    pub monetary_cents: u128,
}

/// Whole days between two instants, rounded down.
pub(crate) fn whole_days(from: i64, to: i64) -> i64 {
    (to - from).div_euclid(86_400)
}

/// Per customer, over the orders strictly before `before`: R, F and M, ids ascending.
pub fn rfm_at(store: &Store, before: i64) -> Result<Vec<Rfm>> {
    let table: BTreeMap<u64, (u64, u128, i64)> = store.par_fold_by_customer(
        crate::Kind::Order,
        |acc: &mut BTreeMap<u64, (u64, u128, i64)>, order: crate::Order| {
            if order.created_at < before {
                let entry = acc.entry(order.customer_id).or_insert((0, 0, i64::MIN));
                entry.0 += 1;
                entry.1 += u128::from(order.amount_cents());
                entry.2 = entry.2.max(order.created_at);
            }
        },
        |entry, (count, total, last)| {
            entry.0 += count;
            entry.1 += total;
            entry.2 = entry.2.max(last);
        },
    )?;
    Ok(table
        .into_iter()
        .map(|(customer_id, (frequency, monetary_cents, last))| Rfm {
            customer_id,
            recency_days: whole_days(last, before),
            frequency,
            monetary_cents,
        })
        .collect())
}

/// Cents (possibly fractional or negative) as a money string with two decimals.
pub(crate) fn money_f64(cents: f64) -> String {
    let rounded = cents.round();
    if rounded < 0.0 {
        format!("-{}", crate::values::format_money((-rounded) as u128))
    } else {
        crate::values::format_money(rounded as u128)
    }
}

/// `YYYY-MM` of an instant.
pub(crate) fn month_of(seconds: i64) -> (i32, u32) {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp(seconds, 0).map_or((1970, 1), |t| (t.year(), t.month()))
}

/// `YYYY-MM` text.
pub(crate) fn month_text((year, month): (i32, u32)) -> String {
    format!("{year:04}-{month:02}")
}

/// The month after.
pub(crate) fn next_month((year, month): (i32, u32)) -> (i32, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}
