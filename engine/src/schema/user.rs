//! The fields of a user that journal entries name. Users are not records of the schema: they
//! have no declared fields, no JSON of their own and no CSV; their entries name what changed.

/// A user's field as a journal entry names it.
pub(crate) struct UserField {
    pub name: &'static str,
    pub journal_code: u8,
}

pub(crate) const PASSWORD: UserField = UserField {
    name: "password",
    journal_code: 11,
};
pub(crate) const ROLE: UserField = UserField {
    name: "role",
    journal_code: 12,
};
pub(crate) const MASKED: UserField = UserField {
    name: "masked",
    journal_code: 13,
};

/// Every user field, for the journal's codes.
pub(crate) const USER_FIELDS: [UserField; 3] = [PASSWORD, ROLE, MASKED];
