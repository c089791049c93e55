//! Every statistic against a plain single-threaded reference computed here from the same data,
//! with rayon pools of 1 and of 4 threads (results must not depend on the thread count).

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use crm_engine::stats::{self, CustomerOrder};
use crm_engine::*;
use std::collections::{BTreeMap, BTreeSet};

const AS_OF: i64 = 1_790_000_000; // 2026-09-21

fn store_with_history() -> (tempfile::TempDir, Store, Vec<Order>) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    demo::generate(9, 300, 20, 4_000).load_into(&store).unwrap();
    // Random-ish deletes, so rollups have been decremented too.
    for id in (1..=4_000u64).filter(|id| id % 7 == 3) {
        store.write(Op::DeleteOrder(id)).unwrap();
    }
    let all = OrderQuery {
        scope: OrderScope::All,
        since: None,
        until: None,
        after: 0,
        limit: 100_000,
    };
    let orders = store.orders(&all).unwrap();
    (dir, store, orders)
}

fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(work)
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

#[test]
fn rollups_agree_with_a_full_recomputation_and_the_reference() {
    let (_dir, store, orders) = store_with_history();
    let mut reference: BTreeMap<u64, CustomerRollup> = BTreeMap::new();
    for order in &orders {
        reference
            .entry(order.customer_id)
            .or_default()
            .add(order.amount_cents(), order.created_at);
    }
    for threads in [1, 4] {
        let recomputed = in_pool(threads, || {
            stats::recompute_customer_rollups(&store).unwrap()
        });
        assert_eq!(recomputed, reference);
    }
    let from_rollups: BTreeMap<u64, CustomerRollup> =
        store.customer_rollups().unwrap().into_iter().collect();
    assert_eq!(from_rollups, reference);
    let by_total = stats::customer_table(&store, CustomerOrder::Total, 10).unwrap();
    let mut expected: Vec<(u64, CustomerRollup)> = reference.into_iter().collect();
    expected.sort_by(|a, b| b.1.total_cents.cmp(&a.1.total_cents).then(a.0.cmp(&b.0)));
    expected.truncate(10);
    assert_eq!(by_total, expected);
}

#[test]
fn products_and_monthly_match_the_reference() {
    let (_dir, store, orders) = store_with_history();
    let mut products: BTreeMap<u64, (u64, u128, u64)> = BTreeMap::new();
    let mut months: BTreeMap<String, (u64, u128, BTreeSet<u64>)> = BTreeMap::new();
    let since = 1_735_689_600; // 2025-01-01
    for order in &orders {
        let entry = products.entry(order.product_id).or_default();
        entry.0 += u64::from(order.quantity);
        entry.1 += u128::from(order.amount_cents());
        entry.2 += 1;
        if order.created_at >= since {
            let month = chrono::DateTime::from_timestamp(order.created_at, 0)
                .unwrap()
                .format("%Y-%m")
                .to_string();
            let entry = months.entry(month).or_default();
            entry.0 += 1;
            entry.1 += u128::from(order.amount_cents());
            entry.2.insert(order.customer_id);
        }
    }
    let rows = stats::products(&store, 1000).unwrap();
    assert_eq!(rows.len(), products.len());
    for pair in rows.windows(2) {
        assert!(
            pair[0].revenue_cents > pair[1].revenue_cents
                || (pair[0].revenue_cents == pair[1].revenue_cents
                    && pair[0].product_id < pair[1].product_id)
        );
    }
    for row in &rows {
        assert_eq!(
            (row.units, row.revenue_cents, row.order_count),
            products[&row.product_id]
        );
    }
    for threads in [1, 4] {
        let monthly = in_pool(threads, || {
            stats::monthly(&store, Some(since), None).unwrap()
        });
        let got: Vec<(String, u64, u128, u64)> = monthly
            .iter()
            .map(|m| {
                (
                    m.to_json()["month"].as_str().unwrap().to_string(),
                    m.order_count,
                    m.revenue_cents,
                    m.customers,
                )
            })
            .collect();
        let expected: Vec<(String, u64, u128, u64)> = months
            .iter()
            .map(|(k, (c, r, s))| (k.clone(), *c, *r, s.len() as u64))
            .collect();
        assert_eq!(got, expected);
    }
}

