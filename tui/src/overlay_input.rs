//! Keys while an overlay has the keyboard: the login screen, a form, a prompt (and what a
//! submitted prompt asks of the server).

use crate::action::Action;
use crate::app::{command, App, Outgoing};
use crate::format::field_text;
use crate::net::Purpose;
use crate::overlay::{Form, FormKind, Overlay, PromptKind, RecordField};
use crate::screens::schema::{self, custom_inputs, declaration};
use crate::tab::Tab;
use crm_engine::schema::{FieldDef, Schema};
use crm_engine::Record;
use crm_server::request::{Command, Customer, Product};

impl App {
    pub(crate) fn open_form(&mut self, edit: bool) -> Outgoing {
        if self.tab == Tab::Schema && !edit {
            self.overlay = Some(Overlay::Form(schema::Schema::new_field_form()));
            return Vec::new();
        }
        let selected = match self.tab {
            Tab::Customers => self.customers.selected(),
            Tab::Products => self.products.selected(),
            _ => return Vec::new(),
        };
        let editing = selected
            .filter(|_| edit)
            .and_then(|row| row["id"].as_u64().map(|id| (id, row)));
        if edit && editing.is_none() {
            return Vec::new();
        }
        let value = |key: &str| {
            editing
                .as_ref()
                .map(|(_, row)| field_text(row, key))
                .unwrap_or_default()
        };
        // One input per field an update may change, labelled by its name.
        fn inputs<R: Record>(
            schema: &Schema<R>,
            record_field: fn(crm_engine::FieldId) -> RecordField,
            value: impl Fn(&str) -> String,
        ) -> Vec<crate::overlay::Field> {
            schema
                .updatable()
                .map(|field: &FieldDef<R>| {
                    Form::field(
                        label(field.name),
                        record_field(field.id),
                        &value(field.name),
                    )
                })
                .collect()
        }
        let mut form = if self.tab == Tab::Customers {
            Form {
                kind: editing
                    .as_ref()
                    .map_or(FormKind::NewCustomer, |(id, _)| FormKind::EditCustomer(*id)),
                fields: inputs(Customer::schema(), RecordField::Customer, value),
                focus: 0,
            }
        } else {
            Form {
                kind: editing
                    .as_ref()
                    .map_or(FormKind::NewProduct, |(id, _)| FormKind::EditProduct(*id)),
                fields: inputs(Product::schema(), RecordField::Product, value),
                focus: 0,
            }
        };
        // Then one per custom field of the kind, as the schema declares them.
        let kind = if self.tab == Tab::Customers {
            "customer"
        } else {
            "product"
        };
        form.fields.extend(custom_inputs(
            &self.schema.custom(kind),
            editing.as_ref().map(|(_, row)| row),
        ));
        self.overlay = Some(Overlay::Form(form));
        Vec::new()
    }

    pub(crate) fn apply_login(&mut self, action: Action) -> Outgoing {
        let Some(Overlay::Login(login)) = self.overlay.as_mut() else {
            return Vec::new();
        };
        let field = if login.focus == 0 {
            &mut login.user
        } else {
            &mut login.password
        };
        match action {
            Action::Quit | Action::Cancel => self.running = false,
            Action::NextField | Action::PreviousField => login.focus = 1 - login.focus,
            Action::Type(c) => field.insert(c),
            Action::EditLine(edit) => field.edit(edit),
            Action::Submit if login.focus == 0 => login.focus = 1,
            Action::Submit => {
                login.error = None;
                return self.submit_login();
            }
            _ => {}
        }
        Vec::new()
    }

