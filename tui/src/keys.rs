//! The one keymap: a table of bindings that drives the key handling, the help screen and the
//! hint line of every tab, so what the hints say is what the keys do.

use crate::action::Action;
use crate::app::{App, Mode};
use crate::tab::Tab;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies beyond its tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only while a customer's detail is open.
    Detail,
}

/// One binding in normal mode.
pub struct Binding {
    /// How the help shows the keys.
    pub label: &'static str,
    pub codes: &'static [KeyCode],
    pub action: Action,
    pub help: &'static str,
    /// The tabs it works in (empty: every tab).
    pub tabs: &'static [Tab],
    pub when: When,
    /// The tab's hint line text ("" for none).
    pub hint: &'static str,
}

const fn bind(
    label: &'static str,
    codes: &'static [KeyCode],
    action: Action,
    help: &'static str,
    tabs: &'static [Tab],
    when: When,
    hint: &'static str,
) -> Binding {
    Binding {
        label,
        codes,
        action,
        help,
        tabs,
        when,
        hint,
    }
}

use KeyCode::Char;
const RECORDS: &[Tab] = &[Tab::Customers, Tab::Products];
const PAGED: &[Tab] = &[Tab::Customers, Tab::Products, Tab::Orders, Tab::Backup];

/// Every binding in normal mode, first match wins (so tab-specific ones come first). The
/// number keys go to tabs and are handled before the table.
pub const BINDINGS: &[Binding] = &[
    bind(
        "r",
        &[Char('r')],
        Action::Reveal,
        "reveal the plain record (journaled)",
        &[Tab::Customers],
        When::Detail,
        "r reveal",
    ),
    bind(
        "x",
        &[Char('x')],
        Action::Export,
        "export the customer to a file (admin)",
        &[Tab::Customers],
        When::Detail,
        "x export",
    ),
    bind(
        "F",
        &[Char('F')],
        Action::Forget,
        "forget the customer for good (admin; type the id)",
        &[Tab::Customers],
        When::Detail,
        "F forget",
    ),
    bind(
        "/",
        &[Char('/')],
        Action::StartInput,
        "search customers (email, phone or name word)",
        &[Tab::Customers],
        When::Always,
        "/ search",
    ),
    bind(
        "/",
        &[Char('/')],
        Action::StartInput,
        "filter orders (customer N, product N, since, until)",
        &[Tab::Orders],
        When::Always,
        "/ filter",
    ),
    bind(
        "/",
        &[Char('/')],
        Action::StartInput,
        "filter the journal (user NAME, kind KIND, id N)",
        &[Tab::Journal],
        When::Always,
        "/ filter",
    ),
    bind(
        "Enter",
        &[KeyCode::Enter],
        Action::Submit,
        "open the selected customer's detail",
        &[Tab::Customers],
        When::Always,
        "Enter detail",
    ),
    bind(
        "a",
        &[Char('a')],
        Action::Add,
        "add a customer or product",
        RECORDS,
        When::Always,
        "a add",
    ),
    bind(
        "e",
        &[Char('e')],
        Action::Edit,
        "edit the selected customer or product",
        RECORDS,
        When::Always,
        "e edit",
    ),
    bind(
        "d",
        &[Char('d')],
        Action::Delete,
        "delete the selected customer or product",
        RECORDS,
        When::Always,
        "d delete",
    ),
    bind(
        "b",
        &[Char('b')],
        Action::StartBackup,
        "start a backup",
        &[Tab::Backup],
        When::Always,
        "b backup",
    ),
    bind(
        "v",
        &[Char('v')],
        Action::VerifyBackup,
        "verify the selected backup",
        &[Tab::Backup],
        When::Always,
        "v verify",
    ),
    bind(
        "v",
        &[Char('v')],
        Action::VerifyJournal,
        "verify the journal's whole chain",
        &[Tab::Journal],
        When::Always,
        "v verify",
    ),
    bind(
        "m",
        &[Char('m')],
        Action::Merge,
        "merge the pair, keeping the first id",
        &[Tab::Duplicates],
        When::Always,
        "m merge (keep a)",
    ),
    bind(
        "M",
        &[Char('M')],
        Action::MergeKeepSecond,
        "merge the pair, keeping the second id",
        &[Tab::Duplicates],
        When::Always,
        "M merge (keep b)",
    ),
    bind(
        "u",
        &[Char('u')],
        Action::Unmerge,
        "undo a recent merge",
        &[Tab::Duplicates],
        When::Always,
        "u undo merge",
    ),
    bind(
        "n p / PgDn PgUp",
        &[Char('n'), KeyCode::PageDown],
        Action::NextPage,
        "next page",
        PAGED,
        When::Always,
        "n/p page",
    ),
    bind(
        "",
        &[Char('p'), KeyCode::PageUp],
        Action::PreviousPage,
        "",
        PAGED,
        When::Always,
        "",
    ),
    bind(
        "j k / ↓ ↑",
        &[Char('j'), KeyCode::Down],
        Action::Down,
        "move the selection",
        &[],
        When::Always,
        "",
    ),
    bind(
        "",
        &[Char('k'), KeyCode::Up],
        Action::Up,
        "",
        &[],
        When::Always,
        "",
    ),
    bind(
        "Tab / Shift-Tab",
        &[KeyCode::Tab],
        Action::NextTab,
        "next / previous tab",
        &[],
        When::Always,
        "",
    ),
    bind(
        "",
        &[KeyCode::BackTab],
        Action::PreviousTab,
        "",
        &[],
        When::Always,
        "",
    ),
    bind(
        "1-8",
        &[],
        Action::GoToTab(0),
        "go to a tab",
        &[],
        When::Always,
        "",
    ),
    bind(
        "r",
        &[Char('r')],
        Action::Refresh,
        "refresh",
        &[],
        When::Always,
        "r refresh",
    ),
    bind(
        "Esc",
        &[KeyCode::Esc],
        Action::Cancel,
        "close a prompt, form or detail",
        &[],
        When::Always,
        "",
    ),
    bind(
        "?",
        &[Char('?')],
        Action::ToggleHelp,
        "help",
        &[],
        When::Always,
        "",
    ),
    bind(
        "q / Ctrl-C",
        &[Char('q')],
        Action::Quit,
        "quit",
        &[],
        When::Always,
        "",
    ),
];

