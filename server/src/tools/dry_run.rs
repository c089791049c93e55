//! What `crm-server import --dry-run` needs beyond the server's own `DRYRUN`: the effect of the
//! file's earlier rows on its later ones, since a dry run writes nothing the server could see.
//!
//! The server decides a customer row alone (`CUSTOMER.UPSERT ... DRYRUN`) unless an earlier row
//! of the same file has its email or claims its id; such a row is decided here, against the
//! customer as the earlier rows would have left it (read once with `CUSTOMER.GET`, then patched
//! in order). Products and orders have no server-side dry run: their ids and references are
//! looked up (`*.GET`, cached), which is what a real import could refuse them for (imported
//! orders take no stock).

use super::import_report::RowOutcome;
use crm_engine::schema::custom::changed_ids;
use crm_engine::schema::Catalog;
use crm_engine::{Customer, Kind, NewCustomer, Record};
use crm_server::client::{Client, ClientError, Value};
use crm_server::request::Command;
use std::collections::HashMap;

/// A customer as the file's earlier rows would leave it; its id 0 for one the import would
/// create, with an id the server would choose.
type Simulated = Customer;

/// The file's effect so far, for the rows the server cannot decide alone.
#[derive(Default)]
pub struct DryRun {
    /// By normalised email: the customer, once known (`None`: the server said it exists, and
    /// it is read when a later row needs it).
    customers: HashMap<String, (u64, Option<Simulated>, Vec<NewCustomer>)>,
    /// Ids that rows of this file would create, with the line.
    claimed: HashMap<u64, u64>,
    /// `*.GET` answers already asked: (kind, id) → exists.
    exists: HashMap<(&'static str, u64), bool>,
}

impl DryRun {
    /// Whether an earlier row touched this row's email or id: then [`DryRun::decide`] decides
    /// it, after the replies in flight are read.
    pub fn depends_on_earlier(&self, row: &NewCustomer) -> bool {
        self.customers.contains_key(&row.email)
            || row.id.is_some_and(|id| self.claimed.contains_key(&id))
    }

    /// Takes the server's dry-run answer for a row that depended on nothing earlier.
    pub fn learn(&mut self, row: &NewCustomer, line: u64, id: u64, outcome: &RowOutcome) {
        match outcome {
            RowOutcome::Created => {
                if let Some(id) = row.id {
                    self.claimed.insert(id, line);
                }
                let created = row.to_record(row.id.unwrap_or(0));
                self.customers
                    .insert(row.email.clone(), (created.id, Some(created), Vec::new()));
            }
            RowOutcome::Updated(_) | RowOutcome::Unchanged => {
                let entry =
                    self.customers
                        .entry(row.email.clone())
                        .or_insert((id, None, Vec::new()));
                entry.2.push(row.clone());
            }
            RowOutcome::Rejected(_) => {}
        }
    }

    /// Decides a row that depends on earlier rows of the file, as the real import would.
    pub fn decide(
        &mut self,
        client: &mut Client,
        row: &NewCustomer,
        upsert: bool,
        catalog: &Catalog,
    ) -> Result<RowOutcome, ClientError> {
        let Some(current) = self.current(client, &row.email, catalog)? else {
            // Only its id was claimed by an earlier row.
            let id = row.id.unwrap_or(0);
            let first = self.claimed.get(&id).copied().unwrap_or(0);
            return Ok(RowOutcome::Rejected(format!(
                "CONFLICT customer {id} exists (created by line {first})"
            )));
        };
        let owner = if current.id == 0 {
            "the customer an earlier row creates".to_string()
        } else {
            format!("customer {}", current.id)
        };
        let quoted = serde_json::Value::from(row.email.as_str());
        if !upsert {
            return Ok(RowOutcome::Rejected(format!(
                "CONFLICT email {quoted} belongs to {owner}"
            )));
        }
        if let Some(given) = row.id.filter(|given| *given != current.id) {
            return Ok(RowOutcome::Rejected(format!(
                "CONFLICT email {quoted} belongs to {owner}, not {given}"
            )));
        }
        let mut upserted = current.clone();
        upsert_into(&mut upserted, row);
        let schema = Customer::schema();
        let mut fields: Vec<String> = schema
            .names(schema.changed(&current, &upserted))
            .into_iter()
            .map(str::to_string)
            .collect();
        // Custom fields after the built-in ones, in declaration order, as the server names them.
        let custom = changed_ids(&current.custom, &upserted.custom);
        fields.extend(catalog.names_of(Kind::Customer, |id| custom.contains(&id)));
        if let Some(entry) = self.customers.get_mut(&row.email) {
            entry.2.push(row.clone());
        }
        Ok(if fields.is_empty() {
            RowOutcome::Unchanged
        } else {
            RowOutcome::Updated(fields)
        })
    }