#[test]
fn rfm_segments_follow_the_documented_rules() {
    let (_dir, store, orders) = store_with_history();
    // Reference: R/F/M per customer, scores by counting strictly worse values, the README rules.
    let mut per: BTreeMap<u64, (i64, u64, u128)> = BTreeMap::new();
    for order in orders.iter().filter(|o| o.created_at < AS_OF) {
        let entry = per.entry(order.customer_id).or_insert((i64::MIN, 0, 0));
        entry.0 = entry.0.max(order.created_at);
        entry.1 += 1;
        entry.2 += u128::from(order.amount_cents());
    }
    let n = per.len() as u64;
    let score = |worse: usize| (1 + 5 * worse as u64 / n) as u8;
    let mut expected: BTreeMap<&str, (u64, u128)> = BTreeMap::new();
    for (last, count, total) in per.values() {
        let days = (AS_OF - last).div_euclid(86_400);
        let r = score(
            per.values()
                .filter(|(l, _, _)| (AS_OF - l).div_euclid(86_400) > days)
                .count(),
        );
        let f = score(per.values().filter(|(_, c, _)| c < count).count());
        let m = score(per.values().filter(|(_, _, t)| t < total).count());
        let segment = if r >= 4 && f >= 4 && m >= 4 {
            "champions"
        } else if r >= 3 && f >= 4 {
            "loyal"
        } else if r >= 4 && f == 1 {
            "new"
        } else if r >= 3 {
            "potential"
        } else if f >= 3 {
            "at_risk"
        } else if r == 2 {
            "hibernating"
        } else {
            "lost"
        };
        let entry = expected.entry(segment).or_default();
        entry.0 += 1;
        entry.1 += total;
    }
    for threads in [1, 4] {
        let rows = in_pool(threads, || stats::rfm(&store, AS_OF).unwrap());
        assert_eq!(rows.len(), 7);
        for row in rows {
            let name = row.segment.as_str();
            assert_eq!(
                (row.customers, row.revenue_cents),
                expected.get(name).copied().unwrap_or_default(),
                "{name}"
            );
        }
    }
}

