//! `STATS.CHURN`: which customers are likely to stop buying.
//!
//! A logistic regression on each customer's recency, log frequency and log monetary value
//! (standardised on the training set). Training snapshot: `ASOF − 2×HORIZON`, features from the
//! orders before it, label "no order in the next HORIZON days" — so training only sees history
//! before `ASOF − HORIZON`. Validation snapshot: `ASOF − HORIZON`, labelled by the last HORIZON
//! days, scored by ROC AUC. The model is then applied at `ASOF`. Gradient descent runs a fixed
//! number of full-batch steps in a fixed order, so results are deterministic.

use crate::error::Result;
use crate::model::Order;
use crate::store::Store;
use crate::Kind;
use std::collections::BTreeMap;

const STEPS: usize = 500;
const LEARNING_RATE: f64 = 0.5;
const L2: f64 = 1e-3;

/// The result of `STATS.CHURN`.
#[derive(Debug, Clone, PartialEq)]
pub struct Churn {
    /// ROC AUC on the validation snapshot; `None` when it has only one class.
    pub auc: Option<f64>,
    /// Examples in the training snapshot.
    pub trained_on: usize,
    /// (customer id, name, probability of churning rounded to 6 decimals), most likely first,
    /// ties (of the rounded value) by id.
    pub customers: Vec<(u64, Option<String>, f64)>,
}

impl Churn {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "auc": self.auc.map(round6),
            "trained_on": self.trained_on,
            "customers": self.customers.iter().map(|(id, name, p)| serde_json::json!({
                "customer_id": id, "name": name, "probability": p,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Rounded half away from zero to 6 decimals, as probabilities are returned.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Each customer's orders before `before`, as (time, amount) sorted by time.
type History = BTreeMap<u64, Vec<(i64, u64)>>;

fn features(orders: &[(i64, u64)], at: i64) -> Option<[f64; 3]> {
    let before: Vec<&(i64, u64)> = orders.iter().take_while(|(t, _)| *t < at).collect();
    let last = before.last()?.0;
    let total: u64 = before.iter().map(|(_, a)| *a).sum();
    Some([
        super::whole_days(last, at) as f64,
        (before.len() as f64).ln_1p(),
        (total as f64).ln_1p(),
    ])
}

fn churned(orders: &[(i64, u64)], at: i64, horizon: i64) -> bool {
    !orders.iter().any(|(t, _)| *t >= at && *t < at + horizon)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

struct Model {
    mean: [f64; 3],
    spread: [f64; 3],
    weights: [f64; 3],
    bias: f64,
}

impl Model {
    fn standardise(&self, x: &[f64; 3]) -> [f64; 3] {
        let mut z = [0.0; 3];
        for d in 0..3 {
            z[d] = if self.spread[d] > 0.0 {
                (x[d] - self.mean[d]) / self.spread[d]
            } else {
                0.0
            };
        }
        z
    }

    fn probability(&self, x: &[f64; 3]) -> f64 {
        let z = self.standardise(x);
        sigmoid(self.bias + (0..3).map(|d| self.weights[d] * z[d]).sum::<f64>())
    }

    fn train(examples: &[([f64; 3], bool)], keep_going: &dyn Fn() -> Result<()>) -> Result<Model> {
        let n = examples.len().max(1) as f64;
        let mut model = Model {
            mean: [0.0; 3],
            spread: [0.0; 3],
            weights: [0.0; 3],
            bias: 0.0,
        };
        for d in 0..3 {
            model.mean[d] = examples.iter().map(|(x, _)| x[d]).sum::<f64>() / n;
            model.spread[d] = (examples
                .iter()
                .map(|(x, _)| (x[d] - model.mean[d]).powi(2))
                .sum::<f64>()
                / n)
                .sqrt();
        }
        let standardised: Vec<([f64; 3], f64)> = examples
            .iter()
            .map(|(x, y)| (model.standardise(x), f64::from(u8::from(*y))))
            .collect();
        for _ in 0..STEPS {
            keep_going()?;
            let mut gradient = [0.0; 3];
            let mut gradient_bias = 0.0;
            for (z, y) in &standardised {
                let error =
                    sigmoid(model.bias + (0..3).map(|d| model.weights[d] * z[d]).sum::<f64>()) - y;
                for d in 0..3 {
                    gradient[d] += error * z[d];
                }
                gradient_bias += error;
            }
            for (weight, slope) in model.weights.iter_mut().zip(gradient) {
                *weight -= LEARNING_RATE * (slope / n + L2 * *weight);
            }
            model.bias -= LEARNING_RATE * gradient_bias / n;
        }
        Ok(model)
    }
}

/// ROC AUC by the rank-sum statistic, ties sharing their average rank.
pub(crate) fn auc(scored: &[(f64, bool)]) -> Option<f64> {
    let positives = scored.iter().filter(|(_, y)| *y).count();
    let negatives = scored.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut sorted: Vec<&(f64, bool)> = scored.iter().collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1].0 == sorted[i].0 {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += sorted[i..=j].iter().filter(|(_, y)| *y).count() as f64 * average_rank;
        i = j + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Trains, validates and applies the churn model (see the module overview).
pub fn churn(store: &Store, as_of: i64, horizon_days: u32, limit: usize) -> Result<Churn> {
    let horizon = i64::from(horizon_days) * 86_400;
    // Folded straight into per-customer lists (16 bytes an order), not a list of whole orders.
    let mut history: History = store.par_fold_by_customer(
        Kind::Order,
        |table: &mut History, order: Order| {
            if order.created_at < as_of {
                table
                    .entry(order.customer_id)
                    .or_default()
                    .push((order.created_at, order.amount_cents()));
            }
        },
        |list, mut more| list.append(&mut more),
    )?;
    for list in history.values_mut() {
        list.sort_unstable();
    }
    let snapshot = |at: i64| -> Vec<(u64, [f64; 3], bool)> {
        history
            .iter()
            .filter_map(|(id, list)| {
                features(list, at).map(|x| (*id, x, churned(list, at, horizon)))
            })
            .collect()
    };
    let training: Vec<([f64; 3], bool)> = snapshot(as_of - 2 * horizon)
        .into_iter()
        .map(|(_, x, y)| (x, y))
        .collect();
    let model = Model::train(&training, &|| store.check_cancelled())?;
    let validation: Vec<(f64, bool)> = snapshot(as_of - horizon)
        .into_iter()
        .map(|(_, x, y)| (model.probability(&x), y))
        .collect();
    // Ordered by the value returned, so equal returned probabilities come in id order.
    let mut scored: Vec<(u64, f64)> = history
        .iter()
        .filter_map(|(id, list)| {
            features(list, as_of).map(|x| (*id, round6(model.probability(&x))))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(limit);
    let customers = scored
        .into_iter()
        .map(|(id, p)| Ok((id, store.customer(id)?.map(|c| c.name), p)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Churn {
        auc: auc(&validation),
        trained_on: training.len(),
        customers,
    })
}

#[cfg(test)]
mod tests {
    use super::auc;

    #[test]
    fn auc_of_perfect_random_and_tied_scores() {
        assert_eq!(
            auc(&[(0.9, true), (0.8, true), (0.2, false), (0.1, false)]),
            Some(1.0)
        );
        assert_eq!(auc(&[(0.1, true), (0.9, false)]), Some(0.0));
        assert_eq!(auc(&[(0.5, true), (0.5, false)]), Some(0.5));
        assert_eq!(auc(&[(0.5, true)]), None);
    }
}
