//! Duplicates: the pairs `CUSTOMER.DUPLICATES` finds (score and reasons), both records of the
//! selected pair side by side, `m` / `M` to merge (the confirmation names which record is
//! kept) and `u` to undo a recent merge.

use super::table::{self, column, Column, Kind};
use super::Chrome;
use crate::format::field_text;
use crate::theme;
use crm_engine::{Customer, Record};
use crm_server::request::Command;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use serde_json::Value as Json;
use std::collections::HashMap;

/// The Duplicates tab's state.
#[derive(Debug, Clone, Default)]
pub struct Duplicates {
    pub pairs: Vec<Json>,
    pub selected: usize,
    /// The records of the pairs looked at, by id.
    pub records: HashMap<u64, Json>,
    /// The customers merged away in this session, latest last (what `u` offers first).
    pub merged_away: Vec<u64>,
}

impl Duplicates {
    pub fn request() -> Command {
        Command::customer_duplicates("0.5", 100)
    }

    /// The selected pair's ids.
    pub fn selected_pair(&self) -> Option<(u64, u64)> {
        let pair = self.pairs.get(self.selected)?;
        Some((pair["a"].as_u64()?, pair["b"].as_u64()?))
    }

    /// The ids of the selected pair whose records are not loaded yet.
    pub fn missing_records(&self) -> Vec<u64> {
        match self.selected_pair() {
            Some((a, b)) => [a, b]
                .into_iter()
                .filter(|id| !self.records.contains_key(id))
                .collect(),
            None => Vec::new(),
        }
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.pairs.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
    }
}

const COLUMNS: [Column; 4] = [
    column("a", "a", Kind::Number),
    column("b", "b", Kind::Number),
    column("Score", "score", Kind::Number),
    column("Reasons", "reasons", Kind::Text),
];

fn record_lines(record: Option<&Json>, id: u64, kept: bool) -> Vec<Line<'static>> {
    let Some(c) = record else {
        return vec![Line::from(format!("customer {id}: loading..."))];
    };
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{} {}",
            field_text(c, "name"),
            if kept { "(kept by m)" } else { "(kept by M)" }
        ),
        theme::title(),
    ))];
    // The id, then every field of the schema but the name (the title's).
    let fields = Customer::schema()
        .fields()
        .filter(|field| field.id != Customer::NAME)
        .map(|field| field.name);
    for key in std::iter::once("id").chain(fields) {
        lines.push(Line::from(format!("{key}: {}", field_text(c, key))));
    }
    lines
}

pub fn render(frame: &mut Frame, area: Rect, dups: &Duplicates, chrome: &Chrome) {
    let [prompt, list, sides] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(55),
        Constraint::Min(6),
    ])
    .areas(area);
    let line = super::prompt_line(
        chrome,
        Line::from(Span::styled(chrome.hints.clone(), theme::dim())),
    );
    frame.render_widget(Paragraph::new(line), prompt);
    let rows: Vec<Json> = dups
        .pairs
        .iter()
        .map(|p| {
            let mut row = p.clone();
            let reasons: Vec<&str> = p["reasons"]
                .as_array()
                .map(|r| r.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            row["reasons"] = Json::String(reasons.join(", "));
            row
        })
        .collect();
    table::render_records(
        frame,
        list,
        format!(
            "Duplicates — {} pairs at score 0.5 or more",
            dups.pairs.len()
        ),
        &COLUMNS,
        &rows,
        Some(dups.selected),
        None,
    );
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(sides);
    if let Some((a, b)) = dups.selected_pair() {
        frame.render_widget(
            Paragraph::new(record_lines(dups.records.get(&a), a, true))
                .block(Block::bordered().title(format!("a: customer {a}"))),
            left,
        );
        frame.render_widget(
            Paragraph::new(record_lines(dups.records.get(&b), b, false))
                .block(Block::bordered().title(format!("b: customer {b}"))),
            right,
        );
    }
}
