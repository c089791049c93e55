//! Every screen rendered into ratatui's `TestBackend` from state built here; assertions on the
//! text of the buffer.
//!
//! One file: every test renders through the same `screen`, `reply` and fixture helpers, and
//! the screens are drawn by one `ui::render`; a file per tab would repeat them.

#![allow(clippy::unwrap_used)]

mod common;

use common::{args_of, array, bulk, logged_in, reply, screen_of};
use crm_server::client::Value;
use crm_tui::action::Action;
use crm_tui::app::{App, Lane};
use crm_tui::net::{Purpose, Request, Response};
use crm_tui::overlay::{Form, FormKind, Overlay};
use serde_json::json;

fn screen(app: &App) -> String {
    screen_of(app, 140, 40)
}

fn ada() -> serde_json::Value {
    json!({"id": 7, "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+445550100", "address": "12 St James Sq", "created_at": "2026-11-25T09:30:00Z"})
}

#[test]
fn login_screen_shows_the_error_and_masks_the_password() {
    let mut app = App::new("127.0.0.1:7379", "admin");
    app.apply(Action::NextField);
    for c in "secret".chars() {
        app.apply(Action::Type(c));
    }
    let Some(Overlay::Login(login)) = &app.overlay else {
        panic!("the login screen closed")
    };
    assert_eq!(login.password.text(), "secret");
    let outgoing = app.apply(Action::Submit);
    assert!(outgoing
        .iter()
        .all(|(_, r)| matches!(r, Request::Connect { .. })));
    app.on_response(Response {
        purpose: Purpose::Login,
        result: Err("WRONGPASS invalid username-password pair or user is disabled.".into()),
    });
    let text = screen(&app);
    assert!(text.contains("crm-tui — log in"), "{text}");
    assert!(text.contains("User:     admin"));
    assert!(text.contains("WRONGPASS invalid username-password pair"));
    assert!(!text.contains("secret"));
}

