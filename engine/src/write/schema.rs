//! The write paths of the schema: declaring, dropping and indexing custom fields
//! (`SCHEMA.FIELD.*`). The catalog is one sealed metadata entry, changed in a write group
//! like any record (so a cluster's followers get it with the group, and a write later in the
//! group reads it as changed); the store's copy in memory follows it in `apply_group`.

use super::view::{Plan, View};
use super::Outcome;
use crate::error::{Kind, Result};
use crate::journal::{Draft, JournalOp};
use crate::schema::{Catalog, CustomField, CustomGiven, FieldDeclaration};
use crate::trees::schema_key;

/// The catalog as the group sees it so far (empty in a store that never declared a field).
pub(crate) fn catalog(view: &View) -> Result<Catalog> {
    Ok(view.record(&schema_key())?.unwrap_or_default())
}

/// `INVALID` unless every custom field `given` names is declared for `kind`; the catalog
/// (`None` when nothing custom is given: no read).
pub(crate) fn checked(view: &View, kind: Kind, given: &CustomGiven) -> Result<Option<Catalog>> {
    if given.is_empty() {
        return Ok(None);
    }
    let catalog = catalog(view)?;
    given.check(&catalog, kind)?;
    Ok(Some(catalog))
}

fn changed(next: &Catalog, op: JournalOp, field: &CustomField) -> Plan {
    let mut plan = Plan::journaled(Draft::record(
        op,
        Kind::Schema,
        0,
        vec![field.journal_name().as_str()],
    ));
    plan.put_record(&schema_key(), next);
    plan
}

pub fn add_field(view: &View, declaration: &FieldDeclaration) -> Result<(Plan, Outcome)> {
    // The protocol's keywords are the server's to refuse, before the request gets here.
    let (next, field) = catalog(view)?.with_field(declaration.clone(), |_| false)?;
    Ok((changed(&next, JournalOp::Add, &field), Outcome::Done))
}

pub fn drop_field(view: &View, kind: Kind, name: &str) -> Result<(Plan, Outcome)> {
    let (next, field) = catalog(view)?.without_field(kind, name)?;
    Ok((changed(&next, JournalOp::Delete, &field), Outcome::Done))
}

/// A change that changes nothing appends nothing.
pub fn index_field(view: &View, kind: Kind, name: &str, on: bool) -> Result<(Plan, Outcome)> {
    match catalog(view)?.with_index(kind, name, on)? {
        Some((next, field)) => Ok((changed(&next, JournalOp::Update, &field), Outcome::Done)),
        None => Ok((Plan::default(), Outcome::Skipped)),
    }
}
