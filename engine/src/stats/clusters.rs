//! `STATS.CLUSTERS`: k-means over standardised recency, frequency and monetary value.
//!
//! Seeding is k-means++ from a seeded generator; iterations stop when no customer changes
//! cluster or after 100. Everything runs in a fixed order, so the same arguments on the same
//! data always give the same clusters. Clusters are numbered by descending monetary centroid;
//! an empty cluster keeps a null centroid and comes last.

use super::{money_f64, rfm_at};
use crate::error::{Error, Result};
use crate::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The most iterations k-means runs.
pub const MAX_ITERATIONS: usize = 100;

/// One cluster of `STATS.CLUSTERS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub cluster: usize,
    pub customers: u64,
    /// Mean recency (days), order count and total amount (cents) of the members, in original
    /// units; `None` for an empty cluster.
    pub centroid: Option<(f64, f64, f64)>,
}

impl Cluster {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "cluster": self.cluster,
            "customers": self.customers,
            "centroid": self.centroid.map(|(recency, count, total)| serde_json::json!({
                "recency_days": recency,
                "order_count": count,
                "total_amount": money_f64(total),
            })),
        })
    }
}

fn distance2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum()
}

fn nearest(point: &[f64; 3], centres: &[[f64; 3]]) -> usize {
    let mut best = 0;
    for (i, centre) in centres.iter().enumerate() {
        if distance2(point, centre) < distance2(point, &centres[best]) {
            best = i;
        }
    }
    best
}

/// Groups the customers with orders before `as_of` into `k` clusters.
pub fn clusters(store: &Store, k: usize, seed: u64, as_of: i64) -> Result<Vec<Cluster>> {
    let table = rfm_at(store, as_of)?;
    if k == 0 || k > table.len() {
        return Err(Error::invalid(
            "k",
            format!(
                "{k} is not between 1 and the number of customers with orders ({})",
                table.len()
            ),
        ));
    }
    let raw: Vec<[f64; 3]> = table
        .iter()
        .map(|c| {
            [
                c.recency_days as f64,
                c.frequency as f64,
                c.monetary_cents as f64,
            ]
        })
        .collect();
    let n = raw.len() as f64;
    let mut mean = [0.0; 3];
    let mut spread = [0.0; 3];
    for dim in 0..3 {
        mean[dim] = raw.iter().map(|p| p[dim]).sum::<f64>() / n;
        spread[dim] = (raw
            .iter()
            .map(|p| (p[dim] - mean[dim]).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
    }
    let points: Vec<[f64; 3]> = raw
        .iter()
        .map(|p| {
            let mut z = [0.0; 3];
            for dim in 0..3 {
                z[dim] = if spread[dim] > 0.0 {
                    (p[dim] - mean[dim]) / spread[dim]
                } else {
                    0.0
                };
            }
            z
        })
        .collect();

    // k-means++ seeding: each next centre drawn with probability proportional to D².
    let mut rng = StdRng::seed_from_u64(seed);
    let mut centres = vec![points[rng.gen_range(0..points.len())]];
    while centres.len() < k {
        store.check_cancelled()?;
        let weights: Vec<f64> = points
            .iter()
            .map(|p| distance2(p, &centres[nearest(p, &centres)]))
            .collect();
        let total: f64 = weights.iter().sum();
        let next = if total > 0.0 {
            let mut target = rng.gen_range(0.0..total);
            let mut chosen = points.len() - 1;
            for (i, w) in weights.iter().enumerate() {
                if target < *w {
                    chosen = i;
                    break;
                }
                target -= w;
            }
            chosen
        } else {
            rng.gen_range(0..points.len())
        };
        centres.push(points[next]);
    }

    let mut assignment = vec![usize::MAX; points.len()];
    for _ in 0..MAX_ITERATIONS {
        store.check_cancelled()?;
        let mut changed = false;
        for (i, point) in points.iter().enumerate() {
            let best = nearest(point, &centres);
            if assignment[i] != best {
                assignment[i] = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let members: Vec<&[f64; 3]> = points
                .iter()
                .zip(&assignment)
                .filter(|(_, a)| **a == c)
                .map(|(p, _)| p)
                .collect();
            if !members.is_empty() {
                for dim in 0..3 {
                    centre[dim] =
                        members.iter().map(|p| p[dim]).sum::<f64>() / members.len() as f64;
                }
            }
        }
    }

    let mut found: Vec<Cluster> = (0..k)
        .map(|c| {
            let members: Vec<&[f64; 3]> = raw
                .iter()
                .zip(&assignment)
                .filter(|(_, a)| **a == c)
                .map(|(p, _)| p)
                .collect();
            let count = members.len();
            let centroid = (count > 0).then(|| {
                let mean_of =
                    |dim: usize| members.iter().map(|p| p[dim]).sum::<f64>() / count as f64;
                (mean_of(0), mean_of(1), mean_of(2))
            });
            Cluster {
                cluster: c,
                customers: count as u64,
                centroid,
            }
        })
        .collect();
    // Number by descending monetary centroid; empty clusters last; ties by original index.
    found.sort_by(|a, b| match (a.centroid, b.centroid) {
        (Some(x), Some(y)) => y.2.total_cmp(&x.2).then(a.cluster.cmp(&b.cluster)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cluster.cmp(&b.cluster),
    });
    for (number, cluster) in found.iter_mut().enumerate() {
        cluster.cluster = number;
    }
    Ok(found)
}
