//! What an operator from k9s or lazygit expects of the console (issue 35): reconnecting,
//! a detail that follows the selection, prompts that edit like a shell, roles that say
//! NOPERM instead of showing empty panes, a status line per tab, the analytics parameters,
//! the journal paged back, backups newest first.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{answer_probes, args_of, fail, logged_in, reply};
use crm_server::client::Value;
use crm_tui::action::Action;
use crm_tui::app::{App, Lane, Link};
use crm_tui::keys;
use crm_tui::line_input::LineEdit;
use crm_tui::net::{NodeRole, Purpose, Request, Response};
use crm_tui::role::Role;
use crm_tui::tab::Tab;
use crm_tui::ui;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use serde_json::json;

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    terminal.draw(|frame| ui::render(frame, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    buffer
        .content()
        .chunks(120)
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn array(values: Vec<serde_json::Value>) -> Value {
    Value::Array(
        values
            .into_iter()
            .map(|v| Value::Bulk(v.to_string().into_bytes()))
            .collect(),
    )
}

fn customers(ids: std::ops::RangeInclusive<u64>) -> Value {
    array(
        ids.map(|id| json!({"id": id, "name": format!("Customer {id}"), "email": format!("c{id}@example.com"), "phone": null, "address": null, "created_at": "2026-01-01T00:00:00Z"}))
            .collect(),
    )
}

fn connects(outgoing: &[(Lane, Request)]) -> Vec<(Lane, Vec<String>)> {
    outgoing
        .iter()
        .filter_map(|(lane, r)| match r {
            Request::Connect { addresses, .. } => Some((*lane, addresses.clone())),
            _ => None,
        })
        .collect()
}

#[test]
// Guards against "not connected" on every key until quitting after a server restart.
fn a_lost_server_is_reconnected_with_a_backoff_and_the_tab_reloaded() {
    let mut app = App::new("10.0.0.1:7379,10.0.0.2:7379", "admin");
    app.set_password("pw".into());
    let outgoing = app.submit_login();
    assert_eq!(
        connects(&outgoing),
        [(
            Lane::Main,
            vec!["10.0.0.1:7379".to_string(), "10.0.0.2:7379".into()]
        )]
    );
    reply(
        &mut app,
        Purpose::Login,
        Value::Simple("10.0.0.2:7379".into()),
    );
    assert_eq!(app.address, "10.0.0.2:7379");
    reply(&mut app, Purpose::CustomersPage, customers(1..=20));
    // n asks for page 2; the server goes away before it answers.
    assert!(!args_of(&app.apply(Action::NextPage)).is_empty());
    fail(
        &mut app,
        Purpose::CustomersPage,
        "connection: Connection reset by peer (os error 104)",
    );
    assert!(
        matches!(app.link, Link::Down { attempt: 1, .. }),
        "{:?}",
        app.link
    );
    // The page did not move, and its number did not count on.
    assert!(
        screen(&app).contains("Customers — page 1"),
        "{}",
        screen(&app)
    );
    assert!(screen(&app).contains("connection lost"), "{}", screen(&app));
    // Keys send nothing while down; the status line says why.
    assert!(app.apply(Action::NextPage).is_empty());
    // The first retry comes after half a second (5 ticks), trying every address again.
    let mut retried = Vec::new();
    for _ in 0..5 {
        retried.extend(app.on_tick());
    }
    assert_eq!(connects(&retried).len(), 1);
    assert_eq!(connects(&retried)[0].1.len(), 2);
    // Still down: the next wait doubles.
    fail(
        &mut app,
        Purpose::Login,
        "cannot connect to 10.0.0.2:7379: connection: Connection refused (os error 111)",
    );
    let Link::Down {
        attempt, retry_at, ..
    } = app.link.clone()
    else {
        panic!("{:?}", app.link)
    };
    assert_eq!((attempt, retry_at - app.tick), (2, 10));
    // r tries at once; the server is back: the tab reloads at the page it showed.
    let outgoing = app.apply(Action::Refresh);
    assert_eq!(connects(&outgoing).len(), 1);
    app.waiting += 1;
    let outgoing = app.on_response(Response {
        purpose: Purpose::Login,
        result: Ok(Value::Simple("10.0.0.1:7379".into())),
    });
    assert_eq!(app.link, Link::Up);
    let sent = args_of(&outgoing);
    assert!(
        sent.contains(&vec![
            "CUSTOMER.LIST".to_string(),
            "AFTER".into(),
            "0".into(),
            "LIMIT".into(),
            "20".into()
        ]),
        "{sent:?}"
    );
    assert_eq!(
        connects(&outgoing).len(),
        2,
        "the backup and feed connections follow"
    );
    assert!(
        screen(&app).contains("reconnected to 10.0.0.1:7379"),
        "{}",
        screen(&app)
    );
}

#[test]
// Guards against the login screen opening when the feed connection fails to follow.
fn a_connection_that_cannot_follow_starts_the_reconnection_over() {
    let mut app = logged_in();
    fail(
        &mut app,
        Purpose::LaneUp,
        "cannot connect to 127.0.0.1:7379: connection: Connection refused (os error 111)",
    );
    assert!(!app.logging_in());
    assert!(
        matches!(app.link, Link::Down { attempt: 1, .. }),
        "{:?}",
        app.link
    );
}

#[test]
fn a_wrong_password_after_a_restart_goes_back_to_the_login_screen() {
    let mut app = logged_in();
    fail(&mut app, Purpose::Role, "connection: broken pipe");
    for _ in 0..5 {
        app.on_tick();
    }
    fail(
        &mut app,
        Purpose::Login,
        "WRONGPASS invalid username-password pair or user is disabled.",
    );
    assert!(app.logging_in());
    assert!(screen(&app).contains("WRONGPASS"));
}

#[test]
fn the_role_reply_reads_leaders_followers_and_servers_without_a_cluster() {
    let bulk = |s: &str| Value::Bulk(s.as_bytes().to_vec());
    let leader = Value::Array(vec![
        bulk("master"),
        Value::Integer(120),
        Value::Array(vec![Value::Array(vec![
            bulk("10.0.0.2"),
            bulk("7379"),
            bulk("118"),
        ])]),
    ]);
    assert_eq!(
        NodeRole::from_reply(&Ok(leader)),
        Some(NodeRole::Leader {
            applied: 120,
            followers: vec![("10.0.0.2:7379".into(), 118)]
        })
    );
    let follower = Value::Array(vec![
        bulk("slave"),
        bulk("10.0.0.1"),
        Value::Integer(7379),
        bulk("connected"),
        Value::Integer(99),
    ]);
    assert!(matches!(
        NodeRole::from_reply(&Ok(follower)),
        Some(NodeRole::Follower { leader, applied: 99, .. }) if leader == "10.0.0.1:7379"
    ));
    let alone = Value::Array(vec![
        bulk("master"),
        Value::Integer(0),
        Value::Array(vec![]),
    ]);
    assert_eq!(NodeRole::from_reply(&Ok(alone)), Some(NodeRole::Standalone));
    assert_eq!(
        NodeRole::from_reply(&Err("ERR unknown command 'ROLE'".into())),
        Some(NodeRole::Standalone)
    );
    // The status bar says it.
    let mut app = logged_in();
    reply(
        &mut app,
        Purpose::Role,
        Value::Array(vec![
            bulk("slave"),
            bulk("10.0.0.1"),
            Value::Integer(7379),
            bulk("connected"),
            Value::Integer(99),
        ]),
    );
    assert!(
        screen(&app).contains("follower (connected) · leader 10.0.0.1:7379"),
        "{}",
        screen(&app)
    );
}

#[test]
// Guards against the detail staying on the first customer while j/k move the selection.
fn the_detail_follows_the_selection_newest_orders_first_with_product_names() {
    let mut app = logged_in();
    reply(&mut app, Purpose::CustomersPage, customers(1..=3));
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent[0][..3], ["ORDER.LIST", "CUSTOMER", "1"]);
    let sent = args_of(&app.apply(Action::Down));
    assert_eq!(sent[0][..3], ["ORDER.LIST", "CUSTOMER", "2"]);
    assert_eq!(sent[1], ["STATS.CUSTOMER", "2"]);
    assert_eq!(app.customers.detail_id(), Some(2));
    let order = |id: u64, product: u64, at: &str| json!({"id": id, "customer_id": 2, "product_id": product, "quantity": 1, "unit_price": "5.00", "amount": "5.00", "created_at": at});
    app.waiting += 1;
    let outgoing = app.on_response(Response {
        purpose: Purpose::DetailOrders(2),
        result: Ok(array(vec![
            order(5, 3, "2026-01-01T00:00:00Z"),
            order(9, 4, "2026-03-01T00:00:00Z"),
            order(7, 3, "2026-02-01T00:00:00Z"),
        ])),
    });
    // The names of the products not known yet, once each.
    assert_eq!(
        args_of(&outgoing),
        [["PRODUCT.GET", "3"], ["PRODUCT.GET", "4"]]
    );
    reply(
        &mut app,
        Purpose::ProductName(3),
        Value::Bulk(
            json!({"id": 3, "name": "Analytical Engine"})
                .to_string()
                .into_bytes(),
        ),
    );
    let detail = app.customers.detail.as_ref().unwrap();
    let ids: Vec<u64> = detail
        .orders
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [9, 7, 5]);
    let text = screen(&app);
    assert!(text.contains("Analytical Engine"), "{text}");
    assert!(text.contains("product 4"), "{text}");
    // J scrolls the orders, not the table.
    app.apply(Action::ScrollDetail(1));
    assert_eq!(app.customers.detail.as_ref().unwrap().scroll, 1);
    assert!(
        screen(&app).contains("Orders, newest first: 2-3 of 3"),
        "{}",
        screen(&app)
    );
    // Onto another page, the detail follows too.
    app.customers.page.size = 3;
    app.apply(Action::NextPage);
    app.waiting += 1;
    let sent = args_of(&app.on_response(Response {
        purpose: Purpose::CustomersPage,
        result: Ok(customers(4..=6)),
    }));
    assert_eq!(sent[0][..3], ["ORDER.LIST", "CUSTOMER", "4"]);
}

