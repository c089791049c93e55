//! `crm-server import --connect ADDR --user U [--upsert] [--dry-run] KIND FILE.csv`: cleans
//! each row client-side with the engine's own cleaning module, sends the rows pipelined, and
//! prints the report (`import_report.rs`).
//!
//! `--upsert` sends customers as `CUSTOMER.UPSERT` (the file's `id` column as `ID`), so a file
//! of people the store already has updates them instead of being refused. `--dry-run` writes
//! nothing: customers go as `CUSTOMER.UPSERT ... DRYRUN` (a plain import's "updated" or
//! "unchanged" is its `CONFLICT`), and `dry_run.rs` accounts for what earlier rows of the file
//! would have changed.

use super::dry_run::DryRun;
use super::import_report::{Report, RowOutcome};
use super::remote::login;
use anyhow::Context;
use crm_engine::{CleanRecord, Cleaner, ImportKind, Verdict};
use crm_server::client::{Client, ClientError, Value};
use crm_server::request::Command;
use std::path::Path;

/// Requests in flight before the replies are read.
const PIPELINE: usize = 1_000;

/// How the rows are sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    pub upsert: bool,
    pub dry_run: bool,
}

/// A row sent, waiting for its reply.
struct InFlight {
    line: u64,
    changes: Option<Vec<String>>,
    /// The customer row of a dry run, for what later rows depend on.
    customer: Option<crm_engine::NewCustomer>,
}

pub fn import(
    address: &str,
    user: &str,
    kind: &str,
    file: &Path,
    mode: Mode,
    secrets: &super::secrets::Secrets,
) -> anyhow::Result<()> {
    let table = ImportKind::parse(kind)?;
    let mut mode = mode;
    if mode.upsert && table != ImportKind::Customers {
        eprintln!("crm-server: --upsert applies to customers only; {kind} are added");
        mode.upsert = false;
    }
    let mut client = login(address, user, secrets)?;
    let size = std::fs::metadata(file)
        .with_context(|| format!("opening {}", file.display()))?
        .len();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let mut cleaner = Cleaner::new(table, reader.headers()?)?;
    let bar = progress_bar(size);
    let mut importer = Importer {
        client: &mut client,
        mode,
        report: Report::default(),
        in_flight: Vec::with_capacity(PIPELINE),
        dry: DryRun::default(),
    };
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                importer
                    .report
                    .rejected(line, format!("unreadable CSV: {error}"));
                continue;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        bar.set_position(record.position().map_or(0, |p| p.byte()));
        let (clean, changes) = match cleaner.clean(line, &record) {
            Verdict::Accepted(clean) => (clean, None),
            Verdict::Fixed(clean, changes) => (clean, Some(changes)),
            Verdict::Merged { first_line } => {
                importer.report.merged(line, first_line);
                continue;
            }
            Verdict::Rejected(reason) => {
                importer.report.rejected(line, reason);
                continue;
            }
        };
        importer.row(line, clean, changes)?;
    }
    importer.collect()?;
    bar.finish_and_clear();
    let mut report = importer.report;
    report.print(file, mode.dry_run);
    Ok(())
}

/// A progress bar over the file's bytes, on stderr when it is a terminal.
fn progress_bar(size: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::hidden();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    }
    bar.set_length(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "import [{bar:30}] {percent}% {bytes}/{total_bytes}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

struct Importer<'a> {
    client: &'a mut Client,
    mode: Mode,
    report: Report,
    in_flight: Vec<InFlight>,
    dry: DryRun,
}

impl Importer<'_> {
    /// Sends one clean row (or, in a dry run, decides it when the server cannot).
    fn row(
        &mut self,
        line: u64,
        clean: CleanRecord,
        changes: Option<Vec<String>>,
    ) -> anyhow::Result<()> {
        let mut command = Command::add_record(&clean);
        let customer = match &clean {
            CleanRecord::Customer(customer) => Some(customer.clone()),
            _ => None,
        };
        if self.mode.dry_run {
            match &clean {
                CleanRecord::Customer(row) => {
                    let in_flight = self.in_flight.iter().filter_map(|s| s.customer.as_ref());
                    if in_flight.into_iter().any(|sent| {
                        sent.email == row.email || (row.id.is_some() && sent.id == row.id)
                    }) {
                        // What an earlier row does to this one must be known first.
                        self.collect()?;
                    }
                    if self.dry.depends_on_earlier(row) {
                        self.collect()?;
                        let outcome = self.dry.decide(self.client, row, self.mode.upsert)?;
                        self.report.record(line, changes, outcome);
                        return Ok(());
                    }
                    command = Command::customer_upsert(row, true);
                }
                CleanRecord::Product(product) => {
                    let outcome =
                        self.dry
                            .check_row(self.client, line, "product", product.id, &[])?;
                    self.report.record(line, changes, outcome);
                    return Ok(());
                }
                CleanRecord::Order(order) => {
                    let references = [
                        ("customer", order.customer_id),
                        ("product", order.product_id),
                    ];
                    let outcome =
                        self.dry
                            .check_row(self.client, line, "order", order.id, &references)?;
                    self.report.record(line, changes, outcome);
                    return Ok(());
                }
            }
        } else if let (true, Some(row)) = (self.mode.upsert, &customer) {
            command = Command::customer_upsert(row, false);
        }
        self.client.send(command.words())?;
        self.in_flight.push(InFlight {
            line,
            changes,
            customer: customer.filter(|_| self.mode.dry_run),
        });
        if self.in_flight.len() >= PIPELINE {
            self.collect()?;
        }
        Ok(())
    }

    /// Reads the replies of every request in flight, in order.
    fn collect(&mut self) -> anyhow::Result<()> {
        self.client.flush()?;
        for sent in std::mem::take(&mut self.in_flight) {
            let reply = match self.client.read_reply() {
                Ok(reply) => reply,
                Err(ClientError::Server { code, message }) => {
                    self.report.record(
                        sent.line,
                        sent.changes,
                        RowOutcome::Rejected(format!("{code} {message}")),
                    );
                    continue;
                }
                Err(other) => return Err(other).context("the connection failed during the import"),
            };
            let (id, mut outcome) = outcome_of(&reply);
            if let Some(row) = &sent.customer {
                if !self.mode.upsert && outcome != RowOutcome::Created {
                    // A plain import of an email the store has: its CUSTOMER.ADD is refused.
                    let quoted = serde_json::Value::from(row.email.as_str());
                    outcome = RowOutcome::Rejected(format!(
                        "CONFLICT email {quoted} belongs to customer {id}"
                    ));
                }
                self.dry.learn(row, sent.line, id, &outcome);
            }
            self.report.record(sent.line, sent.changes, outcome);
        }
        Ok(())
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