#[test]
fn customers_table_search_and_detail() {
    let mut app = logged_in();
    reply(
        &mut app,
        Purpose::CustomersPage,
        array(vec![
            ada(),
            json!({"id": 8, "name": "Alan Turing", "email": "alan@example.com", "phone": null, "address": null, "created_at": "2026-11-25T10:00:00Z"}),
        ]),
    );
    let text = screen(&app);
    assert!(text.contains("1 Customers"));
    assert!(text.contains("Customers — page 1"));
    assert!(text.contains("ID Name"), "{text}");
    assert!(text.contains("Ada Lovelace"));
    assert!(text.contains("alan@example.com"));

    app.apply(Action::StartInput);
    for c in "ada@example.com".chars() {
        app.apply(Action::Type(c));
    }
    assert!(screen(&app)
        .contains("Search (email, phone or name) or query (where ... sort ...): ada@example.com"));
    let outgoing = app.apply(Action::Submit);
    match &outgoing[0].1 {
        Request::Command { args, .. } => {
            assert_eq!(args, &["CUSTOMER.FIND", "EMAIL", "ada@example.com"])
        }
        _ => panic!("expected a command"),
    }
    reply(&mut app, Purpose::Search, array(vec![ada()]));
    let outgoing = app.apply(Action::Submit);
    assert_eq!(outgoing.len(), 2);
    reply(
        &mut app,
        Purpose::DetailStats(7),
        bulk(
            json!({"customer_id": 7, "order_count": 3, "total_amount": "42.00", "first_order": "2026-01-01T00:00:00Z", "last_order": "2026-02-01T00:00:00Z"}),
        ),
    );
    reply(
        &mut app,
        Purpose::DetailOrders(7),
        array(vec![
            json!({"id": 91, "customer_id": 7, "product_id": 3, "quantity": 2, "unit_price": "21.00", "amount": "42.00", "created_at": "2026-02-01T00:00:00Z"}),
        ]),
    );
    let text = screen(&app);
    assert!(text.contains("1 found for \"ada@example.com\""), "{text}");
    assert!(text.contains("Detail: J/K scroll"), "{text}");
    assert!(text.contains("3 orders · total 42.00"));
    assert!(text.contains("Orders, newest first: 1-1 of 1"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("2026-02-01T00:00:00Z 91"))
        .unwrap();
    assert!(line.contains("91  42.00   2 product 3"), "{text}");
}

#[test]
fn the_form_shows_the_servers_error_at_its_field() {
    let mut app = logged_in();
    app.apply(Action::Add);
    let Some(Overlay::Form(form)) = &app.overlay else {
        panic!("no form")
    };
    assert_eq!(form.kind, FormKind::NewCustomer);
    for c in "Bob".chars() {
        app.apply(Action::Type(c));
    }
    app.apply(Action::NextField);
    for c in "bob@".chars() {
        app.apply(Action::Type(c));
    }
    let outgoing = app.apply(Action::Submit);
    match &outgoing[0] {
        (Lane::Main, Request::Command { args, .. }) => {
            assert_eq!(args, &["CUSTOMER.ADD", "NAME", "Bob", "EMAIL", "bob@"])
        }
        _ => panic!("expected a command"),
    }
    app.on_response(Response {
        purpose: Purpose::Save,
        result: Err("INVALID email: \"bob@\" is not an email address".into()),
    });
    let Some(Overlay::Form(form)) = &app.overlay else {
        panic!("no form")
    };
    let form: &Form = form;
    assert_eq!(form.focus, 1);
    let text = screen(&app);
    assert!(text.contains("New customer"));
    let email_line = text.lines().position(|l| l.contains("Email:")).unwrap();
    let next = text.lines().nth(email_line + 1).unwrap();
    assert!(
        next.contains("INVALID email: \"bob@\" is not an email address"),
        "{text}"
    );
}

#[test]
fn products_orders_analytics_backup_and_help() {
    let mut app = logged_in();
    app.apply(Action::GoToTab(1));
    reply(
        &mut app,
        Purpose::ProductsPage,
        array(vec![
            json!({"id": 3, "name": "Analytical Engine", "price": "1999.00", "stock": 12}),
        ]),
    );
    let text = screen(&app);
    assert!(
        text.contains("Products — page 1")
            && text.contains("Analytical Engine")
            && text.contains("1999.00")
    );

    app.apply(Action::GoToTab(2));
    app.apply(Action::StartInput);
    for c in "customer 7 since 2026-01-01".chars() {
        app.apply(Action::Type(c));
    }
    let outgoing = app.apply(Action::Submit);
    match &outgoing[0].1 {
        Request::Command { args, .. } => assert_eq!(
            &args[..5],
            &["ORDER.LIST", "CUSTOMER", "7", "SINCE", "2026-01-01"]
        ),
        _ => panic!(),
    }
    reply(
        &mut app,
        Purpose::OrdersPage,
        array(vec![
            json!({"id": 91, "customer_id": 7, "product_id": 3, "quantity": 2, "unit_price": "21.00", "amount": "42.00", "created_at": "2026-02-01T00:00:00Z"}),
        ]),
    );
    let text = screen(&app);
    assert!(
        text.contains("filter: customer 7 since 2026-01-01")
            && text.contains("Unit price")
            && text.contains("42.00")
    );

    app.apply(Action::GoToTab(3));
    reply(
        &mut app,
        Purpose::TopCustomers,
        array(vec![
            json!({"customer_id": 7, "name": "Ada Lovelace", "order_count": 3, "total_amount": "42.00"}),
        ]),
    );
    reply(
        &mut app,
        Purpose::Monthly,
        array(vec![
            json!({"month": "2026-01", "order_count": 1, "revenue": "10.00", "customers": 1}),
            json!({"month": "2026-02", "order_count": 2, "revenue": "32.00", "customers": 1}),
        ]),
    );
    reply(
        &mut app,
        Purpose::Rfm,
        array(vec![
            json!({"segment": "champions", "customers": 1, "revenue": "42.00"}),
        ]),
    );
    reply(
        &mut app,
        Purpose::Clusters,
        array(vec![
            json!({"cluster": 0, "customers": 1, "centroid": {"recency_days": 3, "order_count": 3, "total_amount": "42.00"}}),
        ]),
    );
    reply(
        &mut app,
        Purpose::Anomalies,
        array(vec![json!({"id": 91, "amount": "42.00", "score": 4.25})]),
    );
    let text = screen(&app);
    for heading in [
        "Top customers by total",
        "Monthly revenue",
        "RFM segments",
        "Clusters (k=4)",
        "Anomalies",
    ] {
        assert!(text.contains(heading), "{heading}: {text}");
    }
    assert!(
        text.contains("champions") && text.contains("2026-01") && text.contains("7 Ada Lovelace")
    );

    app.apply(Action::GoToTab(4));
    reply(
        &mut app,
        Purpose::Backups,
        array(vec![
            json!({"name": "nightly", "bytes": 1234, "records": 11, "blake3": "ab", "created_at": "2026-11-25T09:30:00Z"}),
        ]),
    );
    assert!(app.apply(Action::StartBackup).is_empty());
    for c in "nightly-2".chars() {
        app.apply(Action::Type(c));
    }
    let outgoing = app.apply(Action::Submit);
    assert!(matches!(outgoing[0], (Lane::Long, _)));
    assert_eq!(args_of(&outgoing), [["BACKUP", "nightly-2"]]);
    reply(&mut app, Purpose::Info, Value::Bulk(b"# Backup\r\nbackup_in_progress:1\r\nbackup_progress:42\r\nbackup_records:420\r\nbackup_bytes:9000\r\n".to_vec()));
    let text = screen(&app);
    assert!(
        text.contains("backing up: 42% · 420 records · 8.79 KiB"),
        "{text}"
    );
    assert!(text.contains("nightly"));

    app.apply(Action::GoToTab(5));
    let text = screen(&app);
    assert!(
        text.contains("Help — key bindings")
            && text.contains("search customers")
            && text.contains("quit")
    );
}

#[test]
fn journal_tab_follows_the_feed_filters_and_verifies() {
    let mut app = logged_in();
    let outgoing = app.apply(Action::GoToTab(6));
    let sent = args_of(&outgoing);
    assert_eq!(sent[0], ["AUDIT.HEAD"]);
    assert!(matches!(outgoing[1].0, Lane::Feed));
    assert_eq!(&sent[1][..3], ["XREAD", "BLOCK", "20000"]);
    let entry = |seq: u64, op: &str| json!({"seq": seq, "at": "2026-12-02T10:00:00Z", "user": "admin", "op": op, "kind": "customer", "id": 7, "name": null, "fields": ["email", "phone"], "hash": "00"});
    app.waiting += 1;
    let sent = args_of(&app.on_response(Response {
        purpose: Purpose::JournalHead,
        result: Ok(bulk(json!({"seq": 2, "hash": "00"}))),
    }));
    assert_eq!(sent, [["AUDIT.LOG", "AFTER", "0", "LIMIT", "200"]]);
    reply(
        &mut app,
        Purpose::JournalWindow {
            before: 3,
            span: 200,
        },
        array(vec![entry(1, "add"), entry(2, "update")]),
    );
    // The feed wakes: what is new is fetched after the last entry shown, and the read blocks again.
    let outgoing = app.on_response(Response {
        purpose: Purpose::Feed,
        result: Ok(Value::Nil),
    });
    let sent = args_of(&outgoing);
    assert_eq!(&sent[0][..3], ["AUDIT.LOG", "AFTER", "2"]);
    assert_eq!(sent[1].last().unwrap(), "2-0");
    reply(
        &mut app,
        Purpose::JournalMore,
        array(vec![entry(2, "update"), entry(3, "delete")]),
    );
    assert_eq!(
        app.journal.entries.len(),
        3,
        "a repeated entry is not shown twice"
    );
    let text = screen(&app);
    assert!(
        text.contains("email, phone") && text.contains("delete"),
        "{text}"
    );
    assert!(text.contains("following the change feed"), "{text}");

    // A filter goes into AUDIT.LOG.
    app.apply(Action::StartInput);
    for c in "user wes kind customer".chars() {
        app.apply(Action::Type(c));
    }
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent[0], ["AUDIT.HEAD"]);
    app.waiting += 1;
    let sent = args_of(&app.on_response(Response {
        purpose: Purpose::JournalHead,
        result: Ok(bulk(json!({"seq": 9000, "hash": "00"}))),
    }));
    // With a filter, entries are not numbered without gaps: the window reads further back.
    assert_eq!(
        &sent[0][..7],
        [
            "AUDIT.LOG",
            "AFTER",
            "7000",
            "USER",
            "wes",
            "KIND",
            "customer"
        ]
    );

    // v verifies; the verdict is shown.
    let sent = args_of(&app.apply(Action::VerifyJournal));
    assert_eq!(sent, vec![vec!["AUDIT.VERIFY".to_string()]]);
    app.waiting += 1;
    app.on_response(Response {
        purpose: Purpose::JournalVerified,
        result: Err("CORRUPT journal entry 2: its hash does not chain".into()),
    });
    assert!(screen(&app).contains("CORRUPT journal entry 2"));
}

