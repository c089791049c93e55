//! Passwords and roles: Argon2id hashes, verification off the async workers, the first admin.

use crate::state::Shared;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use crm_engine::{Op, Outcome, Role, User};
use std::sync::Arc;
use std::time::Duration;

/// Hashes a password as an Argon2id PHC string (salt included).
pub fn hash_password(password: &str) -> Result<String, crm_engine::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| crm_engine::Error::Key(format!("password hashing failed: {e}")))
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A random password for the first admin when none is given.
pub fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Checks a user's password; `Some(role)` on success. Runs the hash on a blocking thread.
pub async fn authenticate(shared: &Arc<Shared>, user: &str, password: &str) -> Option<Role> {
    let stored = shared.store.user(user).ok().flatten();
    let (hash, role) = match &stored {
        Some(found) => (found.password_hash.clone(), Some(found.role)),
        None => (shared.decoy_hash.clone(), None),
    };
    let password = zeroize::Zeroizing::new(password.to_string());
    let verified = tokio::task::spawn_blocking(move || verify(&password, &hash))
        .await
        .unwrap_or(false);
    if verified {
        role
    } else {
        None
    }
}

/// How long to wait before answering the `failures`-th failed `AUTH` on a connection:
/// 100 ms, doubling, at most 2 s, so guessing is slow but a typo is not punished much.
pub fn failure_delay(failures: u32) -> Duration {
    Duration::from_millis(
        100u64
            .saturating_mul(1 << failures.saturating_sub(1).min(5))
            .min(2_000),
    )
}

/// Creates user `admin` on a store with no users. Returns the password to print when it was
/// generated here (not taken from `CRM_ADMIN_PASSWORD`).
pub fn bootstrap_admin(
    store: &crm_engine::Store,
    from_env: Option<String>,
) -> anyhow::Result<Option<String>> {
    if !store.users()?.is_empty() {
        return Ok(None);
    }
    let generated = from_env.is_none();
    let password = from_env.unwrap_or_else(random_password);
    let admin = User {
        name: "admin".into(),
        role: Role::Admin,
        password_hash: hash_password(&password)?,
    };
    match store.write(Op::BootstrapAdmin(admin))? {
        Outcome::Done if generated => Ok(Some(password)),
        _ => Ok(None),
    }
}

/// A decoy hash for unknown users.
pub fn decoy_hash() -> String {
    hash_password(&random_password()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let hash = hash_password("s3cret").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify("s3cret", &hash));
        assert!(!verify("s3cret ", &hash));
        assert!(!verify("s3cret", "not a hash"));
    }

    #[test]
    fn delays_grow_and_cap() {
        assert_eq!(failure_delay(1), Duration::from_millis(100));
        assert_eq!(failure_delay(2), Duration::from_millis(200));
        assert_eq!(failure_delay(30), Duration::from_millis(2_000));
    }
}
