//! A page of records fetched with `AFTER` / `LIMIT` (never the whole table), as many as the
//! screen shows, and reading fields of JSON records for display. While a query or a
//! whole-table sort is in force, the page moves by the cursors `*.QUERY` returns instead
//! ([`QueryCursors`]).
//!
//! A move to another page changes nothing until its rows arrive: a page asked for is
//! *pending*, taken by [`Page::arrived`] and dropped by [`Page::failed`], so a request that
//! never comes back (the server went away) leaves the page and its number as they were.

use crate::screens::table::Column;
use crate::sort::{sort_records, Sort};
use serde_json::Value as Json;

/// Rows fetched per page before the screen's size is known.
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// Where the selection goes when a page arrives.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// Stays where it was (inside the page).
    #[default]
    Keep,
    Top,
    Bottom,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub rows: Vec<Json>,
    pub selected: usize,
    /// The `AFTER` cursor of each page visited; the last is the current page's.
    pub cursors: Vec<u64>,
    /// The cursors of the page asked for, until its rows arrive.
    pending: Option<Vec<u64>>,
    landing: Landing,
    /// Rows per page: what the screen holds.
    pub size: usize,
    /// The sort on the rows held (none: the server's order, ids ascending).
    pub sort: Option<Sort>,
    /// How many records all pages hold, when the server said (`INFO` or `*.COUNT`).
    pub total: Option<u64>,
    /// `End` was pressed: the rows up to the last page are being read.
    pub walk: Option<Walk>,
    /// Paging by a query's cursors instead of by ids (the rows come sorted by the server).
    pub by_query: Option<QueryCursors>,
}

/// The cursors of a query's pages: each page visited is asked for with the cursor the page
/// before it returned (the first with `"0"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryCursors {
    /// The cursor of each page visited after the first; the last is the current page's.
    visited: Vec<String>,
    /// The cursor the current page returned (`None`: it is the last page).
    next: Option<String>,
    /// The cursors of the page asked for, until its rows arrive.
    pending: Option<Vec<String>>,
    /// `End`: pages are turned until the last.
    pub to_end: bool,
}

/// The cursor a query starts with, and that its last page returns.
pub const FIRST_CURSOR: &str = "0";

/// Rows read per request on the way to the last page.
pub const WALK_STEP: usize = 1000;

/// The way to the last page: the `AFTER` ids a thousand rows at a time, keeping only each
/// page's cursor and the rows since the last one, so `p` still pages back from the end.
#[derive(Debug, Clone, Default)]
pub struct Walk {
    cursors: Vec<u64>,
    tail: Vec<Json>,
}

impl Default for Page {
    fn default() -> Page {
        Page {
            rows: Vec::new(),
            selected: 0,
            cursors: Vec::new(),
            pending: None,
            landing: Landing::Keep,
            size: DEFAULT_PAGE_SIZE,
            sort: None,
            total: None,
            walk: None,
            by_query: None,
        }
    }
}

impl Page {
    /// The `AFTER` of the page to fetch: the pending one, else the current one.
    pub fn after(&self) -> u64 {
        match &self.pending {
            Some(cursors) => cursors.last().copied().unwrap_or(0),
            None => self.cursors.last().copied().unwrap_or(0),
        }
    }

    pub fn selected_row(&self) -> Option<&Json> {
        self.rows.get(self.selected)
    }

    /// Moves the selection inside the page; false when it would leave it.
    pub fn move_by(&mut self, delta: isize) -> bool {
        if self.rows.is_empty() {
            self.selected = 0;
            return delta == 0;
        }
        let wanted = self.selected as isize + delta;
        let last = self.rows.len() as isize - 1;
        self.selected = wanted.clamp(0, last) as usize;
        (0..=last).contains(&wanted)
    }

    /// Pages by a query's cursors (`on`) or by ids, from the first page.
    pub fn page_by_query(&mut self, on: bool) {
        self.by_query = on.then(QueryCursors::default);
        self.request_first();
    }

    /// The `CURSOR` of the query page to fetch: the pending one, else the current one.
    pub fn cursor(&self) -> String {
        let q = self.by_query.as_ref();
        let cursors = q.and_then(|q| q.pending.as_ref().or(Some(&q.visited)));
        cursors
            .and_then(|c| c.last().cloned())
            .unwrap_or_else(|| FIRST_CURSOR.to_string())
    }

    /// Whether the current page is the first.
    pub fn on_first_page(&self) -> bool {
        match &self.by_query {
            Some(q) => q.visited.is_empty(),
            None => self.cursors.is_empty(),
        }
    }

