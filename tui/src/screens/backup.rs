//! Backup: the list of backups (newest first, sizes in human units), a live gauge while one
//! runs, `b` to take one under a name, and verification.

use super::table::{self, column, Column, Kind};
use crate::format::human_bytes;
use crate::page::Page;
use crate::sort::Sort;
use crate::theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph};
use ratatui::Frame;

pub const COLUMNS: [Column; 5] = [
    column("Name", "name", Kind::Text),
    column("Created", "created_at", Kind::Time),
    column("Records", "records", Kind::Number),
    column("Size", "size", Kind::Number),
    column("BLAKE3", "blake3_prefix", Kind::Text),
];

/// A running or finished backup, as `INFO` reports it.
#[derive(Debug, Clone, Default)]
pub struct BackupStatus {
    pub running: bool,
    pub percent: u64,
    pub records: u64,
    pub bytes: u64,
}

/// The Backup tab's state.
#[derive(Debug, Clone)]
pub struct Backups {
    /// Every backup (`BACKUP.LIST` is not paged), newest first unless sorted otherwise.
    pub page: Page,
    pub status: BackupStatus,
}

impl Default for Backups {
    fn default() -> Backups {
        let mut page = Page::default();
        page.sort = Some(Sort {
            column: 1,
            descending: true,
        });
        Backups {
            page,
            status: BackupStatus::default(),
        }
    }
}

impl Backups {
    /// Takes `BACKUP.LIST`'s answer, each with its size in human units.
    pub fn take(&mut self, mut rows: Vec<serde_json::Value>) {
        for row in &mut rows {
            row["size"] =
                serde_json::Value::String(human_bytes(row["bytes"].as_u64().unwrap_or(0)));
            // Enough of the hash to tell backups apart; `b3sum` checks the whole.
            let hash = row["blake3"].as_str().unwrap_or_default();
            row["blake3_prefix"] = serde_json::Value::String(hash.chars().take(16).collect());
        }
        self.page.arrived(rows, &COLUMNS);
    }
}

pub fn render(frame: &mut Frame, area: Rect, backups: &Backups, chrome: &super::Chrome) {
    let backup = &backups.status;
    let [prompt, gauge_area, list] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Min(3),
    ])
    .areas(area);
    let idle = Line::from(Span::styled(chrome.hints.clone(), theme::dim()));
    frame.render_widget(Paragraph::new(super::prompt_line(chrome, idle)), prompt);
    let label = if backup.running {
        format!(
            "backing up: {}% · {} records · {}",
            backup.percent,
            backup.records,
            human_bytes(backup.bytes)
        )
    } else if backup.percent == 100 {
        "backup complete · b to start another · v to verify the selected".to_string()
    } else {
        "no backup running · b to start one · v to verify the selected".to_string()
    };
    frame.render_widget(
        Gauge::default()
            .block(
                Block::bordered()
                    .title("Backup")
                    .title_style(theme::title()),
            )
            .gauge_style(theme::ok())
            .percent(backup.percent.min(100) as u16)
            .label(label),
        gauge_area,
    );
    let page = &backups.page;
    let title = format!(
        "Backups — {}{}",
        page.rows.len(),
        table::sorted_note(page.sort, &COLUMNS, "")
    );
    table::render_records(
        frame,
        list,
        title,
        &COLUMNS,
        &page.rows,
        Some(page.selected),
        page.sort,
    );
}
