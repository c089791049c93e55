//! A page of records fetched with `AFTER` / `LIMIT` (never the whole table), and reading
//! fields of JSON records for display.

use serde_json::Value as Json;

/// Rows fetched per page.
pub const PAGE_SIZE: usize = 20;

#[derive(Debug, Default, Clone)]
pub struct Page {
    pub rows: Vec<Json>,
    pub selected: usize,
    /// The `AFTER` cursor of each page visited; the last is the current page's.
    pub cursors: Vec<u64>,
}

impl Page {
    pub fn after(&self) -> u64 {
        self.cursors.last().copied().unwrap_or(0)
    }

    pub fn selected_row(&self) -> Option<&Json> {
        self.rows.get(self.selected)
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            self.selected = 0;
            return;
        }
        let last = self.rows.len() as isize - 1;
        self.selected = (self.selected as isize + delta).clamp(0, last) as usize;
    }

    /// Takes a new page of rows, keeping the selection inside it.
    pub fn set_rows(&mut self, rows: Vec<Json>) {
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    /// Moves to the next page if this one is full; false if there is none.
    pub fn advance(&mut self) -> bool {
        match self.rows.last().and_then(|r| r["id"].as_u64()) {
            Some(id) if self.rows.len() >= PAGE_SIZE => {
                self.cursors.push(id);
                true
            }
            _ => false,
        }
    }

    /// Moves back a page; false on the first.
    pub fn back(&mut self) -> bool {
        self.cursors.pop().is_some()
    }
}

/// A field of a JSON record as display text (money strings, numbers, null as empty).
pub fn field_text(value: &Json, key: &str) -> String {
    match &value[key] {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}
