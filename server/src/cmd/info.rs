//! `INFO`: the server's state as `key:value` lines, in sections.

use super::connection::{CRM_PROTOCOL, VERSION};
use super::spec::{value, Access, ArgKind, Group, Spec, PLAIN};
use super::values::engine;
use crate::parse::{Args, CmdResult};
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::Role;
use std::fmt::Write;
use std::sync::atomic::Ordering;

#[derive(Clone, Copy)]
pub enum Verb {
    Info,
}

/// `INFO [section ...]`: every section is always shown.
pub struct Info;

impl super::context::Verb for Verb {
    type Command = Info;

    const ALL: &'static [Verb] = &[Verb::Info];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Info => {
                const {
                    &Spec {
                    names: &["INFO"],
                    summary: "The server's state as key:value lines in sections (every section is shown)",
                    group: Group::Admin,
                    role: Some(Role::Admin),
                    access: Access::Server,
                    syntax: &[value("section", ArgKind::String).optional().multiple()],
                    ..PLAIN
                }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Info> {
        // `INFO section` is accepted (redis-cli sends it).
        args.skip_rest();
        Ok(Info)
    }
}

pub fn execute(shared: &Shared, _: Info) -> CmdResult {
    // A halted store may not read its counters back (sled refuses reads after a failed write
    // of its own): INFO answers anyway, saying `store_status:halted`, with counts of 0.
    let counts = match shared.store.counts() {
        Err(_) if shared.store.health().is_err() => crm_engine::Counts::default(),
        counts => engine(counts)?,
    };
    let backup = shared.backup.snapshot();
    let mut text = String::new();
    let section = |text: &mut String, name: &str, fields: &[(&str, &dyn std::fmt::Display)]| {
        let _ = write!(text, "# {name}\r\n");
        for (key, value) in fields {
            let _ = write!(text, "{key}:{value}\r\n");
        }
        text.push_str("\r\n");
    };
    section(
        &mut text,
        "Server",
        &[
            ("version", &VERSION),
            ("crm_protocol", &CRM_PROTOCOL),
            ("uptime_seconds", &shared.started.elapsed().as_secs()),
            ("tcp_address", &shared.config.listen),
        ],
    );
    section(
        &mut text,
        "Clients",
        &[
            (
                "connected_clients",
                &shared.connected_clients.load(Ordering::Relaxed),
            ),
            ("max_clients", &shared.config.max_connections),
        ],
    );
    let (heavy_running, heavy_waiting) = shared.work.heavy_commands();
    section(
        &mut text,
        "Stats",
        &[
            (
                "total_commands_processed",
                &shared.total_commands.load(Ordering::Relaxed),
            ),
            ("heavy_commands_running", &heavy_running),
            ("heavy_commands_waiting", &heavy_waiting),
        ],
    );
    // Group commit at work: how many durable writes each fsync acknowledged.
    let (flushes, flushed_writes) = shared.store.group_commit_totals();
    let cache = shared.store.record_cache_stats();
    section(
        &mut text,
        "Data",
        &[
            ("customers", &counts.customers),
            ("products", &counts.products),
            ("orders", &counts.orders),
            ("data_bytes", &shared.store.data_bytes()),
            ("durability", &shared.store.durability().as_str()),
            (
                "store_status",
                &if shared.store.health().is_ok() {
                    "ok"
                } else {
                    "halted"
                },
            ),
            ("write_flushes", &flushes),
            ("writes_flushed", &flushed_writes),
            ("record_cache_hits", &cache.hits),
            ("record_cache_misses", &cache.misses),
            ("record_cache_bytes", &cache.bytes),
            ("record_cache_capacity", &cache.capacity),
            // The sweep of dropped custom fields' values (100: none runs).
            (
                "schema_sweep_progress",
                &shared.store.schema_sweep_progress(),
            ),
        ],
    );
    // Without `--cluster`, a lone master.
    match &shared.cluster {
        None => section(&mut text, "Replication", &[("role", &"master")]),
        Some(cluster) => {
            let fields = crate::cluster::sentinel::info_fields(cluster);
            let fields: Vec<(&str, &dyn std::fmt::Display)> = fields
                .iter()
                .map(|(key, value)| (*key, value as &dyn std::fmt::Display))
                .collect();
            section(&mut text, "Replication", &fields);
        }
    }
    section(
        &mut text,
        "Backup",
        &[
            ("backup_in_progress", &u8::from(backup.running)),
            ("backup_progress", &backup.percent),
            ("backup_records", &backup.records),
            ("backup_bytes", &backup.bytes),
        ],
    );
    Ok(Reply::Bulk(text.into_bytes()))
}
