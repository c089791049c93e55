//! What the console's tests share: a reply from the "server", a console logged in, and the
//! words of the requests it sends.

use crm_server::client::Value;
use crm_tui::app::{App, Lane};
use crm_tui::net::{Purpose, Request, Response};

/// Delivers one reply as if the worker had sent it (counting it as awaited).
pub fn reply(app: &mut App, purpose: Purpose, value: Value) {
    app.waiting += 1;
    app.on_response(Response {
        purpose,
        result: Ok(value),
    });
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
