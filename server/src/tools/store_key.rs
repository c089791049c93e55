//! Which key opens a store: for `serve` and `passwd` the key file, else `CRM_PASSPHRASE`, else
//! the development key file beside the data folder; for the tools that work on backups and on
//! keys only the first two (a development key is never right for them).

use super::secrets::Secrets;
use anyhow::{bail, Context};
use crm_engine::KeySource;
use std::path::{Path, PathBuf};

/// A path next to `data` (a sibling of the data folder).
pub fn beside(data: &Path, name: &str) -> PathBuf {
    let parent = data
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(name)
}

/// What to do when the development key file does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevKey {
    /// Create it (`serve` on a new store).
    Create,
    /// Refuse (a tool working on an existing store: a new key would not open it).
    MustExist,
}

/// The key for a store: `--key-file`, else `CRM_PASSPHRASE`, else the development key file
/// beside the data folder, with a loud warning.
pub fn store_key(
    data: &Path,
    key_file: Option<PathBuf>,
    secrets: &Secrets,
    dev_key: DevKey,
) -> anyhow::Result<KeySource> {
    if let Some(file) = key_file {
        return key_file_source(file);
    }
    if let Some(passphrase) = secrets.get("CRM_PASSPHRASE") {
        return Ok(KeySource::Passphrase(zeroize::Zeroizing::new(
            passphrase.to_string(),
        )));
    }
    if secrets.was_given("CRM_PASSPHRASE") {
        bail!("CRM_PASSPHRASE is set but empty");
    }
    let name = format!(
        "{}.key",
        data.file_name()
            .map_or("crm-data".into(), |n| n.to_string_lossy().into_owned())
    );
    let file = beside(data, &name);
    if !file.exists() {
        if dev_key == DevKey::MustExist {
            bail!(
                "no key: give --key-file FILE or set CRM_PASSPHRASE (the store's key; there is no development key {})",
                file.display()
            );
        }
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        crm_engine::write_key_file(&file)
            .with_context(|| format!("creating development key {}", file.display()))?;
    }
    eprintln!("################################################################################");
    eprintln!("WARNING: no --key-file and no CRM_PASSPHRASE: using the DEVELOPMENT key file");
    eprintln!("  {}", file.display());
    eprintln!("It lies next to the data it protects. This is NOT for production: give a key file");
    eprintln!("kept elsewhere (crm-server keygen FILE; --key-file FILE) or set CRM_PASSPHRASE.");
    eprintln!("################################################################################");
    Ok(KeySource::File(file))
}

/// The key for offline tools: `--key-file`, else `CRM_PASSPHRASE`; never a development key.
pub fn explicit_key(key_file: Option<PathBuf>, secrets: &Secrets) -> anyhow::Result<KeySource> {
    if let Some(file) = key_file {
        return key_file_source(file);
    }
    match secrets.get("CRM_PASSPHRASE") {
        Some(passphrase) => Ok(KeySource::Passphrase(zeroize::Zeroizing::new(
            passphrase.to_string(),
        ))),
        None => {
            bail!("no key: give --key-file FILE or set CRM_PASSPHRASE (the store's key)")
        }
    }
}

/// `--key-file F`: a file that is not there is said to be the missing key, not a backup or a
/// store that fails to open.
fn key_file_source(file: PathBuf) -> anyhow::Result<KeySource> {
    if !file.exists() {
        bail!("the key file {}: no such file", file.display());
    }
    Ok(KeySource::File(file))
}
