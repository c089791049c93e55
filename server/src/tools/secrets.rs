//! Secrets the command line takes from its environment: read once, removed from the
//! environment at once, and kept in memory that is wiped when dropped.
//!
//! `serve` re-executes itself once (to set `MALLOC_ARENA_MAX`, see `main.rs`). An environment
//! passed through `exec` would show the passphrase and the first admin's password in
//! `/proc/PID/environ` for as long as the server runs, so instead they go through a pipe: the
//! parent writes them into it, closes its end, and names the other end in `CRM_SECRETS_FD`; the
//! new image reads them and the variables never reach its environment.

use std::io::{Read, Write};
use zeroize::Zeroizing;

/// The variables that hold secrets.
pub const NAMES: [&str; 6] = [
    "CRM_PASSPHRASE",
    "CRM_NEW_PASSPHRASE",
    "CRM_ADMIN_PASSWORD",
    "CRM_PASSWORD",
    "CRM_NEW_PASSWORD",
    "CRM_ETCD_PASSWORD",
];

/// Names the pipe end a re-executed `serve` reads its secrets from.
const HANDOVER: &str = "CRM_SECRETS_FD";

/// The secrets given to this process.
#[derive(Default)]
pub struct Secrets {
    values: Vec<(&'static str, Zeroizing<String>)>,
}

impl Secrets {
    /// Takes the secrets — from a parent's pipe when there is one, else from the environment —
    /// and removes them from the environment either way.
    pub fn take() -> Secrets {
        let handed_over = std::env::var(HANDOVER).ok();
        std::env::remove_var(HANDOVER);
        let mut secrets = Secrets::default();
        for name in NAMES {
            if let Some(value) = std::env::var_os(name) {
                if let Ok(value) = value.into_string() {
                    secrets.values.push((name, Zeroizing::new(value)));
                }
                std::env::remove_var(name);
            }
        }
        if let Some(fd) = handed_over {
            if let Ok(received) = receive(&fd) {
                secrets = received;
            }
        }
        secrets
    }

    /// A secret, if it was given and is not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, v)| *n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Whether a variable was given at all (even empty).
    pub fn was_given(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _)| *n == name)
    }

    /// Whether any secret was given.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Writes the secrets into a new pipe whose read end survives `exec`; returns that end (to
    /// keep open until `exec`) and the variable that names it.
    #[cfg(target_os = "linux")]
    pub fn hand_over(&self) -> std::io::Result<(std::os::fd::OwnedFd, (&'static str, String))> {
        use std::os::fd::AsRawFd;
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::empty())?;
        // Only the read end may reach the new image: with the write end open there too, the
        // reader would never see the end of the data.
        rustix::io::fcntl_setfd(&write, rustix::io::FdFlags::CLOEXEC)?;
        let mut encoded = Zeroizing::new(Vec::new());
        for (name, value) in &self.values {
            for part in [name.as_bytes(), value.as_bytes()] {
                encoded.extend_from_slice(&(part.len() as u32).to_be_bytes());
                encoded.extend_from_slice(part);
            }
        }
        // A pipe holds 64 KiB before a writer blocks; secrets are far smaller.
        let mut writer = std::fs::File::from(write);
        writer.write_all(&encoded)?;
        drop(writer);
        let fd = read.as_raw_fd().to_string();
        Ok((read, (HANDOVER, fd)))
    }
}

/// Reads the secrets a parent wrote into the pipe named by `fd`.
fn receive(fd: &str) -> std::io::Result<Secrets> {
    let number: u32 = fd
        .parse()
        .map_err(|_| std::io::Error::other("CRM_SECRETS_FD is not a file descriptor"))?;
    let mut encoded = Zeroizing::new(Vec::new());
    std::fs::File::open(format!("/proc/self/fd/{number}"))?.read_to_end(&mut encoded)?;
    let mut secrets = Secrets::default();
    let mut rest: &[u8] = &encoded;
    let next = |rest: &mut &[u8]| -> Option<Vec<u8>> {
        let length = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let part = rest.get(4..4 + length)?.to_vec();
        *rest = &rest[4 + length..];
        Some(part)
    };
    while !rest.is_empty() {
        let (Some(name), Some(value)) = (next(&mut rest), next(&mut rest)) else {
            break;
        };
        let value = Zeroizing::new(value);
        let Some(name) = NAMES.iter().find(|n| n.as_bytes() == name.as_slice()) else {
            continue;
        };
        if let Ok(text) = std::str::from_utf8(&value) {
            secrets
                .values
                .push((name, Zeroizing::new(text.to_string())));
        }
    }
    Ok(secrets)
}