    /// The customer with this email as the earlier rows leave it (`None`: no earlier row has
    /// the email).
    fn current(
        &mut self,
        client: &mut Client,
        email: &str,
        catalog: &Catalog,
    ) -> Result<Option<Simulated>, ClientError> {
        let Some((id, known, patches)) = self.customers.get_mut(email) else {
            return Ok(None);
        };
        let mut customer = match known {
            Some(customer) => customer.clone(),
            None => {
                let stored = client
                    .call(&Command::customer_get(*id))?
                    .json()?
                    .unwrap_or_default();
                let read = Simulated {
                    id: *id,
                    custom: catalog.values_from_json(Kind::Customer, &stored["fields"]),
                    ..Customer::schema().from_json(&stored)
                };
                *known = Some(read.clone());
                read
            }
        };
        for patch in patches.iter() {
            upsert_into(&mut customer, patch);
        }
        Ok(Some(customer))
    }

    /// A product or order row: `CONFLICT` for an id that exists or an earlier row claims,
    /// `FKEY` for a missing customer or product; else it would be created.
    pub fn check_row(
        &mut self,
        client: &mut Client,
        line: u64,
        kind: &'static str,
        id: Option<u64>,
        references: &[(&'static str, u64)],
    ) -> Result<RowOutcome, ClientError> {
        if let Some(id) = id {
            if let Some(first) = self.claimed.get(&id) {
                return Ok(RowOutcome::Rejected(format!(
                    "CONFLICT {kind} {id} exists (created by line {first})"
                )));
            }
            if self.exists(client, kind, id)? {
                return Ok(RowOutcome::Rejected(format!("CONFLICT {kind} {id} exists")));
            }
        }
        for &(referenced, reference) in references {
            if !self.exists(client, referenced, reference)? {
                return Ok(RowOutcome::Rejected(format!(
                    "FKEY {referenced} {reference} does not exist"
                )));
            }
        }
        if let Some(id) = id {
            self.claimed.insert(id, line);
        }
        Ok(RowOutcome::Created)
    }

    fn exists(
        &mut self,
        client: &mut Client,
        kind: &'static str,
        id: u64,
    ) -> Result<bool, ClientError> {
        if let Some(known) = self.exists.get(&(kind, id)) {
            return Ok(*known);
        }
        let request = match kind {
            "customer" => Command::customer_get(id),
            "product" => Command::product_get(id),
            _ => Command::order_get(id),
        };
        let found = !matches!(client.call(&request)?, Value::Nil);
        self.exists.insert((kind, id), found);
        Ok(found)
    }
}

/// What `CUSTOMER.UPSERT` does to the customer a row matches: the fields the row gives that an
/// update may change take its values (an empty cell is not given), custom ones included, but
/// the email it matched on stays as the customer shows it.
fn upsert_into(customer: &mut Customer, row: &NewCustomer) {
    let schema = Customer::schema();
    let given = row.given().without(schema, Customer::EMAIL);
    schema.update_from(customer, &row.to_record(customer.id), given);
    row.custom.apply_to(&mut customer.custom);
}
