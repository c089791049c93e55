//! What the console shows after the data or the schema changed under it: a query whose
//! cursor the server no longer takes, a customer detail whose record was edited.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::fields::{at_prompt, customer, query_page, type_text};
use common::{answer, args_of, array, bulk, fail, logged_in, reply, screen_of};
use crm_server::client::Value;
use crm_tui::action::Action;
use crm_tui::app::App;
use crm_tui::line_input::LineEdit;
use crm_tui::net::Purpose;
use crm_tui::tab::Tab;
use serde_json::json;

fn screen(app: &App) -> String {
    screen_of(app, 140, 40)
}

/// The word after `keyword` in a request's words.
fn after<'a>(words: &'a [String], keyword: &str) -> &'a str {
    let at = words.iter().position(|w| w == keyword).unwrap();
    &words[at + 1]
}

/// What the server says of a cursor made before the schema changed.
const STALE_CURSOR: &str =
    "INVALID cursor: \"c-2\" is not a cursor of this query (the schema changed since it was made)";

#[test]
fn a_query_whose_cursor_the_schema_change_voided_starts_again_from_its_first_page() {
    // Guards against the console showing the server's INVALID for the cursor and staying
    // stuck on the page, when a field was added or dropped while a query was paged.
    let mut app = logged_in();
    at_prompt(&mut app, "where stage = lead sort score desc");
    reply(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        query_page("c-2", vec![customer(5, Some("lead"))]),
    );
    let sent = args_of(&app.apply(Action::NextPage));
    assert_eq!(after(&sent[0], "CURSOR"), "c-2");

    let again = args_of(&fail(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        STALE_CURSOR,
    ));
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(
        again[0][..5],
        ["CUSTOMER.QUERY", "WHERE", "stage", "=", "lead"]
    );
    assert_eq!(after(&again[0], "SORT"), "score");
    assert_eq!(after(&again[0], "CURSOR"), "0");
    let text = screen(&app);
    assert!(
        text.contains("the schema changed: the query starts again"),
        "{text}"
    );
    assert!(!text.contains("INVALID"), "{text}");
    reply(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        query_page("c-9", vec![customer(6, Some("lead"))]),
    );
    let text = screen(&app);
    assert!(
        text.contains("Customer 6") && text.contains("page 1"),
        "{text}"
    );
    // It pages on with the new cursors.
    let sent = args_of(&app.apply(Action::NextPage));
    assert_eq!(after(&sent[0], "CURSOR"), "c-9");

    // The query's field was dropped: the fresh start is refused too, naming the field, and
    // that is said as for any bad query; nothing more is asked.
    let again = args_of(&fail(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        STALE_CURSOR,
    ));
    assert_eq!(after(&again[0], "CURSOR"), "0");
    let more = fail(
        &mut app,
        Purpose::QueryPage(Tab::Customers),
        "INVALID stage: unknown field (id, name, email, phone, address, created_at)",
    );
    assert!(more.is_empty());
    let text = screen(&app);
    assert!(text.contains("INVALID stage: unknown field"), "{text}");
}

#[test]
fn a_query_refused_on_its_first_page_is_not_asked_again() {
    // Guards against a loop: only a page after the first has a cursor the schema can void.
    let mut app = logged_in();
    at_prompt(&mut app, "sort score desc");
    let more = fail(&mut app, Purpose::QueryPage(Tab::Customers), STALE_CURSOR);
    assert!(more.is_empty());
    assert!(screen(&app).contains("INVALID cursor"));
}

/// Customer 7 as edited: another name and email.
fn grace() -> serde_json::Value {
    let mut record = customer(7, Some("won"));
    record["name"] = json!("Grace Hopper");
    record["email"] = json!("grace@example.com");
    record
}

/// Renames the selected customer Grace Hopper with the edit form; what that sent.
fn rename_to_grace(app: &mut App) -> Vec<Vec<String>> {
    app.apply(Action::Edit);
    app.apply(Action::EditLine(LineEdit::KillToStart));
    type_text(app, "Grace Hopper");
    args_of(&app.apply(Action::Submit))
}

/// A console on the Customers tab with customers 7 and 8, customer 7's detail open.
fn detail_of_7() -> App {
    let mut app = logged_in();
    reply(
        &mut app,
        Purpose::CustomersPage,
        array(vec![customer(7, Some("lead")), customer(8, None)]),
    );
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(screen(&app).contains("id 7 · c7@example.com"));
    app
}

#[test]
fn the_customer_detail_shows_the_record_as_reloaded_after_an_edit() {
    // Guards against the detail keeping the record it was opened with while the same
    // customer stays selected: edited from the console's form, the list reloaded.
    let mut app = detail_of_7();
    let sent = rename_to_grace(&mut app);
    assert_eq!(
        sent[0][..4],
        ["CUSTOMER.UPDATE", "7", "NAME", "Grace Hopper"]
    );
    let reload = answer(&mut app, Purpose::Save, Value::Simple("OK".into()));
    assert!(reload.iter().any(|w| w[0] == "CUSTOMER.LIST"), "{reload:?}");
    let refresh = answer(
        &mut app,
        Purpose::CustomersPage,
        array(vec![grace(), customer(8, None)]),
    );
    let text = screen(&app);
    assert!(text.contains("id 7 · grace@example.com"), "{text}");
    assert!(text.contains("stage: won"), "{text}");
    assert!(!text.contains("c7@example.com"), "{text}");
    // Its orders and statistics are asked again too: they may have changed as well.
    let asked: Vec<&str> = refresh.iter().map(|w| w[0].as_str()).collect();
    assert!(
        asked.contains(&"ORDER.LIST") && asked.contains(&"STATS.CUSTOMER"),
        "{refresh:?}"
    );
    // Moving the selection within the page does not ask again for the same customer.
    assert!(args_of(&app.apply(Action::Up)).is_empty());
}

#[test]
fn the_customer_detail_shows_the_record_as_refreshed_when_changed_elsewhere() {
    // Guards against r (refresh) leaving the detail as it was opened.
    let mut app = detail_of_7();
    let sent = args_of(&app.apply(Action::Refresh));
    assert_eq!(sent[0][0], "CUSTOMER.LIST");
    answer(
        &mut app,
        Purpose::CustomersPage,
        array(vec![grace(), customer(8, None)]),
    );
    let text = screen(&app);
    assert!(text.contains("id 7 · grace@example.com"), "{text}");
}

#[test]
fn the_customer_detail_opened_from_a_search_is_asked_again_after_an_edit() {
    // Guards against a stale detail when the table shows search results, which the
    // reload after a save does not read again.
    let mut app = logged_in();
    at_prompt(&mut app, "c7@example.com");
    reply(
        &mut app,
        Purpose::Search,
        array(vec![customer(7, Some("lead"))]),
    );
    app.apply(Action::Submit);
    rename_to_grace(&mut app);
    let reload = answer(&mut app, Purpose::Save, Value::Simple("OK".into()));
    assert!(
        reload.iter().any(|w| w[..] == ["CUSTOMER.GET", "7"]),
        "{reload:?}"
    );
    answer(&mut app, Purpose::DetailRecord(7), bulk(grace()));
    let text = screen(&app);
    assert!(text.contains("id 7 · grace@example.com"), "{text}");
    // The search result shows it too (the table's row, and the detail's title).
    assert_eq!(text.matches("Grace Hopper").count(), 2, "{text}");
}
