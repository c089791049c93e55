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
}
