//! Schema (admin): every field of customers and products as `SCHEMA.LIST` gives it, built-in
//! ones first; `a` declares a custom field (a form, then a question), `d` drops the selected
//! one and `i` turns its index on or off (each behind a question). The same list tells the
//! forms, the details and the Customers and Products tables which custom fields a kind has, so
//! none of them knows a custom field from code.

use super::table::{self, column, Column, Kind};
use super::Chrome;
use crate::format::field_text;
use crate::net::Purpose;
use crate::overlay::{Field, Form, FormKind, Overlay, RecordField};
use crate::page::Page;
use crate::theme;
use crm_server::request::{Command, NewField};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use serde_json::Value as Json;

const COLUMNS: [Column; 7] = [
    column("Kind", "kind", Kind::Text),
    column("Name", "name", Kind::Text),
    column("Type", "type", Kind::Text),
    column("Values", "values_text", Kind::Text),
    column("Personal", "personal_text", Kind::Text),
    column("Indexed", "indexed_text", Kind::Text),
    column("Built-in", "builtin_text", Kind::Text),
];

/// The kinds that have custom fields, as the protocol names them.
pub const KINDS: [&str; 2] = ["customer", "product"];

/// The inputs of the new-field form, in order (their names are `RecordField::Parameter`s).
const NEW_FIELD_INPUTS: [(&str, &str, &str); 6] = [
    ("Kind", "kind", "customer"),
    ("Name", "name", ""),
    ("Type", "type", "text"),
    ("Values", "values", ""),
    ("Personal", "personal", "no"),
    ("Indexed", "indexed", "no"),
];

/// The Schema tab's state: the fields, and the selection among them.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub page: Page,
    /// Whether `SCHEMA.LIST` has answered since the last connection.
    pub loaded: bool,
}

impl Schema {
    pub fn request() -> Command {
        Command::schema_list()
    }

