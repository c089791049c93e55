//! The server's own failures, beside the engine's.
//!
//! The wire client has its own [`crate::client::ClientError`]: it is the half of this crate
//! other programs (the console, the import tool, the tests) link against, and its failures
//! (a refused connection, a reply it cannot read) are not the server's.

/// What can go wrong in the server outside the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Argon2id could not hash a password (a parameter or salt problem, never the password).
    #[error("password hashing failed: {0}")]
    PasswordHash(String),

    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] crm_engine::Error),
}
