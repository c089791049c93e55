//! The one keymap: key presses to actions, and the list the help screen shows.

use crate::action::Action;
use crate::app::{App, Mode};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Every binding in normal mode, for the help screen and the footer.
pub const BINDINGS: &[(&str, &str)] = &[
    ("Tab / Shift-Tab", "next / previous tab"),
    ("1-6", "go to a tab"),
    ("j k / ↓ ↑", "move the selection"),
    ("n p / PgDn PgUp", "next / previous page"),
    (
        "/",
        "search customers (email, phone or name word); filter orders",
    ),
    ("Enter", "open the selected customer's detail"),
    ("a e d", "add, edit, delete (customers and products)"),
    ("b", "start a backup (Backup tab)"),
    ("v", "verify the selected backup (Backup tab)"),
    ("r", "refresh"),
    ("Esc", "close a prompt, form or detail"),
    ("?", "help"),
    ("q / Ctrl-C", "quit"),
];

/// Maps a key press to an action in the app's current mode.
pub fn map(app: &App, key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match app.mode() {
        Mode::Typing => match key.code {
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Esc => Some(Action::Cancel),
            KeyCode::Backspace => Some(Action::Backspace),
            KeyCode::Tab | KeyCode::Down => Some(Action::NextField),
            KeyCode::Char(c) => Some(Action::Type(c)),
            _ => None,
        },
        Mode::Confirming => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::Confirm),
            _ => Some(Action::Cancel),
        },
        Mode::Normal => match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Tab => Some(Action::NextTab),
            KeyCode::BackTab => Some(Action::PreviousTab),
            KeyCode::Char(c @ '1'..='6') => Some(Action::GoToTab(c as usize - '1' as usize)),
            KeyCode::Char('?') => Some(Action::ToggleHelp),
            KeyCode::Char('j') | KeyCode::Down => Some(Action::Down),
            KeyCode::Char('k') | KeyCode::Up => Some(Action::Up),
            KeyCode::Char('n') | KeyCode::PageDown => Some(Action::NextPage),
            KeyCode::Char('p') | KeyCode::PageUp => Some(Action::PreviousPage),
            KeyCode::Char('r') => Some(Action::Refresh),
            KeyCode::Char('/') => Some(Action::StartInput),
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Esc => Some(Action::Cancel),
            KeyCode::Char('a') => Some(Action::Add),
            KeyCode::Char('e') => Some(Action::Edit),
            KeyCode::Char('d') => Some(Action::Delete),
            KeyCode::Char('b') => Some(Action::StartBackup),
            KeyCode::Char('v') => Some(Action::VerifyBackup),
            _ => None,
        },
    }
}