#[test]
// Guards against a terminal resize reloading every statistic of the Analytics tab.
fn a_resize_asks_again_only_for_a_paged_tab() {
    let mut app = logged_in();
    let sent = args_of(&app.resize(100, 30));
    assert_eq!(sent[0], ["CUSTOMER.LIST", "AFTER", "0", "LIMIT", "24"]);
    app.apply(Action::GoToTab(3));
    assert!(app.resize(120, 40).is_empty());
    assert_eq!(app.customers.page.size, 34);
}

#[test]
// Guards against Ctrl-U typing "u" into the prompt.
fn prompts_edit_like_a_shell_and_the_orders_filter_reopens_with_its_text() {
    let mut app = logged_in();
    app.apply(Action::GoToTab(2));
    app.apply(Action::StartInput);
    let key = |code, modifiers| KeyEvent::new(code, modifiers);
    assert_eq!(
        keys::map(&app, key(KeyCode::Char('u'), KeyModifiers::CONTROL)),
        Some(Action::EditLine(LineEdit::KillToStart))
    );
    assert_eq!(
        keys::map(&app, key(KeyCode::Char('w'), KeyModifiers::CONTROL)),
        Some(Action::EditLine(LineEdit::KillWordBack))
    );
    assert_eq!(
        keys::map(&app, key(KeyCode::Left, KeyModifiers::NONE)),
        Some(Action::EditLine(LineEdit::Left))
    );
    for c in "customer 7".chars() {
        app.apply(Action::Type(c));
    }
    app.apply(Action::Submit);
    assert_eq!(app.orders.filter, "customer 7");
    // Reopened: it holds the filter; Ctrl-W takes the last word, and typing goes on from there.
    app.apply(Action::StartInput);
    assert!(screen(&app).contains("customer 7▏"), "{}", screen(&app));
    app.apply(Action::EditLine(LineEdit::KillWordBack));
    app.apply(Action::Type('9'));
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent[0][..3], ["ORDER.LIST", "CUSTOMER", "9"]);
    // Esc on the tab clears the filter and lists every order again.
    let sent = args_of(&app.apply(Action::Cancel));
    assert_eq!(app.orders.filter, "");
    assert_eq!(sent[0][..2], ["ORDER.LIST", "ALL"]);
}

