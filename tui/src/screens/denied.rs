//! What a tab shows to a role that may not use it: why, instead of empty panes.

use crate::role::{denied, Role};
use crate::tab::Tab;
use crate::theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

pub fn render(frame: &mut Frame, area: Rect, tab: Tab, needs: Role, role: Role) {
    let what = match tab {
        Tab::Backup => "Backups (BACKUP, BACKUP.LIST, BACKUP.VERIFY) are for admins.",
        Tab::Journal => "The journal (AUDIT.LOG, AUDIT.VERIFY) is for admins.",
        Tab::Duplicates => "Duplicates (CUSTOMER.DUPLICATES) are for analysts, writers and admins.",
        _ => "",
    };
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(Span::styled(
                denied(tab.title(), needs, role),
                theme::error(),
            )),
            Line::from(""),
            Line::from(what),
            Line::from("The server would answer NOPERM: nothing is asked of it here."),
        ])
        .wrap(Wrap { trim: false })
        .block(
            Block::bordered()
                .title(tab.title())
                .title_style(theme::title()),
        ),
        area,
    );
}
