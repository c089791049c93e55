//! CSV import with cleaning: the report on a dirty file, and the demo files round trip.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use crm_engine::*;

#[test]
fn a_dirty_customers_file_gives_a_line_by_line_report() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    let csv = "\
id,name,email,phone,address,created_at
1,Ada Lovelace,ada@example.com,+445550100,\"12 St James Sq, London\",2026-11-25T09:30:00Z
2,  Bob   Byron ,BOB@Example.COM , (555) 010-9999,,2026-11-25
2,Bob Byron,bob@example.com,+5550109999,,2026-11-25T00:00:00Z
3,,nobody@example.com,,,
4,Eve,eve@,,,
5,Mallory,ADA@example.com,,,
x,Trent,trent@example.com,,,
6,Peggy,peggy@example.com,,,not a date
7,Victor,victor@example.com
";
    let report = store
        .import_csv(ImportKind::Customers, csv.as_bytes())
        .unwrap();
    assert_eq!(report.accepted, 2, "{report:?}");
    assert_eq!(report.fixed.len(), 1);
    assert_eq!(report.fixed[0].0, 3);
    assert!(report.fixed[0].1.iter().any(|c| c.starts_with("email:")));
    assert_eq!(report.merged, vec![(4, 3)]);
    let rejected: Vec<u64> = report.rejected.iter().map(|(line, _)| *line).collect();
    assert_eq!(rejected, vec![5, 6, 8, 9, 7]);
    let reason = |line: u64| {
        report
            .rejected
            .iter()
            .find(|(l, _)| *l == line)
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(reason(5).reason, "name: required");
    assert!(reason(6).reason.starts_with("email:"));
    assert_eq!(
        reason(7),
        Rejection {
            kind: Some(ErrorKind::Conflict),
            reason: "email \"ada@example.com\" belongs to customer 1".into()
        }
    );
    assert!(reason(9).reason.starts_with("created_at:"));
    assert!((5..=9)
        .filter(|line| *line != 7)
        .all(|line| reason(line).kind.is_none()));
    assert_eq!(store.counts().unwrap().customers, 3);
    assert_eq!(
        store.customer(2).unwrap().unwrap().phone.as_deref(),
        Some("+5550109999")
    );
}

#[test]
fn orders_with_broken_references_are_rejected_and_never_touch_stock() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_with(dir.path(), &MasterKey::generate());
    let customer = customer(&store, "Ada", "ada@example.com");
    let product = product(&store, "Pen", "1.50", 7);
    let csv = format!(
        "id,customer_id,product_id,quantity,created_at\n1,{customer},{product},3,2026-01-02\n2,999,{product},1,2026-01-02\n3,{customer},{product},0,2026-01-02\n"
    );
    let report = store
        .import_csv(ImportKind::Orders, csv.as_bytes())
        .unwrap();
    assert_eq!(report.accepted, 1);
    assert_eq!(report.rejected.len(), 2);
    let refused = &report.rejected[1].1;
    assert_eq!(refused.kind, Some(ErrorKind::ForeignKey), "{report:?}");
    assert!(refused.reason.starts_with("customer 999"), "{report:?}");
    let unclean = &report.rejected[0].1;
    assert!(unclean.kind.is_none() && unclean.reason.starts_with("quantity:"));
    assert_eq!(store.product(product).unwrap().unwrap().stock, 7);
}

#[test]
fn the_demo_files_import_to_the_same_store_as_the_demo_itself() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo::generate(11, 300, 25, 3_000);
    demo.write_csv(&dir.path().join("csv")).unwrap();
    let imported = open_with(&dir.path().join("imported"), &MasterKey::generate());
    for (table, file) in [
        (ImportKind::Customers, "customers.csv"),
        (ImportKind::Products, "products.csv"),
        (ImportKind::Orders, "orders.csv"),
    ] {
        let report = imported
            .import_csv(
                table,
                std::fs::File::open(dir.path().join("csv").join(file)).unwrap(),
            )
            .unwrap();
        assert!(
            report.rejected.is_empty() && report.fixed.is_empty(),
            "{file}: {report:?}"
        );
    }
    let loaded = open_with(&dir.path().join("loaded"), &MasterKey::generate());
    demo.load_into(&loaded).unwrap();
    imported.check_consistency().unwrap();
    assert_eq!(
        imported.customers(0, 10_000).unwrap(),
        loaded.customers(0, 10_000).unwrap()
    );
    assert_eq!(
        imported.customer_rollups().unwrap(),
        loaded.customer_rollups().unwrap()
    );
}
