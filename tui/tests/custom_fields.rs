//! Custom fields and queries (issues 34 and 35) in the console: the forms and the detail take
//! the custom fields from `SCHEMA.LIST`, the `/` prompt turns a typed query into
//! `*.QUERY` words and pages with the cursors it returns, `s` sorts the whole table through
//! the server, and the Schema tab lists, adds and drops fields behind questions.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::fields::{at_prompt, customer, query_page, schema, type_text};
use common::{args_of, array, fail, logged_in, reply, screen_of};
use crm_server::client::Value;
use crm_tui::action::Action;
use crm_tui::app::App;
use crm_tui::net::{Purpose, Response};
use crm_tui::overlay::Overlay;
use crm_tui::tab::Tab;
use serde_json::json;

fn screen(app: &App) -> String {
    screen_of(app, 140, 40)
}

#[test]
fn the_schema_is_asked_for_at_login() {
    let mut app = App::new("127.0.0.1:7379", "admin");
    app.apply(Action::Submit);
    app.apply(Action::Submit);
    app.waiting += 1;
    let outgoing = app.on_response(Response {
        purpose: Purpose::Login,
        result: Ok(Value::Simple("127.0.0.1:7379".into())),
    });
    assert!(args_of(&outgoing).contains(&vec!["SCHEMA.LIST".to_string()]));
}

#[test]
fn the_detail_shows_the_custom_fields_of_the_record() {
    let mut app = logged_in();
    reply(&mut app, Purpose::Schema, schema());
    reply(
        &mut app,
        Purpose::CustomersPage,
        array(vec![customer(7, None)]),
    );
    app.apply(Action::Submit);
    let text = screen(&app);
    assert!(text.contains("company: Acme Ltd"), "{text}");
    // Unset: the name with nothing after it; a bool as the server writes it.
    assert!(text.contains("stage: "), "{text}");
    assert!(!text.contains("stage: null"), "{text}");
    assert!(text.contains("vip: true"), "{text}");
}

#[test]
fn the_forms_take_the_custom_fields_of_the_schema() {
    let mut app = logged_in();
    reply(&mut app, Purpose::Schema, schema());
    reply(
        &mut app,
        Purpose::CustomersPage,
        array(vec![customer(7, Some("lead"))]),
    );
    // Edit: the custom inputs after the built-in ones, holding the record's values; an empty
    // one clears.
    app.apply(Action::Edit);
    let Some(Overlay::Form(form)) = &app.overlay else {
        panic!("no form")
    };
    let labels: Vec<&str> = form.fields.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(&labels[labels.len() - 3..], ["company", "stage", "vip"]);
    let stage = form.fields.len() - 2;
    assert_eq!(form.fields[stage].value.text(), "lead");
    let text = screen(&app);
    assert!(text.contains("company:   Acme Ltd"), "{text}");
    for _ in 0..stage {
        app.apply(Action::NextField);
    }
    app.apply(Action::EditLine(crm_tui::line_input::LineEdit::KillToStart));
    let sent = args_of(&app.apply(Action::Submit));
    let words = &sent[0];
    assert_eq!(words[..2], ["CUSTOMER.UPDATE", "7"]);
    assert_eq!(
        words[words.len() - 6..],
        ["company", "Acme Ltd", "stage", "", "vip", "true"]
    );
    // The server's complaint about a custom field goes to its input.
    fail(
        &mut app,
        Purpose::Save,
        "INVALID company: \"\" is not a value",
    );
    let Some(Overlay::Form(form)) = &app.overlay else {
        panic!("the form closed")
    };
    assert_eq!(form.focus, form.fields.len() - 3);
    app.apply(Action::Cancel);

    // Add: an empty custom input is left out.
    app.apply(Action::Add);
    type_text(&mut app, "Bob");
    let sent = args_of(&app.apply(Action::Submit));
    assert!(!sent[0].contains(&"company".to_string()), "{sent:?}");

    // Products have theirs.
    app.apply(Action::Cancel);
    app.apply(Action::GoToTab(1));
    reply(
        &mut app,
        Purpose::ProductsPage,
        array(vec![
            json!({"id": 3, "name": "Lamp", "price": "9.99", "stock": 4, "fields": {"weight_g": 250}}),
        ]),
    );
    app.apply(Action::Edit);
    let Some(Overlay::Form(form)) = &app.overlay else {
        panic!("no form")
    };
    let last = form.fields.last().unwrap();
    assert_eq!(
        (last.label.as_str(), last.value.text()),
        ("weight_g", "250")
    );
}

