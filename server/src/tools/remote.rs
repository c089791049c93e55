//! Tools that talk to a running server: the login they share, and `backup`.

use super::password::{password, Source};
use super::secrets::Secrets;
use anyhow::Context;
use crm_server::client::{Client, Value};
use crm_server::request::Command;
use std::path::Path;
use std::time::Duration;
use zeroize::Zeroizing;

/// What a tool needs to log in to a running server, the password asked once (a follower
/// logs in again after its server restarts).
pub struct Login {
    pub address: String,
    pub user: String,
    password: Zeroizing<String>,
}

impl Login {
    /// Takes the password from `--password-file`, `CRM_PASSWORD` or the terminal.
    pub fn new(
        address: &str,
        user: &str,
        password_file: Option<&Path>,
        secrets: &Secrets,
    ) -> anyhow::Result<Login> {
        let source = Source {
            file: password_file,
            variable: "CRM_PASSWORD",
            prompt: format!("password for {user}@{address}: "),
            confirm: false,
        };
        Ok(Login {
            address: address.to_string(),
            user: user.to_string(),
            password: password(&source, secrets)?,
        })
    }

    /// Connects and logs in.
    pub fn connect(&self) -> anyhow::Result<Client> {
        let mut client = Client::connect(&self.address, Duration::from_secs(10))
            .with_context(|| format!("connecting to {}", self.address))?;
        client
            .auth(&self.user, &self.password)
            .with_context(|| format!("logging in to {} as {}", self.address, self.user))?;
        Ok(client)
    }
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
pub fn backup(login: &Login, name: Option<&str>) -> anyhow::Result<()> {
    let mut client = login.connect()?;
    let mut watcher = login.connect()?;
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