#[test]
// Guards against a reader seeing empty panes and "0 pairs" where the truth is NOPERM.
fn a_reader_is_told_what_the_role_may_not_use() {
    let mut app = logged_in();
    answer_probes(&mut app, Role::Reader);
    assert_eq!(app.role(), Some(Role::Reader));
    // The hints leave out what the role may not use; the keys say why.
    assert!(!screen(&app).contains("a add"), "{}", screen(&app));
    reply(&mut app, Purpose::CustomersPage, customers(1..=2));
    assert!(app.apply(Action::Delete).is_empty());
    assert!(
        screen(&app)
            .contains("NOPERM d (delete the selected customer or product) needs the writer role"),
        "{}",
        screen(&app)
    );
    // Analytics asks nothing and says why.
    assert!(args_of(&app.apply(Action::GoToTab(3))).is_empty());
    let text = screen(&app);
    assert!(
        text.contains("NOPERM Analytics needs the analyst role"),
        "{text}"
    );
    assert!(!text.contains("Top customers"), "{text}");
    // So do Backup and Duplicates.
    assert!(args_of(&app.apply(Action::GoToTab(7))).is_empty());
    assert!(screen(&app).contains("NOPERM Duplicates needs the analyst role"));
    assert!(args_of(&app.apply(Action::GoToTab(4))).is_empty());
    assert!(screen(&app).contains("NOPERM Backup needs the admin role"));
    // Page counts come from CUSTOMER.COUNT, not INFO.
    let sent = args_of(&app.apply(Action::GoToTab(0)));
    assert_eq!(sent[1], ["CUSTOMER.COUNT"]);
}

