//! The intents of the later tabs and keys: reveal, export and forget on the customer detail,
//! verifying the journal, merging and unmerging duplicates.

use crate::action::Action;
use crate::app::{command, App, Outgoing};
use crate::net::Purpose;
use crate::overlay::{Overlay, Prompt, PromptKind};

impl App {
    /// The privacy keys of the customer detail, the journal's and the duplicates'.
    pub(crate) fn apply_privacy_and_quality(&mut self, action: Action) -> Outgoing {
        let detail = self.customers.detail_id();
        match (action.clone(), detail) {
            (Action::Reveal, Some(id)) => {
                let outgoing = vec![command(
                    Purpose::Revealed(id),
                    &["CUSTOMER.REVEAL", &id.to_string()],
                )];
                self.send(outgoing)
            }
            (Action::Export, Some(id)) => {
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind: PromptKind::ExportPath(id),
                    input: format!("customer-{id}.json"),
                }));
                Vec::new()
            }
            (Action::Forget, Some(id)) => {
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind: PromptKind::ForgetId(id),
                    input: String::new(),
                }));
                Vec::new()
            }
            (Action::VerifyJournal, _) => {
                self.journal.verified = None;
                let outgoing = vec![command(Purpose::JournalVerified, &["AUDIT.VERIFY"])];
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
                    args: vec![
                        "CUSTOMER.MERGE".into(),
                        keep.to_string(),
                        other.to_string(),
                    ],
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
                self.overlay = Some(Overlay::Prompt(Prompt {
                    kind: PromptKind::UnmergeId,
                    input,
                }));
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
            .map(|id| command(Purpose::PairRecord(id), &["CUSTOMER.GET", &id.to_string()]))
            .collect();
        self.send(outgoing)
    }
}
