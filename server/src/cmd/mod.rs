//! Every command: the one place that matches on command names.
//!
//! A request goes through the protocol's checks in order: authentication (`NOAUTH`), the name
//! (`ERR unknown command`), syntax (`ERR`), permission (`NOPERM`), then the command itself,
//! which validates values (`INVALID`) before the engine checks existence and state.

mod backup;
mod connection;
mod customer;
mod info;
mod order;
mod product;
mod stats;
mod user;
mod values;

pub use connection::{CRM_PROTOCOL, VERSION};

use crate::parse::{printable, Args, CmdResult};
use crate::reply::Reply;
use crate::state::{Session, Shared};
use crm_engine::Role;
use std::sync::Arc;

/// A parsed command, ready for the permission check and execution.
enum Command {
    Ping(Reply),
    Auth(Vec<u8>, Vec<u8>),
    Hello(connection::Hello),
    Quit,
    Client(connection::Client),
    Compat(Reply),
    Customer(customer::Customer),
    Product(product::Product),
    Order(order::Order),
    Stats(stats::Stats),
    User(user::User),
    Backup(backup::Backup),
    Info,
}

/// What the connection does after a reply.
pub struct Answer {
    pub reply: Reply,
    /// Close the connection once the reply is written (`QUIT`).
    pub close: bool,
}

impl Command {
    /// The least role that may run the command; `None` for connection and compatibility
    /// commands, open to every role.
    fn required_role(&self) -> Option<Role> {
        match self {
            Command::Ping(_) | Command::Auth(..) | Command::Hello(_) | Command::Quit => None,
            Command::Client(_) | Command::Compat(_) => None,
            Command::Customer(customer::Customer::Add(_))
            | Command::Customer(customer::Customer::Update(..))
            | Command::Customer(customer::Customer::Del(_))
            | Command::Product(product::Product::Add(_))
            | Command::Product(product::Product::Update(..))
            | Command::Product(product::Product::Del(_))
            | Command::Order(order::Order::Add(_))
            | Command::Order(order::Order::Del(_)) => Some(Role::Writer),
            Command::Customer(_) | Command::Product(_) | Command::Order(_) => Some(Role::Reader),
            Command::Stats(_) => Some(Role::Analyst),
            Command::User(_) | Command::Backup(_) | Command::Info => Some(Role::Admin),
        }
    }
}

/// Whether a request may run before `AUTH`.
fn allowed_before_auth(name: &str, first_argument: Option<&Vec<u8>>) -> bool {
    match name {
        "AUTH" | "PING" | "HELLO" | "QUIT" => true,
        "CLIENT" => connection::client_allowed_before_auth(first_argument.map(Vec::as_slice)),
        _ => false,
    }
}

fn parse(name: &str, args: &mut Args) -> Option<CmdResult<Command>> {
    let parsed = match name {
        "PING" => connection::ping(args).map(Command::Ping),
        "AUTH" => connection::auth_args(args).map(|(user, password)| Command::Auth(user, password)),
        "HELLO" => connection::parse_hello(args).map(Command::Hello),
        "QUIT" => Ok(Command::Quit),
        "CLIENT" => connection::parse_client(args).map(Command::Client),
        "SELECT" => connection::select(args).map(Command::Compat),
        "CONFIG" => connection::config(args).map(Command::Compat),
        "COMMAND" => connection::command(args).map(Command::Compat),
        "CUSTOMER.ADD" | "CUSTOMER.GET" | "CUSTOMER.UPDATE" | "CUSTOMER.DEL" | "CUSTOMER.FIND"
        | "CUSTOMER.LIST" => customer::parse(name, args).map(Command::Customer),
        "PRODUCT.ADD" | "PRODUCT.GET" | "PRODUCT.UPDATE" | "PRODUCT.DEL" | "PRODUCT.LIST" => {
            product::parse(name, args).map(Command::Product)
        }
        "ORDER.ADD" | "ORDER.GET" | "ORDER.DEL" | "ORDER.LIST" => {
            order::parse(name, args).map(Command::Order)
        }
        "STATS.CUSTOMER" | "STATS.CUSTOMERS" | "STATS.PRODUCTS" | "STATS.MONTHLY" | "STATS.RFM"
        | "STATS.CLUSTERS" | "STATS.ANOMALIES" | "STATS.FORECAST" | "STATS.CHURN" => {
            stats::parse(name, args).map(Command::Stats)
        }
        "USER.ADD" | "USER.DEL" | "USER.PASSWD" | "USER.LIST" => {
            user::parse(name, args).map(Command::User)
        }
        "BACKUP" | "BACKUP.LIST" | "BACKUP.VERIFY" => {
            backup::parse(name, args).map(Command::Backup)
        }
        "INFO" => info::parse(args).map(|()| Command::Info),
        _ => return None,
    };
    Some(parsed)
}

