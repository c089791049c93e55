//! The product detail's sales: how many orders, units and revenue one product has, as
//! `STATS.PRODUCTS` counts them (every order, `amount` = quantity × unit price).
//!
//! The protocol has no statistic for one product, and `STATS.PRODUCTS` stops at its `LIMIT`
//! (at most 100,000 rows, by revenue): a product below them would show no sales. A
//! `PRODUCT.QUERY` may select on `units` or `revenue` but returns the record as `GET` shows
//! it, without them. So the figures are summed here from the product's own orders
//! (`ORDER.LIST PRODUCT p`, a page at a time by `AFTER`): exact whatever the number of
//! products, and read through the orders-by-product index, so the cost is this product's
//! orders only. `ORDER.LIST` is open to every role (PROTOCOL, roles), so is this; a server
//! that refuses it is said in the detail.

use crate::format::field_text;
use crate::net::Purpose;
use crate::theme;
use crate::wire::Words;
use crm_server::request::{Command, OrderRange, OrderScope};
use ratatui::text::{Line, Span};
use serde_json::Value as Json;

/// Orders read per request while summing.
pub const SALES_STEP: usize = 10_000;

/// Where the sum of one product's orders is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Progress {
    /// Pages of orders are being read.
    #[default]
    Counting,
    Done,
    /// Why there are none (the server's refusal).
    Unavailable(String),
}

/// One product's sales, summed from its orders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sales {
    /// The product they are of.
    pub product: u64,
    /// The `AFTER` of the page asked for: a reply for another page, or about another
    /// product, is one of a walk started before (Enter again, or the selection moved away
    /// and back) and is dropped, so no page is counted twice or in the place of another.
    pub asked_after: u64,
    pub orders: u64,
    pub units: u64,
    pub revenue_cents: u128,
    pub progress: Progress,
}

impl Sales {
    /// Starts summing product `id`'s orders; the first request.
    pub fn start(&mut self, id: u64) -> Vec<(Purpose, Words)> {
        *self = Sales {
            product: id,
            ..Sales::default()
        };
        vec![page_request(id, 0)]
    }

    /// Whether a reply for this page of this product's orders is the one awaited.
    fn awaits(&self, id: u64, after: u64) -> bool {
        id == self.product && after == self.asked_after && self.progress == Progress::Counting
    }

    /// Takes the page of product `id`'s orders after order `after`; the next page's request
    /// while there may be more (a full page).
    pub fn take(&mut self, id: u64, after: u64, orders: &[Json]) -> Vec<(Purpose, Words)> {
        if !self.awaits(id, after) {
            return Vec::new();
        }
        for order in orders {
            let quantity = order["quantity"].as_u64().unwrap_or(0);
            self.orders += 1;
            self.units = self.units.saturating_add(quantity);
            let amount = cents(&field_text(order, "amount")).unwrap_or_else(|| {
                cents(&field_text(order, "unit_price")).unwrap_or(0) * u128::from(quantity)
            });
            self.revenue_cents = self.revenue_cents.saturating_add(amount);
        }
        let last = orders.iter().filter_map(|o| o["id"].as_u64()).max();
        match last {
            Some(last) if orders.len() >= SALES_STEP => {
                self.asked_after = last;
                vec![page_request(id, last)]
            }
            _ => {
                self.progress = Progress::Done;
                Vec::new()
            }
        }
    }

    /// The server refused the page of product `id`'s orders after order `after`; whether
    /// it was the one awaited (else it is stale, and changes nothing).
    pub fn refused(&mut self, id: u64, after: u64, message: String) -> bool {
        let awaited = self.awaits(id, after);
        if awaited {
            self.progress = Progress::Unavailable(message);
        }
        awaited
    }

    /// The detail's line about them.
    pub fn line(&self) -> Line<'static> {
        match &self.progress {
            Progress::Counting if self.orders == 0 => Line::from("loading sales..."),
            Progress::Counting => {
                Line::from(format!("loading sales... {} orders so far", self.orders))
            }
            Progress::Done if self.orders == 0 => {
                Line::from(Span::styled("no orders yet", theme::header()))
            }
            Progress::Done => Line::from(Span::styled(
                format!(
                    "{} orders · {} units · revenue {}",
                    self.orders,
                    self.units,
                    crm_engine::values::format_money(self.revenue_cents)
                ),
                theme::header(),
            )),
            Progress::Unavailable(reason) => {
                Line::from(Span::styled(format!("sales: {reason}"), theme::dim()))
            }
        }
    }
}

/// `ORDER.LIST PRODUCT id [AFTER after] LIMIT SALES_STEP` (no `AFTER` for the first page).
fn page_request(id: u64, after: u64) -> (Purpose, Words) {
    let range = OrderRange {
        after: (after > 0).then_some(after),
        ..OrderRange::default()
    };
    let scope = OrderScope::Product(id.to_string());
    (
        Purpose::ProductSales { product: id, after },
        Command::order_list(&scope, &range, SALES_STEP).into(),
    )
}

/// Money as the server writes it (`"1234.50"`) in cents; `None` if it is not that.
fn cents(text: &str) -> Option<u128> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) if digits(fraction) && fraction.len() <= 2 => (whole, fraction),
        Some(_) => return None,
        None => (text, ""),
    };
    if !digits(whole) {
        return None;
    }
    let whole: u128 = whole.parse().ok()?;
    let fraction: u128 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_reads_into_cents_and_anything_else_is_none() {
        assert_eq!(cents("1234.50"), Some(123_450));
        assert_eq!(cents("7"), Some(700));
        assert_eq!(cents("0.5"), Some(50));
        for bad in ["", ".5", "1.", "1.234", "-1.00", "1e3", "a.00"] {
            assert_eq!(cents(bad), None, "{bad}");
        }
    }

    #[test]
    // Guards against a page counted twice, or in the place of another, when a walk starts
    // again while the replies of the one before are still coming.
    fn replies_of_another_walk_change_nothing() {
        let orders: Vec<Json> = (1..=SALES_STEP as u64)
            .map(|id| json!({"id": id, "quantity": 2, "amount": "10.00"}))
            .collect();
        let mut sales = Sales::default();
        sales.start(3);
        assert!(sales.take(4, 0, &orders).is_empty());
        assert!(!sales.refused(4, 0, "NOPERM".into()));
        assert_eq!((sales.orders, &sales.progress), (0, &Progress::Counting));
        // The first page; the second is asked for, and the walk starts again meanwhile.
        assert_eq!(sales.take(3, 0, &orders).len(), 1);
        sales.start(3);
        let step = SALES_STEP as u64;
        assert!(sales.take(3, step, &orders[..1]).is_empty());
        assert_eq!(sales.orders, 0);
        assert_eq!(sales.take(3, 0, &orders).len(), 1);
        assert!(sales.take(3, step, &orders[..1]).is_empty());
        assert_eq!(
            (sales.orders, sales.units, sales.revenue_cents),
            (step + 1, 2 * step + 2, 1000 * u128::from(step + 1))
        );
        assert_eq!(sales.progress, Progress::Done);
    }
}
