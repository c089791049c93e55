//! The builders against the wire spelling and against the server's own parsers.

use super::*;
use crm_engine::values::{format_timestamp, parse_timestamp};

fn words(command: &Command) -> Vec<&str> {
    command.words().iter().map(String::as_str).collect()
}

#[test]
fn builders_spell_the_protocol() {
    assert_eq!(
        words(&Command::customer_add(&[
            (Customer::NAME, "Bob"),
            (Customer::EMAIL, "bob@"),
        ])),
        ["CUSTOMER.ADD", "NAME", "Bob", "EMAIL", "bob@"]
    );
    assert_eq!(
        words(&Command::customer_update(7, &[(Customer::PHONE, "")])),
        ["CUSTOMER.UPDATE", "7", "PHONE", ""]
    );
    assert_eq!(
        words(&Command::customer_find(FindBy::Email, "a@b.c")),
        ["CUSTOMER.FIND", "EMAIL", "a@b.c"]
    );
    let range = OrderRange {
        since: Some("2026-01-01".into()),
        until: None,
        after: Some(40),
    };
    assert_eq!(
        words(&Command::order_list(
            &OrderScope::Customer("3".into()),
            &range,
            50
        )),
        [
            "ORDER.LIST",
            "CUSTOMER",
            "3",
            "SINCE",
            "2026-01-01",
            "AFTER",
            "40",
            "LIMIT",
            "50"
        ]
    );
    assert_eq!(
        words(&Command::audit_log(0, &[(JournalFilter::User, "ops")], 10)),
        ["AUDIT.LOG", "AFTER", "0", "USER", "ops", "LIMIT", "10"]
    );
    let choice = NewField {
        ty: "choice".into(),
        values: vec!["lead".into(), "won".into()],
        personal: false,
        indexed: true,
    };
    assert_eq!(
        words(&Command::schema_field_add("customer", "stage", &choice)),
        [
            "SCHEMA.FIELD.ADD",
            "customer",
            "stage",
            "TYPE",
            "choice",
            "VALUES",
            "2",
            "lead",
            "won",
            "INDEXED"
        ]
    );
    assert_eq!(
        words(&Command::schema_field_index("customer", "stage", false)),
        ["SCHEMA.FIELD.INDEX", "customer", "stage", "OFF"]
    );
    assert_eq!(
        words(&Command::customer_update(7, &[]).with_custom_text(&[("stage", "")])),
        ["CUSTOMER.UPDATE", "7", "stage", ""]
    );
}

#[test]
fn cleaned_records_become_their_writes() {
    let at = parse_timestamp("created_at", "2026-03-04T05:06:07Z").unwrap();
    let customer = NewCustomer::parse(
        "Ada",
        "ada@example.com",
        Some("+1 555 0100"),
        None,
        Some("2026-03-04T05:06:07Z"),
    )
    .unwrap()
    .with_id(9);
    assert_eq!(
        words(&Command::add_record(&CleanRecord::Customer(
            customer.clone()
        ))),
        [
            "CUSTOMER.ADD",
            "NAME",
            "Ada",
            "EMAIL",
            "ada@example.com",
            "PHONE",
            "+15550100",
            "CREATED_AT",
            &format_timestamp(at),
            "ID",
            "9"
        ]
    );
    let upsert = Command::customer_upsert(&customer, true);
    assert_eq!(upsert.name(), "CUSTOMER.UPSERT");
    assert_eq!(upsert.words().last().map(String::as_str), Some("DRYRUN"));
    let order = NewOrder {
        id: None,
        customer_id: 1,
        product_id: 2,
        quantity: 3,
        created_at: None,
        take_stock: true,
    };
    assert_eq!(
        words(&Command::add_record(&CleanRecord::Order(order))),
        [
            "ORDER.ADD",
            "CUSTOMER",
            "1",
            "PRODUCT",
            "2",
            "QUANTITY",
            "3",
            "NOSTOCK"
        ]
    );
    let product = NewProduct::parse("Pen", "1.5", Some("4")).unwrap();
    assert_eq!(
        words(&Command::add_record(&CleanRecord::Product(product))),
        ["PRODUCT.ADD", "NAME", "Pen", "PRICE", "1.50", "STOCK", "4"]
    );
}

