//! What the tests of custom fields share: a schema with custom fields of both kinds, records
//! that carry them, a `*.QUERY` reply, and typing.

use super::array;
use crm_server::client::Value;
use crm_tui::action::Action;
use crm_tui::app::{App, Lane};
use crm_tui::net::Request;
use serde_json::json;

/// A `*.QUERY` reply: the cursor, then the records.
pub fn query_page(cursor: &str, records: Vec<serde_json::Value>) -> Value {
    Value::Array(vec![
        Value::Bulk(cursor.as_bytes().to_vec()),
        array(records),
    ])
}

/// A customer with the three custom fields of [`schema`] (`stage` as given).
pub fn customer(id: u64, stage: Option<&str>) -> serde_json::Value {
    json!({"id": id, "name": format!("Customer {id}"), "email": format!("c{id}@example.com"),
        "phone": null, "address": null, "created_at": "2026-01-01T00:00:00Z",
        "fields": {"company": "Acme Ltd", "stage": stage, "vip": true}})
}

/// A schema with three custom customer fields and one product field.
pub fn schema() -> Value {
    let builtin = |kind: &str, name: &str, ty: &str| json!({"kind": kind, "name": name, "type": ty, "values": null, "personal": false, "indexed": false, "builtin": true});
    array(vec![
        builtin("customer", "id", "integer"),
        builtin("customer", "name", "text"),
        json!({"kind": "customer", "name": "company", "type": "text", "values": null, "personal": false, "indexed": false, "builtin": false}),
        json!({"kind": "customer", "name": "stage", "type": "choice", "values": ["lead", "won"], "personal": false, "indexed": true, "builtin": false}),
        json!({"kind": "customer", "name": "vip", "type": "bool", "values": null, "personal": true, "indexed": false, "builtin": false}),
        builtin("product", "price", "money"),
        json!({"kind": "product", "name": "weight_g", "type": "integer", "values": null, "personal": false, "indexed": false, "builtin": false}),
    ])
}

/// Types `text` at the table's `/` prompt and submits it; the requests that sent.
pub fn at_prompt(app: &mut App, text: &str) -> Vec<(Lane, Request)> {
    app.apply(Action::StartInput);
    type_text(app, text);
    app.apply(Action::Submit)
}

/// Types `text` into what has the keyboard; the requests that sent.
pub fn type_text(app: &mut App, text: &str) -> Vec<(Lane, Request)> {
    let mut outgoing = Vec::new();
    for c in text.chars() {
        outgoing.extend(app.apply(Action::Type(c)));
    }
    outgoing
}
