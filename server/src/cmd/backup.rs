//! `BACKUP [name]`, `BACKUP.LIST`, `BACKUP.VERIFY name` (admin only).

use super::context::Context;
use super::offload::blocking;
use super::spec::{value, Access, ArgKind, Group, Spec, PLAIN};
use super::values::engine;
use crate::backup::{default_name, file_of, valid_name};
use crate::parse::{printable, text, Args, CmdResult};
use crate::reply::Reply;
use crm_engine::values::{format_timestamp, now, quote};
use crm_engine::{Error, Kind, Op, Role};

#[derive(Clone, Copy)]
pub enum Verb {
    Take,
    List,
    Verify,
}

/// A parsed backup command.
pub enum Backup {
    Take(Option<Vec<u8>>),
    List,
    Verify(Vec<u8>),
}

impl super::context::Verb for Verb {
    type Command = Backup;

    const ALL: &'static [Verb] = &[Verb::Take, Verb::List, Verb::Verify];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Take => {
                const {
                    &Spec {
                        names: &["BACKUP"],
                        summary: "Write a sealed backup of the whole store to the backup folder",
                        access: Access::Write,
                        syntax: &[value("name", ArgKind::String).optional()],
                        ..BACKUPS
                    }
                }
            }
            Verb::List => {
                const {
                    &Spec {
                        names: &["BACKUP.LIST"],
                        summary: "The backups in the backup folder",
                        ..BACKUPS
                    }
                }
            }
            Verb::Verify => {
                const {
                    &Spec {
                        names: &["BACKUP.VERIFY"],
                        summary: "Check every chunk of a backup",
                        syntax: &[value("name", ArgKind::String)],
                        ..BACKUPS
                    }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Backup> {
        Ok(match self {
            Verb::Take => Backup::Take(args.next()),
            Verb::List => Backup::List,
            Verb::Verify => Backup::Verify(args.required()?),
        })
    }
}

/// What the backup verbs share: admins only.
const BACKUPS: Spec = Spec {
    group: Group::Backup,
    role: Some(Role::Admin),
    access: Access::Read,
    ..PLAIN
};

fn checked_name(bytes: &[u8]) -> CmdResult<String> {
    let name = text("name", bytes)?;
    if !valid_name(name) {
        return Err(Reply::error(
            "INVALID",
            format!("name: \"{}\" is not a backup name (1 to 64 of A-Z a-z 0-9 . _ -, not starting with .)", printable(bytes)),
        ));
    }
    Ok(name.to_string())
}

fn describe(
    name: &str,
    bytes: u64,
    records: Option<u64>,
    blake3: String,
    created_at: Option<i64>,
) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "bytes": bytes,
        "records": records,
        "blake3": blake3,
        "created_at": created_at.map(format_timestamp),
    })
}

pub async fn execute(context: &Context<'_>, command: Backup) -> CmdResult {
    let shared = context.shared;
    let dir = shared.config.backup_dir.clone();
    match command {
        Backup::Take(name) => {
            let name = name.as_deref().map(checked_name).transpose()?;
            let Some(running) = shared.backup.try_start() else {
                return Err(Error::Busy("a backup is already running; retry later".into()).into());
            };
            std::fs::create_dir_all(&dir).map_err(|e| Reply::from(Error::from(e)))?;
            let name = name.unwrap_or_else(|| default_name(&dir, now()));
            let path = file_of(&dir, &name);
            if path.exists() {
                return Err(Error::Conflict(format!("backup {} exists", quote(&name))).into());
            }
            let state = shared.clone();
            let limits = crm_engine::backup::BackupLimits {
                min_free_bytes: shared.config.backup_min_free_bytes,
            };
            let written = path.clone();
            let summary = blocking(move || {
                let summary = state
                    .store
                    .backup_with(&path, &limits, &|progress| state.backup.update(progress))?;
                Ok(summary)
            })
            .await;
            drop(running);
            let summary = summary?;
            shared.backup.digests.remember(&written, &summary.blake3);
            // Journaled once complete: the file holds the entries before this one.
            engine(
                shared
                    .store
                    .write_async(Op::RecordBackup { name: name.clone() }.by(context.author()))
                    .await,
            )?;
            tracing::info!(
                backup = %name,
                bytes = summary.bytes,
                longest_pause_ms = summary.longest_pause.as_secs_f64() * 1000.0,
                "backup written"
            );
            Ok(Reply::json(&describe(
                &name,
                summary.bytes,
                Some(summary.header.records()),
                summary.blake3,
                Some(summary.header.created_at),
            )))
        }
        Backup::List => {
            let state = shared.clone();
            let rows = blocking(move || {
                let mut names: Vec<String> = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries
                        .filter_map(|e| e.ok())
                        .filter_map(|e| {
                            e.file_name()
                                .to_str()
                                .and_then(|n| n.strip_suffix(".crmbak"))
                                .map(str::to_string)
                        })
                        .filter(|n| valid_name(n))
                        .collect(),
                    Err(_) => Vec::new(),
                };
                names.sort();
                names
                    .into_iter()
                    .map(|name| {
                        let path = file_of(&dir, &name);
                        let header = crm_engine::backup::read_header(&path).ok();
                        let bytes = std::fs::metadata(&path)?.len();
                        Ok(describe(
                            &name,
                            bytes,
                            header.as_ref().map(|h| h.records()),
                            state.backup.digests.digest(&path)?,
                            header.map(|h| h.created_at),
                        ))
                    })
                    .collect::<crm_engine::Result<Vec<_>>>()
            })
            .await?;
            Ok(Reply::json_array(rows))
        }
        Backup::Verify(name) => {
            let name = checked_name(&name)?;
            let path = file_of(&dir, &name);
            if !path.exists() {
                return Err(Error::not_found(Kind::Backup, quote(&name)).into());
            }
            let store = shared.store.clone();
            blocking(move || store.verify_backup(&path)).await?;
            Ok(Reply::ok())
        }
    }
}
