//! What can hold the keyboard over a tab: the login screen, a form, a yes/no question or a
//! one-line prompt. One enum, so two of them can never be open at once.

use crate::line_input::LineInput;
use crate::net::Purpose;
use crm_engine::schema::{name_of, Presence};
use crm_engine::Record;
use crm_server::request::{Command, Customer, FieldId, Product};

/// The one thing on top of the tabs, if any.
#[derive(Debug, Clone)]
pub enum Overlay {
    Login(Login),
    Form(Form),
    /// A yes/no question, and the request to send on yes.
    Confirm {
        question: String,
        request: Command,
        purpose: Purpose,
    },
    Prompt(Prompt),
}

/// The login screen. Its password is wiped on drop and left out of `Debug`.
#[derive(Clone, Default)]
pub struct Login {
    pub user: LineInput,
    pub password: LineInput,
    /// 0: user, 1: password.
    pub focus: usize,
    pub error: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user.text())
            .field("password", &"<hidden>")
            .field("focus", &self.focus)
            .field("error", &self.error)
            .finish()
    }
}

/// A one-line prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: LineInput,
}

impl Prompt {
    /// A prompt holding `text`, the cursor at its end.
    pub fn new(kind: PromptKind, text: &str) -> Prompt {
        Prompt {
            kind,
            input: LineInput::new(text),
        }
    }
}

/// What a prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// Customers: an email, phone or name word.
    Search,
    /// Products: part of a name.
    ProductSearch,
    /// The name of a backup to take (empty: the server's default name).
    BackupName,
    /// Orders: `customer N`, `product N`, `since T`, `until T`.
    OrderFilter,
    /// Journal: `user NAME`, `kind KIND`, `id N`.
    JournalFilter,
    /// A file to write a customer's export to.
    ExportPath(u64),
    /// The id typed again to confirm a forget.
    ForgetId(u64),
    /// The merged-away customer whose merge to undo.
    UnmergeId,
}

impl PromptKind {
    /// The label before the input.
    pub fn label(self) -> String {
        match self {
            PromptKind::Search => {
                "Search (email, phone or name) or query (where ... sort ...): ".into()
            }
            PromptKind::ProductSearch => {
                "Search products (part of a name) or query (where ... sort ...): ".into()
            }
            PromptKind::BackupName => "Backup name (Enter alone: backup-<time>): ".into(),
            PromptKind::OrderFilter => {
                "Filter (customer N, product N, since DATE, until DATE): ".into()
            }
            PromptKind::JournalFilter => "Filter (user NAME, kind KIND, id N): ".into(),
            PromptKind::ExportPath(id) => format!("Export customer {id} to file: "),
            PromptKind::ForgetId(id) => {
                format!("Forget customer {id} for good? Type its id ({id}) to confirm: ")
            }
            PromptKind::UnmergeId => "Undo the merge of customer (the merged-away id): ".into(),
        }
    }
}

/// One input field of a form, with the server's complaint about it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub label: String,
    pub field: RecordField,
    pub value: LineInput,
    pub error: Option<String>,
}

/// The record field an input sets (a field of the kind's schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordField {
    Customer(FieldId),
    Product(FieldId),
    /// A custom field of the form's kind, by its name (`SCHEMA.LIST`).
    Custom(String),
    /// A parameter of the Analytics tab or of a new custom field.
    Parameter(&'static str),
}

impl RecordField {
    /// The name errors use for it (`INVALID email: ...`).
    fn name(&self) -> &str {
        match self {
            RecordField::Customer(field) => name_of::<Customer>(*field),
            RecordField::Product(field) => name_of::<Product>(*field),
            RecordField::Custom(name) => name,
            RecordField::Parameter(name) => name,
        }
    }

    /// Whether an add must send it even empty (so the server names what is missing).
    fn required(&self) -> bool {
        let presence = match self {
            RecordField::Customer(field) => Customer::schema().field(*field).map(|f| f.presence),
            RecordField::Product(field) => Product::schema().field(*field).map(|f| f.presence),
            RecordField::Custom(_) | RecordField::Parameter(_) => None,
        };
        presence == Some(Presence::Required)
    }
}

/// What a form adds or edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    NewCustomer,
    EditCustomer(u64),
    NewProduct,
    EditProduct(u64),
    /// The Analytics tab's parameters (no request: the tab reloads with them).
    AnalyticsParameters,
    /// A custom field to declare (the request goes behind a question: `screens::schema`).
    NewField,
}

/// An add or edit form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub kind: FormKind,
    pub fields: Vec<Field>,
    pub focus: usize,
}

impl Form {
    pub fn field(label: impl Into<String>, field: RecordField, value: &str) -> Field {
        Field {
            label: label.into(),
            field,
            value: LineInput::new(value),
            error: None,
        }
    }

    pub fn title(&self) -> &'static str {
        match self.kind {
            FormKind::NewCustomer => "New customer",
            FormKind::EditCustomer(_) => "Edit customer",
            FormKind::NewProduct => "New product",
            FormKind::EditProduct(_) => "Edit product",
            FormKind::AnalyticsParameters => "Analytics parameters",
            FormKind::NewField => "New custom field",
        }
    }

    /// The request that saves a record's form (none for the others).
    pub fn command(&self) -> Option<Command> {
        let adding = matches!(self.kind, FormKind::NewCustomer | FormKind::NewProduct);
        // An add leaves optional fields out; an edit sends them all (empty clears).
        let sent = self.fields.iter().filter(|input| {
            !adding || input.field.required() || !input.value.text().trim().is_empty()
        });
        let mut customer = Vec::new();
        let mut product = Vec::new();
        let mut custom = Vec::new();
        for input in sent {
            match &input.field {
                RecordField::Customer(field) => customer.push((*field, input.value.text())),
                RecordField::Product(field) => product.push((*field, input.value.text())),
                RecordField::Custom(name) => custom.push((name.as_str(), input.value.text())),
                RecordField::Parameter(_) => {}
            }
        }
        let command = match self.kind {
            FormKind::NewCustomer => Command::customer_add(&customer),
            FormKind::EditCustomer(id) => Command::customer_update(id, &customer),
            FormKind::NewProduct => Command::product_add(&product),
            FormKind::EditProduct(id) => Command::product_update(id, &product),
            FormKind::AnalyticsParameters | FormKind::NewField => return None,
        };
        Some(command.with_custom_text(&custom))
    }

    /// Puts `message` at input `at` (clearing the others') and moves there.
    pub fn mark(&mut self, at: usize, message: String) {
        for (i, field) in self.fields.iter_mut().enumerate() {
            field.error = (i == at).then(|| message.clone());
        }
        self.focus = at;
    }

    /// Puts a server error at the field it names (`INVALID email: ...`); false if none matches.
    pub fn show_error(&mut self, message: &str) -> bool {
        let detail = message.split_once(' ').map_or(message, |(_, rest)| rest);
        let lower = detail.to_lowercase();
        for field in &mut self.fields {
            field.error = None;
        }
        for (i, field) in self.fields.iter_mut().enumerate() {
            let name = field.field.name();
            if lower.starts_with(&format!("{name}:")) || lower.starts_with(&format!("{name} ")) {
                field.error = Some(message.to_string());
                self.focus = i;
                return true;
            }
        }
        false
    }
}
