use crate::error::{Error, Result};
use crate::values::quote;
use serde::{Deserialize, Serialize};

/// What a user may do. Roles are cumulative: each may do everything the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Reader,
    Analyst,
    Writer,
    Admin,
}

impl Role {
    /// Parses `admin|writer|analyst|reader` in any case.
    pub fn parse(text: &str) -> Result<Role> {
        match text.to_ascii_lowercase().as_str() {
            "reader" => Ok(Role::Reader),
            "analyst" => Ok(Role::Analyst),
            "writer" => Ok(Role::Writer),
            "admin" => Ok(Role::Admin),
            _ => Err(Error::invalid(
                "role",
                format!(
                    "{} is not a role (admin, writer, analyst, reader)",
                    quote(text)
                ),
            )),
        }
    }

    /// The role's name on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Analyst => "analyst",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }
}

/// A user of the server. The password is stored only as an Argon2id PHC hash string, and the
/// whole record is sealed like every other record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    /// Whether the user sees customers' email, phone and address masked (`USER.MASK`).
    pub masked: bool,
}

impl User {
    /// Checks a user name: 1 to 64 characters, no whitespace or control characters.
    pub fn validate_name(name: &str) -> Result<()> {
        let length = name.chars().count();
        if length == 0 || length > 64 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "user",
                format!(
                    "{} is not a user name (1 to 64 characters, no spaces)",
                    quote(name)
                ),
            ));
        }
        Ok(())
    }
}
