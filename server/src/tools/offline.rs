//! `verify` and `restore`: work on backup files directly, with the key given explicitly.

use anyhow::{bail, Context};
use crm_engine::backup;
use crm_engine::KeySource;
use std::path::{Path, PathBuf};

/// The key for offline tools: `--key-file`, else `CRM_PASSPHRASE`; never a development key.
pub fn explicit_key(key_file: Option<PathBuf>) -> anyhow::Result<KeySource> {
    if let Some(file) = key_file {
        return Ok(KeySource::File(file));
    }
    match std::env::var("CRM_PASSPHRASE") {
        Ok(passphrase) if !passphrase.is_empty() => {
            Ok(KeySource::Passphrase(zeroize::Zeroizing::new(passphrase)))
        }
        _ => {
            bail!("no key: give --key-file FILE or set CRM_PASSPHRASE (the backed-up store's key)")
        }
    }
}

fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// `crm-server verify FILE`.
pub fn verify(file: &Path, key_file: Option<PathBuf>) -> anyhow::Result<()> {
    let key = explicit_key(key_file)?;
    let bar = spinner("verifying every chunk and the trailer");
    let info =
        backup::verify(file, &key).with_context(|| format!("{} does not verify", file.display()));
    bar.finish_and_clear();
    let info = info?;
    println!(
        "OK {}: {} customers, {} products, {} orders, {} users, {} entries, {} bytes",
        file.display(),
        info.header.customers,
        info.header.products,
        info.header.orders,
        info.header.users,
        info.entries,
        info.bytes
    );
    Ok(())
}

/// `crm-server restore FILE --data NEWDIR`.
pub fn restore(file: &Path, data: &Path, key_file: Option<PathBuf>) -> anyhow::Result<()> {
    let key = explicit_key(key_file)?;
    let bar = spinner("verifying, restoring and checking");
    let info = backup::restore(file, &key, data)
        .with_context(|| format!("restore of {} failed", file.display()));
    bar.finish_and_clear();
    let info = info?;
    println!(
        "restored {} into {}: {} customers, {} products, {} orders, {} users; counts and rollups check out",
        file.display(),
        data.display(),
        info.header.customers,
        info.header.products,
        info.header.orders,
        info.header.users
    );
    Ok(())
}