#[test]
fn duplicates_view_merges_with_a_confirmation_naming_the_kept_record_and_undoes() {
    let mut app = logged_in();
    let sent = args_of(&app.apply(Action::GoToTab(7)));
    assert_eq!(sent[0][0], "CUSTOMER.DUPLICATES");
    let outgoing = app.on_response(Response {
        purpose: Purpose::Duplicates,
        result: Ok(array(vec![
            json!({"a": 7, "b": 9, "score": 0.9, "reasons": ["phone", "name"]}),
        ])),
    });
    let sent = args_of(&outgoing);
    assert_eq!(
        sent,
        vec![
            vec!["CUSTOMER.GET".to_string(), "7".into()],
            vec!["CUSTOMER.GET".to_string(), "9".into()]
        ]
    );
    reply(&mut app, Purpose::PairRecord(7), bulk(ada()));
    let mut twin = ada();
    twin["id"] = json!(9);
    twin["email"] = json!("ada.l@example.com");
    reply(&mut app, Purpose::PairRecord(9), bulk(twin));
    let text = screen(&app);
    assert!(
        text.contains("phone, name") && text.contains("ada.l@example.com"),
        "{text}"
    );

    assert!(app.apply(Action::MergeKeepSecond).is_empty());
    let text = screen(&app);
    assert!(
        text.contains("Merge customer 7 into customer 9? Customer 9 is kept"),
        "{text}"
    );
    let sent = args_of(&app.apply(Action::Confirm));
    assert_eq!(
        sent,
        vec![vec!["CUSTOMER.MERGE".to_string(), "9".into(), "7".into()]]
    );
    reply(&mut app, Purpose::Merged(7), Value::Simple("OK".into()));
    // u offers the last merged-away id.
    app.apply(Action::Unmerge);
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent, vec![vec!["CUSTOMER.UNMERGE".to_string(), "7".into()]]);
}

