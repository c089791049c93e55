//! Passwords and roles: Argon2id hashes, verification off the async workers, the first admin.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use crm_engine::{Op, Outcome, Role, User};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Verifies passwords without letting Argon2id take the server's memory or CPU.
///
/// Each Argon2id run takes ~19 MiB and tens of milliseconds, on purpose. Unbounded, 50 clients
/// logging in at once would take ~1 GiB (and glibc keeps it). So runs are limited to one per
/// core, and a successful check is remembered as a keyed BLAKE3 tag of (stored hash, password)
/// under a key that lives only in this process: the same credentials again cost a hash, not an
/// Argon2id run, and a changed password (new stored hash) or a deleted user never matches.
pub struct Authenticator {
    permits: Semaphore,
    verified: Mutex<HashMap<String, [u8; 32]>>,
    /// Lives only in this process, and is wiped when the server stops.
    cache_key: Zeroizing<[u8; 32]>,
    /// A hash of a random password, verified against when a user does not exist, so a wrong
    /// user name takes as long to refuse as a wrong password.
    decoy_hash: String,
    /// Bumped whenever a user is deleted or given a new password: sessions authenticated under
    /// an older value check their user again before their next command (otherwise a command
    /// costs one atomic load for this).
    users_generation: AtomicU64,
}

impl Authenticator {
    pub fn new() -> Authenticator {
        let mut cache_key = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, cache_key.as_mut());
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Authenticator {
            permits: Semaphore::new(cores),
            verified: Mutex::new(HashMap::new()),
            cache_key,
            decoy_hash: hash_password(&random_password()).unwrap_or_default(),
            users_generation: AtomicU64::new(0),
        }
    }

    /// Tells every session that a user went away.
    pub fn users_changed(&self) {
        self.users_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The value sessions compare with what they saw at `AUTH`.
    pub fn users_generation(&self) -> u64 {
        self.users_generation.load(Ordering::SeqCst)
    }

    fn tag(&self, stored_hash: &str, password: &str) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_keyed(&self.cache_key);
        hasher.update(stored_hash.as_bytes());
        hasher.update(&[0]);
        hasher.update(password.as_bytes());
        *hasher.finalize().as_bytes()
    }

    /// Runs an Argon2id computation with one of the limited permits.
    pub async fn with_permit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let _permit = self.permits.acquire().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }

    /// Checks a user's password against the store; `Some(login)` on success.
    pub async fn authenticate(
        &self,
        store: &crm_engine::Store,
        user: &str,
        password: &str,
    ) -> Option<Login> {
        let stored = store.user(user).ok().flatten();
        let (hash, login) = match &stored {
            Some(found) => (
                found.password_hash.clone(),
                Some(Login {
                    role: found.role,
                    masked: found.masked,
                    credential: credential_tag(&found.password_hash),
                }),
            ),
            None => (self.decoy_hash.clone(), None),
        };
        let tag = self.tag(&hash, password);
        if login.is_some() && self.verified.lock().ok()?.get(user) == Some(&tag) {
            return login;
        }
        let password = Zeroizing::new(password.to_string());
        let verified = self
            .with_permit(move || verify(&password, &hash))
            .await
            .unwrap_or(false);
        if verified && login.is_some() {
            self.verified.lock().ok()?.insert(user.to_string(), tag);
            login
        } else {
            None
        }
    }
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new()
    }
}

/// Hashes a password as an Argon2id PHC string (salt included).
pub fn hash_password(password: &str) -> Result<String, crate::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| crate::Error::PasswordHash(e.to_string()))
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

/// A successful `AUTH`: the user's role, and a fingerprint of the credentials it proved.
pub struct Login {
    pub role: Role,
    /// Whether the user sees customers masked.
    pub masked: bool,
    pub credential: [u8; 32],
}

/// BLAKE3 of a user's stored password hash: a session keeps it to notice, later, that its user
/// was deleted and added again or given a new password.
pub fn credential_tag(password_hash: &str) -> [u8; 32] {
    *blake3::hash(password_hash.as_bytes()).as_bytes()
}

/// Creates user `admin` on a store with no users. Returns the password to print when it was
/// generated here (not taken from `CRM_ADMIN_PASSWORD`).
pub fn bootstrap_admin(
    store: &crm_engine::Store,
    from_env: Option<Zeroizing<String>>,
) -> anyhow::Result<Option<String>> {
    if !store.users()?.is_empty() {
        return Ok(None);
    }
    let generated = from_env.is_none();
    let password = from_env.unwrap_or_else(|| Zeroizing::new(random_password()));
    let admin = User {
        name: "admin".into(),
        role: Role::Admin,
        password_hash: hash_password(&password)?,
        masked: false,
    };
    match store.write(Op::BootstrapAdmin(admin))? {
        Outcome::Done if generated => Ok(Some(password.to_string())),
        _ => Ok(None),
    }
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
}
