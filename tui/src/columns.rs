//! The columns of the Customers and Products tables: the kind's built-in ones, then one per
//! custom field the schema declares for it, in declaration order (from `SCHEMA.LIST`, never
//! from code). The schema changes under a table (a field added or dropped on the Schema tab,
//! or by another admin): the sort follows its field to the field's new place, and goes with it
//! when it is dropped, since the server would refuse a sort on a field it no longer has.

use crate::page::Page;
use crate::query::{self, Typed};
use crate::screens::table::Column;
use crate::sort::Sort;

/// A records table's columns: its built-in ones, then its custom fields'. Reads as the slice
/// of all of them.
#[derive(Debug, Clone)]
pub struct Columns {
    built_in: &'static [Column],
    all: Vec<Column>,
}

impl Columns {
    /// The built-in columns alone (until the schema is known).
    pub fn new(built_in: &'static [Column]) -> Columns {
        Columns {
            built_in,
            all: built_in.to_vec(),
        }
    }

    /// Puts `custom` after the built-in columns, re-pointing the table's sort. True when the
    /// table must be asked for again: it was sorted by a field that is gone, so it is back in
    /// the server's order from the first page (with its typed query, if any).
    pub fn set_custom(
        &mut self,
        custom: Vec<Column>,
        page: &mut Page,
        typed: &mut Option<Typed>,
    ) -> bool {
        let all: Vec<Column> = self.built_in.iter().cloned().chain(custom).collect();
        if self.all == all {
            return false;
        }
        let sorted = page.sort.and_then(|sort| {
            let field = self.all.get(sort.column)?.field().to_string();
            Some((field, sort.descending))
        });
        self.all = all;
        let Some((field, descending)) = sorted else {
            return false;
        };
        match self.all.iter().position(|c| c.field() == field) {
            Some(column) => {
                page.sort = Some(Sort { column, descending });
                false
            }
            None => {
                let kept = typed.take();
                query::requery(page, typed, kept, None);
                true
            }
        }
    }
}

impl std::ops::Deref for Columns {
    type Target = [Column];

    fn deref(&self) -> &[Column] {
        &self.all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screens::table::{column, Kind};

    static BUILT_IN: [Column; 2] = [
        column("ID", "id", Kind::Number),
        column("Name", "name", Kind::Text),
    ];

    #[test]
    fn the_sort_follows_its_field_and_goes_with_it() {
        let mut columns = Columns::new(&BUILT_IN);
        let mut page = Page::default();
        let mut typed = None;
        let mut set = |page: &mut Page, names: &[&str]| {
            let custom = names
                .iter()
                .map(|n| Column::custom(n, Kind::Text))
                .collect();
            columns.set_custom(custom, page, &mut typed)
        };
        assert!(!set(&mut page, &["stage", "tier"]));
        let by_tier = Sort {
            column: 3,
            descending: true,
        };
        query::requery(&mut page, &mut None, None, Some(by_tier));
        // "stage" dropped: "tier" moves left, and the sort with it.
        assert!(!set(&mut page, &["tier"]));
        assert_eq!(
            page.sort,
            Some(Sort {
                column: 2,
                descending: true
            })
        );
        // "tier" dropped: no sort, from the first page by id.
        assert!(set(&mut page, &[]));
        assert_eq!(page.sort, None);
        assert!(page.by_query.is_none());
    }
}
