//! `crm-server import --connect ADDR --user U [--upsert] [--dry-run] [--rejects FILE] KIND
//! FILE.csv`: reads the file by its physical lines (`crm_engine::CsvRows`), cleans each row
//! client-side with the engine's own cleaning module, sends the rows pipelined, and prints the
//! report (`import_report.rs`); rejected rows go to the rejects file (`rejects.rs`).
//!
//! The header is checked before anything is sent: a column the kind does not have, or a file
//! that seems not to be comma-separated, stops the import (exit 1). Afterwards the exit status
//! says whether rows were rejected (3) or not (0).
//!
//! `--upsert` sends customers as `CUSTOMER.UPSERT` (the file's `id` column as `ID`), so a file
//! of people the store already has updates them instead of being refused. `--dry-run` writes
//! nothing: customers go as `CUSTOMER.UPSERT ... DRYRUN` (a plain import's "updated" or
//! "unchanged" is its `CONFLICT`), and `dry_run.rs` accounts for what earlier rows of the file
//! would have changed.

use super::dry_run::DryRun;
use super::import_report::{Report, RowOutcome};
use super::rejects::Rejects;
use super::remote::Login;
use anyhow::Context;
use crm_engine::schema::{Catalog, CustomGiven};
use crm_engine::{CleanRecord, Cleaner, CsvRow, CsvRows, ImportKind, Verdict};
use crm_server::client::{Client, ClientError, Value};
use crm_server::request::Command;
use std::path::Path;

/// Rows in flight (sent, or decided and waiting for the rows sent before them) before the
/// replies are read.
const PIPELINE: usize = 1_000;

/// How the rows are sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    pub upsert: bool,
    pub dry_run: bool,
}

/// How an import ended, for the exit status (a failure is an error instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Every row was imported (or, in a dry run, would be).
    AllImported,
    /// Some rows were rejected; the others were imported.
    SomeRejected,
}

/// A row waiting for its outcome to be reported, in file order.
struct Pending {
    line: u64,
    /// The row as it was in the file and its line ending, kept for a rejects file.
    raw: Option<(Vec<u8>, &'static str)>,
    changes: Option<Vec<String>>,
    state: PendingState,
}

enum PendingState {
    /// Sent; the reply decides it. The customer row of a dry run is kept for what later rows
    /// depend on.
    Sent {
        customer: Option<crm_engine::NewCustomer>,
    },
    /// Decided without the server (refused by the cleaning, unreadable).
    Decided(RowOutcome),
    /// The same as the row on `first_line`.
    Merged { first_line: u64 },
}

/// Imports `file` as `kind`. `login` is asked for once the file's header has passed, so a file
/// that cannot be imported is refused without a password or a server.
pub fn import(
    login: impl FnOnce() -> anyhow::Result<Login>,
    kind: &str,
    file: &Path,
    mode: Mode,
    rejects: Option<&Path>,
) -> anyhow::Result<Finished> {
    let table = ImportKind::parse(kind)?;
    let mut mode = mode;
    if mode.upsert && table != ImportKind::Customers {
        eprintln!("crm-server: --upsert applies to customers only; {kind} are added");
        mode.upsert = false;
    }
    let opened =
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = opened
        .metadata()
        .with_context(|| format!("opening {}", file.display()))?
        .len();
    let mut rows = CsvRows::new(std::io::BufReader::with_capacity(1 << 16, opened));
    let header = rows
        .header()
        .with_context(|| format!("{} cannot be imported", file.display()))?;
    if let Some(path) = rejects.filter(|path| path.exists()) {
        anyhow::bail!(
            "the rejects file {} exists: give a new name (it is never overwritten)",
            path.display()
        );
    }
    let cannot = || format!("{} cannot be imported as {}", file.display(), table.name());
    // A column that is no built-in field may be a custom one: the server says which it has
    // (`SCHEMA.LIST`) — asked only then, so a bad file is still refused without a password.
    let (mut cleaner, mut client, catalog) = match Cleaner::new(table, &header.names) {
        Ok(cleaner) => (cleaner, login()?.connect()?, Catalog::default()),
        Err(error) if table.record_kind().is_none() => {
            return Err(anyhow::Error::new(error).context(cannot()))
        }
        Err(_) => {
            let mut client = login()?.connect()?;
            let listed = client
                .call(&Command::schema_list())
                .context("reading the server's custom fields (SCHEMA.LIST)")?;
            let catalog = match listed {
                Value::Bulk(json) => Catalog::from_listed(
                    &serde_json::from_slice(&json).unwrap_or(serde_json::Value::Null),
                ),
                Value::Array(items) => Catalog::from_listed(&serde_json::Value::Array(
                    items
                        .iter()
                        .filter_map(|item| match item {
                            Value::Bulk(json) => serde_json::from_slice(json).ok(),
                            _ => None,
                        })
                        .collect(),
                )),
                _ => Catalog::default(),
            };
            let cleaner =
                Cleaner::with_catalog(table, &header.names, &catalog).with_context(cannot)?;
            (cleaner, client, catalog)
        }
    };
    let rejects = rejects
        .map(|path| Rejects::create(path, &header.raw, header.ending))
        .transpose()?;
    let bar = progress_bar(size);
    let mut importer = Importer {
        client: &mut client,
        mode,
        report: Report::default(),
        pending: Vec::with_capacity(PIPELINE),
        dry: DryRun::default(),
        rejects,
        catalog,
    };
    while let Some(row) = rows
        .next_row()
        .with_context(|| format!("reading {}", file.display()))?
    {
        bar.set_position(rows.bytes_read());
        importer.row(&mut cleaner, row)?;
    }
    importer.collect()?;
    bar.finish_and_clear();
    let mut report = importer.report;
    report.print(file, mode.dry_run);
    if let Some(rejects) = importer.rejects {
        rejects.finish()?;
    }
    Ok(if report.rejected_count() == 0 {
        Finished::AllImported
    } else {
        Finished::SomeRejected
    })
}

/// A progress bar over the file's bytes, on stderr when it is a terminal.
fn progress_bar(size: u64) -> indicatif::ProgressBar {
    let bar = super::progress::terminal_bar("import [{bar:30}] {percent}% {bytes}/{total_bytes}");
    bar.set_length(size);
    bar
}

struct Importer<'a> {
    client: &'a mut Client,
    mode: Mode,
    report: Report,
    pending: Vec<Pending>,
    dry: DryRun,
    rejects: Option<Rejects>,
    /// The server's custom fields, when the file has columns of them (a client's copy).
    catalog: Catalog,
}

