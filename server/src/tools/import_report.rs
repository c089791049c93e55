//! The report of `crm-server import`: what became of each row, by line, then a summary table
//! and, last, one JSON line (the contract's `{"created","updated","updated_fields","unchanged",
//! "fixed","merged","rejected"}`) for scripts.
//!
//! The counts partition the rows, as the first report did: a row the cleaning had to fix counts
//! as `fixed` (its outcome is still listed on its line, and its updated fields still count in
//! `updated_fields`), a row identical to an earlier one as `merged`, a refused one as
//! `rejected`; the others as `created`, `updated` or `unchanged`.

use std::collections::BTreeMap;
use std::path::Path;

/// What the server did (or, in a dry run, would do) with one row it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Created,
    Updated(Vec<String>),
    Unchanged,
    Rejected(String),
}

impl RowOutcome {
    fn describe(&self) -> String {
        match self {
            RowOutcome::Created => "created".into(),
            RowOutcome::Updated(fields) => format!("updated {}", fields.join(", ")),
            RowOutcome::Unchanged => "unchanged".into(),
            RowOutcome::Rejected(reason) => format!("rejected: {reason}"),
        }
    }
}

#[derive(Default)]
pub struct Report {
    created: Vec<u64>,
    updated: Vec<(u64, Vec<String>)>,
    unchanged: Vec<u64>,
    fixed: Vec<(u64, Vec<String>, String)>,
    merged: Vec<(u64, u64)>,
    rejected: Vec<(u64, String)>,
    updated_fields: BTreeMap<String, u64>,
}

impl Report {
    /// A row the server answered; `changes` says what cleaning fixed in it, if anything.
    pub fn record(&mut self, line: u64, changes: Option<Vec<String>>, outcome: RowOutcome) {
        if let RowOutcome::Updated(fields) = &outcome {
            for field in fields {
                *self.updated_fields.entry(field.clone()).or_default() += 1;
            }
        }
        match (outcome, changes) {
            (RowOutcome::Rejected(reason), _) => self.rejected.push((line, reason)),
            (outcome, Some(changes)) => self.fixed.push((line, changes, outcome.describe())),
            (RowOutcome::Created, None) => self.created.push(line),
            (RowOutcome::Updated(fields), None) => self.updated.push((line, fields)),
            (RowOutcome::Unchanged, None) => self.unchanged.push(line),
        }
    }

    /// A row identical to the one on `first_line`: not sent.
    pub fn merged(&mut self, line: u64, first_line: u64) {
        self.merged.push((line, first_line));
    }

    /// A row refused before it was sent (unreadable, or failing the cleaning rules).
    pub fn rejected(&mut self, line: u64, reason: String) {
        self.rejected.push((line, reason));
    }

    /// The contract's JSON summary line, keys in the contract's order.
    pub fn summary_json(&self) -> String {
        let fields: Vec<String> = self
            .updated_fields
            .iter()
            .map(|(field, count)| format!("{}:{count}", serde_json::Value::from(field.as_str())))
            .collect();
        format!(
            r#"{{"created":{},"updated":{},"updated_fields":{{{}}},"unchanged":{},"fixed":{},"merged":{},"rejected":{}}}"#,
            self.created.len(),
            self.updated.len(),
            fields.join(","),
            self.unchanged.len(),
            self.fixed.len(),
            self.merged.len(),
            self.rejected.len(),
        )
    }

    /// Prints the report to stdout: the first round's one-line summary, every line that is
    /// not a plain create, the table, and the JSON line last.
    pub fn print(&mut self, file: &Path, dry_run: bool) {
        use std::io::Write as _;
        // Written in one go, so a reader that stops early (`| head -1`) is not a panic of the
        // import (`println!` panics on a closed pipe); any other failure is said on stderr.
        let text = self.render(file, dry_run).unwrap_or_default();
        match std::io::stdout().lock().write_all(text.as_bytes()) {
            Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                eprintln!("could not write the import report: {error}");
            }
            _ => {}
        }
    }

    fn render(&mut self, file: &Path, dry_run: bool) -> Result<String, std::fmt::Error> {
        use std::fmt::Write as _;
        let mut out = String::new();
        self.rejected.sort_by_key(|(line, _)| *line);
        self.fixed.sort_by_key(|(line, ..)| *line);
        writeln!(
            out,
            "{}: accepted {}, fixed {}, merged {}, rejected {}{}",
            file.display(),
            self.created.len() + self.updated.len() + self.unchanged.len(),
            self.fixed.len(),
            self.merged.len(),
            self.rejected.len(),
            if dry_run {
                " (dry run: nothing was written)"
            } else {
                ""
            }
        )?;
        if !self.created.is_empty() {
            writeln!(out, "  created: lines {}", ranges(&self.created))?;
        }
        for (line, fields) in &self.updated {
            writeln!(out, "  line {line}: updated: {}", fields.join(", "))?;
        }
        if !self.unchanged.is_empty() {
            writeln!(out, "  unchanged: lines {}", ranges(&self.unchanged))?;
        }
        for (line, changes, outcome) in &self.fixed {
            writeln!(
                out,
                "  line {line}: fixed: {}; {outcome}",
                changes.join("; ")
            )?;
        }
        for (line, first) in &self.merged {
            writeln!(out, "  line {line}: merged: same as line {first}")?;
        }
        for (line, reason) in &self.rejected {
            writeln!(out, "  line {line}: rejected: {reason}")?;
        }
        writeln!(out)?;
        writeln!(out, "  {:<10} {:>10}", "rows", "count")?;
        for (name, count) in [
            ("created", self.created.len()),
            ("updated", self.updated.len()),
            ("unchanged", self.unchanged.len()),
            ("fixed", self.fixed.len()),
            ("merged", self.merged.len()),
            ("rejected", self.rejected.len()),
        ] {
            writeln!(out, "  {name:<10} {count:>10}")?;
        }
        for (field, count) in &self.updated_fields {
            writeln!(out, "  {:<10} {count:>10}", format!("  {field}"))?;
        }
        writeln!(out, "{}", self.summary_json())?;
        Ok(out)
    }
}

/// `2-5, 8, 10-11`: line numbers (ascending) as ranges, so 100,000 created rows take a line.
fn ranges(lines: &[u64]) -> String {
    let mut sorted = lines.to_vec();
    sorted.sort_unstable();
    let mut parts = Vec::new();
    let mut iter = sorted.into_iter().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_compress_runs() {
        assert_eq!(ranges(&[8, 2, 3, 4, 5, 10, 11]), "2-5, 8, 10-11");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn counts_partition_rows_and_fields_count_every_update() {
        let mut report = Report::default();
        report.record(2, None, RowOutcome::Created);
        report.record(3, None, RowOutcome::Updated(vec!["phone".into()]));
        report.record(
            4,
            Some(vec!["name: trimmed".into()]),
            RowOutcome::Updated(vec!["name".into(), "phone".into()]),
        );
        report.record(5, None, RowOutcome::Unchanged);
        report.record(6, Some(vec!["x".into()]), RowOutcome::Rejected("no".into()));
        report.merged(7, 2);
        assert_eq!(
            report.summary_json(),
            r#"{"created":1,"updated":1,"updated_fields":{"name":1,"phone":2},"unchanged":1,"fixed":1,"merged":1,"rejected":1}"#
        );
    }
}
