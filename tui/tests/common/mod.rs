//! What the console's tests share: a reply (or an error) from the "server", a console logged
//! in (and told its role), the words of the requests it sends, and the screen drawn into a
//! `TestBackend`.

// Each test file uses some of these.
#![allow(dead_code)]

pub mod fields;

use crm_server::client::Value;
use crm_tui::app::{App, Lane};
use crm_tui::net::{Purpose, Request, Response};
use crm_tui::role::Role;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// The console drawn on a `width` × `height` terminal, as lines of text.
pub fn screen_of(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| crm_tui::ui::render(frame, app))
        .expect("drawn");
    let buffer = terminal.backend().buffer().clone();
    buffer
        .content()
        .chunks(usize::from(width))
        .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A JSON record as the server sends it (a bulk string).
pub fn bulk(value: serde_json::Value) -> Value {
    Value::Bulk(value.to_string().into_bytes())
}

/// An array of JSON records.
pub fn array(values: Vec<serde_json::Value>) -> Value {
    Value::Array(values.into_iter().map(bulk).collect())
}

/// Delivers one reply as if the worker had sent it (counting it as awaited).
pub fn reply(app: &mut App, purpose: Purpose, value: Value) {
    app.waiting += 1;
    app.on_response(Response {
        purpose,
        result: Ok(value),
    });
}

/// Delivers one reply as if the worker had sent it; the words of what the console asks next.
pub fn answer(app: &mut App, purpose: Purpose, value: Value) -> Vec<Vec<String>> {
    app.waiting += 1;
    args_of(&app.on_response(Response {
        purpose,
        result: Ok(value),
    }))
}

/// Delivers an error reply as if the worker had sent it; what the console asks next.
pub fn fail(app: &mut App, purpose: Purpose, message: &str) -> Vec<(Lane, Request)> {
    app.waiting += 1;
    app.on_response(Response {
        purpose,
        result: Err(message.to_string()),
    })
}

/// Answers the role probes of the login as the server does for `role`.
pub fn answer_probes(app: &mut App, role: Role) {
    for probed in crm_tui::role::PROBED {
        if probed <= role {
            let value = if probed == Role::Admin {
                Value::Bulk(b"customers:1000\r\nproducts:100\r\norders:10000\r\n".to_vec())
            } else {
                Value::Nil
            };
            reply(app, Purpose::Probe(probed), value);
        } else {
            fail(
                app,
                Purpose::Probe(probed),
                "NOPERM this user has no permissions to run this command",
            );
        }
    }
}

/// A console past its login screen.
pub fn logged_in() -> App {
    let mut app = App::new("127.0.0.1:7379", "admin");
    app.apply(crm_tui::action::Action::Submit);
    app.apply(crm_tui::action::Action::Submit);
    reply(
        &mut app,
        Purpose::Login,
        Value::Simple("127.0.0.1:7379".into()),
    );
    app
}

/// The words of every command among `outgoing` (connections left out).
pub fn args_of(outgoing: &[(Lane, Request)]) -> Vec<Vec<String>> {
    outgoing
        .iter()
        .filter_map(|(_, request)| match request {
            Request::Command { args, .. } => Some(args.clone()),
            Request::Connect { .. } => None,
        })
        .collect()
}
