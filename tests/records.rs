//! Customers, products and orders over the wire: every command and its error codes.
//!
//! One file: it is the wire contract of the three record kinds, command by command, and its
//! tests share the `run`/`code` helpers and each other's fixtures (orders need customers and
//! products); split by kind it would repeat them.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

use crm_tests::TestServer;
use redis::{Connection, RedisResult, Value};
use serde_json::json;

fn run(con: &mut Connection, line: &[&str]) -> RedisResult<Value> {
    let mut command = redis::cmd(line[0]);
    for arg in &line[1..] {
        command.arg(*arg);
    }
    command.query(con)
}

/// The error code and message of a request that must fail.
fn fails(con: &mut Connection, line: &[&str]) -> (String, String) {
    let error = run(con, line).expect_err(&format!("{line:?} should fail"));
    (
        error.code().unwrap_or("?").to_string(),
        error.detail().unwrap_or("").to_string(),
    )
}

fn code(con: &mut Connection, line: &[&str]) -> String {
    fails(con, line).0
}

fn int(con: &mut Connection, line: &[&str]) -> i64 {
    match run(con, line).unwrap() {
        Value::Int(n) => n,
        other => panic!("{line:?}: {other:?}"),
    }
}

fn json_of(con: &mut Connection, line: &[&str]) -> serde_json::Value {
    match run(con, line).unwrap() {
        Value::BulkString(bytes) => serde_json::from_slice(&bytes).unwrap(),
        Value::Nil => serde_json::Value::Null,
        Value::Array(items) => serde_json::Value::Array(
            items
                .into_iter()
                .map(|v| match v {
                    Value::BulkString(bytes) => serde_json::from_slice(&bytes).unwrap(),
                    other => panic!("{other:?}"),
                })
                .collect(),
        ),
        other => panic!("{line:?}: {other:?}"),
    }
}

