//! The rest of issue 34 in the console: the custom fields as the Customers and Products
//! tables' columns (sorted by the server under their names), the Schema tab's index toggle
//! behind a question, and the product detail with its custom fields and its sales.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::fields::{customer, query_page, schema};
use common::{answer, answer_probes, args_of, array, fail, logged_in, reply, screen_of};
use crm_server::client::Value;
use crm_tui::action::Action;
use crm_tui::app::App;
use crm_tui::net::{Purpose, Response};
use crm_tui::role::Role;
use crm_tui::screens::product_sales::SALES_STEP;
use crm_tui::tab::Tab;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use serde_json::json;

fn screen(app: &App) -> String {
    screen_of(app, 140, 40)
}

fn product(id: u64, name: &str, weight: Option<u64>) -> serde_json::Value {
    json!({"id": id, "name": name, "price": "9.99", "stock": 4, "fields": {"weight_g": weight}})
}

/// The Products page: a lamp that weighs 250 g, and a desk not weighed.
fn lamp_and_desk(app: &mut App) {
    reply(
        app,
        Purpose::ProductsPage,
        array(vec![
            product(3, "Lamp", Some(250)),
            product(4, "Desk", None),
        ]),
    );
}

/// The table's heading line (the first under its top border).
fn headings(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let top = lines.iter().position(|l| l.contains('┌')).unwrap();
    lines[top + 1].to_string()
}

/// Answers a schema change as the server does, and the list asked again.
fn changed(app: &mut App, done: &str) -> Vec<Vec<String>> {
    answer(
        app,
        Purpose::SchemaChanged(done.into()),
        Value::Simple("OK".into()),
    )
}

#[test]
fn each_declared_custom_field_is_a_column_after_the_built_in_ones() {
    let mut app = logged_in();
    reply(&mut app, Purpose::Schema, schema());
    reply(
        &mut app,
        Purpose::CustomersPage,
        array(vec![customer(7, Some("lead")), customer(8, None)]),
    );
    let text = screen(&app);
    let heading = headings(&text);
    let at = |word: &str| {
        heading
            .find(word)
            .unwrap_or_else(|| panic!("{word}: {text}"))
    };
    assert!(
        at("Created") < at("company") && at("company") < at("stage"),
        "{text}"
    );
    assert!(at("stage") < at("vip"), "{text}");
    let row = text.lines().find(|l| l.contains("Customer 7")).unwrap();
    assert!(
        row.contains("Acme Ltd") && row.contains("lead") && row.contains("true"),
        "{row}"
    );
    // Narrow: the custom columns go first, from the right; the built-in ones stay.
    let narrow = screen_of(&app, 60, 20);
    let heading = headings(&narrow);
    for built_in in ["ID", "Name", "Email", "Created"] {
        assert!(heading.contains(built_in), "{narrow}");
    }
    assert!(heading.contains("company"), "{narrow}");
    assert!(
        !heading.contains("vip") && !heading.contains("stage"),
        "{narrow}"
    );

    // Products have theirs; a field unset is an empty cell.
    app.apply(Action::GoToTab(1));
    lamp_and_desk(&mut app);
    let text = screen(&app);
    assert!(headings(&text).contains("weight_g"), "{text}");
    let lamp = text.lines().find(|l| l.contains("Lamp")).unwrap();
    assert!(
        lamp.trim_end_matches('│').trim_end().ends_with("250"),
        "{lamp}"
    );

    // A field declared later is a column at the next SCHEMA.LIST, with no code for it.
    let mut fields = schema().json_array().unwrap();
    fields.push(json!({"kind": "product", "name": "colour", "type": "text", "values": null, "personal": false, "indexed": false, "builtin": false}));
    reply(&mut app, Purpose::Schema, array(fields));
    assert!(headings(&screen(&app)).contains("colour"));
}

