//! The best `limit` pairs of a duplicate search, kept while the candidates are scored.
//!
//! A low `MIN` over customers sharing a common name word scores tens of millions of pairs;
//! collecting them all before `LIMIT` cut them took gigabytes (6,000 customers sharing a word,
//! `MIN 0.1 LIMIT 1`: 2.47 GB). Here a pair is offered as it is scored and kept only while it
//! is among the best `limit` seen: memory is `limit` pairs, whatever the number of candidates.
//! Each worker thread keeps its own, and they are merged at the end.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The reasons a pair scored, as bits (`phone`, `name`, `email`), so that scoring a candidate
/// allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reasons(u8);

impl Reasons {
    pub const PHONE: Reasons = Reasons(1);
    pub const NAME: Reasons = Reasons(2);
    pub const EMAIL: Reasons = Reasons(4);

    /// Adds a reason.
    pub fn add(&mut self, reason: Reasons) {
        self.0 |= reason.0;
    }

    /// The names of the reasons, in the contract's order: `phone`, `name`, `email`.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Reasons::PHONE, "phone"),
            (Reasons::NAME, "name"),
            (Reasons::EMAIL, "email"),
        ]
        .into_iter()
        .filter(|(reason, _)| self.0 & reason.0 != 0)
        .map(|(_, name)| name)
        .collect()
    }
}

/// One scored pair, ordered so that the *worse* pair is the greater: the contract lists by
/// score descending, then `a`, then `b`, and a max-heap of these has the worst kept pair on
/// top, the one a better candidate replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    pub score: u32,
    pub a: u64,
    pub b: u64,
    pub reasons: Reasons,
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .cmp(&self.score)
            .then(self.a.cmp(&other.a))
            .then(self.b.cmp(&other.b))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// At most `limit` pairs: the best offered so far.
pub struct Best {
    limit: usize,
    kept: BinaryHeap<Scored>,
}

impl Best {
    /// Nothing kept yet. Nothing is reserved ahead: `limit` may be far more than will match.
    pub fn new(limit: usize) -> Best {
        Best {
            limit,
            kept: BinaryHeap::new(),
        }
    }

    /// Keeps `pair` if it is among the best `limit` offered.
    pub fn offer(&mut self, pair: Scored) {
        if self.kept.len() < self.limit {
            self.kept.push(pair);
        } else if let Some(mut worst) = self.kept.peek_mut() {
            if pair < *worst {
                *worst = pair;
            }
        }
    }

    /// Takes in what another worker kept (offering the smaller side to the larger).
    pub fn absorb(&mut self, other: Best) {
        let smaller = if self.kept.len() < other.kept.len() {
            std::mem::replace(&mut self.kept, other.kept)
        } else {
            other.kept
        };
        for pair in smaller {
            self.offer(pair);
        }
    }

    /// The pairs kept, best first.
    pub fn into_ranked(self) -> Vec<Scored> {
        self.kept.into_sorted_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(score: u32, a: u64, b: u64) -> Scored {
        Scored {
            score,
            a,
            b,
            reasons: Reasons::default(),
        }
    }

    #[test]
    fn keeps_the_best_in_the_contracts_order_whatever_the_order_offered() {
        let all = [
            pair(500, 3, 4),
            pair(900, 7, 8),
            pair(500, 1, 9),
            pair(500, 1, 2),
            pair(100, 1, 2),
            pair(900, 2, 3),
        ];
        let expected = vec![
            pair(900, 2, 3),
            pair(900, 7, 8),
            pair(500, 1, 2),
            pair(500, 1, 9),
        ];
        for rotation in 0..all.len() {
            let mut best = Best::new(4);
            let mut other = Best::new(4);
            for (index, p) in all
                .iter()
                .cycle()
                .skip(rotation)
                .take(all.len())
                .enumerate()
            {
                if index % 2 == 0 {
                    best.offer(*p);
                } else {
                    other.offer(*p);
                }
            }
            best.absorb(other);
            assert_eq!(best.into_ranked(), expected);
        }
        let mut none = Best::new(0);
        none.offer(pair(1000, 1, 2));
        assert!(none.into_ranked().is_empty());
    }

    #[test]
    fn reasons_are_named_in_the_contracts_order() {
        let mut reasons = Reasons::default();
        reasons.add(Reasons::EMAIL);
        reasons.add(Reasons::PHONE);
        assert_eq!(reasons.names(), vec!["phone", "email"]);
    }
}
