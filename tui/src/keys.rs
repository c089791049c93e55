//! The one keymap: a table of bindings that drives the key handling, the help screen and the
//! hint line of every tab, so what the hints say is what the keys do.

use crate::action::Action;
use crate::app::{App, Mode};
use crate::line_input::LineEdit;
use crate::role::Role;
use crate::tab::Tab;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a binding applies beyond its tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Only while a record's detail is open (a customer's or a product's).
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
    /// The least role that may use it.
    pub needs: Role,
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
        needs: Role::Reader,
    }
}

impl Binding {
    /// The same binding, for `role` and above.
    const fn needs(self, role: Role) -> Binding {
        Binding {
            needs: role,
            ..self
        }
    }
}

use KeyCode::Char;
const RECORDS: &[Tab] = &[Tab::Customers, Tab::Products];
const PAGED: &[Tab] = &[Tab::Customers, Tab::Products, Tab::Orders, Tab::Journal];
const TABLES: &[Tab] = &[
    Tab::Customers,
    Tab::Products,
    Tab::Orders,
    Tab::Backup,
    Tab::Journal,
    Tab::Duplicates,
];
const SORTED: &[Tab] = &[Tab::Customers, Tab::Products, Tab::Orders, Tab::Backup];

/// Every binding in normal mode, first match wins (so tab-specific ones come first). The
/// number keys go to tabs and are handled before the table.
pub const BINDINGS: &[Binding] = &[
    bind(
        "J K",
        &[Char('J')],
        Action::ScrollDetail(1),
        "scroll the detail's orders",
        &[Tab::Customers],
        When::Detail,
        "J/K scroll",
    ),
    bind(
        "",
        &[Char('K')],
        Action::ScrollDetail(-1),
        "",
        &[Tab::Customers],
        When::Detail,
        "",
    ),
    bind(
        "R",
        &[Char('R')],
        Action::Reveal,
        "reveal the plain record (journaled)",
        &[Tab::Customers],
        When::Detail,
        "R reveal",
    )
    .needs(Role::Writer),
    bind(
        "X",
        &[Char('X')],
        Action::Export,
        "export the customer to a file",
        &[Tab::Customers],
        When::Detail,
        "X export",
    )
    .needs(Role::Admin),
    bind(
        "F",
        &[Char('F')],
        Action::Forget,
        "forget the customer for good (type the id)",
        &[Tab::Customers],
        When::Detail,
        "F forget",
    )
    .needs(Role::Admin),
    bind(
        "Esc",
        &[KeyCode::Esc],
        Action::Cancel,
        "close the detail",
        RECORDS,
        When::Detail,
        "Esc close",
    ),
    bind(
        "/",
        &[Char('/')],
        Action::StartInput,
        "search customers (email, phone or name word), or query: where stage = lead and total_amount > 100 sort last_order desc",
        &[Tab::Customers],
        When::Always,
        "/ search",
    ),
    bind(
        "/",
        &[Char('/')],
        Action::StartInput,
        "search products (part of a name), or query: where stock < 5 sort price desc",
        &[Tab::Products],
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
        "open the selected customer's or product's detail (it follows the selection)",
        RECORDS,
        When::Always,
        "Enter detail",
    ),
    bind(
        "a",
        &[Char('a')],
        Action::Add,
        "declare a custom field (asks to confirm)",
        &[Tab::Schema],
        When::Always,
        "a add field",
    )
    .needs(Role::Admin),
    bind(
        "d",
        &[Char('d')],
        Action::Delete,
        "drop the selected custom field (asks to confirm)",
        &[Tab::Schema],
        When::Always,
        "d drop field",
    )
    .needs(Role::Admin),
    bind(
        "i",
        &[Char('i')],
        Action::ToggleIndex,
        "index the selected custom field in memory, or stop (asks to confirm)",
        &[Tab::Schema],
        When::Always,
        "i index on/off",
    )
    .needs(Role::Admin),
    bind(
        "a",
        &[Char('a')],
        Action::Add,
        "add a customer or product",
        RECORDS,
        When::Always,
        "a add",
    )
    .needs(Role::Writer),
    bind(
        "e",
        &[Char('e')],
        Action::Edit,
        "edit the selected customer or product",
        RECORDS,
        When::Always,
        "e edit",
    )
    .needs(Role::Writer),
    bind(
        "e",
        &[Char('e')],
        Action::Edit,
        "edit the parameters (K, as of, threshold, months)",
        &[Tab::Analytics],
        When::Always,
        "e parameters",
    ),
    bind(
        "d",
        &[Char('d')],
        Action::Delete,
        "delete the selected customer or product",
        RECORDS,
        When::Always,
        "d delete",
    )
    .needs(Role::Writer),
    bind(
        "b",
        &[Char('b')],
        Action::StartBackup,
        "start a backup (asks for a name)",
        &[Tab::Backup],
        When::Always,
        "b backup",
    )
    .needs(Role::Admin),
    bind(
        "v",
        &[Char('v')],
        Action::VerifyBackup,
        "verify the selected backup",
        &[Tab::Backup],
        When::Always,
        "v verify",
    )
    .needs(Role::Admin),
    bind(
        "v",
        &[Char('v')],
        Action::VerifyJournal,
        "verify the journal's whole chain",
        &[Tab::Journal],
        When::Always,
        "v verify",
    )
    .needs(Role::Admin),
    bind(
        "m",
        &[Char('m')],
        Action::Merge,
        "merge the pair, keeping the first id",
        &[Tab::Duplicates],
        When::Always,
        "m merge (keep a)",
    )
    .needs(Role::Writer),
    bind(
        "M",
        &[Char('M')],
        Action::MergeKeepSecond,
        "merge the pair, keeping the second id",
        &[Tab::Duplicates],
        When::Always,
        "M merge (keep b)",
    )
    .needs(Role::Writer),
    bind(
        "u",
        &[Char('u')],
        Action::Unmerge,
        "undo a recent merge",
        &[Tab::Duplicates],
        When::Always,
        "u undo merge",
    )
    .needs(Role::Writer),
    bind(
        "n p / PgDn PgUp",
        &[Char('n'), KeyCode::PageDown],
        Action::NextPage,
        "next / previous page (Journal: newer / older entries)",
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
        "g G / Home End",
        &[Char('g'), KeyCode::Home],
        Action::Top,
        "the first row of the first page / the last of the last",
        TABLES,
        When::Always,
        "g/G ends",
    ),
    bind(
        "",
        &[Char('G'), KeyCode::End],
        Action::Bottom,
        "",
        TABLES,
        When::Always,
        "",
    ),
    bind(
        "s S",
        &[Char('s')],
        Action::SortNext,
        "sort by the next column / turn the sort's direction",
        SORTED,
        When::Always,
        "s/S sort",
    ),
    bind(
        "",
        &[Char('S')],
        Action::SortFlip,
        "",
        SORTED,
        When::Always,
        "",
    ),
    bind(
        "j k / ↓ ↑",
        &[Char('j'), KeyCode::Down],
        Action::Down,
        "move the selection (past a page's end: the next page)",
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
        "1-9",
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
        "refresh (while disconnected: reconnect now)",
        &[],
        When::Always,
        "r refresh",
    ),
    bind(
        "Esc",
        &[KeyCode::Esc],
        Action::Cancel,
        "close a prompt or form; clear a search or filter",
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

/// Keys while typing into a prompt, form or the login screen (shown in the help).
pub const TYPING_HELP: &[(&str, &str)] = &[
    ("← → / Home End", "move in the line (also Ctrl-A, Ctrl-E)"),
    (
        "Ctrl-U / Ctrl-K",
        "delete to the start / to the end of the line",
    ),
    ("Ctrl-W", "delete the word before the cursor"),
    ("Tab / ↓ ↑", "next / previous field of a form"),
    ("Enter / Esc", "submit / cancel"),
];

impl Binding {
    fn applies(&self, tab: Tab, detail_open: bool) -> bool {
        (self.tabs.is_empty() || self.tabs.contains(&tab))
            && (self.when == When::Always || detail_open)
    }
}

/// The hint line of a tab: its bindings' hints the role may use, in table order. `detail`
/// chooses the detail pane's own hints (or the tab's others).
pub fn hints(tab: Tab, detail: bool, role: Option<Role>) -> String {
    let mut seen = Vec::new();
    for binding in BINDINGS {
        let detail_binding = binding.when == When::Detail;
        if !binding.hint.is_empty()
            && binding.applies(tab, detail)
            && detail_binding == detail
            && role.is_none_or(|r| r >= binding.needs)
            && !seen.contains(&binding.hint)
        {
            seen.push(binding.hint);
        }
    }
    seen.join(" · ")
}

/// The binding of an action on a tab, if a key is bound to it there.
pub fn binding(action: &Action, tab: Tab, detail_open: bool) -> Option<&'static Binding> {
    BINDINGS
        .iter()
        .find(|b| b.action == *action && b.applies(tab, detail_open))
}

/// Maps a key press to an action in the app's current mode.
pub fn map(app: &App, key: KeyEvent) -> Option<Action> {
    let control = key.modifiers.contains(KeyModifiers::CONTROL);
    if control && key.code == Char('c') {
        return Some(Action::Quit);
    }
    match app.mode() {
        Mode::Typing => typing(key.code, control),
        Mode::Confirming => match key.code {
            Char('y') | Char('Y') => Some(Action::Confirm),
            _ => Some(Action::Cancel),
        },
        Mode::Normal => {
            if let Char(c @ '1'..='9') = key.code {
                let index = c as usize - '1' as usize;
                return Tab::at(index).map(|_| Action::GoToTab(index));
            }
            BINDINGS
                .iter()
                .find(|b| b.codes.contains(&key.code) && b.applies(app.tab, app.detail_open()))
                .map(|b| b.action.clone())
        }
    }
}

/// Keys while typing: the shell's line editing.
fn typing(code: KeyCode, control: bool) -> Option<Action> {
    let edit = |e| Some(Action::EditLine(e));
    if control {
        return match code {
            Char('u') => edit(LineEdit::KillToStart),
            Char('k') => edit(LineEdit::KillToEnd),
            Char('w') | KeyCode::Backspace => edit(LineEdit::KillWordBack),
            Char('a') => edit(LineEdit::Home),
            Char('e') => edit(LineEdit::End),
            Char('b') => edit(LineEdit::Left),
            Char('f') => edit(LineEdit::Right),
            Char('h') => edit(LineEdit::DeleteBack),
            Char('d') => edit(LineEdit::DeleteForward),
            _ => None,
        };
    }
    match code {
        KeyCode::Enter => Some(Action::Submit),
        KeyCode::Esc => Some(Action::Cancel),
        KeyCode::Backspace => edit(LineEdit::DeleteBack),
        KeyCode::Delete => edit(LineEdit::DeleteForward),
        KeyCode::Left => edit(LineEdit::Left),
        KeyCode::Right => edit(LineEdit::Right),
        KeyCode::Home => edit(LineEdit::Home),
        KeyCode::End => edit(LineEdit::End),
        KeyCode::Tab | KeyCode::Down => Some(Action::NextField),
        KeyCode::BackTab | KeyCode::Up => Some(Action::PreviousField),
        Char(c) => Some(Action::Type(c)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_come_from_the_table_and_the_role() {
        assert_eq!(
            hints(Tab::Customers, false, None),
            "/ search · Enter detail · a add · e edit · d delete · n/p page · g/G ends · s/S sort · r refresh"
        );
        assert_eq!(
            hints(Tab::Customers, false, Some(Role::Reader)),
            "/ search · Enter detail · n/p page · g/G ends · s/S sort · r refresh"
        );
        assert_eq!(
            hints(Tab::Customers, true, Some(Role::Admin)),
            "J/K scroll · R reveal · X export · F forget · Esc close"
        );
        assert_eq!(
            hints(Tab::Customers, true, Some(Role::Writer)),
            "J/K scroll · R reveal · Esc close"
        );
        assert_eq!(hints(Tab::Products, true, Some(Role::Reader)), "Esc close");
        assert_eq!(
            hints(Tab::Schema, false, Some(Role::Admin)),
            "a add field · d drop field · i index on/off · r refresh"
        );
    }

    #[test]
    // Guards against the detail's keys taking a key another binding of the tab uses.
    fn the_detail_keys_clash_with_no_other_key_of_the_tab() {
        let details = RECORDS.iter().flat_map(|tab| {
            BINDINGS
                .iter()
                .filter(move |b| b.when == When::Detail && b.applies(*tab, true))
                .map(move |b| (*tab, b))
        });
        for (tab, detail) in details {
            for other in BINDINGS
                .iter()
                .filter(|b| b.when == When::Always && b.applies(tab, true))
            {
                if detail.action != other.action {
                    for code in detail.codes {
                        assert!(
                            !other.codes.contains(code),
                            "{code:?} is both {:?} and {:?}",
                            detail.action,
                            other.action
                        );
                    }
                }
            }
        }
    }
}