#[test]
fn a_custom_column_sorts_the_whole_table_by_the_fields_name() {
    let mut app = logged_in();
    reply(&mut app, Purpose::Schema, schema());
    app.apply(Action::GoToTab(1));
    // ID, Name, Price, Stock, then weight_g.
    for _ in 0..4 {
        app.apply(Action::SortNext);
    }
    let sent = args_of(&app.apply(Action::SortNext));
    assert_eq!(sent[0][..4], ["PRODUCT.QUERY", "SORT", "weight_g", "ASC"]);
    let sent = args_of(&app.apply(Action::SortFlip));
    assert_eq!(sent[0][..4], ["PRODUCT.QUERY", "SORT", "weight_g", "DESC"]);
    reply(
        &mut app,
        Purpose::QueryPage(Tab::Products),
        query_page(
            "0",
            vec![
                product(3, "Heavy", Some(900)),
                product(1, "Light", Some(10)),
                product(2, "Unweighed", None),
            ],
        ),
    );
    // The server's order is kept; the heading and the title say the sort.
    let text = screen(&app);
    let (heavy, light) = (text.find("Heavy").unwrap(), text.find("Light").unwrap());
    assert!(
        heavy < light && light < text.find("Unweighed").unwrap(),
        "{text}"
    );
    assert!(headings(&text).contains("weight_g▼"), "{text}");
    assert!(text.contains("sorted by weight_g ▼"), "{text}");
    // Past the last column: the server's order again (by id).
    app.apply(Action::SortFlip);
    let sent = args_of(&app.apply(Action::SortNext));
    assert_eq!(sent[0][0], "PRODUCT.LIST");

    // Sorted by a custom field that is then dropped: the sort goes with it.
    for _ in 0..5 {
        app.apply(Action::SortNext);
    }
    let mut fields = schema().json_array().unwrap();
    fields.pop();
    app.waiting += 1;
    let sent = args_of(&app.on_response(Response {
        purpose: Purpose::Schema,
        result: Ok(array(fields)),
    }));
    assert_eq!(sent[0][0], "PRODUCT.LIST");
    let text = screen(&app);
    assert!(text.contains("the sort's field is gone"), "{text}");
    assert!(!headings(&text).contains("weight_g"), "{text}");
}

#[test]
fn i_turns_a_custom_fields_index_on_or_off_after_a_question() {
    let mut app = logged_in();
    app.apply(Action::GoToTab(Tab::Schema.index()));
    reply(&mut app, Purpose::Schema, schema());
    let text = screen(&app);
    assert!(text.contains("i index on/off"), "{text}");
    let key = crm_tui::keys::map(&app, KeyEvent::from(KeyCode::Char('i')));
    assert_eq!(key, Some(Action::ToggleIndex));

    // A built-in field: said, nothing asked.
    assert!(app.apply(Action::ToggleIndex).is_empty());
    assert!(app.overlay.is_none());
    assert!(
        screen(&app).contains("customer field id is built in: it cannot be indexed"),
        "{}",
        screen(&app)
    );

    // company is not indexed: the question says what ON costs; no sends nothing.
    app.apply(Action::Down);
    app.apply(Action::Down);
    app.apply(Action::ToggleIndex);
    let text = screen(&app);
    assert!(
        text.contains("Index the customer field company? Its values are indexed in memory, which may take a moment on a big store"),
        "{text}"
    );
    assert!(app.apply(Action::Cancel).is_empty());
    assert!(app.overlay.is_none());
    app.apply(Action::ToggleIndex);
    let sent = args_of(&app.apply(Action::Confirm));
    assert_eq!(sent[0], ["SCHEMA.FIELD.INDEX", "customer", "company", "ON"]);
    assert_eq!(
        changed(&mut app, "customer field company indexed")[0],
        ["SCHEMA.LIST"]
    );
    assert!(screen(&app).contains("customer field company indexed"));

    // stage is indexed: OFF.
    app.apply(Action::Down);
    app.apply(Action::ToggleIndex);
    assert!(screen(&app).contains("Stop indexing the customer field stage?"));
    let sent = args_of(&app.apply(Action::Confirm));
    assert_eq!(sent[0], ["SCHEMA.FIELD.INDEX", "customer", "stage", "OFF"]);

    // The server's refusal goes to the status line.
    fail(
        &mut app,
        Purpose::SchemaChanged("customer field stage no longer indexed".into()),
        "NOTFOUND no such field",
    );
    assert!(screen(&app).contains("NOTFOUND no such field"));

    // The help lists the key with the role it needs.
    app.apply(Action::ToggleHelp);
    let help = screen_of(&app, 160, 60);
    assert!(
        help.contains("index the selected custom field in memory, or stop"),
        "{help}"
    );
}

/// A product's order as `ORDER.LIST` gives it.
fn order(id: u64, product: u64, quantity: u64, amount: &str) -> serde_json::Value {
    json!({"id": id, "customer_id": 1, "product_id": product, "quantity": quantity,
        "unit_price": "1.00", "amount": amount, "created_at": "2026-01-01T00:00:00Z"})
}

