//! Tools that talk to a running server: `backup` (and the shared login).

use super::secrets::Secrets;
use anyhow::Context;
use crm_server::client::{Client, Value};
use crm_server::request::Command;
use std::time::Duration;

/// Connects and logs in; the password comes from `CRM_PASSWORD` or a prompt.
pub fn login(address: &str, user: &str, secrets: &Secrets) -> anyhow::Result<Client> {
    let password = zeroize::Zeroizing::new(match secrets.get("CRM_PASSWORD") {
        Some(password) => password.to_string(),
        None => rpassword::prompt_password(format!("password for {user}@{address}: "))?,
    });
    let mut client = Client::connect(address, Duration::from_secs(10))
        .with_context(|| format!("connecting to {address}"))?;
    client.auth(user, &password).context("logging in")?;
    Ok(client)
}

fn info_field(info: &str, key: &str) -> u64 {
    info.lines()
        .find_map(|line| {
            line.strip_prefix(key)?
                .strip_prefix(':')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// `crm-server backup --connect ADDR --user U NAME`: asks for a backup and draws its progress
/// from `INFO` on a second connection.
pub fn backup(
    address: &str,
    user: &str,
    name: Option<&str>,
    secrets: &Secrets,
) -> anyhow::Result<()> {
    let mut client = login(address, user, secrets)?;
    let mut watcher = login(address, user, secrets)?;
    client.set_timeout(None)?;
    let request = Command::backup(name);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bar = indicatif::ProgressBar::new(100);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:40}] {pos}% {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = {
        let bar = bar.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(Value::Bulk(info)) = watcher.call(&Command::info()) {
                    let info = String::from_utf8_lossy(&info);
                    bar.set_position(info_field(&info, "backup_progress"));
                    bar.set_message(format!(
                        "{} records, {} bytes",
                        info_field(&info, "backup_records"),
                        info_field(&info, "backup_bytes")
                    ));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let reply = client.call(&request);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = progress.join();
    bar.finish_and_clear();
    let reply = reply.context("backup failed")?;
    let summary = reply.json()?.unwrap_or_default();
    println!(
        "backup {} written: {} records, {} bytes, blake3 {}",
        summary["name"].as_str().unwrap_or("?"),
        summary["records"],
        summary["bytes"],
        summary["blake3"].as_str().unwrap_or("?")
    );
    Ok(())
}
