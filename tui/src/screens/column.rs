//! A table's columns: what each shows of a record and how its values read. Apart from the
//! table that draws them, because the sort (`sort.rs`) orders rows by them too.

use crate::format::field_text;
use serde_json::Value as Json;
use std::borrow::Cow;

/// How a column's values read, which decides how they align, sort and give up space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Cut with `…` when space is short.
    Text,
    /// Ids, counts, money, scores: right-aligned, shortened but never cut.
    Number,
    /// RFC 3339 times: shown as the date alone when space is short.
    Time,
}

/// Where a column's values come from in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A key of the record itself (`"email"`): a built-in field, or what a screen computed.
    Key(&'static str),
    /// A custom field, under the record's `"fields"` (declared at run time, so owned).
    Custom(String),
}

/// One column: its heading, where its values come from and how they read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub heading: Cow<'static, str>,
    pub source: Source,
    pub kind: Kind,
}

/// A column of a record's own key (the built-in columns every screen declares as constants).
pub const fn column(heading: &'static str, key: &'static str, kind: Kind) -> Column {
    Column {
        heading: Cow::Borrowed(heading),
        source: Source::Key(key),
        kind,
    }
}

impl Column {
    /// The column of a custom field: headed by its name, read from the record's `"fields"`.
    pub fn custom(name: &str, kind: Kind) -> Column {
        Column {
            heading: Cow::Owned(name.to_string()),
            source: Source::Custom(name.to_string()),
            kind,
        }
    }

    /// The field's name, which is also how `*.QUERY ... SORT` names it.
    pub fn field(&self) -> &str {
        match &self.source {
            Source::Key(key) => key,
            Source::Custom(name) => name,
        }
    }

    /// Whether it shows a custom field (those give up their place first when space is short).
    pub fn is_custom(&self) -> bool {
        matches!(self.source, Source::Custom(_))
    }

    /// A record's value in this column, as display text.
    pub fn text(&self, row: &Json) -> String {
        match &self.source {
            Source::Key(key) => field_text(row, key),
            Source::Custom(name) => field_text(&row["fields"], name),
        }
    }
}