    /// Takes `SCHEMA.LIST`'s answer, with the flags and values as the table shows them.
    pub fn take(&mut self, mut rows: Vec<Json>) {
        let yes =
            |v: &Json| Json::String(if v.as_bool() == Some(true) { "yes" } else { "" }.into());
        for row in &mut rows {
            let values = row["values"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(Json::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            row["values_text"] = Json::String(values);
            for flag in ["personal", "indexed", "builtin"] {
                row[format!("{flag}_text")] = yes(&row[flag]);
            }
        }
        self.page.arrived(rows, &COLUMNS);
        self.loaded = true;
    }

    /// The custom fields of a kind (`customer`, `product`), in the order they were added.
    fn custom_fields<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Json> {
        self.page
            .rows
            .iter()
            .filter(move |f| f["kind"] == kind && f["builtin"] != true)
    }

    /// The names of a kind's custom fields, in the order they were added.
    pub fn custom(&self, kind: &str) -> Vec<String> {
        self.custom_fields(kind)
            .map(|f| field_text(f, "name"))
            .collect()
    }

    /// The columns of a kind's custom fields, in the order they were added, each read as its
    /// type reads (numbers right-aligned, dates shortened like the built-in times).
    pub fn custom_columns(&self, kind: &str) -> Vec<Column> {
        self.custom_fields(kind)
            .map(|f| Column::custom(&field_text(f, "name"), column_kind(&field_text(f, "type"))))
            .collect()
    }

    /// The selected field, if it is a custom one; else why it cannot be `done` (a built-in
    /// field is the store's own: the server refuses it too).
    fn selected_custom(&self, done: &str) -> Result<Selected, String> {
        let row = self.page.selected_row().ok_or("no field selected")?;
        let (kind, name) = (field_text(row, "kind"), field_text(row, "name"));
        if row["builtin"] == true {
            return Err(format!(
                "{kind} field {name} is built in: it cannot be {done}"
            ));
        }
        Ok(Selected {
            kind,
            name,
            indexed: row["indexed"] == true,
        })
    }

    /// `d`: the question that drops the selected custom field; why not for a built-in one.
    pub fn ask_drop(&self) -> Result<Overlay, String> {
        let Selected { kind, name, .. } = self.selected_custom("dropped")?;
        Ok(Overlay::Confirm {
            question: format!(
                "Drop the {kind} field {name}? It leaves every reply and its values are erased from every record (y/n)"
            ),
            request: Command::schema_field_drop(&kind, &name),
            purpose: Purpose::SchemaChanged(format!("{kind} field {name} dropped")),
        })
    }

    /// `i`: the question that turns the selected custom field's index on (when it has none)
    /// or off; why not for a built-in one (its indexes are not the schema's to change).
    pub fn ask_index(&self) -> Result<Overlay, String> {
        let Selected {
            kind,
            name,
            indexed,
        } = self.selected_custom("indexed or unindexed here (its indexes are the store's own)")?;
        let (question, done) = if indexed {
            (
                format!(
                    "Stop indexing the {kind} field {name}? Its index leaves memory; conditions and sorts on it read every record again (y/n)"
                ),
                format!("{kind} field {name} no longer indexed"),
            )
        } else {
            (
                format!(
                    "Index the {kind} field {name}? Its values are indexed in memory, which may take a moment on a big store; conditions and sorts on it get fast (y/n)"
                ),
                format!("{kind} field {name} indexed"),
            )
        };
        Ok(Overlay::Confirm {
            question,
            request: Command::schema_field_index(&kind, &name, !indexed),
            purpose: Purpose::SchemaChanged(done),
        })
    }

    /// The form that declares a new field.
    pub fn new_field_form() -> Form {
        Form {
            kind: FormKind::NewField,
            fields: NEW_FIELD_INPUTS
                .iter()
                .map(|(label, name, default)| {
                    Form::field(*label, RecordField::Parameter(name), default)
                })
                .collect(),
            focus: 1,
        }
    }
}

/// What the new-field form declares: the request and the question that confirms it, or the
/// input at fault and why.
pub fn declaration(form: &Form) -> Result<(Command, String), (usize, String)> {
    let input = |name: &str| -> (usize, String) {
        let at = NEW_FIELD_INPUTS
            .iter()
            .position(|(_, n, _)| *n == name)
            .unwrap_or(0);
        let text = form
            .fields
            .get(at)
            .map(|f| f.value.text().trim().to_string());
        (at, text.unwrap_or_default())
    };
    let flag = |name: &str| -> Result<bool, (usize, String)> {
        let (at, text) = input(name);
        match text.to_ascii_lowercase().as_str() {
            "" | "no" | "n" | "false" => Ok(false),
            "yes" | "y" | "true" => Ok(true),
            _ => Err((at, format!("{name}: yes or no, not \"{text}\""))),
        }
    };
    let (at, kind) = input("kind");
    let kind = kind.to_ascii_lowercase();
    if !KINDS.contains(&kind.as_str()) {
        return Err((at, format!("kind: customer or product, not \"{kind}\"")));
    }
    let (at, name) = input("name");
    if name.is_empty() {
        return Err((
            at,
            "name: 1 to 32 of A-Z a-z 0-9 _, starting with a letter".into(),
        ));
    }
    let (_, ty) = input("type");
    let (_, values) = input("values");
    let field = NewField {
        ty: ty.to_ascii_lowercase(),
        values: values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect(),
        personal: flag("personal")?,
        indexed: flag("indexed")?,
    };
    let mut described = field.ty.clone();
    if !field.values.is_empty() {
        described = format!("{described}: {}", field.values.join(", "));
    }
    for (on, word) in [(field.personal, "personal"), (field.indexed, "indexed")] {
        if on {
            described = format!("{described}, {word}");
        }
    }
    let question = format!("Add the {kind} field {name} ({described})? (y/n)");
    Ok((Command::schema_field_add(&kind, &name, &field), question))
}

/// The custom field a question is about.
struct Selected {
    kind: String,
    name: String,
    indexed: bool,
}

/// How a custom field's values read in a table, from its type in `SCHEMA.LIST`.
fn column_kind(ty: &str) -> Kind {
    match ty {
        "integer" | "money" => Kind::Number,
        "date" => Kind::Time,
        _ => Kind::Text,
    }
}

/// Inputs for a record's custom fields, after its built-in ones: each labelled by its name,
/// holding the record's value (empty for a new record).
pub fn custom_inputs(names: &[String], record: Option<&Json>) -> Vec<Field> {
    names
        .iter()
        .map(|name| {
            let value = record
                .map(|r| field_text(&r["fields"], name))
                .unwrap_or_default();
            Form::field(name.clone(), RecordField::Custom(name.clone()), &value)
        })
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, schema: &Schema, chrome: &Chrome) {
    let [prompt, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let idle = Line::from(Span::styled(chrome.hints.clone(), theme::dim()));
    frame.render_widget(Paragraph::new(super::prompt_line(chrome, idle)), prompt);
    let custom: usize = KINDS.iter().map(|k| schema.custom(k).len()).sum();
    let title = if schema.loaded {
        format!(
            "Schema — {} fields, {custom} custom",
            schema.page.rows.len()
        )
    } else {
        "Schema — loading...".to_string()
    };
    table::render_records(
        frame,
        main,
        title,
        &COLUMNS,
        &schema.page.rows,
        Some(schema.page.selected),
        None,
    );
}
