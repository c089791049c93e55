//! The console's state machine without a screen: which overlay holds the keyboard, what each
//! key does in each mode, and that a question only ever sends its request on yes.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{args_of, logged_in, reply};
use crm_server::client::Value;
use crm_tui::action::Action;
use crm_tui::app::{App, Lane, Mode};
use crm_tui::net::{Purpose, Request};
use crm_tui::overlay::Overlay;
use crm_tui::tab::Tab;
use serde_json::json;

fn with_customer_selected() -> App {
    let mut app = logged_in();
    let row = json!({"id": 7, "name": "Ada", "email": "ada@example.com"});
    reply(
        &mut app,
        Purpose::CustomersPage,
        Value::Array(vec![Value::Bulk(row.to_string().into_bytes())]),
    );
    app
}

#[test]
fn login_holds_the_keyboard_until_the_server_says_yes() {
    let mut app = App::new("127.0.0.1:7379", "admin");
    assert_eq!(app.mode(), Mode::Typing);
    assert!(app.logging_in());
    // Tab keys type into the login screen rather than move.
    app.apply(Action::NextTab);
    assert_eq!(app.tab, Tab::Customers);
    app.apply(Action::Submit);
    let outgoing = app.apply(Action::Submit);
    let lanes: Vec<Lane> = outgoing.iter().map(|(lane, _)| *lane).collect();
    assert_eq!(lanes, [Lane::Main]);
    assert!(outgoing
        .iter()
        .all(|(_, r)| matches!(r, Request::Connect { .. })));
    app.waiting += 1;
    let outgoing = app.on_response(crm_tui::net::Response {
        purpose: Purpose::Login,
        result: Ok(Value::Simple("127.0.0.1:7379".into())),
    });
    // The backup and feed connections follow the main one to the address that answered.
    let followers: Vec<Lane> = outgoing
        .iter()
        .filter(|(_, r)| matches!(r, Request::Connect { addresses, .. } if addresses == &["127.0.0.1:7379"]))
        .map(|(lane, _)| *lane)
        .collect();
    assert_eq!(followers, [Lane::Long, Lane::Feed]);
    assert_eq!(app.mode(), Mode::Normal);
    assert!(app.overlay.is_none());
}

#[test]
fn tabs_move_and_load_what_they_show() {
    let mut app = logged_in();
    let sent = args_of(&app.apply(Action::NextTab));
    assert_eq!(app.tab, Tab::Products);
    assert_eq!(sent[0], ["PRODUCT.LIST", "AFTER", "0", "LIMIT", "20"]);
    let sent = args_of(&app.apply(Action::PreviousTab));
    assert_eq!(app.tab, Tab::Customers);
    assert_eq!(sent[0], ["CUSTOMER.LIST", "AFTER", "0", "LIMIT", "20"]);
    app.apply(Action::ToggleHelp);
    assert_eq!(app.tab, Tab::Help);
    app.apply(Action::ToggleHelp);
    assert_eq!(app.tab, Tab::Customers);
    assert!(args_of(&app.apply(Action::GoToTab(99))).is_empty());
    assert_eq!(app.tab, Tab::Customers);
}

#[test]
fn a_question_sends_only_on_yes_and_closes_either_way() {
    let mut app = with_customer_selected();
    assert!(args_of(&app.apply(Action::Delete)).is_empty());
    assert_eq!(app.mode(), Mode::Confirming);
    // Anything but yes closes it without a request.
    assert!(args_of(&app.apply(Action::Down)).is_empty());
    assert_eq!(app.mode(), Mode::Normal);
    app.apply(Action::Delete);
    assert_eq!(
        args_of(&app.apply(Action::Confirm)),
        [["CUSTOMER.DEL", "7"]]
    );
    assert!(app.overlay.is_none());
}

#[test]
fn one_overlay_at_a_time() {
    let mut app = with_customer_selected();
    app.apply(Action::Edit);
    let Some(Overlay::Form(form)) = &app.overlay else {
        panic!("no form: {:?}", app.overlay)
    };
    assert_eq!(form.fields[0].value.text(), "Ada");
    // While the form is open, keys go to it: Delete does not open a question over it.
    app.apply(Action::Delete);
    assert!(matches!(app.overlay, Some(Overlay::Form(_))));
    app.apply(Action::Cancel);
    assert!(app.overlay.is_none());
    app.apply(Action::StartInput);
    assert!(matches!(app.overlay, Some(Overlay::Prompt(_))));
    assert_eq!(app.mode(), Mode::Typing);
    app.apply(Action::Cancel);
    assert_eq!(app.mode(), Mode::Normal);
}

#[test]
fn an_edit_sends_every_field_an_add_only_the_filled_ones() {
    let mut app = with_customer_selected();
    app.apply(Action::Edit);
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(
        sent,
        [[
            "CUSTOMER.UPDATE",
            "7",
            "NAME",
            "Ada",
            "EMAIL",
            "ada@example.com",
            "PHONE",
            "",
            "ADDRESS",
            ""
        ]]
    );
    app.overlay = None;
    app.apply(Action::NextTab);
    app.apply(Action::Add);
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent, [["PRODUCT.ADD", "NAME", "", "PRICE", ""]]);
}

#[test]
fn the_password_never_shows_in_debug_output() {
    let mut app = App::new("127.0.0.1:7379", "admin");
    app.set_password("s3cret-typed".into());
    let shown = format!("{app:?}");
    assert!(!shown.contains("s3cret-typed"), "{shown}");
    assert!(shown.contains("<hidden>"), "{shown}");
}