impl Binding {
    fn applies(&self, tab: Tab, detail_open: bool) -> bool {
        (self.tabs.is_empty() || self.tabs.contains(&tab))
            && (self.when == When::Always || detail_open)
    }
}

/// The hint line of a tab: its bindings' hints, in table order.
pub fn hints(tab: Tab, detail_open: bool) -> String {
    let mut seen = Vec::new();
    for binding in BINDINGS {
        if !binding.hint.is_empty()
            && binding.applies(tab, detail_open)
            && !seen.contains(&binding.hint)
        {
            seen.push(binding.hint);
        }
    }
    seen.join(" · ")
}

/// Maps a key press to an action in the app's current mode.
pub fn map(app: &App, key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == Char('c') {
        return Some(Action::Quit);
    }
    match app.mode() {
        Mode::Typing => match key.code {
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Esc => Some(Action::Cancel),
            KeyCode::Backspace => Some(Action::Backspace),
            KeyCode::Tab | KeyCode::Down => Some(Action::NextField),
            Char(c) => Some(Action::Type(c)),
            _ => None,
        },
        Mode::Confirming => match key.code {
            Char('y') | Char('Y') => Some(Action::Confirm),
            _ => Some(Action::Cancel),
        },
        Mode::Normal => {
            if let Char(c @ '1'..='9') = key.code {
                let index = c as usize - '1' as usize;
                return Tab::at(index).map(|_| Action::GoToTab(index));
            }
            let detail_open = app.customers.detail.is_some();
            BINDINGS
                .iter()
                .find(|b| b.codes.contains(&key.code) && b.applies(app.tab, detail_open))
                .map(|b| b.action.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_come_from_the_table() {
        assert_eq!(
            hints(Tab::Customers, false),
            "/ search · Enter detail · a add · e edit · d delete · n/p page · r refresh"
        );
        assert!(hints(Tab::Customers, true).starts_with("r reveal · x export · F forget"));
        assert_eq!(
            hints(Tab::Journal, false),
            "/ filter · v verify · r refresh"
        );
    }
}
