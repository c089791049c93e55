//! The cleaning of rows and headers, against the contract's rules.

use super::*;

fn cleaner(kind: ImportKind, header: &[&str]) -> Cleaner {
    Cleaner::new(kind, &csv::StringRecord::from(header.to_vec())).unwrap()
}

#[test]
fn rows_are_accepted_fixed_merged_or_rejected() {
    let mut c = cleaner(
        ImportKind::Customers,
        &["id", "name", "email", "phone", "address", "created_at"],
    );
    let row = |fields: &[&str]| csv::StringRecord::from(fields.to_vec());
    assert!(matches!(
        c.clean(
            2,
            &row(&[
                "1",
                "Ada Lovelace",
                "ada@example.com",
                "+445550100",
                "London",
                "2026-11-25T09:30:00Z"
            ])
        ),
        Verdict::Accepted(_)
    ));
    match c.clean(
        3,
        &row(&[
            "2",
            "  Bob  Byron ",
            "BOB@Example.com ",
            "555-010-9999",
            "",
            "2026-11-25",
        ]),
    ) {
        Verdict::Fixed(_, changes) => {
            assert_eq!(changes.len(), 3, "{changes:?}");
            assert!(changes[0].starts_with("name:"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.clean(
            4,
            &row(&[
                "2",
                "Bob Byron",
                "bob@example.com",
                "+5550109999",
                "",
                "2026-11-25T00:00:00Z"
            ])
        ),
        Verdict::Merged {
            first_line: 3,
            changes: Vec::new()
        }
    );
    assert_eq!(
        c.clean(5, &row(&["3", "", "x@y.com", "", "", ""])),
        Verdict::Rejected("name: required".into())
    );
    assert!(matches!(
        c.clean(6, &row(&["x", "N", "n@y.com", "", "", ""])),
        Verdict::Rejected(_)
    ));
}

#[test]
fn a_missing_required_column_is_refused() {
    assert!(Cleaner::new(
        ImportKind::Products,
        &csv::StringRecord::from(vec!["id", "name"])
    )
    .is_err());
}

// Guards against an unknown header column (`E-Mail`) reported only as "the email column is
// missing", with no word of what the file has and what it should have.
#[test]
fn unknown_and_repeated_columns_are_refused_naming_them_and_the_known_ones() {
    let refused = |header: &[&str]| {
        Cleaner::new(
            ImportKind::Customers,
            &csv::StringRecord::from(header.to_vec()),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
    };
    let message = refused(&["Name", "E-Mail", "tel"]);
    assert_eq!(
        message,
        "header: unknown columns \"E-Mail\", \"tel\"; the customers columns are: id, name, email, phone, address, created_at"
    );
    assert!(
        refused(&["name", "email", "NAME"]).contains("name column appears twice (columns 1 and 3)")
    );
    assert!(
        refused(&["id", "name"]).contains("the email column is missing (the header has: id, name;")
    );
    assert!(Cleaner::new(
        ImportKind::Customers,
        &csv::StringRecord::from(vec!["\u{feff}ID", " Email ", "name"])
    )
    .is_ok());
}

// Guards against a row with more fields than the header losing the extra ones silently.
#[test]
fn a_row_with_more_fields_than_the_header_is_rejected() {
    let mut c = cleaner(ImportKind::Customers, &["name", "email"]);
    let row = |fields: &[&str]| csv::StringRecord::from(fields.to_vec());
    assert_eq!(
        c.clean(2, &row(&["Ada", "ada@example.com", "London"])),
        Verdict::Rejected("the row has 3 fields, the header names 2 columns".into())
    );
    assert!(matches!(
        c.clean(3, &row(&["Ada", "ada@example.com"])),
        Verdict::Accepted(_)
    ));
    assert!(matches!(
        c.clean(4, &row(&["Bob", "bob@example.com"])),
        Verdict::Accepted(_)
    ));
}
