//! CSV import: stream a file through the cleaner into the store in large write groups.

use crate::clean::{Cleaner, ImportKind, Verdict};
use crate::csv_rows::CsvRows;
use crate::error::{ErrorKind, Result};
use crate::store::Store;
use crate::write::Op;
use std::io::Read;

/// Rows per write group: one flush per this many rows.
const IMPORT_BATCH: usize = 5_000;

/// What happened to every row of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rows stored as they were.
    pub accepted: u64,
    /// Rows stored after cleaning: (line, what changed).
    pub fixed: Vec<(u64, Vec<String>)>,
    /// Exact duplicates not stored again: (line, the line of the first copy).
    pub merged: Vec<(u64, u64)>,
    /// Rows refused by the cleaner or the store: (line, why).
    pub rejected: Vec<(u64, Rejection)>,
}

/// Why a row was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `None` when the cleaner refused the row; the store's error kind when the write was
    /// refused (a taken email, a missing customer, ...).
    pub kind: Option<ErrorKind>,
    /// The reason, naming the field and the value.
    pub reason: String,
}

impl Rejection {
    fn unclean(reason: String) -> Rejection {
        Rejection { kind: None, reason }
    }
}

impl ImportReport {
    /// Rows stored, cleaned or not.
    pub fn stored(&self) -> u64 {
        self.accepted + self.fixed.len() as u64
    }
}

impl Store {
    /// Imports one CSV file (with a header row) of `kind`; lines are the file's physical lines
    /// (`csv_rows.rs`). Memory stays bounded by one batch (plus 16 bytes per distinct row for
    /// duplicate detection).
    pub fn import_csv(&self, kind: ImportKind, input: impl Read) -> Result<ImportReport> {
        let mut rows = CsvRows::new(std::io::BufReader::new(input));
        let mut cleaner = Cleaner::with_catalog(kind, &rows.header()?.names, &self.catalog())?;
        let mut report = ImportReport::default();
        // Pending writes: (line, changes if fixed, op).
        let mut pending: Vec<(u64, Option<Vec<String>>, Op)> = Vec::with_capacity(IMPORT_BATCH);
        while let Some(row) = rows.next_row()? {
            let line = row.line;
            let record = match row.fields {
                Ok(record) => record,
                Err(reason) => {
                    report.rejected.push((line, Rejection::unclean(reason)));
                    continue;
                }
            };
            match cleaner.clean(line, &record) {
                Verdict::Accepted(clean) => pending.push((line, None, clean.into_op())),
                Verdict::Fixed(clean, changes) => {
                    pending.push((line, Some(changes), clean.into_op()))
                }
                Verdict::Merged { first_line, .. } => report.merged.push((line, first_line)),
                Verdict::Rejected(reason) => {
                    report.rejected.push((line, Rejection::unclean(reason)))
                }
            }
            if pending.len() >= IMPORT_BATCH {
                self.flush_import(&mut pending, &mut report)?;
            }
        }
        self.flush_import(&mut pending, &mut report)?;
        Ok(report)
    }

    fn flush_import(
        &self,
        pending: &mut Vec<(u64, Option<Vec<String>>, Op)>,
        report: &mut ImportReport,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let ops: Vec<Op> = pending.iter().map(|(_, _, op)| op.clone()).collect();
        let results = self.write_many(ops)?;
        for ((line, changes, _), result) in pending.drain(..).zip(results) {
            match (result, changes) {
                (Ok(_), None) => report.accepted += 1,
                (Ok(_), Some(changes)) => report.fixed.push((line, changes)),
                (Err(error), _) => report.rejected.push((
                    line,
                    Rejection {
                        kind: Some(error.kind()),
                        reason: error.to_string(),
                    },
                )),
            }
        }
        Ok(())
    }
}