#[test]
fn customers_end_to_end() {
    let server = TestServer::start();
    let mut con = server.admin_redis();
    let id = int(
        &mut con,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "  Ada   Lovelace ",
            "EMAIL",
            "Ada@Example.COM",
            "PHONE",
            "+44 (555) 0100",
            "ADDRESS",
            "12 St James Sq, London",
            "CREATED_AT",
            "2026-11-25T10:30:00+01:00",
        ],
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.GET", &id.to_string()]),
        json!({"id": id, "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+445550100",
               "address": "12 St James Sq, London", "created_at": "2026-11-25T09:30:00Z",
               "fields": {}})
    );
    // Leading zeros are the same id; non-ids find nothing in reads.
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.GET", &format!("0000{id}")])["id"],
        id
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.GET", "0"]),
        serde_json::Value::Null
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.GET", "abc"]),
        serde_json::Value::Null
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.GET", "9007199254740992"]),
        serde_json::Value::Null
    );

    // Errors, each changing nothing.
    assert_eq!(
        fails(&mut con, &["CUSTOMER.ADD", "NAME", "Bob", "EMAIL", "bob@"]),
        (
            "INVALID".into(),
            "email: \"bob@\" is not an email address".into()
        )
    );
    // `crm_protocol` 2: too few arguments is an arity error before any other check; with
    // enough arguments, a missing required keyword is `INVALID`.
    assert_eq!(
        fails(&mut con, &["CUSTOMER.ADD", "EMAIL", "bob@example.com"]),
        (
            "ERR".into(),
            "wrong number of arguments for 'customer.add' command (syntax: CUSTOMER.ADD NAME name \
             EMAIL email [PHONE phone] [ADDRESS address] [CREATED_AT time] [ID id])"
                .into()
        )
    );
    assert_eq!(
        fails(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "EMAIL",
                "bob@example.com",
                "PHONE",
                "5550100"
            ]
        ),
        ("INVALID".into(), "name: required".into())
    );
    assert_eq!(code(&mut con, &["CUSTOMER.ADD", "NAME", "Bob"]), "ERR");
    assert_eq!(
        code(
            &mut con,
            &["CUSTOMER.ADD", "NAME", "Bob", "PHONE", "5550100"]
        ),
        "INVALID"
    );
    assert_eq!(
        code(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                "Bob",
                "EMAIL",
                "b@x.io",
                "PHONE",
                "call me"
            ]
        ),
        "INVALID"
    );
    assert_eq!(
        code(
            &mut con,
            &["CUSTOMER.ADD", "NAME", "Bob", "EMAIL", "b@x.io", "ID", "0"]
        ),
        "INVALID"
    );
    assert_eq!(
        code(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                "Bob",
                "EMAIL",
                "b@x.io",
                "CREATED_AT",
                "soon"
            ]
        ),
        "INVALID"
    );
    assert_eq!(
        code(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                "Bob",
                "EMAIL",
                "b@x.io",
                "COLOR",
                "red"
            ]
        ),
        "ERR"
    );
    assert_eq!(
        code(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                "Bob",
                "NAME",
                "Bob",
                "EMAIL",
                "b@x.io"
            ]
        ),
        "ERR"
    );
    assert_eq!(
        code(&mut con, &["CUSTOMER.ADD", "NAME", "Bob", "EMAIL"]),
        "ERR"
    );
    assert_eq!(
        fails(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                "Imposter",
                "EMAIL",
                "ADA@example.com"
            ]
        ),
        (
            "CONFLICT".into(),
            format!("email \"ada@example.com\" belongs to customer {id}")
        )
    );
    assert_eq!(
        code(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                "Bob",
                "EMAIL",
                "b@x.io",
                "ID",
                &id.to_string()
            ]
        ),
        "CONFLICT"
    );
    assert_eq!(code(&mut con, &["CUSTOMER.GET"]), "ERR");
    assert_eq!(code(&mut con, &["CUSTOMER.GET", "1", "2"]), "ERR");

    // Update: fields, clearing, errors.
    assert_eq!(
        run(
            &mut con,
            &[
                "CUSTOMER.UPDATE",
                &id.to_string(),
                "phone",
                "",
                "NAME",
                "Ada King"
            ]
        )
        .unwrap(),
        Value::Okay
    );
    let record = json_of(&mut con, &["CUSTOMER.GET", &id.to_string()]);
    assert_eq!(
        (record["name"].clone(), record["phone"].clone()),
        (json!("Ada King"), json!(null))
    );
    assert_eq!(
        code(&mut con, &["CUSTOMER.UPDATE", "999", "NAME", "X"]),
        "NOTFOUND"
    );
    assert_eq!(
        fails(&mut con, &["CUSTOMER.UPDATE", "999", "NAME", "X"]).1,
        "customer 999"
    );
    assert_eq!(
        code(&mut con, &["CUSTOMER.UPDATE", "abc", "NAME", "X"]),
        "INVALID"
    );
    assert_eq!(
        code(&mut con, &["CUSTOMER.UPDATE", &id.to_string(), "SHOE", "X"]),
        "ERR"
    );
    assert_eq!(code(&mut con, &["CUSTOMER.UPDATE", &id.to_string()]), "ERR");
    assert_eq!(
        code(&mut con, &["CUSTOMER.UPDATE", &id.to_string(), "NAME", " "]),
        "INVALID"
    );

    // Find.
    let bob = int(
        &mut con,
        &[
            "CUSTOMER.ADD",
            "NAME",
            "Jean-Luc O'Brien",
            "EMAIL",
            "jl@x.io",
            "PHONE",
            "1-555-010-9999",
        ],
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.FIND", "EMAIL", " JL@X.IO "])[0]["id"],
        bob
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.FIND", "PHONE", "+1 (555) 010-9999"])[0]["id"],
        bob
    );
    assert_eq!(
        json_of(&mut con, &["customer.find", "name", "brien"])[0]["id"],
        bob
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.FIND", "NAME", "jean-luc"])[0]["id"],
        bob
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.FIND", "NAME", "jean ada"]),
        json!([])
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.FIND", "NAME", "jea"]),
        json!([])
    );
    assert_eq!(
        code(&mut con, &["CUSTOMER.FIND", "EMAIL", "nope"]),
        "INVALID"
    );
    assert_eq!(code(&mut con, &["CUSTOMER.FIND", "SHOE", "x"]), "ERR");
    assert_eq!(code(&mut con, &["CUSTOMER.FIND", "EMAIL"]), "ERR");

    // List with cursor and limit.
    let all = json_of(&mut con, &["CUSTOMER.LIST"]);
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(
        json_of(
            &mut con,
            &["CUSTOMER.LIST", "AFTER", &id.to_string(), "LIMIT", "5"]
        )[0]["id"],
        bob
    );
    assert_eq!(
        json_of(&mut con, &["CUSTOMER.LIST", "LIMIT", "1"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(code(&mut con, &["CUSTOMER.LIST", "LIMIT", "0"]), "INVALID");
    assert_eq!(
        code(&mut con, &["CUSTOMER.LIST", "LIMIT", "100001"]),
        "INVALID"
    );
    assert_eq!(code(&mut con, &["CUSTOMER.LIST", "AFTER"]), "ERR");

    // Delete.
    assert_eq!(int(&mut con, &["CUSTOMER.DEL", &bob.to_string()]), 1);
    assert_eq!(
        code(&mut con, &["CUSTOMER.DEL", &bob.to_string()]),
        "NOTFOUND"
    );
    assert_eq!(code(&mut con, &["CUSTOMER.DEL", "x"]), "INVALID");
}

#[test]
fn products_and_orders_end_to_end() {
    let server = TestServer::start();
    let mut con = server.admin_redis();
    let customer = int(
        &mut con,
        &["CUSTOMER.ADD", "NAME", "Ada", "EMAIL", "ada@example.com"],
    );
    let product = int(
        &mut con,
        &[
            "PRODUCT.ADD",
            "NAME",
            "Analytical Engine",
            "PRICE",
            "1999",
            "STOCK",
            "12",
        ],
    );
    assert_eq!(
        json_of(&mut con, &["PRODUCT.GET", &product.to_string()]),
        json!({"id": product, "name": "Analytical Engine", "price": "1999.00", "stock": 12,
            "fields": {}})
    );
    let free = int(
        &mut con,
        &["PRODUCT.ADD", "NAME", "Pamphlet", "PRICE", "0.5"],
    );
    assert_eq!(
        json_of(&mut con, &["PRODUCT.GET", &free.to_string()])["stock"],
        0
    );
    assert_eq!(
        json_of(&mut con, &["PRODUCT.GET", &free.to_string()])["price"],
        "0.50"
    );
    for bad in ["-1", "1.234", ".5", "100000000", "1e3"] {
        assert_eq!(
            code(&mut con, &["PRODUCT.ADD", "NAME", "X", "PRICE", bad]),
            "INVALID",
            "{bad}"
        );
    }
    assert_eq!(
        code(
            &mut con,
            &[
                "PRODUCT.ADD",
                "NAME",
                "X",
                "PRICE",
                "1",
                "STOCK",
                "2147483648"
            ]
        ),
        "INVALID"
    );
    assert_eq!(code(&mut con, &["PRODUCT.ADD", "NAME", "X"]), "ERR");
    assert_eq!(
        code(&mut con, &["PRODUCT.ADD", "NAME", "X", "STOCK", "1"]),
        "INVALID"
    );
    assert_eq!(
        run(
            &mut con,
            &[
                "PRODUCT.UPDATE",
                &free.to_string(),
                "PRICE",
                "2.25",
                "STOCK",
                "3"
            ]
        )
        .unwrap(),
        Value::Okay
    );
    assert_eq!(
        json_of(&mut con, &["PRODUCT.GET", &free.to_string()])["price"],
        "2.25"
    );
    assert_eq!(
        code(&mut con, &["PRODUCT.UPDATE", "777", "STOCK", "3"]),
        "NOTFOUND"
    );
    assert_eq!(
        json_of(&mut con, &["PRODUCT.LIST", "AFTER", &product.to_string()])[0]["id"],
        free
    );

    // Orders.
    let (c, p) = (customer.to_string(), product.to_string());
    let order = int(
        &mut con,
        &[
            "ORDER.ADD",
            "CUSTOMER",
            &c,
            "PRODUCT",
            &p,
            "QUANTITY",
            "2",
            "CREATED_AT",
            "2026-11-25 09:31:00",
        ],
    );
    assert_eq!(
        json_of(&mut con, &["ORDER.GET", &order.to_string()]),
        json!({
        "id": order, "customer_id": customer, "product_id": product, "quantity": 2,
        "unit_price": "1999.00", "amount": "3998.00", "created_at": "2026-11-25T09:31:00Z"})
    );
    assert_eq!(json_of(&mut con, &["PRODUCT.GET", &p])["stock"], 10);
    assert_eq!(
        fails(
            &mut con,
            &["ORDER.ADD", "CUSTOMER", &c, "PRODUCT", &p, "QUANTITY", "11"]
        ),
        (
            "STOCK".into(),
            format!("product {product} has 10 in stock, 11 requested")
        )
    );
    assert_eq!(
        fails(
            &mut con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                "99",
                "PRODUCT",
                &p,
                "QUANTITY",
                "1"
            ]
        )
        .0,
        "FKEY"
    );
    assert_eq!(
        code(
            &mut con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                &c,
                "PRODUCT",
                "99",
                "QUANTITY",
                "1"
            ]
        ),
        "FKEY"
    );
    assert_eq!(
        code(
            &mut con,
            &["ORDER.ADD", "CUSTOMER", &c, "PRODUCT", &p, "QUANTITY", "0"]
        ),
        "INVALID"
    );
    assert_eq!(
        code(
            &mut con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                &c,
                "PRODUCT",
                &p,
                "QUANTITY",
                "1000001"
            ]
        ),
        "INVALID"
    );
    // Five arguments are fewer than `ORDER.ADD`'s six: an arity error (`crm_protocol` 2).
    assert_eq!(
        code(&mut con, &["ORDER.ADD", "CUSTOMER", &c, "PRODUCT", &p]),
        "ERR"
    );
    assert_eq!(
        code(
            &mut con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                &c,
                "PRODUCT",
                &p,
                "CREATED_AT",
                "2026-01-01"
            ]
        ),
        "INVALID"
    );
    assert_eq!(
        code(
            &mut con,
            &["ORDER.ADD", "CUSTOMER", "x", "PRODUCT", &p, "QUANTITY", "1"]
        ),
        "INVALID"
    );
    // Value errors come before existence errors.
    assert_eq!(
        code(
            &mut con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                "99",
                "PRODUCT",
                &p,
                "QUANTITY",
                "0"
            ]
        ),
        "INVALID"
    );
    let historical = int(
        &mut con,
        &[
            "ORDER.ADD",
            "CUSTOMER",
            &c,
            "PRODUCT",
            &p,
            "QUANTITY",
            "500",
            "NOSTOCK",
            "CREATED_AT",
            "2020-01-01",
        ],
    );
    assert_eq!(json_of(&mut con, &["PRODUCT.GET", &p])["stock"], 10);
    assert_eq!(
        code(
            &mut con,
            &[
                "ORDER.ADD",
                "CUSTOMER",
                &c,
                "PRODUCT",
                &p,
                "QUANTITY",
                "1",
                "ID",
                &order.to_string()
            ]
        ),
        "CONFLICT"
    );
    assert_eq!(
        fails(&mut con, &["CUSTOMER.DEL", &c]),
        ("FKEY".into(), format!("customer {customer} has 2 orders"))
    );
    assert_eq!(code(&mut con, &["PRODUCT.DEL", &p]), "FKEY");

    // Lists.
    assert_eq!(
        json_of(&mut con, &["ORDER.LIST", "CUSTOMER", &c])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        json_of(
            &mut con,
            &["ORDER.LIST", "PRODUCT", &p, "SINCE", "2021-01-01"]
        )[0]["id"],
        order
    );
    assert_eq!(
        json_of(&mut con, &["ORDER.LIST", "ALL", "UNTIL", "2021-01-01"])[0]["id"],
        historical
    );
    assert_eq!(
        json_of(
            &mut con,
            &["ORDER.LIST", "ALL", "AFTER", &order.to_string()]
        )[0]["id"],
        historical
    );
    assert_eq!(
        json_of(&mut con, &["ORDER.LIST", "CUSTOMER", "12345"]),
        json!([])
    );
    assert_eq!(
        json_of(&mut con, &["ORDER.LIST", "CUSTOMER", "abc"]),
        json!([])
    );
    assert_eq!(code(&mut con, &["ORDER.LIST"]), "ERR");
    assert_eq!(code(&mut con, &["ORDER.LIST", "EVERYTHING"]), "ERR");
    assert_eq!(
        code(&mut con, &["ORDER.LIST", "ALL", "SINCE", "yesterday"]),
        "INVALID"
    );

    // Stats of the customer.
    let stats = json_of(&mut con, &["STATS.CUSTOMER", &c]);
    assert_eq!(
        stats,
        json!({"customer_id": customer, "order_count": 2, "total_amount": "1003498.00",
        "first_order": "2020-01-01T00:00:00Z", "last_order": "2026-11-25T09:31:00Z"})
    );
    assert_eq!(code(&mut con, &["STATS.CUSTOMER", "4242"]), "NOTFOUND");

    // Deleting the order gives its stock back; the historical one gives nothing.
    assert_eq!(int(&mut con, &["ORDER.DEL", &order.to_string()]), 1);
    assert_eq!(json_of(&mut con, &["PRODUCT.GET", &p])["stock"], 12);
    assert_eq!(int(&mut con, &["ORDER.DEL", &historical.to_string()]), 1);
    assert_eq!(json_of(&mut con, &["PRODUCT.GET", &p])["stock"], 12);
    assert_eq!(
        code(&mut con, &["ORDER.DEL", &historical.to_string()]),
        "NOTFOUND"
    );
    assert_eq!(
        json_of(&mut con, &["STATS.CUSTOMER", &c]),
        json!({"customer_id": customer, "order_count": 0,
        "total_amount": "0.00", "first_order": null, "last_order": null})
    );
    assert_eq!(int(&mut con, &["PRODUCT.DEL", &p]), 1);
    assert_eq!(int(&mut con, &["CUSTOMER.DEL", &c]), 1);
    // Ids are not reused.
    let next = int(
        &mut con,
        &["CUSTOMER.ADD", "NAME", "Next", "EMAIL", "next@example.com"],
    );
    assert_eq!(next, customer + 1);
}

