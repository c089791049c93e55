//! `verify` and `restore`: work on backup files directly, with the key given explicitly.

use super::secrets::Secrets;
use anyhow::{bail, Context};
use crm_engine::backup;
use crm_engine::{KeySource, Options, Store};
use std::path::{Path, PathBuf};

/// The key for offline tools: `--key-file`, else `CRM_PASSPHRASE`; never a development key.
pub fn explicit_key(key_file: Option<PathBuf>, secrets: &Secrets) -> anyhow::Result<KeySource> {
    if let Some(file) = key_file {
        return Ok(KeySource::File(file));
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

fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// `crm-server verify FILE`.
pub fn verify(file: &Path, key_file: Option<PathBuf>, secrets: &Secrets) -> anyhow::Result<()> {
    let key = explicit_key(key_file, secrets)?;
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
pub fn restore(
    file: &Path,
    data: &Path,
    key_file: Option<PathBuf>,
    secrets: &Secrets,
) -> anyhow::Result<()> {
    let key = explicit_key(key_file, secrets)?;
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

/// `crm-server upgrade --data DIR`: opens the store, upgrading an older layout in place with a
/// progress bar on stderr, and closes it.
pub fn upgrade(data: &Path, key_file: Option<PathBuf>, secrets: &Secrets) -> anyhow::Result<()> {
    if !data.join("db").exists() {
        bail!("{} holds no store", data.display());
    }
    let key = explicit_key(key_file, secrets)?;
    let bar = indicatif::ProgressBar::hidden();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let upgraded = std::cell::Cell::new(None);
    let store = Store::open_reporting(data, &key, &Options::default(), &|progress| {
        upgraded.set(Some((progress.from, progress.to)));
        bar.set_message(format!("layout {} -> {}", progress.from, progress.to));
        bar.set_length(progress.total);
        bar.set_position(progress.done);
    })
    .with_context(|| format!("opening the store in {}", data.display()))?;
    store.close()?;
    bar.finish_and_clear();
    match upgraded.get() {
        Some((from, to)) => println!("upgraded {} from layout {from} to {to}", data.display()),
        None => println!(
            "{} is already in layout {}: nothing to do",
            data.display(),
            crm_engine::CURRENT_LAYOUT
        ),
    }
    Ok(())
}
