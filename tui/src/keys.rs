//! Key handling and hint lines from the one keymap (`bindings.rs`), the table that also makes
//! the help screen, so what the hints say is what the keys do.

use crate::action::Action;
use crate::app::{App, Mode};
pub use crate::bindings::{Binding, When, BINDINGS, TYPING_HELP};
use crate::line_input::LineEdit;
use crate::role::Role;
use crate::tab::Tab;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use KeyCode::Char;

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
        let details = crate::bindings::RECORDS.iter().flat_map(|tab| {
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