    pub(crate) fn apply_form(&mut self, action: Action) -> Outgoing {
        let Some(Overlay::Form(form)) = self.overlay.as_mut() else {
            return Vec::new();
        };
        let count = form.fields.len().max(1);
        match action {
            Action::Cancel => self.overlay = None,
            Action::Quit => self.running = false,
            Action::NextField => form.focus = (form.focus + 1) % count,
            Action::PreviousField => form.focus = (form.focus + count - 1) % count,
            Action::Type(c) => form.fields[form.focus].value.insert(c),
            Action::EditLine(edit) => form.fields[form.focus].value.edit(edit),
            Action::Submit if form.kind == FormKind::AnalyticsParameters => {
                let form = form.clone();
                match self.analytics.set_parameters(&form) {
                    Ok(()) => {
                        self.overlay = None;
                        self.set_status("parameters set", false);
                        return self.load_tab();
                    }
                    Err((field, message)) => {
                        if let Some(Overlay::Form(open)) = self.overlay.as_mut() {
                            open.mark(field, message);
                        }
                    }
                }
            }
            Action::Submit if form.kind == FormKind::NewField => match declaration(form) {
                Ok((request, question)) => {
                    self.overlay = Some(Overlay::Confirm {
                        question,
                        request,
                        purpose: Purpose::SchemaChanged("field added".into()),
                    });
                }
                Err((at, message)) => form.mark(at, message),
            },
            Action::Submit => {
                if let Some(request) = form.command() {
                    return self.send(vec![command(Purpose::Save, request)]);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    pub(crate) fn apply_prompt(&mut self, action: Action) -> Outgoing {
        let Some(Overlay::Prompt(prompt)) = self.overlay.as_mut() else {
            return Vec::new();
        };
        match action {
            Action::Type(c) => prompt.input.insert(c),
            Action::EditLine(edit) => prompt.input.edit(edit),
            Action::Cancel => self.overlay = None,
            Action::Submit => {
                let Some(Overlay::Prompt(prompt)) = self.overlay.take() else {
                    return Vec::new();
                };
                let input = prompt.input.text().trim().to_string();
                return self.submit_prompt(prompt.kind, input);
            }
            _ => {}
        }
        Vec::new()
    }

    fn submit_prompt(&mut self, kind: PromptKind, input: String) -> Outgoing {
        let outgoing = match kind {
            PromptKind::Search | PromptKind::ProductSearch if crate::query::is_query(&input) => {
                return self.submit_query(kind, input)
            }
            PromptKind::Search => match self.customers.search(input) {
                Some(request) => vec![command(Purpose::Search, request)],
                None => Vec::new(),
            },
            PromptKind::ProductSearch => match self.products.search(input.clone()) {
                Some(request) => vec![command(Purpose::ProductSearch(input), request)],
                None => Vec::new(),
            },
            PromptKind::BackupName => return self.start_backup(&input),
            PromptKind::OrderFilter => {
                self.orders.filter = input;
                self.orders.page.request_first();
                return self.load_tab();
            }
            PromptKind::JournalFilter => {
                self.journal.filter = input;
                return self.load_tab();
            }
            PromptKind::ExportPath(id) if !input.is_empty() => {
                vec![command(
                    Purpose::Exported(input),
                    Command::customer_export(id),
                )]
            }
            PromptKind::ForgetId(id) if input == id.to_string() => {
                vec![command(
                    Purpose::Forgotten(id),
                    Command::customer_forget(id),
                )]
            }
            PromptKind::ForgetId(id) => {
                self.set_status(format!("not forgotten: the id typed was not {id}"), true);
                Vec::new()
            }
            PromptKind::UnmergeId => match input.parse::<u64>() {
                Ok(other) => vec![command(
                    Purpose::Unmerged(other),
                    Command::customer_unmerge(other),
                )],
                Err(_) => {
                    self.set_status(format!("\"{input}\" is not a customer id"), true);
                    Vec::new()
                }
            },
            PromptKind::ExportPath(_) => Vec::new(),
        };
        self.send(outgoing)
    }
}

impl App {
    /// A query typed at the Customers or Products prompt: in force from the first page, or
    /// the prompt again with what is wrong on the status line.
    fn submit_query(&mut self, kind: PromptKind, input: String) -> Outgoing {
        match crate::query::parse(&input) {
            Ok(typed) => {
                if self.tab == Tab::Customers {
                    self.customers.detail = None;
                    self.customers.set_query(typed);
                } else {
                    self.products.set_query(typed);
                }
                self.load_tab()
            }
            Err(message) => {
                self.overlay = Some(Overlay::Prompt(crate::overlay::Prompt::new(kind, &input)));
                self.set_status(format!("query: {message}"), true);
                Vec::new()
            }
        }
    }
}

/// A form's label for a field: its name, capitalised, underscores as spaces (`created_at` →
/// `Created at`).
fn label(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