#[test]
fn a_query_at_the_prompt_pages_with_the_cursors_it_returns() {
    let mut app = logged_in();
    reply(
        &mut app,
        Purpose::CustomersPage,
        array(vec![customer(1, None)]),
    );
    let size = app.customers.page.size.to_string();
    app.apply(Action::StartInput);
    type_text(
        &mut app,
        r#"where stage = lead and name = "Customer 5" sort last_order DESC"#,
    );
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(
        sent[0],
        [
            "CUSTOMER.QUERY",
            "WHERE",
            "stage",
            "=",
            "lead",
            "AND",
            "name",
            "=",
            "Customer 5",
            "SORT",
            "last_order",
            "DESC",
            "LIMIT",
            &size,
            "CURSOR",
            "0"
        ]
    );
    // The count of what matches, not of the whole table.
    assert_eq!(
        sent[1][..5],
        ["CUSTOMER.COUNT", "WHERE", "stage", "=", "lead"]
    );
    reply(&mut app, Purpose::Count(Tab::Customers), Value::Integer(3));
    reply(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        query_page(
            "c-2",
            vec![customer(5, Some("lead")), customer(9, Some("lead"))],
        ),
    );
    let text = screen(&app);
    assert!(text.contains("Customers — where stage = lead"), "{text}");
    assert!(text.contains("page 1 of"), "{text}");
    assert!(text.contains("Customer 9"), "{text}");
    // The next page: the cursor the server gave.
    let sent = args_of(&app.apply(Action::NextPage));
    let cursor = sent[0].iter().position(|w| w == "CURSOR").unwrap();
    assert_eq!(sent[0][cursor + 1], "c-2");
    reply(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        query_page("0", vec![customer(12, Some("lead"))]),
    );
    assert!(screen(&app).contains("page 2 of"));
    // "0": the last page; n does nothing, p goes back with the first page's cursor.
    assert!(app.apply(Action::NextPage).is_empty());
    let sent = args_of(&app.apply(Action::PreviousPage));
    assert_eq!(sent[0][cursor + 1], "0");
    // g: the first page again; G: the pages turned to the last, by their cursors.
    let sent = args_of(&app.apply(Action::Top));
    assert_eq!(sent[0][cursor + 1], "0");
    reply(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        query_page("c-2", vec![customer(5, None), customer(9, None)]),
    );
    let sent = args_of(&app.apply(Action::Bottom));
    assert_eq!(sent[0][cursor + 1], "c-2");
    app.waiting += 1;
    let more = app.on_response(Response {
        purpose: Purpose::QueryPage(Tab::Customers),
        result: Ok(query_page(
            "c-3",
            vec![customer(12, None), customer(13, None)],
        )),
    });
    assert_eq!(args_of(&more)[0][cursor + 1], "c-3");
    reply(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        query_page("0", vec![customer(14, None)]),
    );
    let text = screen(&app);
    assert!(
        text.contains("page 3 of") && text.contains("the last page"),
        "{text}"
    );
    // `/` again holds the query, to change it.
    app.apply(Action::StartInput);
    assert!(screen(&app).contains("or query (where ... sort ...): where stage = lead"));
    app.apply(Action::Cancel);
    // Esc clears it: the table lists by id again.
    let sent = args_of(&app.apply(Action::Cancel));
    assert_eq!(sent[0][0], "CUSTOMER.LIST");
}

#[test]
fn a_query_the_console_or_the_server_refuses_is_said_on_the_status_line() {
    let mut app = logged_in();
    app.apply(Action::StartInput);
    type_text(&mut app, "where stage");
    assert!(app.apply(Action::Submit).is_empty());
    // The prompt stays open with the text, to fix it.
    assert!(app.prompt().is_some());
    assert!(screen(&app).contains("query: stage needs an operator"));
    app.apply(Action::Cancel);

    at_prompt(&mut app, "where color = red");
    fail(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        "INVALID color: unknown field (id, name, email, ...)",
    );
    assert!(screen(&app).contains("INVALID color: unknown field"));
    // A plain word is still a search (the prompt holds the query in force: cleared first).
    app.apply(Action::StartInput);
    app.apply(Action::EditLine(crm_tui::line_input::LineEdit::KillToStart));
    type_text(&mut app, "O'Brien");
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent[0], ["CUSTOMER.FIND", "NAME", "O'Brien"]);
}

