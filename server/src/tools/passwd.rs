//! `crm-server passwd --data DIR USER`: gives a user a new password, offline — the way back in
//! for an operator locked out of a store (the first admin's password lost, the last admin's
//! forgotten). It opens the store with its key as `serve` finds it (never creating a
//! development key), so it refuses while a server holds the folder; the change is journaled as
//! any password change is (`update`, kind `user`, fields `["password"]`), with no user: it is
//! the server's own write, not a session's.

use super::password::{password, Source};
use super::secrets::Secrets;
use super::store_key::{store_key, DevKey};
use anyhow::{bail, Context};
use crm_engine::{ErrorKind, Op, Options, Store};
use std::path::{Path, PathBuf};

/// The longest password the server takes (as `USER.PASSWD`).
const MAX_PASSWORD_BYTES: usize = 1024;

/// What `passwd` needs besides the store.
pub struct NewPassword<'a> {
    pub user: &'a str,
    /// `--password-file`: the file holding the new password.
    pub file: Option<&'a Path>,
}

pub fn passwd(
    data: &Path,
    key_file: Option<PathBuf>,
    new: NewPassword,
    secrets: &Secrets,
) -> anyhow::Result<()> {
    if !data.join("db").exists() {
        bail!("{} holds no store", data.display());
    }
    let key = store_key(data, key_file, secrets, DevKey::MustExist)?;
    let store = match Store::open(data, &key, &Options::default()) {
        Ok(store) => store,
        Err(error) if error.kind() == ErrorKind::Busy => bail!(
            "{}: {error}; stop the server first (or, logged in as an admin, use USER.PASSWD)",
            data.display()
        ),
        Err(error) => {
            return Err(error).with_context(|| format!("opening the store in {}", data.display()))
        }
    };
    if store.user(new.user)?.is_none() {
        let users: Vec<String> = store.users()?.into_iter().map(|u| u.name).collect();
        bail!(
            "{} has no user {}; its users: {}",
            data.display(),
            crm_engine::values::quote(new.user),
            users.join(", ")
        );
    }
    let source = Source {
        file: new.file,
        variable: "CRM_NEW_PASSWORD",
        prompt: format!("new password for {}: ", new.user),
        confirm: true,
    };
    let password = password(&source, secrets)?;
    if password.len() > MAX_PASSWORD_BYTES {
        bail!("password: must be 1 to {MAX_PASSWORD_BYTES} bytes");
    }
    let password_hash = crm_server::auth::hash_password(&password)?;
    store
        .write(Op::SetPassword {
            name: new.user.to_string(),
            password_hash,
        })
        .with_context(|| format!("setting the password of {}", new.user))?;
    store.close()?;
    println!("{}: user {} has a new password", data.display(), new.user);
    Ok(())
}
