//! Every screen rendered into ratatui's `TestBackend` from state built here; assertions on the
//! text of the buffer.

#![allow(clippy::unwrap_used)]

use crm_server::client::Value;
use crm_tui::action::Action;
use crm_tui::app::{App, Form, FormKind, Lane};
use crm_tui::net::{Purpose, Request, Response};
use crm_tui::ui;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(140, 40)).unwrap();
    terminal.draw(|frame| ui::render(frame, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let width = buffer.area.width as usize;
    buffer
        .content()
        .chunks(width)
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn bulk(value: serde_json::Value) -> Value {
    Value::Bulk(value.to_string().into_bytes())
}

fn array(values: Vec<serde_json::Value>) -> Value {
    Value::Array(values.into_iter().map(bulk).collect())
}

fn reply(app: &mut App, purpose: Purpose, value: Value) {
    app.waiting += 1;
    app.on_response(Response {
        purpose,
        result: Ok(value),
    });
}

fn logged_in() -> App {
    let mut app = App::new("127.0.0.1:7379", "admin");
    reply(&mut app, Purpose::Login, Value::Simple("OK".into()));
    app
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
    assert_eq!(app.login.as_ref().unwrap().password, "secret");
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
    assert!(text.contains("ID       Name"));
    assert!(text.contains("Ada Lovelace"));
    assert!(text.contains("alan@example.com"));

    app.apply(Action::StartInput);
    for c in "ada@example.com".chars() {
        app.apply(Action::Type(c));
    }
    assert!(screen(&app).contains("Search (email, phone or name): ada@example.com"));
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
    assert!(
        text.contains("Search \"ada@example.com\": 1 found"),
        "{text}"
    );
    assert!(text.contains("Detail · Esc to close"));
    assert!(text.contains("3 orders · total 42.00"));
    assert!(text.contains("#91 2 × product 3 = 42.00"));
}

#[test]
fn the_form_shows_the_servers_error_at_its_field() {
    let mut app = logged_in();
    app.apply(Action::Add);
    assert_eq!(app.form.as_ref().unwrap().kind, FormKind::NewCustomer);
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
    let form: &Form = app.form.as_ref().unwrap();
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
    let outgoing = app.apply(Action::StartBackup);
    assert!(matches!(outgoing[0], (Lane::Long, _)));
    reply(&mut app, Purpose::Info, Value::Bulk(b"# Backup\r\nbackup_in_progress:1\r\nbackup_progress:42\r\nbackup_records:420\r\nbackup_bytes:9000\r\n".to_vec()));
    let text = screen(&app);
    assert!(
        text.contains("backing up: 42% · 420 records · 9000 bytes"),
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
