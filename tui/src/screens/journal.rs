//! Journal: the latest entries of the audit trail, followed live through the change feed (a
//! blocked `XREAD` on its own connection wakes on every acknowledged change), a filter by user,
//! kind or id, and `v` to verify the whole chain.

use super::table;
use super::Chrome;
use crate::theme;
use crm_server::request::{Command, JournalFilter};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use serde_json::Value as Json;

/// Entries shown (the latest).
pub const SHOWN: usize = 200;

/// The Journal tab's state.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    /// `seq` ascending, at most [`SHOWN`].
    pub entries: Vec<Json>,
    pub selected: usize,
    /// `user NAME`, `kind KIND`, `id N`, as typed.
    pub filter: String,
    /// The last `AUDIT.VERIFY`: whether the chain held, and what was said.
    pub verified: Option<(bool, String)>,
    /// Whether a blocked `XREAD` is out on the feed connection.
    pub following: bool,
}

impl Journal {
    /// The largest `seq` shown (0: none).
    pub fn last_seq(&self) -> u64 {
        self.entries
            .last()
            .and_then(|e| e["seq"].as_u64())
            .unwrap_or(0)
    }

    /// `AUDIT.LOG` with the filter, after `after`: the latest [`SHOWN`] are kept from its
    /// answer (the log is served from its index when filtered).
    pub fn request(&self, after: u64) -> Result<Command, String> {
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
            filters.push((filter, *value));
        }
        Ok(Command::audit_log(after, &filters, 100_000))
    }

    /// The blocked read that wakes when a change after what is shown is acknowledged.
    pub fn follow_request(&self) -> Command {
        let after = match self.last_seq() {
            0 => "$".to_string(),
            seq => format!("{seq}-0"),
        };
        Command::xread_blocking(20_000, "crm:changes", &after)
    }

    /// Takes entries: the first page replaces, later ones append; the latest [`SHOWN`] stay.
    pub fn take(&mut self, mut entries: Vec<Json>, replace: bool) {
        let follow_end = self.entries.is_empty() || self.selected + 1 >= self.entries.len();
        if replace {
            self.entries.clear();
        }
        // A page asked for before the last one arrived may repeat entries.
        let last = self.last_seq();
        entries.retain(|e| replace || e["seq"].as_u64().is_some_and(|seq| seq > last));
        self.entries.append(&mut entries);
        let excess = self.entries.len().saturating_sub(SHOWN);
        self.entries.drain(..excess);
        self.selected = if follow_end {
            self.entries.len().saturating_sub(1)
        } else {
            self.selected.saturating_sub(excess)
        };
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.entries.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
    }
}

const COLUMNS: [(&str, &str, u16); 8] = [
    ("Seq", "seq", 7),
    ("At", "at", 21),
    ("User", "user", 12),
    ("Op", "op", 8),
    ("Kind", "kind", 9),
    ("Id", "id", 8),
    ("Name", "name", 14),
    ("Fields", "fields", 40),
];

pub fn render(frame: &mut Frame, area: Rect, journal: &Journal, chrome: &Chrome) {
    let [prompt, verdict, main] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
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
    let rows: Vec<Json> = journal
        .entries
        .iter()
        .map(|entry| {
            let mut row = entry.clone();
            if let Some(fields) = entry["fields"].as_array() {
                let names: Vec<&str> = fields.iter().filter_map(Json::as_str).collect();
                row["fields"] = Json::String(names.join(", "));
            }
            row
        })
        .collect();
    let title = format!(
        "Journal — the latest {} entries{}",
        rows.len(),
        if journal.following {
            " · following the change feed"
        } else {
            ""
        }
    );
    table::render(frame, main, title, &COLUMNS, &rows, journal.selected);
}