impl Importer<'_> {
    /// Cleans one row of the file and sends it, or queues what became of it.
    fn row(&mut self, cleaner: &mut Cleaner, row: CsvRow) -> anyhow::Result<()> {
        let line = row.line;
        let raw = self.rejects.is_some().then_some((row.raw, row.ending));
        let state = match row.fields {
            Err(reason) => {
                PendingState::Decided(RowOutcome::Rejected(format!("unreadable CSV: {reason}")))
            }
            Ok(record) => match cleaner.clean(line, &record) {
                Verdict::Accepted(clean) => return self.send(line, raw, clean, None),
                Verdict::Fixed(clean, changes) => {
                    return self.send(line, raw, clean, Some(changes))
                }
                Verdict::Merged {
                    first_line,
                    changes,
                } => {
                    return self.queue(Pending {
                        line,
                        raw,
                        changes: Some(changes),
                        state: PendingState::Merged { first_line },
                    })
                }
                Verdict::Rejected(reason) => PendingState::Decided(RowOutcome::Rejected(reason)),
            },
        };
        self.queue(Pending {
            line,
            raw,
            changes: None,
            state,
        })
    }

    /// Sends one clean row (or, in a dry run, decides it when the server cannot).
    fn send(
        &mut self,
        line: u64,
        raw: Option<(Vec<u8>, &'static str)>,
        clean: CleanRecord,
        changes: Option<Vec<String>>,
    ) -> anyhow::Result<()> {
        let custom = match &clean {
            CleanRecord::Customer(customer) => customer.custom.clone(),
            CleanRecord::Product(product) => product.custom.clone(),
            CleanRecord::Order(_) => CustomGiven::default(),
        };
        let mut command = Command::add_record(&clean).with_custom(&custom, &self.catalog);
        let customer = match &clean {
            CleanRecord::Customer(customer) => Some(customer.clone()),
            _ => None,
        };
        if self.mode.dry_run {
            let decided = match &clean {
                CleanRecord::Customer(row) => {
                    let sent = self.pending.iter().filter_map(|p| match &p.state {
                        PendingState::Sent { customer } => customer.as_ref(),
                        _ => None,
                    });
                    if sent.into_iter().any(|sent| {
                        sent.email == row.email || (row.id.is_some() && sent.id == row.id)
                    }) {
                        // What an earlier row does to this one must be known first.
                        self.collect()?;
                    }
                    if self.dry.depends_on_earlier(row) {
                        self.collect()?;
                        Some(
                            self.dry
                                .decide(self.client, row, self.mode.upsert, &self.catalog)?,
                        )
                    } else {
                        command = Command::customer_upsert(row, true)
                            .with_custom(&row.custom, &self.catalog);
                        None
                    }
                }
                CleanRecord::Product(product) => {
                    Some(
                        self.dry
                            .check_row(self.client, line, "product", product.id, &[])?,
                    )
                }
                CleanRecord::Order(order) => {
                    let references = [
                        ("customer", order.customer_id),
                        ("product", order.product_id),
                    ];
                    Some(
                        self.dry
                            .check_row(self.client, line, "order", order.id, &references)?,
                    )
                }
            };
            if let Some(outcome) = decided {
                return self.queue(Pending {
                    line,
                    raw,
                    changes,
                    state: PendingState::Decided(outcome),
                });
            }
        } else if let (true, Some(row)) = (self.mode.upsert, &customer) {
            command = Command::customer_upsert(row, false).with_custom(&row.custom, &self.catalog);
        }
        self.client.send(command.words())?;
        self.queue(Pending {
            line,
            raw,
            changes,
            state: PendingState::Sent {
                customer: customer.filter(|_| self.mode.dry_run),
            },
        })
    }

    fn queue(&mut self, pending: Pending) -> anyhow::Result<()> {
        self.pending.push(pending);
        if self.pending.len() >= PIPELINE {
            self.collect()?;
        }
        Ok(())
    }

    /// Reads the replies of every row sent, and reports every row waiting, in file order.
    fn collect(&mut self) -> anyhow::Result<()> {
        self.client.flush()?;
        for pending in std::mem::take(&mut self.pending) {
            let outcome = match pending.state {
                PendingState::Decided(outcome) => outcome,
                PendingState::Merged { first_line } => {
                    self.report.merged(
                        pending.line,
                        first_line,
                        pending.changes.unwrap_or_default(),
                    );
                    continue;
                }
                PendingState::Sent { customer } => {
                    self.outcome_of_sent(pending.line, customer.as_ref())?
                }
            };
            if let (RowOutcome::Rejected(reason), Some((raw, ending)), Some(rejects)) =
                (&outcome, &pending.raw, self.rejects.as_mut())
            {
                rejects.write_row(raw, reason, ending)?;
            }
            self.report.record(pending.line, pending.changes, outcome);
        }
        Ok(())
    }

    /// Reads the reply to one row sent.
    fn outcome_of_sent(
        &mut self,
        line: u64,
        customer: Option<&crm_engine::NewCustomer>,
    ) -> anyhow::Result<RowOutcome> {
        let reply = match self.client.read_reply() {
            Ok(reply) => reply,
            Err(ClientError::Server { code, message }) => {
                return Ok(RowOutcome::Rejected(format!("{code} {message}")))
            }
            Err(other) => return Err(other).context("the connection failed during the import"),
        };
        let (id, mut outcome) = outcome_of(&reply);
        if let Some(row) = customer {
            if !self.mode.upsert && outcome != RowOutcome::Created {
                // A plain import of an email the store has: its CUSTOMER.ADD is refused.
                let quoted = serde_json::Value::from(row.email.as_str());
                outcome = RowOutcome::Rejected(format!(
                    "CONFLICT email {quoted} belongs to customer {id}"
                ));
            }
            self.dry.learn(row, line, id, &outcome);
        }
        Ok(outcome)
    }
}

/// `(id, outcome)` of a reply: an upsert's `[id, outcome, fields]`, or an add's id.
fn outcome_of(reply: &Value) -> (u64, RowOutcome) {
    let Value::Array(items) = reply else {
        let id = reply.integer().ok().and_then(|n| u64::try_from(n).ok());
        return (id.unwrap_or(0), RowOutcome::Created);
    };
    let id = items
        .first()
        .and_then(|v| v.integer().ok())
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    let fields = match items.get(2) {
        Some(Value::Array(fields)) => fields.iter().filter_map(Value::as_text).collect(),
        _ => Vec::new(),
    };
    let outcome = match items.get(1).and_then(Value::as_text).as_deref() {
        Some("updated") => RowOutcome::Updated(fields),
        Some("unchanged") => RowOutcome::Unchanged,
        _ => RowOutcome::Created,
    };
    (id, outcome)
}