#[test]
fn customer_detail_reveals_exports_and_forgets_only_with_the_id_typed() {
    let mut app = logged_in();
    reply(&mut app, Purpose::CustomersPage, array(vec![ada()]));
    app.apply(Action::Submit);
    let sent = args_of(&app.apply(Action::Reveal));
    assert_eq!(sent, vec![vec!["CUSTOMER.REVEAL".to_string(), "7".into()]]);
    reply(&mut app, Purpose::Revealed(7), bulk(ada()));
    assert!(screen(&app).contains("revealed: journaled"));

    app.apply(Action::Export);
    assert!(screen(&app).contains("Export customer 7 to file: customer-7.json"));
    let outgoing = app.apply(Action::Submit);
    assert!(matches!(
        &outgoing[0].1,
        Request::Command { purpose: Purpose::Exported(path), args } if path == "customer-7.json" && args[0] == "CUSTOMER.EXPORT"
    ));

    // Forget: a wrong id sends nothing; the right one sends FORGET.
    app.apply(Action::Forget);
    for c in "8".chars() {
        app.apply(Action::Type(c));
    }
    assert!(app.apply(Action::Submit).is_empty());
    assert!(screen(&app).contains("not forgotten"));
    app.apply(Action::Forget);
    app.apply(Action::Type('7'));
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent, vec![vec!["CUSTOMER.FORGET".to_string(), "7".into()]]);
}
