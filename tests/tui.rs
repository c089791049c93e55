//! The real `crm-tui` binary driven in tmux against the real server with demo data: log in,
//! search a customer by email, open the detail, open Analytics, take a named backup, see the
//! console reconnect by itself after the server restarts, quit with the terminal restored.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(clippy::unwrap_used)]

use crm_tests::{free_port, workspace_binary, TestServer, ADMIN_PASSWORD};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is needed for this test");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "tui"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "tui"])
    }

    /// Waits until the screen shows `text`; panics with the screen if it never does.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {text:?}; the screen was:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

#[test]
fn an_operator_session_in_tmux() {
    let mut server = TestServer::start_with(&["--demo"]);
    let mut con = redis::Client::open(server.url("admin", ADMIN_PASSWORD, false))
        .unwrap()
        .get_connection()
        .unwrap();
    // A custom product field, set on product 1: the Products table and detail show it.
    let _: () = redis::cmd("SCHEMA.FIELD.ADD")
        .arg("product")
        .arg("colour")
        .arg("TYPE")
        .arg("text")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("PRODUCT.UPDATE")
        .arg(1)
        .arg("colour")
        .arg("teal green")
        .query(&mut con)
        .unwrap();
    let record: String = redis::cmd("CUSTOMER.GET").arg(20).query(&mut con).unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    let email = record["email"].as_str().unwrap().to_string();
    let name = record["name"].as_str().unwrap().to_string();

    let tmux = Tmux {
        socket: format!("crm-tui-test-{}", std::process::id()),
    };
    let script = format!(
        "CRM_PASSWORD='{ADMIN_PASSWORD}' {} --connect 127.0.0.1:{},{}; echo \"TUI-EXITED $?\"; stty -a | grep -o -- '-\\?icanon' ; sleep 60",
        workspace_binary("crm-tui").display(),
        // Nothing listens on the first address: the console goes on to the second.
        free_port(),
        server.address()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "tui",
        "-x",
        "140",
        "-y",
        "45",
        "bash",
        "-c",
        &script,
    ]);

    // Logged in: the customers page, as many rows as the screen holds (45 lines: 39 rows).
    let first = tmux.wait_for("Customers — page 1 of ");
    assert!(first.contains("Customers — page 1 of 26"), "{first}");
    assert!(
        first.contains(&format!("connected to {}", server.address())),
        "{first}"
    );
    // A server without a cluster: the status line says so (from `ROLE`, which may answer
    // after the page's title is drawn: the admin probe's `INFO` already gives the total).
    tmux.wait_for("standalone");
    // Search by email, open the detail.
    tmux.keys(&["/"]);
    tmux.keys(&["-l", &email]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("1 found");
    tmux.keys(&["Enter"]);
    let detail = tmux.wait_for("orders · total");
    assert!(
        detail.contains(&name) && detail.contains("Detail"),
        "{detail}"
    );
    // Esc closes the detail, a second Esc the search (sent apart: two at once read as Alt-Esc).
    tmux.keys(&["Escape"]);
    tmux.wait_for("Esc to clear");
    tmux.keys(&["Escape"]);
    tmux.wait_for("Customers — page 1 of 26");
    // A query typed at `/`: the rows it matches, in its order, counted by CUSTOMER.COUNT.
    let name_of = |con: &mut redis::Connection, id: u64| -> String {
        let record: String = redis::cmd("CUSTOMER.GET").arg(id).query(con).unwrap();
        let record: serde_json::Value = serde_json::from_str(&record).unwrap();
        record["name"].as_str().unwrap().to_string()
    };
    let (first, third) = (name_of(&mut con, 1), name_of(&mut con, 3));
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "where id <= 3 sort id desc"]);
    tmux.keys(&["Enter"]);
    let queried = tmux.wait_for("where id <= 3 sort id desc · page 1 of 1");
    let (at_third, at_first) = (queried.find(&third), queried.find(&first));
    assert!(
        at_third.is_some() && at_first.is_some() && at_third < at_first,
        "{queried}"
    );
    assert!(!queried.contains(&name_of(&mut con, 4)), "{queried}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("query cleared");
    // Products: the custom field is a column; Enter opens the detail with it and the sales.
    tmux.keys(&["2"]);
    let products = tmux.wait_for("teal green");
    assert!(
        products.contains("Products — page 1") && products.contains("colour"),
        "{products}"
    );
    tmux.keys(&["Enter"]);
    let detail = tmux.wait_for(" units · revenue ");
    assert!(detail.contains("colour: teal green"), "{detail}");
    tmux.keys(&["Escape"]);
    // Analytics.
    tmux.keys(&["4"]);
    let analytics = tmux.wait_for("champions");
    assert!(
        analytics.contains("Top customers by total") && analytics.contains("Monthly revenue"),
        "{analytics}"
    );
    // A backup with the gauge.
    tmux.keys(&["5"]);
    tmux.wait_for("Backups");
    tmux.keys(&["b"]);
    tmux.wait_for("Backup name");
    tmux.keys(&["-l", "before-restart"]);
    tmux.keys(&["Enter"]);
    let done = tmux.wait_for("written:");
    assert!(
        done.contains("backup before-restart written: 11100 records"),
        "{done}"
    );
    // The server restarts: the console says so, retries, and reloads the tab by itself.
    tmux.keys(&["1"]);
    tmux.wait_for("Customers — page 1 of 26");
    assert!(server.signal_and_wait("TERM").success());
    let lost = tmux.wait_for("connection lost");
    assert!(lost.contains("reconnecting in"), "{lost}");
    server.launch();
    let back = tmux.wait_for("reconnected to");
    assert!(back.contains("Customers — page 1 of 26"), "{back}");
    tmux.keys(&["n"]);
    tmux.wait_for("Customers — page 2 of 26");
    // Quit: the program exits 0 and the terminal is back in cooked mode.
    tmux.keys(&["q"]);
    let after = tmux.wait_for("TUI-EXITED");
    assert!(after.contains("TUI-EXITED 0"), "{after}");
    let restored = tmux.wait_for("icanon");
    assert!(
        !restored.contains("-icanon"),
        "terminal left in raw mode:\n{restored}"
    );
    assert!(
        !restored.contains("1 Customers"),
        "the alternate screen was not left:\n{restored}"
    );
}

#[test]
fn a_reader_in_tmux_is_told_what_the_role_may_not_use() {
    let server = TestServer::start_with(&["--demo"]);
    let mut con = redis::Client::open(server.url("admin", ADMIN_PASSWORD, false))
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("USER.ADD")
        .arg("rita")
        .arg("reader-password")
        .arg("ROLE")
        .arg("reader")
        .query(&mut con)
        .unwrap();
    let tmux = Tmux {
        socket: format!("crm-tui-reader-{}", std::process::id()),
    };
    let script = format!(
        "CRM_PASSWORD=reader-password {} --connect {} --user rita; sleep 60",
        workspace_binary("crm-tui").display(),
        server.address()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "tui",
        "-x",
        "80",
        "-y",
        "24",
        "bash",
        "-c",
        &script,
    ]);
    // The role is learnt at login: the hints leave out what a reader may not use.
    let customers = tmux.wait_for("rita (reader)");
    assert!(!customers.contains("a add"), "{customers}");
    tmux.keys(&["a"]);
    tmux.wait_for("NOPERM a (add a customer or product) needs the writer role");
    tmux.keys(&["4"]);
    let analytics = tmux.wait_for("NOPERM Analytics needs the analyst role");
    assert!(!analytics.contains("Top customers"), "{analytics}");
    tmux.keys(&["q"]);
}
