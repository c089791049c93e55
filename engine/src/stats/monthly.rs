//! `STATS.MONTHLY`: orders, revenue and distinct customers per calendar month (UTC).

use super::{month_of, month_text};
use crate::error::Result;
use crate::model::Order;
use crate::store::Store;
use crate::values::format_money;
use crate::Kind;
use std::collections::{BTreeMap, BTreeSet};

/// One month of `STATS.MONTHLY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
    pub order_count: u64,
    pub revenue_cents: u128,
    pub customers: u64,
}

impl Month {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "month": month_text((self.year, self.month)),
            "order_count": self.order_count,
            "revenue": format_money(self.revenue_cents),
            "customers": self.customers,
        })
    }
}

type Partial = BTreeMap<(i32, u32), (u64, u128, BTreeSet<u64>)>;

/// Months with orders in `[since, until)`, ascending.
pub fn monthly(store: &Store, since: Option<i64>, until: Option<i64>) -> Result<Vec<Month>> {
    let table: Partial = store.par_fold(
        Kind::Order,
        BTreeMap::new,
        |acc: &mut Partial, order: Order| {
            let inside = since.is_none_or(|s| order.created_at >= s)
                && until.is_none_or(|u| order.created_at < u);
            if inside {
                let entry = acc.entry(month_of(order.created_at)).or_default();
                entry.0 += 1;
                entry.1 += u128::from(order.amount_cents());
                entry.2.insert(order.customer_id);
            }
        },
        |all, part| {
            for (month, (count, revenue, customers)) in part {
                let entry = all.entry(month).or_default();
                entry.0 += count;
                entry.1 += revenue;
                entry.2.extend(customers);
            }
        },
    )?;
    Ok(table
        .into_iter()
        .map(
            |((year, month), (order_count, revenue_cents, customers))| Month {
                year,
                month,
                order_count,
                revenue_cents,
                customers: customers.len() as u64,
            },
        )
        .collect())
}
