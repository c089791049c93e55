//! `crm-server import --connect ADDR --user U KIND FILE.csv`: cleans each row client-side with
//! the engine's own cleaning module, sends the rows pipelined, and prints the report.

use super::remote::login;
use anyhow::Context;
use crm_engine::{Cleaner, Table, Verdict};
use std::path::Path;

/// Requests in flight before the replies are read.
const PIPELINE: usize = 1_000;

/// What happened to each row, for the report.
#[derive(Default)]
struct Report {
    accepted: u64,
    fixed: Vec<(u64, Vec<String>)>,
    merged: Vec<(u64, u64)>,
    rejected: Vec<(u64, String)>,
}

pub fn import(
    address: &str,
    user: &str,
    kind: &str,
    file: &Path,
    secrets: &super::secrets::Secrets,
) -> anyhow::Result<()> {
    let table = Table::parse(kind)?;
    let mut client = login(address, user, secrets)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let mut cleaner = Cleaner::new(table, reader.headers()?)?;
    let mut report = Report::default();
    let mut in_flight: Vec<(u64, Option<Vec<String>>)> = Vec::with_capacity(PIPELINE);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                report
                    .rejected
                    .push((line, format!("unreadable CSV: {error}")));
                continue;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        let (clean, changes) = match cleaner.clean(line, &record) {
            Verdict::Accepted(clean) => (clean, None),
            Verdict::Fixed(clean, changes) => (clean, Some(changes)),
            Verdict::Merged { first_line } => {
                report.merged.push((line, first_line));
                continue;
            }
            Verdict::Rejected(reason) => {
                report.rejected.push((line, reason));
                continue;
            }
        };
        client.send(&clean.to_command())?;
        in_flight.push((line, changes));
        if in_flight.len() >= PIPELINE {
            collect(&mut client, &mut in_flight, &mut report)?;
        }
    }
    collect(&mut client, &mut in_flight, &mut report)?;
    print_report(&report, file);
    Ok(())
}

/// Reads the replies of every request in flight, in order.
fn collect(
    client: &mut crm_server::client::Client,
    in_flight: &mut Vec<(u64, Option<Vec<String>>)>,
    report: &mut Report,
) -> anyhow::Result<()> {
    client.flush()?;
    for (line, changes) in in_flight.drain(..) {
        match (client.read_reply(), changes) {
            (Ok(_), None) => report.accepted += 1,
            (Ok(_), Some(changes)) => report.fixed.push((line, changes)),
            (Err(crm_server::client::ClientError::Server { code, message }), _) => {
                report.rejected.push((line, format!("{code} {message}")));
            }
            (Err(other), _) => {
                return Err(other).context("the connection failed during the import")
            }
        }
    }
    Ok(())
}

fn print_report(report: &Report, file: &Path) {
    let mut rejected = report.rejected.clone();
    rejected.sort_by_key(|(line, _)| *line);
    println!(
        "{}: accepted {}, fixed {}, merged {}, rejected {}",
        file.display(),
        report.accepted,
        report.fixed.len(),
        report.merged.len(),
        rejected.len()
    );
    for (line, changes) in &report.fixed {
        println!("  line {line}: fixed: {}", changes.join("; "));
    }
    for (line, first) in &report.merged {
        println!("  line {line}: merged: same as line {first}");
    }
    for (line, reason) in &rejected {
        println!("  line {line}: rejected: {reason}");
    }
}
