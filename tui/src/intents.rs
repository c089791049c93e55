//! Intents beyond moving around: deleting (behind a question), starting a backup, and the
//! later tabs' keys — reveal, export and forget on the customer detail, verifying the journal,
//! merging and unmerging duplicates.

use crate::action::Action;
use crate::app::{command, on_lane, App, Lane, Outgoing};
use crate::net::Purpose;
use crate::overlay::{Overlay, Prompt, PromptKind};
use crate::screens::backup::BackupStatus;
use crate::tab::Tab;
use crm_server::request::Command;

impl App {
    /// The privacy keys of the customer detail, the journal's and the duplicates'.
    pub(crate) fn apply_privacy_and_quality(&mut self, action: Action) -> Outgoing {
        let detail = self.customers.detail_id();
        match (action.clone(), detail) {
            (Action::Reveal, Some(id)) => {
                let outgoing = vec![command(Purpose::Revealed(id), Command::customer_reveal(id))];
                self.send(outgoing)
            }
            (Action::Export, Some(id)) => {
                self.overlay = Some(Overlay::Prompt(Prompt::new(
                    PromptKind::ExportPath(id),
                    &format!("customer-{id}.json"),
                )));
                Vec::new()
            }
            (Action::Forget, Some(id)) => {
                self.overlay = Some(Overlay::Prompt(Prompt::new(PromptKind::ForgetId(id), "")));
                Vec::new()
            }
            (Action::VerifyJournal, _) => {
                self.journal.verified = None;
                let outgoing = vec![command(Purpose::JournalVerified, Command::audit_verify())];
                self.send(outgoing)
            }
            (Action::Merge | Action::MergeKeepSecond, _) => {
                let Some((a, b)) = self.duplicates.selected_pair() else {
                    return Vec::new();
                };
                let (keep, other) = if action == Action::Merge {
                    (a, b)
                } else {
                    (b, a)
                };
                self.overlay = Some(Overlay::Confirm {
                    question: format!(
                        "Merge customer {other} into customer {keep}? Customer {keep} is kept, {other} goes (undo with u for 30 days) (y/n)"
                    ),
                    request: Command::customer_merge(keep, other),
                    purpose: Purpose::Merged(other),
                });
                Vec::new()
            }
            (Action::Unmerge, _) => {
                let input = self
                    .duplicates
                    .merged_away
                    .last()
                    .map(u64::to_string)
                    .unwrap_or_default();
                self.overlay = Some(Overlay::Prompt(Prompt::new(PromptKind::UnmergeId, &input)));
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The records of the selected duplicate pair not loaded yet.
    pub(crate) fn load_pair(&mut self) -> Outgoing {
        let outgoing = self
            .duplicates
            .missing_records()
            .into_iter()
            .map(|id| command(Purpose::PairRecord(id), Command::customer_get(id)))
            .collect();
        self.send(outgoing)
    }

    /// Starts a backup named `name` (empty: the server's default name).
    pub(crate) fn start_backup(&mut self, name: &str) -> Outgoing {
        if self.backups.status.running {
            self.set_status("a backup is already running", true);
            return Vec::new();
        }
        self.backups.status = BackupStatus {
            running: true,
            ..BackupStatus::default()
        };
        self.set_status("backup started", false);
        let outgoing = vec![on_lane(
            Lane::Long,
            Purpose::BackupDone,
            Command::backup((!name.is_empty()).then_some(name)),
        )];
        self.send(outgoing)
    }

    pub(crate) fn ask_delete(&mut self) {
        if self.tab == Tab::Schema {
            let question = self.schema.ask_drop();
            self.ask(question);
            return;
        }
        let (kind, row, delete): (_, _, fn(u64) -> Command) = match self.tab {
            Tab::Customers => ("customer", self.customers.selected(), Command::customer_del),
            Tab::Products => ("product", self.products.selected(), Command::product_del),
            _ => return,
        };
        if let Some(id) = row.and_then(|r| r["id"].as_u64()) {
            self.overlay = Some(Overlay::Confirm {
                question: format!("Delete {kind} {id}? (y/n)"),
                request: delete(id),
                purpose: Purpose::Deleted,
            });
        }
    }

    /// Opens a question, or says why there is none.
    pub(crate) fn ask(&mut self, question: Result<Overlay, String>) {
        match question {
            Ok(question) => self.overlay = Some(question),
            Err(reason) => self.set_status(reason, true),
        }
    }
}
