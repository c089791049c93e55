//! `STATS.RFM`: recency, frequency and monetary quintile scores, and named segments.
//!
//! Scores: a customer's score on a measure is `1 + ⌊5 × b / n⌋`, where `n` is the number of
//! customers scored and `b` the number whose value is strictly worse (for recency: more days
//! since the last order; for frequency and monetary: fewer orders, less spent). Equal values
//! always get equal scores, and the best fifth of customers scores 5.
//!
//! Segments, the first rule that matches:
//! `champions` R≥4 F≥4 M≥4 · `loyal` R≥3 F≥4 · `new` R≥4 F=1 · `potential` R≥3 ·
//! `at_risk` R≤2 F≥3 · `hibernating` R=2 · `lost` the rest (R=1, F≤2).

use super::{rfm_at, Rfm};
use crate::error::Result;
use crate::store::Store;
use crate::values::format_money;

/// The named segments, in the order `STATS.RFM` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Champions,
    Loyal,
    Potential,
    New,
    AtRisk,
    Hibernating,
    Lost,
}

/// Every segment, in listing order.
pub const SEGMENTS: [Segment; 7] = [
    Segment::Champions,
    Segment::Loyal,
    Segment::Potential,
    Segment::New,
    Segment::AtRisk,
    Segment::Hibernating,
    Segment::Lost,
];

impl Segment {
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::Potential => "potential",
            Segment::New => "new",
            Segment::AtRisk => "at_risk",
            Segment::Hibernating => "hibernating",
            Segment::Lost => "lost",
        }
    }

    /// The segment of a customer with these scores (see the module overview).
    pub fn of(r: u8, f: u8, m: u8) -> Segment {
        match (r, f, m) {
            (4.., 4.., 4..) => Segment::Champions,
            (3.., 4.., _) => Segment::Loyal,
            (4.., 1, _) => Segment::New,
            (3.., _, _) => Segment::Potential,
            (..=2, 3.., _) => Segment::AtRisk,
            (2, _, _) => Segment::Hibernating,
            _ => Segment::Lost,
        }
    }
}

/// One customer's scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmScore {
    pub rfm: Rfm,
    pub r: u8,
    pub f: u8,
    pub m: u8,
    pub segment: Segment,
}

/// One row of `STATS.RFM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    pub segment: Segment,
    pub customers: u64,
    pub revenue_cents: u128,
}

impl SegmentRow {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "segment": self.segment.as_str(),
            "customers": self.customers,
            "revenue": format_money(self.revenue_cents),
        })
    }
}

/// `1 + ⌊5 × (values strictly below v) / n⌋` for each value, by binary search in sorted order.
fn quintile_scores(values: &[i128]) -> Vec<u8> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as u128;
    values
        .iter()
        .map(|v| {
            let below = sorted.partition_point(|x| x < v) as u128;
            (1 + (5 * below) / n.max(1)) as u8
        })
        .collect()
}

/// Scores every customer with orders before `as_of`.
pub fn rfm_scores(store: &Store, as_of: i64) -> Result<Vec<RfmScore>> {
    let table = rfm_at(store, as_of)?;
    // Larger is better on every measure: recency is negated.
    let r = quintile_scores(
        &table
            .iter()
            .map(|c| -i128::from(c.recency_days))
            .collect::<Vec<_>>(),
    );
    let f = quintile_scores(
        &table
            .iter()
            .map(|c| c.frequency as i128)
            .collect::<Vec<_>>(),
    );
    let m = quintile_scores(
        &table
            .iter()
            .map(|c| c.monetary_cents as i128)
            .collect::<Vec<_>>(),
    );
    Ok(table
        .into_iter()
        .enumerate()
        .map(|(i, rfm)| RfmScore {
            rfm,
            r: r[i],
            f: f[i],
            m: m[i],
            segment: Segment::of(r[i], f[i], m[i]),
        })
        .collect())
}

/// The seven segments with their customers and revenue, as of `as_of`.
pub fn rfm(store: &Store, as_of: i64) -> Result<Vec<SegmentRow>> {
    let scores = rfm_scores(store, as_of)?;
    Ok(SEGMENTS
        .iter()
        .map(|&segment| {
            let members = scores.iter().filter(|s| s.segment == segment);
            SegmentRow {
                segment,
                customers: members.clone().count() as u64,
                revenue_cents: members.map(|s| s.rfm.monetary_cents).sum(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_a_score_and_the_best_fifth_scores_five() {
        assert_eq!(quintile_scores(&[1, 1, 1, 1, 1]), vec![1; 5]);
        assert_eq!(quintile_scores(&[10, 20, 30, 40, 50]), vec![1, 2, 3, 4, 5]);
        assert_eq!(quintile_scores(&[1, 1, 1, 2, 9]), vec![1, 1, 1, 4, 5]);
    }

    #[test]
    fn every_score_triple_has_exactly_one_segment() {
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    let segment = Segment::of(r, f, m);
                    assert!(SEGMENTS.contains(&segment));
                }
            }
        }
        assert_eq!(Segment::of(5, 5, 5), Segment::Champions);
        assert_eq!(Segment::of(1, 1, 1), Segment::Lost);
        assert_eq!(Segment::of(1, 4, 5), Segment::AtRisk);
        assert_eq!(Segment::of(5, 1, 2), Segment::New);
    }
}
