//! What the console's tests share: a reply from the "server", and a console logged in.

use crm_server::client::Value;
use crm_tui::app::App;
use crm_tui::net::{Purpose, Response};

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
    reply(&mut app, Purpose::Login, Value::Simple("OK".into()));
    app
}