#[test]
fn the_sort_key_sorts_the_whole_table_through_the_server() {
    let mut app = logged_in();
    app.apply(Action::GoToTab(1));
    // s: by the first column (ID), then the next (Name); S turns it.
    app.apply(Action::SortNext);
    let sent = args_of(&app.apply(Action::SortNext));
    assert_eq!(sent[0][..4], ["PRODUCT.QUERY", "SORT", "name", "ASC"]);
    let sent = args_of(&app.apply(Action::SortFlip));
    assert_eq!(sent[0][..4], ["PRODUCT.QUERY", "SORT", "name", "DESC"]);
    reply(
        &mut app,
        Purpose::QueryPage(Tab::Products),
        query_page(
            "k",
            vec![
                json!({"id": 1, "name": "Zebra", "price": "1.00", "stock": 1, "fields": {}}),
                json!({"id": 2, "name": "Apple", "price": "1.00", "stock": 1, "fields": {}}),
            ],
        ),
    );
    // The server's order is kept, and the title says the whole table is sorted.
    let text = screen(&app);
    let (zebra, apple) = (text.find("Zebra").unwrap(), text.find("Apple").unwrap());
    assert!(zebra < apple, "{text}");
    assert!(text.contains("sorted by Name ▼"), "{text}");
    assert!(!text.contains("(this page)"), "{text}");
}

#[test]
fn the_schema_tab_lists_adds_and_drops_fields_behind_questions() {
    let mut app = logged_in();
    let sent = args_of(&app.apply(Action::GoToTab(Tab::Schema.index())));
    assert_eq!(sent[0], ["SCHEMA.LIST"]);
    reply(&mut app, Purpose::Schema, schema());
    let text = screen(&app);
    assert!(text.contains("Schema — 7 fields, 4 custom"), "{text}");
    assert!(text.contains("lead, won"), "{text}");
    assert!(text.contains("weight_g"), "{text}");
    assert!(text.contains("a add field"), "{text}");

    // A built-in field cannot be dropped.
    app.apply(Action::Delete);
    assert!(screen(&app).contains("customer field id is built in"));
    // Drop the selected custom one, after a yes.
    app.apply(Action::Down);
    app.apply(Action::Down);
    app.apply(Action::Delete);
    assert!(screen(&app).contains("Drop the customer field company?"));
    let sent = args_of(&app.apply(Action::Confirm));
    assert_eq!(sent[0], ["SCHEMA.FIELD.DROP", "customer", "company"]);
    let outgoing = {
        app.waiting += 1;
        app.on_response(Response {
            purpose: Purpose::SchemaChanged("customer field company dropped".into()),
            result: Ok(Value::Simple("OK".into())),
        })
    };
    assert_eq!(args_of(&outgoing)[0], ["SCHEMA.LIST"]);
    assert!(screen(&app).contains("customer field company dropped"));

    // Add one: a form, then a question, then the request.
    app.apply(Action::Add);
    type_text(&mut app, "tier");
    app.apply(Action::NextField);
    app.apply(Action::EditLine(crm_tui::line_input::LineEdit::KillToStart));
    type_text(&mut app, "choice");
    app.apply(Action::NextField);
    type_text(&mut app, "gold, silver");
    app.apply(Action::NextField);
    app.apply(Action::NextField);
    app.apply(Action::EditLine(crm_tui::line_input::LineEdit::KillToStart));
    type_text(&mut app, "yes");
    assert!(screen(&app).contains("New custom field"));
    assert!(app.apply(Action::Submit).is_empty());
    let text = screen(&app);
    assert!(
        text.contains("Add the customer field tier (choice: gold, silver, indexed)? (y/n)"),
        "{text}"
    );
    let sent = args_of(&app.apply(Action::Confirm));
    assert_eq!(
        sent[0],
        [
            "SCHEMA.FIELD.ADD",
            "customer",
            "tier",
            "TYPE",
            "choice",
            "VALUES",
            "2",
            "gold",
            "silver",
            "INDEXED"
        ]
    );
    // A form that cannot be right is said at its input.
    app.apply(Action::Add);
    app.apply(Action::PreviousField);
    app.apply(Action::EditLine(crm_tui::line_input::LineEdit::KillToStart));
    type_text(&mut app, "order");
    app.apply(Action::Submit);
    assert!(screen(&app).contains("kind: customer or product, not \"order\""));
}
