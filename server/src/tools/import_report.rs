//! The report of `crm-server import`: what became of each row, by line, then a summary table
//! and, last, one JSON line (the contract's `{"rows","created","updated","updated_fields",
//! "unchanged","fixed","merged","rejected"}`) for scripts.
//!
//! Every data row has one outcome — `created`, `updated`, `unchanged`, `merged` (the same as an
//! earlier row) or `rejected` — and the five add up to `rows`. `fixed` is not an outcome: it
//! counts the rows the cleaning changed, each also counted by its outcome (a fixed row that
//! was then created is `created` and `fixed`). Lines are the file's physical lines.

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
    merged: Vec<(u64, u64)>,
    rejected: Vec<(u64, String)>,
    /// Rows the cleaning changed: (line, what changed, the row's outcome).
    fixed: Vec<(u64, Vec<String>, String)>,
    updated_fields: BTreeMap<String, u64>,
}

impl Report {
    /// A row the server answered (or, in a dry run, that was decided); `changes` says what
    /// cleaning fixed in it, if anything.
    pub fn record(&mut self, line: u64, changes: Option<Vec<String>>, outcome: RowOutcome) {
        if let Some(changes) = changes.filter(|changes| !changes.is_empty()) {
            self.fixed.push((line, changes, outcome.describe()));
        }
        match outcome {
            RowOutcome::Created => self.created.push(line),
            RowOutcome::Updated(fields) => {
                for field in &fields {
                    *self.updated_fields.entry(field.clone()).or_default() += 1;
                }
                self.updated.push((line, fields));
            }
            RowOutcome::Unchanged => self.unchanged.push(line),
            RowOutcome::Rejected(reason) => self.rejected.push((line, reason)),
        }
    }

    /// A row identical (after cleaning, which changed `changes` in it) to the one on
    /// `first_line`: not sent.
    pub fn merged(&mut self, line: u64, first_line: u64, changes: Vec<String>) {
        if !changes.is_empty() {
            self.fixed
                .push((line, changes, format!("merged: same as line {first_line}")));
        }
        self.merged.push((line, first_line));
    }

    /// Data rows read: the five outcomes together.
    pub fn rows(&self) -> usize {
        self.created.len()
            + self.updated.len()
            + self.unchanged.len()
            + self.merged.len()
            + self.rejected.len()
    }

    /// Rows rejected, by the cleaning or by the server.
    pub fn rejected_count(&self) -> usize {
        self.rejected.len()
    }

    /// The contract's JSON summary line, keys in the contract's order.
    pub fn summary_json(&self) -> String {
        let fields: Vec<String> = self
            .updated_fields
            .iter()
            .map(|(field, count)| format!("{}:{count}", serde_json::Value::from(field.as_str())))
            .collect();
        format!(
            r#"{{"rows":{},"created":{},"updated":{},"updated_fields":{{{}}},"unchanged":{},"fixed":{},"merged":{},"rejected":{}}}"#,
            self.rows(),
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
            "{}: {} rows: created {}, updated {}, unchanged {}, merged {}, rejected {}; fixed {}{}",
            file.display(),
            self.rows(),
            self.created.len(),
            self.updated.len(),
            self.unchanged.len(),
            self.merged.len(),
            self.rejected.len(),
            self.fixed.len(),
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
            ("merged", self.merged.len()),
            ("rejected", self.rejected.len()),
        ] {
            writeln!(out, "  {name:<10} {count:>10}")?;
            if name == "updated" {
                for (field, count) in &self.updated_fields {
                    writeln!(out, "  {:<10} {count:>10}", format!("  {field}"))?;
                }
            }
        }
        writeln!(out, "  {:<10} {:>10}", "all", self.rows())?;
        writeln!(
            out,
            "  {:<10} {:>10}  (also counted above)",
            "fixed",
            self.fixed.len()
        )?;
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

    // Guards against a fixed row counted as `fixed` instead of by its outcome (four customers
    // added, `created 0`): the outcomes add up to `rows`, and `fixed` counts across them.
    #[test]
    fn outcomes_add_up_to_rows_and_fixed_rows_count_by_their_outcome_too() {
        let mut report = Report::default();
        report.record(2, None, RowOutcome::Created);
        report.record(3, Some(vec!["name: trimmed".into()]), RowOutcome::Created);
        report.record(4, None, RowOutcome::Updated(vec!["phone".into()]));
        report.record(
            5,
            Some(vec!["name: trimmed".into()]),
            RowOutcome::Updated(vec!["name".into(), "phone".into()]),
        );
        report.record(6, None, RowOutcome::Unchanged);
        report.record(7, Some(vec!["x".into()]), RowOutcome::Rejected("no".into()));
        report.merged(8, 2, Vec::new());
        report.merged(9, 2, vec!["email: lower case".into()]);
        assert_eq!(
            report.summary_json(),
            r#"{"rows":8,"created":2,"updated":2,"updated_fields":{"name":1,"phone":2},"unchanged":1,"fixed":4,"merged":2,"rejected":1}"#
        );
        let text = report.render(Path::new("f.csv"), false).unwrap();
        assert!(
            text.starts_with(
                "f.csv: 8 rows: created 2, updated 2, unchanged 1, merged 2, rejected 1; fixed 4\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  line 3: fixed: name: trimmed; created\n"),
            "{text}"
        );
        assert!(
            text.contains("  line 9: fixed: email: lower case; merged: same as line 2\n"),
            "{text}"
        );
    }
}
