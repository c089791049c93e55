//! The offline tools: `verify` and `restore` work on backup files directly, `rekey` and
//! `upgrade` on a stopped store, each with the key given explicitly.

use super::progress::{backup_bar, show_backup_progress, terminal_bar};
use super::secrets::Secrets;
use super::store_key::explicit_key;
use anyhow::{bail, Context};
use crm_engine::backup;
use crm_engine::{KeySource, Options, Store};
use std::path::{Path, PathBuf};

/// `crm-server verify FILE`.
pub fn verify(file: &Path, key_file: Option<PathBuf>, secrets: &Secrets) -> anyhow::Result<()> {
    let key = explicit_key(key_file, secrets)?;
    must_exist(file)?;
    let bar = backup_bar();
    let info =
        backup::verify_reporting(file, &key, &|progress| show_backup_progress(&bar, progress))
            .with_context(|| format!("{} does not verify", file.display()));
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

/// A backup file that is not there is not a backup that fails verification: say so plainly.
fn must_exist(file: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(file) {
        Ok(metadata) if metadata.is_dir() => {
            bail!("{} is a folder, not a backup file", file.display())
        }
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            bail!("{}: no such file", file.display())
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", file.display())),
    }
}

/// Reads a `FORGET.LIST` reply saved to a file: one JSON array, or one object per line (as
/// `redis-cli --raw` writes it). Every object needs `customer_id` (a positive integer) and `at`
/// (a timestamp).
pub fn read_forget_list(path: &Path) -> anyhow::Result<Vec<(u64, i64)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the forget list {}", path.display()))?;
    let trimmed = text.trim();
    let objects: Vec<serde_json::Value> = if trimmed.starts_with('[') {
        serde_json::from_str(trimmed)
            .with_context(|| format!("the forget list {} is not a JSON array", path.display()))?
    } else {
        trimmed
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(number, line)| {
                serde_json::from_str(line.trim()).with_context(|| {
                    format!(
                        "the forget list {} line {} is not a JSON object",
                        path.display(),
                        number + 1
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    objects
        .iter()
        .enumerate()
        .map(|(index, object)| {
            let id = object
                .get("customer_id")
                .and_then(serde_json::Value::as_u64)
                .filter(|id| *id > 0);
            let at = object
                .get("at")
                .and_then(serde_json::Value::as_str)
                .and_then(|t| crm_engine::values::parse_timestamp("at", t).ok());
            match (id, at) {
                (Some(id), Some(at)) => Ok((id, at)),
                _ => bail!(
                    "the forget list {} entry {}: needs \"customer_id\" (a positive integer) and \"at\" (a timestamp), got {}",
                    path.display(),
                    index + 1,
                    object
                ),
            }
        })
        .collect()
}

/// `crm-server restore FILE --data NEWDIR [--forget LIST]`.
pub fn restore(
    file: &Path,
    data: &Path,
    key_file: Option<PathBuf>,
    forget: Option<&Path>,
    secrets: &Secrets,
) -> anyhow::Result<()> {
    let key = explicit_key(key_file, secrets)?;
    // A bad list is refused before anything is created.
    let forget = forget
        .map(read_forget_list)
        .transpose()?
        .unwrap_or_default();
    must_exist(file)?;
    let bar = backup_bar();
    // The store is built beside `data` and moved there only when finished (the forgotten
    // erased again): an interrupted restore leaves no `data`, and its leftover is cleared here.
    let report = |progress: backup::ReadProgress| {
        if progress.stage == backup::ReadStage::ClearingUnfinished {
            bar.suspend(|| {
                if let Ok(leftover) = backup::unfinished_path(data) {
                    eprintln!(
                        "removing {}, left by an interrupted restore (its customer keys destroyed first)",
                        leftover.display()
                    );
                }
            });
        }
        show_backup_progress(&bar, progress);
    };
    let info = backup::restore_reporting(file, &key, data, &forget, &report)
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

/// `crm-server rekey --data DIR`: re-wraps the store's keys under the new key, with progress
/// on stderr when it is a terminal. `CRM_TEST_REKEY_ABORT_AT=N` aborts the process at step N
/// (the crash tests).
pub fn rekey(
    data: &Path,
    key_file: Option<PathBuf>,
    new_key_file: Option<PathBuf>,
    secrets: &Secrets,
) -> anyhow::Result<()> {
    let old = explicit_key(key_file, secrets)?;
    let new = match new_key_file {
        Some(file) => KeySource::File(file),
        None => match secrets.get("CRM_NEW_PASSPHRASE") {
            Some(passphrase) => {
                KeySource::Passphrase(zeroize::Zeroizing::new(passphrase.to_string()))
            }
            None => bail!("no new key: give --new-key-file FILE or set CRM_NEW_PASSPHRASE"),
        },
    };
    let abort_at: Option<u64> = std::env::var("CRM_TEST_REKEY_ABORT_AT")
        .ok()
        .and_then(|v| v.parse().ok());
    let bar = terminal_bar("rekey [{bar:30}] {pos}/{len} {msg}");
    let outcome = crm_engine::rekey(data, &old, &new, &|done, total, step| {
        if abort_at == Some(done) {
            std::process::abort();
        }
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(step.to_string());
    })
    .with_context(|| format!("rekey of {} failed", data.display()));
    bar.finish_and_clear();
    match outcome? {
        crm_engine::RekeyOutcome::Rekeyed => println!(
            "rekeyed {}: only the new key opens it now (backups made before still need the old one)",
            data.display()
        ),
        crm_engine::RekeyOutcome::AlreadyDone => println!(
            "{} already opens with the new key: nothing to do",
            data.display()
        ),
    }
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
