//! The four query shapes of issue 34, each asked of our store (`CUSTOMER.QUERY`/`COUNT`
//! through the engine's API) and of SQLite (a prepared statement) with the same parameters
//! and the same semantics: the same rows, in the same order (ours orders by `id` without
//! `SORT`, nulls last in both directions and ties by `id` ascending with it; SQLite's `ORDER
//! BY score DESC, id` is that order, its nulls sorting last when descending).
//!
//! Both sides return whole customers: ours opened (decrypted) records, SQLite every column
//! read out of the row.

use crate::data::{DAY, RENEWAL, RENEWAL_DAYS, RENEWAL_START, SCORE, SCORE_MAX, STAGE, STAGES};
use crm_engine::query::START;
use crm_engine::values::format_timestamp;
use crm_engine::{ConditionText, Operator, QueryRequest, SortText, Store};
use rusqlite::Connection;

/// The start of every SQLite query that returns customers: every column.
macro_rules! select {
    () => {
        "SELECT id, name, email, phone, address, created_at, stage, score, renewal FROM customers "
    };
}

/// The page size of every shape that returns records.
pub const LIMIT: usize = 100;
/// Scores a range spans (1 % of them).
const SCORE_SPAN: i64 = 10;
/// Days a renewal range spans.
const RENEWAL_SPAN_DAYS: i64 = 30;

/// A shape of query.
#[derive(Clone, Copy)]
pub enum Shape {
    /// `stage = s`, the first page by id.
    Equality,
    /// `score >= lo AND score <= lo + 9`, the first page by id.
    Range,
    /// `stage = s AND renewal` in a 30-day window, `SORT score DESC LIMIT 100`.
    EqualityRangeSorted,
    /// `COUNT` of the previous shape's condition.
    Count,
}

pub const SHAPES: [Shape; 4] = [
    Shape::Equality,
    Shape::Range,
    Shape::EqualityRangeSorted,
    Shape::Count,
];

/// One set of parameters; the `n`th set cycles through every stage, score window and month.
#[derive(Clone, Copy)]
pub struct Params {
    stage: &'static str,
    score_low: i64,
    renewal_from: i64,
}

impl Params {
    pub fn nth(n: usize) -> Params {
        let months = (RENEWAL_DAYS / RENEWAL_SPAN_DAYS) as usize;
        Params {
            stage: STAGES[n % STAGES.len()],
            score_low: (n as i64 * 37) % (SCORE_MAX + 1 - SCORE_SPAN),
            renewal_from: RENEWAL_START + ((n * 7) % months) as i64 * RENEWAL_SPAN_DAYS * DAY,
        }
    }

    fn score_high(&self) -> i64 {
        self.score_low + SCORE_SPAN - 1
    }

    /// The end of the renewal window, excluded.
    fn renewal_until(&self) -> i64 {
        self.renewal_from + RENEWAL_SPAN_DAYS * DAY
    }
}

impl Shape {
    /// The shape's name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Equality => "stage = s, first 100 by id",
            Shape::Range => "score in a 1% range, first 100 by id",
            Shape::EqualityRangeSorted => {
                "stage = s, renewal in 30 days, SORT score DESC LIMIT 100"
            }
            Shape::Count => "COUNT of stage = s, renewal in 30 days",
        }
    }

    /// The request our store is asked (its conditions only, for a count).
    pub fn request(self, p: &Params) -> QueryRequest {
        let condition = |field: &str, op, value: String| ConditionText {
            field: field.to_string(),
            op,
            values: vec![value],
        };
        let stage = || condition(STAGE, Operator::Eq, p.stage.to_string());
        let window = || {
            [
                condition(RENEWAL, Operator::Ge, format_timestamp(p.renewal_from)),
                condition(RENEWAL, Operator::Lt, format_timestamp(p.renewal_until())),
            ]
        };
        let (conditions, sort) = match self {
            Shape::Equality => (vec![stage()], None),
            Shape::Range => (
                vec![
                    condition(SCORE, Operator::Ge, p.score_low.to_string()),
                    condition(SCORE, Operator::Le, p.score_high().to_string()),
                ],
                None,
            ),
            Shape::EqualityRangeSorted | Shape::Count => {
                let mut conditions = vec![stage()];
                conditions.extend(window());
                let sort = matches!(self, Shape::EqualityRangeSorted).then(|| SortText {
                    field: SCORE.to_string(),
                    descending: true,
                });
                (conditions, sort)
            }
        };
        QueryRequest {
            conditions,
            sort,
            limit: LIMIT,
            cursor: Some(START.to_string()),
        }
    }

    /// Our answer: the ids of the page, in order, or the count alone.
    pub fn ours(self, store: &Store, request: &QueryRequest) -> Vec<u64> {
        match self {
            Shape::Count => vec![store.count_customers(&request.conditions).unwrap()],
            _ => store
                .query_customers(request)
                .unwrap()
                .records
                .iter()
                .map(|customer| customer.id)
                .collect(),
        }
    }

    /// SQLite's answer, in the same form.
    pub fn sqlite(self, db: &Connection, p: &Params) -> Vec<u64> {
        let limit = LIMIT as i64;
        let rows = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
            let mut statement = db.prepare_cached(sql).unwrap();
            let ids = statement
                .query_map(params, |row| {
                    // Every column read out, as ours opens every field of the record.
                    let _: (String, String, Option<String>, Option<String>, i64) = (
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                    );
                    let _: (Option<String>, Option<i64>, Option<i64>) =
                        (row.get(6)?, row.get(7)?, row.get(8)?);
                    row.get::<_, i64>(0)
                })
                .unwrap()
                .map(|id| id.unwrap() as u64)
                .collect();
            ids
        };
        match self {
            Shape::Equality => rows(
                concat!(select!(), "WHERE stage = ?1 ORDER BY id LIMIT ?2"),
                &[&p.stage, &limit],
            ),
            Shape::Range => rows(
                concat!(
                    select!(),
                    "WHERE score >= ?1 AND score <= ?2 ORDER BY id LIMIT ?3"
                ),
                &[&p.score_low, &p.score_high(), &limit],
            ),
            Shape::EqualityRangeSorted => rows(
                concat!(
                    select!(),
                    "WHERE stage = ?1 AND renewal >= ?2 AND renewal < ?3 ",
                    "ORDER BY score DESC, id LIMIT ?4"
                ),
                &[&p.stage, &p.renewal_from, &p.renewal_until(), &limit],
            ),
            Shape::Count => {
                let count: i64 = db
                    .prepare_cached(
                        "SELECT COUNT(*) FROM customers
                         WHERE stage = ?1 AND renewal >= ?2 AND renewal < ?3",
                    )
                    .unwrap()
                    .query_row(
                        rusqlite::params![p.stage, p.renewal_from, p.renewal_until()],
                        |row| row.get(0),
                    )
                    .unwrap();
                vec![count as u64]
            }
        }
    }
}
