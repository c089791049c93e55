//! Journal: a window of the audit trail (the latest entries, or older ones paged back with
//! `p`), followed live through the change feed while the latest are shown (a blocked `XREAD`
//! on its own connection wakes on every acknowledged change), a filter by user, kind or id,
//! and `v` to verify the whole chain. Entries written by the server itself show `(server)`;
//! the selected entry's fields are shown whole below the table.
//!
//! `AUDIT.LOG` reads forward only (`AFTER seq`), so a window that ends before entry `before`
//! is read from `before − span`: without a filter entries are numbered without gaps and one
//! read of [`SHOWN`] does; with one, the span grows until the window is full or reaches the
//! first entry.

use super::table::{self, column, Column, Kind};
use super::Chrome;
use crate::theme;
use crm_server::request::{Command, JournalFilter};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value as Json;

/// Entries in a window.
pub const SHOWN: usize = 200;
/// The first span read back with a filter.
const FIRST_FILTERED_SPAN: u64 = 2_000;

/// The Journal tab's state.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    /// `seq` ascending, at most [`SHOWN`] (more while following).
    pub entries: Vec<Json>,
    pub selected: usize,
    /// `user NAME`, `kind KIND`, `id N`, as typed.
    pub filter: String,
    /// The last `AUDIT.VERIFY`: whether the chain held, and what was said.
    pub verified: Option<(bool, String)>,
    /// Whether a blocked `XREAD` is out on the feed connection.
    pub following: bool,
    /// Whether the window shown is older than the latest entries (then the feed is not
    /// followed).
    pub older: bool,
}

impl Journal {
    /// The largest `seq` shown (0: none).
    pub fn last_seq(&self) -> u64 {
        self.entries
            .last()
            .and_then(|e| e["seq"].as_u64())
            .unwrap_or(0)
    }

    /// The smallest `seq` shown (0: none).
    pub fn first_seq(&self) -> u64 {
        self.entries
            .first()
            .and_then(|e| e["seq"].as_u64())
            .unwrap_or(0)
    }

    fn filters(&self) -> Result<Vec<(JournalFilter, String)>, String> {
        let mut filters = Vec::new();
        let words: Vec<&str> = self.filter.split_whitespace().collect();
        for pair in words.chunks(2) {
            let [word, value] = pair else {
                return Err(format!("filter: '{}' needs a value", pair[0]));
            };
            let filter = match word.to_ascii_lowercase().as_str() {
                "user" => JournalFilter::User,
                "kind" => JournalFilter::Kind,
                "id" => JournalFilter::Id,
                other => return Err(format!("filter: unknown word '{other}' (user, kind, id)")),
            };
            filters.push((filter, value.to_string()));
        }
        Ok(filters)
    }

    /// `AUDIT.LOG` with the filter, after `after`, at most `limit` entries.
    pub fn request(&self, after: u64, limit: usize) -> Result<Command, String> {
        let filters = self.filters()?;
        let borrowed: Vec<(JournalFilter, &str)> =
            filters.iter().map(|(f, v)| (*f, v.as_str())).collect();
        Ok(Command::audit_log(after, &borrowed, limit))
    }

    /// The first span to read back from `before`.
    pub fn first_span(&self) -> u64 {
        if self.filter.trim().is_empty() {
            SHOWN as u64
        } else {
            FIRST_FILTERED_SPAN
        }
    }

    /// The read of the window ending before `before`, `span` entries back.
    pub fn window_request(&self, before: u64, span: u64) -> Result<Command, String> {
        let after = before.saturating_sub(1).saturating_sub(span);
        let limit = if self.filter.trim().is_empty() {
            SHOWN
        } else {
            100_000
        };
        self.request(after, limit)
    }

    /// Takes a window read back from `before` with `span`; the larger span to read again with
    /// when the window is not full and older entries may remain.
    pub fn take_window(&mut self, mut entries: Vec<Json>, before: u64, span: u64) -> Option<u64> {
        entries.retain(|e| e["seq"].as_u64().is_some_and(|seq| seq < before));
        let after = before.saturating_sub(1).saturating_sub(span);
        if entries.len() < SHOWN && after > 0 {
            return Some(span.saturating_mul(8));
        }
        let excess = entries.len().saturating_sub(SHOWN);
        entries.drain(..excess);
        self.entries = entries;
        // Read back from the newer side: the selection starts at the newest.
        self.selected = self.entries.len().saturating_sub(1);
        None
    }