    /// Whether a page was asked for and has not arrived.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some() || self.by_query.as_ref().is_some_and(|q| q.pending.is_some())
    }

    /// Whether a query page follows this one.
    pub fn has_next(&self) -> bool {
        self.by_query.as_ref().is_some_and(|q| q.next.is_some())
    }

    /// Asks for the next page if this one is full; false if there is none.
    pub fn request_next(&mut self, landing: Landing) -> bool {
        if let Some(q) = &mut self.by_query {
            let Some(next) = q.next.clone() else {
                return false;
            };
            let mut cursors = q.visited.clone();
            cursors.push(next);
            q.pending = Some(cursors);
            self.landing = landing;
            return true;
        }
        // The cursor is the largest id shown (a sorted page's last row is not).
        let largest = self.rows.iter().filter_map(|r| r["id"].as_u64()).max();
        match largest {
            Some(id) if self.rows.len() >= self.size => {
                let mut cursors = self.cursors.clone();
                cursors.push(id);
                self.pending = Some(cursors);
                self.landing = landing;
                true
            }
            _ => false,
        }
    }

    /// Asks for the previous page; false on the first.
    pub fn request_previous(&mut self, landing: Landing) -> bool {
        if let Some(q) = &mut self.by_query {
            if q.visited.is_empty() {
                return false;
            }
            q.pending = Some(q.visited[..q.visited.len() - 1].to_vec());
            self.landing = landing;
            return true;
        }
        if self.cursors.is_empty() {
            return false;
        }
        self.pending = Some(self.cursors[..self.cursors.len() - 1].to_vec());
        self.landing = landing;
        true
    }

    /// Asks for the first page, its first row selected.
    pub fn request_first(&mut self) {
        if let Some(q) = &mut self.by_query {
            q.pending = Some(Vec::new());
        }
        self.pending = Some(Vec::new());
        self.landing = Landing::Top;
        self.walk = None;
    }

    /// Starts the way to the last page; the `AFTER` of its first read.
    pub fn start_walk(&mut self) -> u64 {
        self.pending = None;
        self.walk = Some(Walk {
            cursors: self.cursors.clone(),
            tail: Vec::new(),
        });
        self.after()
    }

    /// Takes one read of the way to the last page (ids ascending); the `AFTER` of the next
    /// while there is more. At the end the last page is shown, its last row selected.
    pub fn walked(&mut self, rows: Vec<Json>, columns: &[Column]) -> Option<u64> {
        let size = self.size.max(1);
        let walk = self.walk.as_mut()?;
        let more = rows.len() >= WALK_STEP;
        let last = rows.last().and_then(|r| r["id"].as_u64());
        for row in rows {
            if walk.tail.len() >= size {
                if let Some(id) = walk.tail.last().and_then(|r| r["id"].as_u64()) {
                    walk.cursors.push(id);
                }
                walk.tail.clear();
            }
            walk.tail.push(row);
        }
        if more && last.is_some() {
            return last;
        }
        let walk = self.walk.take()?;
        if !walk.tail.is_empty() {
            self.cursors = walk.cursors;
            self.landing = Landing::Bottom;
            let mut rows = walk.tail;
            if let Some(sort) = self.sort {
                sort_records(&mut rows, columns, sort);
            }
            self.rows = rows;
        }
        self.selected = self.rows.len().saturating_sub(1);
        None
    }

    /// Asks for the current page again (after a resize or a reconnection).
    pub fn request_again(&mut self) {
        if let Some(q) = &mut self.by_query {
            q.pending = None;
        }
        self.pending = None;
        self.landing = Landing::Keep;
    }

    /// The rows of the page asked for arrived. An empty page after a full one (the table
    /// ended exactly at a page's end) is not shown: the page stays, its last row selected.
    pub fn arrived(&mut self, mut rows: Vec<Json>, columns: &[Column]) {
        let pending = self.pending.take();
        if rows.is_empty() && pending.as_ref().is_some_and(|p| !p.is_empty()) {
            self.selected = self.rows.len().saturating_sub(1);
            return;
        }
        if let Some(cursors) = pending {
            self.cursors = cursors;
        }
        if let Some(sort) = self.sort {
            sort_records(&mut rows, columns, sort);
        }
        self.show(rows);
    }

    /// A page of a query arrived, in the server's order, with the cursor of the next
    /// (`"0"`: none).
    pub fn arrived_query(&mut self, rows: Vec<Json>, next: String) {
        let Some(q) = &mut self.by_query else {
            return;
        };
        if let Some(cursors) = q.pending.take() {
            q.visited = cursors;
        }
        q.next = (next != FIRST_CURSOR).then_some(next);
        self.pending = None;
        self.show(rows);
    }

    /// Shows the rows, the selection where the move asked.
    fn show(&mut self, rows: Vec<Json>) {
        self.rows = rows;
        let last = self.rows.len().saturating_sub(1);
        self.selected = match std::mem::take(&mut self.landing) {
            Landing::Keep => self.selected.min(last),
            Landing::Top => 0,
            Landing::Bottom => last,
        };
    }

    /// The request for a page failed: nothing moves.
    pub fn failed(&mut self) {
        if let Some(q) = &mut self.by_query {
            q.pending = None;
            q.to_end = false;
        }
        self.pending = None;
        self.landing = Landing::Keep;
        self.walk = None;
    }

    /// Sorts the rows held, keeping the selected record selected.
    pub fn set_sort(&mut self, sort: Option<Sort>, columns: &[Column]) {
        self.sort = sort;
        let chosen = self.selected_row().cloned();
        match sort {
            Some(sort) => sort_records(&mut self.rows, columns, sort),
            None => self.rows.sort_by_key(|r| r["id"].as_u64().unwrap_or(0)),
        }
        if let Some(chosen) = chosen {
            self.selected = self.rows.iter().position(|r| *r == chosen).unwrap_or(0);
        }
    }

    /// `page 7 of 42` (or `page 7` while the total is unknown).
    pub fn position(&self) -> String {
        let number = match &self.by_query {
            Some(q) => q.visited.len() + 1,
            None => self.cursors.len() + 1,
        };
        match self.total {
            Some(total) => {
                let pages = (total as usize).div_ceil(self.size.max(1)).max(1);
                format!("page {number} of {pages}")
            }
            None => format!("page {number}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<Json> {
        range.map(|id| json!({ "id": id })).collect()
    }

    #[test]
    // Guards against the page number counting on while no page arrives (server gone).
    fn a_page_that_never_arrives_changes_nothing() {
        let mut page = Page {
            size: 3,
            ..Page::default()
        };
        page.arrived(ids(1..=3), &[]);
        assert!(page.request_next(Landing::Top));
        assert_eq!(page.after(), 3);
        page.failed();
        assert_eq!(page.position(), "page 1");
        assert_eq!(page.after(), 0);
    }

    #[test]
    fn pages_move_when_their_rows_arrive_and_count_from_the_total() {
        let mut page = Page {
            size: 3,
            total: Some(7),
            ..Page::default()
        };
        page.arrived(ids(1..=3), &[]);
        assert!(page.request_next(Landing::Top));
        page.arrived(ids(4..=6), &[]);
        assert_eq!(page.position(), "page 2 of 3");
        assert!(page.request_previous(Landing::Bottom));
        page.arrived(ids(1..=3), &[]);
        assert_eq!((page.position(), page.selected), ("page 1 of 3".into(), 2));
    }

    #[test]
    fn an_empty_page_after_a_full_one_is_not_shown() {
        let mut page = Page {
            size: 3,
            ..Page::default()
        };
        page.arrived(ids(1..=3), &[]);
        assert!(page.request_next(Landing::Bottom));
        page.arrived(Vec::new(), &[]);
        assert_eq!(page.rows.len(), 3);
        assert_eq!(page.selected, 2);
        assert_eq!(page.position(), "page 1");
    }

    #[test]
    fn a_query_pages_with_the_cursors_it_returns() {
        let mut page = Page {
            size: 2,
            ..Page::default()
        };
        page.page_by_query(true);
        assert_eq!(page.cursor(), "0");
        page.arrived_query(ids(1..=2), "c1".into());
        assert!(page.request_next(Landing::Top));
        assert_eq!(page.cursor(), "c1");
        page.arrived_query(ids(3..=4), "c2".into());
        assert!(page.request_next(Landing::Top));
        page.arrived_query(ids(5..=5), FIRST_CURSOR.into());
        assert_eq!(page.position(), "page 3");
        // "0": the last page.
        assert!(!page.request_next(Landing::Top));
        assert!(page.request_previous(Landing::Bottom));
        assert_eq!(page.cursor(), "c1");
        // A page that never arrives changes nothing.
        page.failed();
        assert_eq!(
            (page.cursor(), page.position()),
            ("c2".into(), "page 3".into())
        );
    }

    #[test]
    fn the_way_to_the_last_page_keeps_every_pages_cursor() {
        let mut page = Page {
            size: 400,
            ..Page::default()
        };
        page.arrived(ids(1..=400), &[]);
        assert_eq!(page.start_walk(), 0);
        assert_eq!(page.walked(ids(1..=1000), &[]), Some(1000));
        assert_eq!(page.walked(ids(1001..=2000), &[]), Some(2000));
        assert_eq!(page.walked(ids(2001..=2500), &[]), None);
        // 2500 rows: pages of 400 start after 0, 400, ... 2400; the last holds 2401-2500.
        assert_eq!(page.cursors, [400, 800, 1200, 1600, 2000, 2400]);
        assert_eq!(page.rows.len(), 100);
        assert_eq!(page.selected, 99);
        assert_eq!(page.position(), "page 7");
        // Paging back from there works as usual.
        assert!(page.request_previous(Landing::Top));
        assert_eq!(page.after(), 2000);
    }
}