#[test]
fn an_analyst_gets_analytics_and_a_noperm_stays_on_its_tab() {
    let mut app = logged_in();
    answer_probes(&mut app, Role::Analyst);
    let sent = args_of(&app.apply(Action::GoToTab(3)));
    assert!(sent.iter().any(|s| s[0] == "STATS.CHURN"), "{sent:?}");
    fail(
        &mut app,
        Purpose::Churn,
        "NOPERM this user has no permissions to run the 'stats.churn' command",
    );
    assert!(screen(&app).contains("NOPERM"));
    // Another tab has its own status line.
    app.apply(Action::GoToTab(1));
    assert!(!screen(&app).contains("NOPERM"), "{}", screen(&app));
    app.apply(Action::GoToTab(3));
    assert!(screen(&app).contains("NOPERM"));
}

#[test]
fn the_analytics_parameters_go_into_the_requests() {
    let mut app = logged_in();
    app.apply(Action::GoToTab(3));
    app.apply(Action::Edit);
    let field = |app: &mut App, text: &str| {
        app.apply(Action::EditLine(LineEdit::KillToStart));
        for c in text.chars() {
            app.apply(Action::Type(c));
        }
        app.apply(Action::NextField);
    };
    field(&mut app, "0");
    field(&mut app, "2026-06-01");
    field(&mut app, "2.5");
    field(&mut app, "6");
    // K 0 is refused at its field; nothing is sent.
    assert!(app.apply(Action::Submit).is_empty());
    assert!(screen(&app).contains("INVALID k"), "{}", screen(&app));
    field(&mut app, "5");
    let sent = args_of(&app.apply(Action::Submit));
    let find = |name: &str| sent.iter().find(|s| s[0] == name).unwrap().clone();
    assert_eq!(
        find("STATS.CLUSTERS"),
        [
            "STATS.CLUSTERS",
            "K",
            "5",
            "SEED",
            "1",
            "ASOF",
            "2026-06-01"
        ]
    );
    assert_eq!(
        find("STATS.ANOMALIES"),
        ["STATS.ANOMALIES", "THRESHOLD", "2.5", "LIMIT", "20"]
    );
    assert_eq!(find("STATS.FORECAST"), ["STATS.FORECAST", "MONTHS", "6"]);
    assert_eq!(
        find("STATS.CHURN"),
        ["STATS.CHURN", "ASOF", "2026-06-01", "LIMIT", "20"]
    );
    assert_eq!(find("STATS.RFM"), ["STATS.RFM", "ASOF", "2026-06-01"]);
    reply(
        &mut app,
        Purpose::Monthly,
        array(vec![json!({"month": "2026-01", "revenue": "10.00"})]),
    );
    reply(
        &mut app,
        Purpose::Forecast,
        Value::Bulk(json!({"slope": 1.0, "intercept": 0.0, "r2": 0.5, "history": 1, "forecast": [{"month": "2026-02", "revenue": "12.00"}]}).to_string().into_bytes()),
    );
    reply(
        &mut app,
        Purpose::Churn,
        Value::Bulk(json!({"auc": 0.81, "trained_on": 10, "customers": [{"customer_id": 7, "name": "Ada Lovelace", "probability": 0.9123}]}).to_string().into_bytes()),
    );
    let text = screen(&app);
    assert!(
        text.contains("Churn risk (AUC 0.81)") && text.contains("91.2%"),
        "{text}"
    );
    assert!(
        text.contains("forecast 6 months (r² 0.50)") && text.contains("2026-02"),
        "{text}"
    );
}

