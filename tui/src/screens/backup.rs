//! Backup: the list of backups, a live gauge while one runs, and verification.

use super::table;
use crate::theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Gauge};
use ratatui::Frame;

const COLUMNS: [(&str, &str, u16); 4] = [
    ("Name", "name", 30),
    ("Created", "created_at", 21),
    ("Records", "records", 10),
    ("Bytes", "bytes", 12),
];

/// A running or finished backup, as `INFO` reports it.
#[derive(Debug, Clone, Default)]
pub struct BackupStatus {
    pub running: bool,
    pub percent: u64,
    pub records: u64,
    pub bytes: u64,
}

pub fn render(frame: &mut Frame, area: Rect, backup: &BackupStatus, backups: &crate::page::Page) {
    let [gauge_area, list] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
    let label = if backup.running {
        format!(
            "backing up: {}% · {} records · {} bytes",
            backup.percent, backup.records, backup.bytes
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
    table::render(
        frame,
        list,
        "Backups".to_string(),
        &COLUMNS,
        &backups.rows,
        backups.selected,
    );
}
