//! Every role against every command family: what it may run, and `NOPERM` for the rest.

#![allow(clippy::unwrap_used)]

use crm_tests::RawConnection;
use crm_tests::{TestServer, ADMIN_PASSWORD};

/// A sample request of each command; each must be refused below its role.
const READER: &[&str] = &[
    "CUSTOMER.GET 1",
    "CUSTOMER.LIST",
    "CUSTOMER.FIND EMAIL a@b.com",
    "PRODUCT.GET 1",
    "PRODUCT.LIST",
    "ORDER.GET 1",
    "ORDER.LIST ALL",
];
const ANALYST: &[&str] = &[
    "STATS.CUSTOMER 1",
    "STATS.CUSTOMERS",
    "STATS.PRODUCTS",
    "STATS.MONTHLY",
    "STATS.RFM",
    "STATS.CLUSTERS K 1",
    "STATS.ANOMALIES",
    "STATS.FORECAST",
    "STATS.CHURN",
];
const WRITER: &[&str] = &[
    "CUSTOMER.ADD NAME x EMAIL x@y.com",
    "CUSTOMER.UPDATE 1 NAME y",
    "CUSTOMER.DEL 1",
    "PRODUCT.ADD NAME p PRICE 1",
    "PRODUCT.UPDATE 1 NAME q",
    "PRODUCT.DEL 1",
    "ORDER.ADD CUSTOMER 1 PRODUCT 1 QUANTITY 1",
    "ORDER.DEL 1",
];
const ADMIN: &[&str] = &[
    "USER.ADD zed pw ROLE reader",
    "USER.DEL zed",
    "USER.PASSWD zed pw",
    "USER.LIST",
    "INFO",
    "BACKUP",
    "BACKUP.LIST",
    "BACKUP.VERIFY x",
];
const OPEN: &[&str] = &[
    "PING",
    "CLIENT SETNAME x",
    "CLIENT GETNAME",
    "CLIENT ID",
    "SELECT 0",
    "CONFIG GET x",
    "COMMAND COUNT",
];

fn login(server: &TestServer, user: &str) -> RawConnection {
    let mut raw = server.raw();
    assert_eq!(
        raw.roundtrip(&format!("AUTH {user} pw-{user}\r\n")),
        "+OK\r\n"
    );
    raw
}

#[test]
fn each_role_runs_exactly_its_commands() {
    let server = TestServer::start();
    let mut admin = server.raw_admin();
    for role in ["reader", "analyst", "writer", "admin"] {
        assert_eq!(
            admin.roundtrip(&format!("USER.ADD {role}1 pw-{role}1 ROLE {role}\r\n")),
            "+OK\r\n"
        );
    }
    let levels = [
        ("reader1", 0),
        ("analyst1", 1),
        ("writer1", 2),
        ("admin1", 3),
    ];
    let families = [READER, ANALYST, WRITER, ADMIN];
    for (user, level) in levels {
        let mut raw = login(&server, user);
        for (family_level, family) in families.iter().enumerate() {
            for request in *family {
                let reply = raw.roundtrip(&format!("{request}\r\n"));
                let reply = if reply.starts_with('*') && !reply.starts_with("*0") {
                    // Drain array replies (lists, stats) so the next reply lines up.
                    drain_array(&mut raw, &reply);
                    reply
                } else {
                    reply
                };
                if family_level > level {
                    assert!(
                        reply.starts_with("-NOPERM "),
                        "{user} ran {request}: {reply}"
                    );
                } else {
                    assert!(
                        !reply.starts_with("-NOPERM"),
                        "{user} refused {request}: {reply}"
                    );
                    assert!(!reply.starts_with("-ERR unknown"), "{request}: {reply}");
                }
            }
        }
        for request in OPEN {
            let reply = raw.roundtrip(&format!("{request}\r\n"));
            assert!(
                !reply.starts_with("-NOPERM"),
                "{user} refused {request}: {reply}"
            );
        }
    }
}

fn drain_array(raw: &mut RawConnection, header: &str) {
    let count: usize = header[1..].trim_end().parse().unwrap_or(0);
    for _ in 0..count {
        let item = raw.read_reply();
        if item.starts_with('*') {
            drain_array(raw, &item);
        }
    }
}

#[test]
fn syntax_errors_come_before_permission_errors() {
    let server = TestServer::start();
    let mut admin = server.raw_admin();
    assert_eq!(
        admin.roundtrip("USER.ADD r pw-r ROLE reader\r\n"),
        "+OK\r\n"
    );
    let mut reader = login(&server, "r");
    // Syntax first: a reader sending a malformed write gets ERR, not NOPERM.
    assert!(reader
        .roundtrip("CUSTOMER.ADD NAME\r\n")
        .starts_with("-ERR "));
    assert!(reader.roundtrip("CUSTOMER.DEL\r\n").starts_with("-ERR "));
    // Permission before values: an invalid write by a reader is NOPERM, not INVALID.
    assert!(reader
        .roundtrip("CUSTOMER.ADD NAME x EMAIL bad\r\n")
        .starts_with("-NOPERM "));
    let _ = ADMIN_PASSWORD;
}

/// Deleting a user, or giving it a new password, ends its open sessions: their next command gets
/// `NOAUTH`, not the old rights — also when the name is added again with another role. The
/// session that changes its own password stays logged in.
#[test]
fn deleted_or_repassworded_users_lose_their_open_sessions() {
    let server = TestServer::start();
    let mut admin = server.raw_admin();
    for user in ["w", "v"] {
        assert_eq!(
            admin.roundtrip(&format!("USER.ADD {user} pw-{user} ROLE writer\r\n")),
            "+OK\r\n"
        );
    }
    let mut writer = login(&server, "w");
    let mut bystander = login(&server, "v");
    assert!(writer.roundtrip("CUSTOMER.LIST\r\n").starts_with('*'));

    assert_eq!(admin.roundtrip("USER.DEL w\r\n"), "+OK\r\n");
    assert!(writer
        .roundtrip("CUSTOMER.ADD NAME x EMAIL x@x.io\r\n")
        .starts_with("-NOAUTH "));
    assert!(writer
        .roundtrip("AUTH w pw-w\r\n")
        .starts_with("-WRONGPASS "));
    // Other users' sessions are untouched.
    assert!(bystander.roundtrip("CUSTOMER.LIST\r\n").starts_with('*'));

    // Deleted and added again (as an admin, with a new password): the old session has not
    // proven the new password and must not inherit the new role.
    let mut old = login(&server, "v");
    assert_eq!(admin.roundtrip("USER.DEL v\r\n"), "+OK\r\n");
    assert_eq!(
        admin.roundtrip("USER.ADD v other-pw ROLE admin\r\n"),
        "+OK\r\n"
    );
    assert!(old.roundtrip("USER.LIST\r\n").starts_with("-NOAUTH "));
    assert!(bystander
        .roundtrip("CUSTOMER.LIST\r\n")
        .starts_with("-NOAUTH "));

    // A new password ends the other sessions of that user, not the one that set it.
    let mut other_admin = server.raw_admin();
    assert_eq!(
        admin.roundtrip(&format!("USER.PASSWD admin {ADMIN_PASSWORD}-2\r\n")),
        "+OK\r\n"
    );
    assert!(admin.roundtrip("USER.LIST\r\n").starts_with('*'));
    assert!(other_admin.roundtrip("INFO\r\n").starts_with("-NOAUTH "));
}