/// Every builder's request is one the server's parsers accept: a renamed command or
/// keyword on either side fails here.
#[test]
fn every_builder_is_understood_by_the_server() {
    let customer = NewCustomer::parse("Ada", "ada@example.com", None, None, None).unwrap();
    let all_fields: Vec<(FieldId, &str)> = Customer::schema()
        .updatable()
        .map(|f| (f.id, "x"))
        .collect();
    let product_fields: Vec<(FieldId, &str)> =
        Product::schema().updatable().map(|f| (f.id, "1")).collect();
    let mut built = vec![
        Command::customer_add(&all_fields),
        Command::customer_update(1, &all_fields),
        Command::customer_upsert(&customer, false),
        Command::customer_upsert(&customer, true),
        Command::customer_get(1),
        Command::customer_del(1),
        Command::customer_list(0, 10),
        Command::customer_reveal(1),
        Command::customer_export(1),
        Command::customer_forget(1),
        Command::customer_duplicates("0.5", 10),
        Command::customer_merge(1, 2),
        Command::customer_unmerge(2),
        Command::product_add(&product_fields),
        Command::product_update(1, &product_fields),
        Command::product_del(1),
        Command::product_list(0, 10),
        Command::order_list(&OrderScope::All, &OrderRange::default(), 10),
        Command::order_list(&OrderScope::Product("1".into()), &OrderRange::default(), 10),
        Command::add_record(&CleanRecord::Customer(customer)),
        Command::stats_customer(1),
        Command::stats_top_customers(10),
        Command::stats_monthly(),
        Command::stats_rfm(),
        Command::stats_clusters(4, 1),
        Command::stats_anomalies(10),
        Command::info(),
        Command::backup(None),
        Command::backup(Some("nightly")),
        Command::product_get(1),
        Command::order_get(1),
        Command::backup_list(),
        Command::backup_verify("b"),
        Command::audit_verify(),
        Command::xread_blocking(100, "crm:changes", "$"),
        Command::customer_query(&QueryClauses {
            conditions: every_operator(),
            sort: Some(sort()),
            limit: Some(5),
            cursor: Some("0".into()),
        }),
        Command::customer_query(&QueryClauses::default()),
        Command::customer_count(&every_operator()),
        Command::product_query(&QueryClauses {
            conditions: every_operator(),
            sort: Some(sort()),
            limit: None,
            cursor: Some("abc".into()),
        }),
        Command::product_count(&[]),
        Command::schema_list(),
        Command::schema_field_add(
            "customer",
            "stage",
            &NewField {
                ty: "choice".into(),
                values: vec!["lead".into(), "won".into()],
                personal: true,
                indexed: true,
            },
        ),
        Command::schema_field_add(
            "product",
            "weight",
            &NewField {
                ty: "integer".into(),
                ..NewField::default()
            },
        ),
        Command::schema_field_drop("customer", "stage"),
        Command::schema_field_index("customer", "stage", true),
        Command::schema_field_index("product", "weight", false),
        Command::stats_products(100_000),
    ];
    built.extend(FindBy::ALL.map(|by| Command::customer_find(by, "x")));
    let filters = [
        (JournalFilter::User, "u"),
        (JournalFilter::Kind, "customer"),
        (JournalFilter::Id, "1"),
    ];
    built.push(Command::audit_log(0, &filters, 10));
    for command in built {
        assert!(
            crate::cmd::parses(command.words()).is_ok(),
            "{:?}: {:?}",
            command.words(),
            crate::cmd::parses(command.words()).err()
        );
    }
}

/// One condition with each operator, with the values it takes.
fn every_operator() -> Vec<ConditionText> {
    Operator::ALL
        .into_iter()
        .map(|op| ConditionText {
            field: "name".into(),
            op,
            values: match op.operands() {
                crm_engine::query::Operands::None => vec![],
                crm_engine::query::Operands::One => vec!["Ada".into()],
                crm_engine::query::Operands::List => vec!["Ada".into(), "AND".into()],
            },
        })
        .collect()
}

fn sort() -> SortText {
    SortText {
        field: "name".into(),
        descending: true,
    }
}

/// The query builders write the contract's grammar: `IN` with its count, conditions joined
/// by `AND`, a direction always.
#[test]
fn queries_are_written_as_the_contract_spells_them() {
    let conditions = [
        ConditionText {
            field: "id".into(),
            op: Operator::In,
            values: vec!["1".into(), "2".into()],
        },
        ConditionText {
            field: "phone".into(),
            op: Operator::Missing,
            values: vec![],
        },
    ];
    assert_eq!(
        words(&Command::customer_query(&QueryClauses {
            conditions: conditions.to_vec(),
            sort: Some(sort()),
            limit: Some(3),
            cursor: Some("c1".into()),
        })),
        [
            "CUSTOMER.QUERY",
            "WHERE",
            "id",
            "IN",
            "2",
            "1",
            "2",
            "AND",
            "phone",
            "MISSING",
            "SORT",
            "name",
            "DESC",
            "LIMIT",
            "3",
            "CURSOR",
            "c1"
        ]
    );
    assert_eq!(words(&Command::product_count(&[])), ["PRODUCT.COUNT"]);
}