    /// The blocked read that wakes when a change after what is shown is acknowledged.
    pub fn follow_request(&self) -> Command {
        let after = match self.last_seq() {
            0 => "$".to_string(),
            seq => format!("{seq}-0"),
        };
        Command::xread_blocking(20_000, "crm:changes", &after)
    }

    /// Takes a newer window (`n`): replaces what is shown; a short one is the latest.
    pub fn take_newer(&mut self, entries: Vec<Json>) {
        if entries.is_empty() {
            self.older = false;
            return;
        }
        self.older = entries.len() >= SHOWN;
        self.entries = entries;
        self.selected = 0;
    }

    /// Takes entries that arrived while following, after the last shown.
    pub fn take_more(&mut self, mut entries: Vec<Json>) {
        let follow_end = self.entries.is_empty() || self.selected + 1 >= self.entries.len();
        let last = self.last_seq();
        // A page asked for before the last one arrived may repeat entries.
        entries.retain(|e| e["seq"].as_u64().is_some_and(|seq| seq > last));
        self.entries.append(&mut entries);
        let excess = self.entries.len().saturating_sub(SHOWN);
        self.entries.drain(..excess);
        self.selected = if follow_end {
            self.entries.len().saturating_sub(1)
        } else {
            self.selected.saturating_sub(excess)
        };
    }

    pub fn move_by(&mut self, delta: isize) -> bool {
        let wanted = self.selected as isize + delta;
        let last = self.entries.len().saturating_sub(1) as isize;
        self.selected = wanted.clamp(0, last.max(0)) as usize;
        (0..=last).contains(&wanted)
    }
}

pub const COLUMNS: [Column; 8] = [
    column("Seq", "seq", Kind::Number),
    column("At", "at", Kind::Time),
    column("User", "user", Kind::Text),
    column("Op", "op", Kind::Text),
    column("Kind", "kind", Kind::Text),
    column("Id", "id", Kind::Number),
    column("Name", "name", Kind::Text),
    column("Fields", "fields", Kind::Text),
];

/// An entry as the table shows it: `(server)` for the server's own writes, fields joined.
pub fn display(entry: &Json) -> Json {
    let mut row = entry.clone();
    if entry["user"].is_null() {
        row["user"] = Json::String("(server)".into());
    }
    if let Some(fields) = entry["fields"].as_array() {
        let names: Vec<&str> = fields.iter().filter_map(Json::as_str).collect();
        row["fields"] = Json::String(names.join(", "));
    }
    row
}

/// Lines for the selected entry's fields, below the table.
const FIELD_LINES: u16 = 2;

pub fn render(frame: &mut Frame, area: Rect, journal: &Journal, chrome: &Chrome) {
    let [prompt, verdict, main, fields] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(FIELD_LINES),
    ])
    .areas(area);
    let line = super::prompt_line(chrome, super::filter_hint(chrome, &journal.filter));
    frame.render_widget(Paragraph::new(line), prompt);
    let verdict_line = match &journal.verified {
        Some((true, message)) => Line::from(Span::styled(message.clone(), theme::ok())),
        Some((false, message)) => Line::from(Span::styled(message.clone(), theme::error())),
        None => Line::from(Span::styled(
            "chain not verified in this session · v to verify",
            theme::dim(),
        )),
    };
    frame.render_widget(Paragraph::new(verdict_line), verdict);
    let rows: Vec<Json> = journal.entries.iter().map(display).collect();
    let range = if rows.is_empty() {
        String::new()
    } else {
        format!(" {}-{}", journal.first_seq(), journal.last_seq())
    };
    let title = format!(
        "Journal — {} entries{range}{}",
        rows.len(),
        if journal.older {
            " · older entries (n: newer)"
        } else if journal.following {
            " · following the change feed"
        } else {
            ""
        }
    );
    table::render_records(
        frame,
        main,
        title,
        &COLUMNS,
        &rows,
        Some(journal.selected),
        None,
    );
    let selected = rows
        .get(journal.selected)
        .map(|r| {
            format!(
                "entry {}: fields {}",
                crate::format::field_text(r, "seq"),
                match crate::format::field_text(r, "fields").as_str() {
                    "" => "(none)".to_string(),
                    f => f.to_string(),
                }
            )
        })
        .unwrap_or_default();
    frame.render_widget(
        Paragraph::new(Span::styled(selected, theme::dim())).wrap(Wrap { trim: false }),
        fields,
    );
}