#[test]
fn anomalies_match_a_median_absolute_deviation_reference() {
    let (_dir, store, orders) = store_with_history();
    let mut amounts: Vec<f64> = orders.iter().map(|o| o.amount_cents() as f64).collect();
    amounts.sort_by(f64::total_cmp);
    let centre = median(&amounts);
    let mut deviations: Vec<f64> = amounts.iter().map(|a| (a - centre).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = median(&deviations);
    let mut expected: Vec<(u64, f64)> = orders
        .iter()
        .map(|o| {
            (
                o.id,
                (o.amount_cents() as f64 - centre).abs() / (1.4826 * mad),
            )
        })
        .filter(|(_, score)| *score > 2.5)
        .collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    expected.truncate(50);
    for threads in [1, 4] {
        let found = in_pool(threads, || stats::anomalies(&store, 2.5, 50).unwrap());
        let got: Vec<(u64, f64)> = found.iter().map(|a| (a.order.id, a.score)).collect();
        assert_eq!(got, expected);
    }
    assert!(!expected.is_empty());
}

#[test]
fn forecast_matches_a_least_squares_reference() {
    let (_dir, store, orders) = store_with_history();
    let month_index = |t: i64| {
        let d = chrono::DateTime::from_timestamp(t, 0).unwrap();
        chrono::Datelike::year(&d) as i64 * 12 + chrono::Datelike::month0(&d) as i64
    };
    let first = orders
        .iter()
        .map(|o| month_index(o.created_at))
        .min()
        .unwrap();
    let last = orders
        .iter()
        .map(|o| month_index(o.created_at))
        .max()
        .unwrap();
    let mut revenue = vec![0f64; (last - first + 1) as usize];
    for order in &orders {
        revenue[(month_index(order.created_at) - first) as usize] += order.amount_cents() as f64;
    }
    let n = revenue.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = revenue.iter().sum::<f64>() / n;
    let slope = revenue
        .iter()
        .enumerate()
        .map(|(x, y)| (x as f64 - mean_x) * (y - mean_y))
        .sum::<f64>()
        / revenue
            .iter()
            .enumerate()
            .map(|(x, _)| (x as f64 - mean_x).powi(2))
            .sum::<f64>();
    let intercept = mean_y - slope * mean_x;
    for threads in [1, 4] {
        let forecast = in_pool(threads, || stats::forecast(&store, 4).unwrap());
        assert_eq!(forecast.history, revenue.len());
        assert!((forecast.slope_cents - slope).abs() < 1e-6 * slope.abs().max(1.0));
        assert!((forecast.intercept_cents - intercept).abs() < 1e-6 * intercept.abs().max(1.0));
        assert_eq!(forecast.forecast.len(), 4);
        // `crm_protocol` 2: the line's value, never clamped at zero.
        let next = intercept + slope * n;
        assert!((forecast.forecast[0].1 - next).abs() < 1e-3 * next.abs().max(1.0));
        assert!(forecast.r2.is_some_and(|r2| (0.0..=1.0).contains(&r2)));
    }
}

#[test]
fn clusters_are_deterministic_and_cover_every_customer() {
    let (_dir, store, orders) = store_with_history();
    let customers: BTreeSet<u64> = orders
        .iter()
        .filter(|o| o.created_at < AS_OF)
        .map(|o| o.customer_id)
        .collect();
    let one = in_pool(1, || stats::clusters(&store, 4, 7, AS_OF).unwrap());
    let four = in_pool(4, || stats::clusters(&store, 4, 7, AS_OF).unwrap());
    assert_eq!(one, four);
    assert_eq!(one.len(), 4);
    assert_eq!(
        one.iter().map(|c| c.customers).sum::<u64>(),
        customers.len() as u64
    );
    let monetary: Vec<f64> = one.iter().filter_map(|c| c.centroid.map(|x| x.2)).collect();
    assert!(
        monetary.windows(2).all(|w| w[0] >= w[1]),
        "numbered by descending monetary centroid"
    );
    assert_eq!(
        one.iter().map(|c| c.cluster).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    assert_eq!(
        stats::clusters(&store, customers.len() + 1, 0, AS_OF)
            .unwrap_err()
            .kind(),
        ErrorKind::Invalid
    );
    assert_eq!(
        stats::clusters(&store, 0, 0, AS_OF).unwrap_err().kind(),
        ErrorKind::Invalid
    );
    // One cluster: its centroid is the plain mean.
    let single = stats::clusters(&store, 1, 0, AS_OF).unwrap();
    let mean_count =
        orders.iter().filter(|o| o.created_at < AS_OF).count() as f64 / customers.len() as f64;
    assert!((single[0].centroid.unwrap().1 - mean_count).abs() < 1e-9);
}

#[test]
fn churn_is_deterministic_and_well_formed() {
    let (_dir, store, _orders) = store_with_history();
    let one = in_pool(1, || stats::churn(&store, AS_OF, 90, 1000).unwrap());
    let four = in_pool(4, || stats::churn(&store, AS_OF, 90, 1000).unwrap());
    assert_eq!(one, four);
    assert!(one.trained_on > 0);
    let auc = one.auc.unwrap();
    assert!((0.0..=1.0).contains(&auc));
    assert!(one
        .customers
        .windows(2)
        .all(|w| w[0].2 > w[1].2 || (w[0].2 == w[1].2 && w[0].0 < w[1].0)));
    assert!(one
        .customers
        .iter()
        .all(|(_, name, p)| name.is_some() && (0.0..=1.0).contains(p)));
    // Recency carries signal on this data: the model does better than chance.
    assert!(auc > 0.5, "auc {auc}");
}
