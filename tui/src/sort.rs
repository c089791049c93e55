//! Sorting a table by any of its columns, on the rows the console holds: `s` moves the sort
//! to the next column, `S` turns its direction. Numbers compare as numbers, text without
//! case, and empty values come last either way.

use crate::screens::column::{Column, Kind};
use serde_json::Value as Json;
use std::cmp::Ordering;

/// The column a table is sorted by, and which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: usize,
    pub descending: bool,
}

impl Sort {
    /// `s`: the next column, ascending; past the last, back to the server's order.
    pub fn next(current: Option<Sort>, columns: usize) -> Option<Sort> {
        let column = match current {
            None => 0,
            Some(sort) => sort.column + 1,
        };
        (column < columns).then_some(Sort {
            column,
            descending: false,
        })
    }

    /// `S`: the other direction (the first column, descending, when unsorted).
    pub fn flip(current: Option<Sort>) -> Sort {
        match current {
            Some(sort) => Sort {
                descending: !sort.descending,
                ..sort
            },
            None => Sort {
                column: 0,
                descending: true,
            },
        }
    }

    /// How the table's title says it (`sorted by Amount ▼`).
    pub fn describe(self, columns: &[Column]) -> String {
        let name = columns.get(self.column).map_or("?", |c| c.heading.as_ref());
        format!(
            "sorted by {name} {}",
            if self.descending { "▼" } else { "▲" }
        )
    }
}

fn compare(kind: Kind, a: &str, b: &str) -> Ordering {
    match kind {
        Kind::Number => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => x.total_cmp(&y),
            _ => a.cmp(b),
        },
        Kind::Text | Kind::Time => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

/// Sorts records by a column; ties keep their order, empty values go last.
pub fn sort_records(rows: &mut [Json], columns: &[Column], sort: Sort) {
    let Some(column) = columns.get(sort.column) else {
        return;
    };
    rows.sort_by(|x, y| {
        let (a, b) = (column.text(x), column.text(y));
        match (a.is_empty(), b.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let order = compare(column.kind, &a, &b);
                if sort.descending {
                    order.reverse()
                } else {
                    order
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::field_text;
    use crate::screens::table::column;
    use serde_json::json;

    const COLUMNS: [Column; 2] = [
        column("Name", "name", Kind::Text),
        column("Amount", "amount", Kind::Number),
    ];

    #[test]
    fn numbers_sort_as_numbers_and_empties_go_last() {
        let mut rows = vec![
            json!({"name": "b", "amount": "10.00"}),
            json!({"name": "A", "amount": "9.50"}),
            json!({"name": "c", "amount": null}),
            json!({"name": "d", "amount": "100.00"}),
        ];
        let by =
            |rows: &[Json]| -> Vec<String> { rows.iter().map(|r| field_text(r, "name")).collect() };
        sort_records(
            &mut rows,
            &COLUMNS,
            Sort {
                column: 1,
                descending: false,
            },
        );
        assert_eq!(by(&rows), ["A", "b", "d", "c"]);
        sort_records(
            &mut rows,
            &COLUMNS,
            Sort {
                column: 1,
                descending: true,
            },
        );
        assert_eq!(by(&rows), ["d", "b", "A", "c"]);
        sort_records(
            &mut rows,
            &COLUMNS,
            Sort {
                column: 0,
                descending: false,
            },
        );
        assert_eq!(by(&rows), ["A", "b", "c", "d"]);
    }

    #[test]
    fn s_walks_the_columns_and_back_to_the_servers_order() {
        let first = Sort::next(None, 2);
        assert_eq!(
            first,
            Some(Sort {
                column: 0,
                descending: false
            })
        );
        assert_eq!(Sort::next(first, 2).map(|s| s.column), Some(1));
        assert_eq!(Sort::next(Sort::next(first, 2), 2), None);
        assert!(Sort::flip(first).descending);
    }
}
