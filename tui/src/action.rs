//! Everything the operator can ask for, named for the intent.

/// One intent, produced by [`crate::keys::map`] from a key press.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Quit,
    NextTab,
    PreviousTab,
    GoToTab(usize),
    ToggleHelp,
    Up,
    Down,
    NextPage,
    PreviousPage,
    Refresh,
    /// Opens the search (customers) or filter (orders) prompt.
    StartInput,
    /// A character typed into the prompt or form.
    Type(char),
    Backspace,
    /// Enter: submit the prompt or form, or open the selected record.
    Submit,
    /// Esc: close the prompt, form, detail or confirmation.
    Cancel,
    /// Moves between form fields.
    NextField,
    Add,
    Edit,
    Delete,
    Confirm,
    StartBackup,
    VerifyBackup,
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
}