#[test]
fn the_product_detail_shows_the_record_its_custom_fields_and_its_sales() {
    let mut app = logged_in();
    reply(&mut app, Purpose::Schema, schema());
    app.apply(Action::GoToTab(1));
    lamp_and_desk(&mut app);
    let sent = args_of(&app.apply(Action::Submit));
    assert_eq!(sent, [["ORDER.LIST", "PRODUCT", "3", "LIMIT", "10000"]]);
    let text = screen(&app);
    assert!(text.contains("loading sales..."), "{text}");
    assert!(text.contains("Detail: Esc close"), "{text}");
    reply(
        &mut app,
        Purpose::ProductSales {
            product: 3,
            after: 0,
        },
        array(vec![order(11, 3, 2, "19.98"), order(12, 3, 3, "29.97")]),
    );
    let text = screen(&app);
    for line in [
        "id 3",
        "price: 9.99",
        "stock: 4",
        "weight_g: 250",
        "2 orders · 5 units · revenue 49.95",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    // It follows the selection: the record from what is held, the sales asked for.
    let sent = args_of(&app.apply(Action::Down));
    assert_eq!(sent, [["ORDER.LIST", "PRODUCT", "4", "LIMIT", "10000"]]);
    // A late reply about the lamp changes nothing.
    reply(
        &mut app,
        Purpose::ProductSales {
            product: 3,
            after: 0,
        },
        array(vec![order(13, 3, 1, "9.99")]),
    );
    reply(
        &mut app,
        Purpose::ProductSales {
            product: 4,
            after: 0,
        },
        array(vec![]),
    );
    let text = screen(&app);
    assert!(
        text.contains("id 4") && text.contains("no orders yet"),
        "{text}"
    );
    assert!(
        text.contains("weight_g: ") && !text.contains("weight_g: null"),
        "{text}"
    );
    // Esc closes it (and only it); the table's own keys again.
    app.apply(Action::Cancel);
    let text = screen(&app);
    assert!(
        !text.contains("no orders yet") && text.contains("Desk"),
        "{text}"
    );
    assert!(!text.contains("Detail:"), "{text}");

    // A reader may list orders (PROTOCOL, roles), so sees them too.
    let mut reader = logged_in();
    answer_probes(&mut reader, Role::Reader);
    reader.apply(Action::GoToTab(1));
    reply(
        &mut reader,
        Purpose::ProductsPage,
        array(vec![product(3, "Lamp", Some(250))]),
    );
    let sent = args_of(&reader.apply(Action::Submit));
    assert_eq!(sent[0][..3], ["ORDER.LIST", "PRODUCT", "3"]);
    // A server that refuses them: said in the detail and on the status line.
    fail(
        &mut reader,
        Purpose::ProductSales {
            product: 3,
            after: 0,
        },
        "NOPERM this user has no permissions to run this command",
    );
    let text = screen(&reader);
    assert!(
        text.contains("sales: NOPERM this user has no permissions"),
        "{text}"
    );
}

#[test]
fn a_products_sales_count_every_order_however_many_products_and_orders() {
    // Guards against the sales read from STATS.PRODUCTS LIMIT 100000: a product below the
    // first 100,000 by revenue showed "no orders yet". They are summed from the product's
    // own orders, page after page.
    let mut app = logged_in();
    app.apply(Action::GoToTab(1));
    reply(
        &mut app,
        Purpose::ProductsPage,
        array(vec![product(250_000, "Rare part", None)]),
    );
    app.apply(Action::Submit);
    let full: Vec<serde_json::Value> = (1..=SALES_STEP as u64)
        .map(|id| order(id, 250_000, 1, "0.50"))
        .collect();
    let first = Purpose::ProductSales {
        product: 250_000,
        after: 0,
    };
    let next = answer(&mut app, first, array(full));
    let after = SALES_STEP.to_string();
    assert_eq!(
        next,
        [[
            "ORDER.LIST",
            "PRODUCT",
            "250000",
            "AFTER",
            &after,
            "LIMIT",
            &after
        ]]
    );
    let text = screen(&app);
    assert!(
        text.contains(&format!("loading sales... {SALES_STEP} orders so far")),
        "{text}"
    );
    let second = Purpose::ProductSales {
        product: 250_000,
        after: SALES_STEP as u64,
    };
    reply(
        &mut app,
        second,
        array(vec![order(20_001, 250_000, 4, "2.00")]),
    );
    let text = screen(&app);
    assert!(
        text.contains("10001 orders · 10004 units · revenue 5002.00"),
        "{text}"
    );
}
