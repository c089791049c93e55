//! The keymap's table: every binding of normal mode (its keys, action, help line, tabs, hint
//! and the least role that may use it) and the keys of typing. Data only: `keys.rs` reads it
//! to handle keys and make the hint lines, the help screen shows it. One table in one file
//! (about 450 lines): its order is the order of every hint line and of the help screen.

use crate::action::Action;
use crate::role::Role;
use crate::tab::Tab;
use ratatui::crossterm::event::KeyCode;

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
/// The tabs whose records open in a detail pane.
pub(crate) const RECORDS: &[Tab] = &[Tab::Customers, Tab::Products];
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