#[test]
fn the_journal_pages_back_past_the_latest_window_and_names_the_server() {
    let mut app = logged_in();
    app.apply(Action::GoToTab(6));
    let entry = |seq: u64| json!({"seq": seq, "at": "2026-12-02T10:00:00Z", "user": null, "op": "add", "kind": "order", "id": seq, "name": null, "fields": ["customer_id", "product_id", "quantity", "created_at", "id"], "hash": "00"});
    app.waiting += 1;
    let sent = args_of(&app.on_response(Response {
        purpose: Purpose::JournalHead,
        result: Ok(Value::Bulk(
            json!({"seq": 500, "hash": "00"}).to_string().into_bytes(),
        )),
    }));
    assert_eq!(sent, [["AUDIT.LOG", "AFTER", "300", "LIMIT", "200"]]);
    reply(
        &mut app,
        Purpose::JournalWindow {
            before: 501,
            span: 200,
        },
        array((301..=500).map(entry).collect()),
    );
    let text = screen(&app);
    assert!(text.contains("(server)"), "{text}");
    // The selected entry's fields, whole.
    assert!(
        text.contains("entry 500: fields customer_id, product_id, quantity, created_at, id"),
        "{text}"
    );
    // p: the 200 before.
    let sent = args_of(&app.apply(Action::PreviousPage));
    assert_eq!(sent, [["AUDIT.LOG", "AFTER", "100", "LIMIT", "200"]]);
    reply(
        &mut app,
        Purpose::JournalWindow {
            before: 301,
            span: 200,
        },
        array((101..=300).map(entry).collect()),
    );
    assert_eq!(app.journal.first_seq(), 101);
    assert!(screen(&app).contains("older entries"), "{}", screen(&app));
    // n: back to newer ones.
    let sent = args_of(&app.apply(Action::NextPage));
    assert_eq!(sent, [["AUDIT.LOG", "AFTER", "300", "LIMIT", "200"]]);
}

#[test]
fn backups_are_listed_newest_first_in_human_sizes() {
    let mut app = logged_in();
    app.apply(Action::GoToTab(4));
    reply(
        &mut app,
        Purpose::Backups,
        array(vec![
            json!({"name": "old", "bytes": 1_987_948, "records": 11100, "blake3": "ab", "created_at": "2026-11-01T00:00:00Z"}),
            json!({"name": "new", "bytes": 2_100_000_000u64, "records": 11200, "blake3": "cd", "created_at": "2026-12-01T00:00:00Z"}),
        ]),
    );
    let text = screen(&app);
    let new = text.find("new ").unwrap();
    let old = text.find("old ").unwrap();
    assert!(new < old, "{text}");
    assert!(
        text.contains("1.90 MiB") && text.contains("1.96 GiB"),
        "{text}"
    );
    assert_eq!(app.tab, Tab::Backup);
}

#[test]
// Guards against the gauge polling for a backup the server dropped when it went away.
fn a_backup_cut_by_a_lost_server_is_not_running_any_more() {
    let mut app = logged_in();
    app.apply(Action::GoToTab(4));
    app.apply(Action::StartBackup);
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent, [["BACKUP"]]);
    assert!(app.backups.status.running);
    fail(
        &mut app,
        Purpose::BackupDone,
        "connection: Connection reset by peer (os error 104)",
    );
    assert!(!app.backups.status.running);
    assert!(matches!(app.link, Link::Down { .. }));
}
