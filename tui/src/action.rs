//! Everything the operator can ask for, named for the intent.

use crate::line_input::LineEdit;

/// One intent, produced by [`crate::keys::map`] from a key press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Quit,
    NextTab,
    PreviousTab,
    GoToTab(usize),
    ToggleHelp,
    /// The previous row (at a page's first row: the previous page's last).
    Up,
    /// The next row (at a page's last row: the next page's first).
    Down,
    /// The first row of the first page.
    Top,
    /// The last row of the last page.
    Bottom,
    NextPage,
    PreviousPage,
    /// Sorts by the next column.
    SortNext,
    /// Turns the sort's direction.
    SortFlip,
    /// Refreshes the tab (and, while disconnected, reconnects now).
    Refresh,
    /// Opens the tab's search or filter prompt.
    StartInput,
    /// A character typed into the prompt or form.
    Type(char),
    /// Editing the line being typed (arrows, Home/End, Backspace, Ctrl-U, Ctrl-W...).
    EditLine(LineEdit),
    /// Enter: submit the prompt or form, or open the selected record.
    Submit,
    /// Esc: close the prompt, form, detail or confirmation; clear a search or filter.
    Cancel,
    /// Moves between form fields.
    NextField,
    PreviousField,
    Add,
    Edit,
    Delete,
    Confirm,
    StartBackup,
    VerifyBackup,
    /// Customer detail: scroll its orders.
    ScrollDetail(isize),
    /// Customer detail: the plain record (`CUSTOMER.REVEAL`, journaled).
    Reveal,
    /// Customer detail (admin): `CUSTOMER.EXPORT` to a file.
    Export,
    /// Customer detail (admin): `CUSTOMER.FORGET`, after the id is typed again.
    Forget,
    /// Duplicates: merge the pair, keeping the first (smaller) id.
    Merge,
    /// Duplicates: merge the pair, keeping the second id.
    MergeKeepSecond,
    /// Duplicates: undo a recent merge.
    Unmerge,
    /// Journal: check the whole chain (`AUDIT.VERIFY`).
    VerifyJournal,
    /// Schema: turn the selected custom field's index on or off (`SCHEMA.FIELD.INDEX`).
    ToggleIndex,
}