/// Runs one request and says what to answer.
pub async fn dispatch(
    shared: &Arc<Shared>,
    session: &mut Session,
    mut request: Vec<Vec<u8>>,
) -> Answer {
    let answer = |reply| Answer {
        reply,
        close: false,
    };
    let raw_name = request.remove(0);
    let name = std::str::from_utf8(&raw_name)
        .ok()
        .map(str::to_ascii_uppercase);
    let name_ok = name.as_deref().unwrap_or("");
    connection::recheck_user(shared, session);
    if session.user.is_none() && !allowed_before_auth(name_ok, request.first()) {
        return answer(Reply::error("NOAUTH", "Authentication required."));
    }
    let mut args = Args::new(name_ok, request);
    let command = match parse(name_ok, &mut args) {
        None => {
            return answer(Reply::error(
                "ERR",
                format!("unknown command '{}'", printable(&raw_name)),
            ));
        }
        Some(Err(reply)) => return answer(reply),
        Some(Ok(command)) => command,
    };
    if let (Some(needed), Some((_, role))) = (command.required_role(), &session.user) {
        if *role < needed {
            return answer(Reply::error(
                "NOPERM",
                format!(
                    "this user's role ({}) may not run '{}'",
                    role.as_str(),
                    name_ok.to_ascii_lowercase()
                ),
            ));
        }
    }
    execute(shared, session, command)
        .await
        .unwrap_or_else(answer)
}

async fn execute(
    shared: &Arc<Shared>,
    session: &mut Session,
    command: Command,
) -> CmdResult<Answer> {
    let serves_data = matches!(
        command,
        Command::Customer(_)
            | Command::Product(_)
            | Command::Order(_)
            | Command::Stats(_)
            | Command::User(_)
            | Command::Backup(_)
    );
    if serves_data {
        values::engine(shared.store.health())?;
    }
    let reply = match command {
        Command::Quit => {
            return Ok(Answer {
                reply: Reply::ok(),
                close: true,
            })
        }
        Command::Ping(reply) | Command::Compat(reply) => reply,
        Command::Auth(user, password) => {
            connection::authenticate(shared, session, &user, &password).await?;
            Reply::ok()
        }
        Command::Hello(hello) => connection::hello(shared, session, hello).await?,
        Command::Client(client) => connection::client(session, client)?,
        Command::Customer(command) => customer::execute(shared, command).await?,
        Command::Product(command) => product::execute(shared, command).await?,
        Command::Order(command) => order::execute(shared, command).await?,
        Command::Stats(command) => stats::execute(shared, command).await?,
        Command::User(command) => {
            let own_password = match &command {
                user::User::Passwd { name, .. } => Some(name.clone()),
                _ => None,
            };
            let reply = user::execute(shared, command).await?;
            if let Some(name) = own_password {
                connection::refresh_own_credential(shared, session, &name);
            }
            reply
        }
        Command::Backup(command) => backup::execute(shared, command).await?,
        Command::Info => info::execute(shared)?,
    };
    Ok(Answer {
        reply,
        close: false,
    })
}
