//! Every order by its time: `ORDER.LIST ALL SINCE … UNTIL …`. An [`OrderedIndex`] of the
//! orders' times.

use super::changes::Old;
use super::ordered::OrderedIndex;
use crate::model::Order;

#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct OrdersByTime {
    times: OrderedIndex<i64>,
}

impl OrdersByTime {
    /// Up to `limit` (time, order) pairs after `after` (`None`: from `since`), with times from
    /// `since` (inclusive) to `until` (exclusive), in time order.
    pub fn range(
        &self,
        since: i64,
        until: Option<i64>,
        after: Option<(i64, u64)>,
        limit: usize,
    ) -> Vec<(i64, u64)> {
        match until {
            Some(until) => self.times.range(since..until, after.as_ref(), limit),
            None => self.times.range(since.., after.as_ref(), limit),
        }
    }

    /// Follows one order's change.
    pub fn apply(&mut self, id: u64, old: &Old<Order>, new: Option<&Order>) {
        let time = |order: &Order| order.created_at;
        self.times
            .apply(id, old.as_ref().map(time).as_ref(), new.map(time).as_ref());
    }

    /// The index of these (time, order) pairs.
    pub fn rebuild(pairs: Vec<(i64, u64)>) -> OrdersByTime {
        OrdersByTime {
            times: OrderedIndex::rebuild(pairs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_walk_in_time_order_and_resume_after_a_pair() {
        let index = OrdersByTime::rebuild(vec![(-5, 3), (0, 1), (0, 2), (7, 9), (9, 4)]);
        assert_eq!(
            index.range(0, Some(9), None, 10),
            vec![(0, 1), (0, 2), (7, 9)]
        );
        assert_eq!(index.range(0, None, Some((0, 1)), 2), vec![(0, 2), (7, 9)]);
        assert_eq!(index.range(i64::MIN, None, None, 1), vec![(-5, 3)]);
        assert!(index.range(9, Some(9), None, 10).is_empty());
        assert!(index.range(10, Some(2), None, 10).is_empty());
        assert!(index.range(0, Some(9), Some((9, 4)), 10).is_empty());
    }
}