#[test]
fn users_are_managed_by_admins() {
    let server = TestServer::start();
    let mut con = server.admin_redis();
    assert_eq!(
        run(&mut con, &["USER.ADD", "carol", "pw1", "ROLE", "writer"]).unwrap(),
        Value::Okay
    );
    assert_eq!(
        code(&mut con, &["USER.ADD", "carol", "pw1", "ROLE", "writer"]),
        "CONFLICT"
    );
    assert_eq!(
        code(&mut con, &["USER.ADD", "dave", "pw1", "ROLE", "root"]),
        "INVALID"
    );
    assert_eq!(code(&mut con, &["USER.ADD", "dave", "pw1"]), "ERR");
    assert_eq!(code(&mut con, &["USER.ADD", "dave"]), "ERR");
    let users = json_of(&mut con, &["USER.LIST"]);
    assert_eq!(
        users,
        json!([
            {"name": "admin", "role": "admin", "masked": false},
            {"name": "carol", "role": "writer", "masked": false}
        ])
    );
    assert_eq!(
        run(&mut con, &["USER.PASSWD", "carol", "pw2"]).unwrap(),
        Value::Okay
    );
    assert_eq!(
        code(&mut con, &["USER.PASSWD", "nobody", "pw2"]),
        "NOTFOUND"
    );
    let carol = redis::Client::open(server.url("carol", "pw2", false)).unwrap();
    assert!(carol.get_connection().is_ok());
    assert_eq!(code(&mut con, &["USER.DEL", "admin"]), "ERR");
    assert_eq!(code(&mut con, &["USER.DEL", "nobody"]), "NOTFOUND");
    assert_eq!(code(&mut con, &["USER.DEL"]), "ERR");
    assert_eq!(run(&mut con, &["USER.DEL", "carol"]).unwrap(), Value::Okay);
    assert!(redis::Client::open(server.url("carol", "pw2", false))
        .unwrap()
        .get_connection()
        .is_err());
}
