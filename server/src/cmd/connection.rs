//! Connection commands (`PING`, `AUTH`, `HELLO`, `QUIT`) and the compatibility commands that
//! stock Redis tools send (`CLIENT`, `SELECT`, `CONFIG GET`, `COMMAND`).

use crate::auth;
use crate::parse::{printable, syntax, text, Args, CmdResult};
use crate::reply::Reply;
use crate::state::{Session, Shared};
use std::sync::Arc;

/// The version string `HELLO` and `INFO` report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The protocol contract version.
pub const CRM_PROTOCOL: i64 = 1;

pub fn ping(args: &mut Args) -> CmdResult {
    let message = args.next();
    args.finish()?;
    Ok(match message {
        Some(message) => Reply::Bulk(message),
        None => Reply::Simple("PONG"),
    })
}

/// The user and password of `AUTH password` (user `admin`) or `AUTH user password`.
pub fn auth_args(args: &mut Args) -> CmdResult<(Vec<u8>, Vec<u8>)> {
    let first = args.required()?;
    let credentials = match args.next() {
        Some(password) => (first, password),
        None => (b"admin".to_vec(), first),
    };
    args.finish()?;
    Ok(credentials)
}

fn wrongpass() -> Reply {
    Reply::error(
        "WRONGPASS",
        "invalid username-password pair or user is disabled.",
    )
}

/// Ends the authentication of a session whose user was deleted (or deleted and added again,
/// or given a new password by someone else) since it last looked, so those open connections
/// cannot keep using the old rights: their next command gets `NOAUTH`.
pub fn recheck_user(shared: &Shared, session: &mut Session) {
    let generation = shared.authenticator.users_generation();
    if session.users_seen == generation {
        return;
    }
    let Some((name, _)) = &session.user else {
        return;
    };
    match shared.store.user(name) {
        Ok(Some(user)) if Some(auth::credential_tag(&user.password_hash)) == session.credential => {
            session.user = Some((user.name, user.role));
        }
        Ok(_) => {
            tracing::info!(
                connection = session.id,
                "the session's user was deleted or changed"
            );
            session.user = None;
            session.credential = None;
        }
        // The store cannot say (halted): check again before the next command.
        Err(_) => return,
    }
    session.users_seen = generation;
}

/// Keeps the session's own login valid after it changed its own password.
pub fn refresh_own_credential(shared: &Shared, session: &mut Session, changed_user: &[u8]) {
    let own = matches!(&session.user, Some((name, _)) if name.as_bytes() == changed_user);
    if let (true, Ok(Some(user))) = (
        own,
        shared.store.user(&String::from_utf8_lossy(changed_user)),
    ) {
        session.credential = Some(auth::credential_tag(&user.password_hash));
        session.users_seen = shared.authenticator.users_generation();
    }
}

/// Checks credentials and, on success, authenticates the session. Failures are slowed.
pub async fn authenticate(
    shared: &Arc<Shared>,
    session: &mut Session,
    user: &[u8],
    password: &[u8],
) -> CmdResult<()> {
    let user = text("user", user)?;
    let password = text("password", password)?;
    // Read before the check: a deletion racing with it then makes the next command re-check.
    let generation = shared.authenticator.users_generation();
    match auth::authenticate(shared, user, password).await {
        Some(login) => {
            session.user = Some((user.to_string(), login.role));
            session.users_seen = generation;
            session.credential = Some(login.credential);
            session.failed_auths = 0;
            Ok(())
        }
        None => {
            session.failed_auths = session.failed_auths.saturating_add(1);
            tracing::warn!(connection = session.id, "failed AUTH");
            tokio::time::sleep(auth::failure_delay(session.failed_auths)).await;
            Err(wrongpass())
        }
    }
}

/// `HELLO [2|3] [AUTH user password] [SETNAME name]`, parsed.
pub struct Hello {
    version: Option<Vec<u8>>,
    auth: Option<(Vec<u8>, Vec<u8>)>,
    name: Option<Vec<u8>>,
}

pub fn parse_hello(args: &mut Args) -> CmdResult<Hello> {
    let mut hello = Hello {
        version: args.next(),
        auth: None,
        name: None,
    };
    while let Some(word) = args.next() {
        match word.to_ascii_uppercase().as_slice() {
            b"AUTH" if hello.auth.is_none() => {
                let user = args
                    .next()
                    .ok_or_else(|| syntax("syntax error: AUTH needs a user and a password"))?;
                let password = args
                    .next()
                    .ok_or_else(|| syntax("syntax error: AUTH needs a user and a password"))?;
                hello.auth = Some((user, password));
            }
            b"SETNAME" if hello.name.is_none() => {
                hello.name = Some(
                    args.next()
                        .ok_or_else(|| syntax("syntax error: SETNAME needs a name"))?,
                );
            }
            _ => {
                return Err(syntax(format!(
                    "syntax error in HELLO near '{}'",
                    printable(&word)
                )))
            }
        }
    }
    Ok(hello)
}

pub async fn hello(shared: &Arc<Shared>, session: &mut Session, hello: Hello) -> CmdResult {
    let proto = match &hello.version {
        None => session.proto,
        Some(v) if v.as_slice() == b"2" => 2,
        Some(v) if v.as_slice() == b"3" => 3,
        Some(v) => {
            return Err(Reply::error(
                "NOPROTO",
                format!("unsupported protocol version \"{}\" (2 or 3)", printable(v)),
            ))
        }
    };
    if let Some((user, password)) = &hello.auth {
        authenticate(shared, session, user, password).await?;
    }
    if let Some(name) = &hello.name {
        session.name = Some(text("name", name)?.to_string());
    }
    session.proto = proto;
    Ok(Reply::Map(vec![
        ("server", Reply::Bulk(b"crm-server".to_vec())),
        ("version", Reply::Bulk(VERSION.as_bytes().to_vec())),
        ("proto", Reply::Integer(i64::from(proto))),
        ("id", Reply::Integer(session.id as i64)),
        ("mode", Reply::Bulk(b"standalone".to_vec())),
        ("role", Reply::Bulk(b"master".to_vec())),
        ("modules", Reply::Array(Vec::new())),
        ("crm_protocol", Reply::Integer(CRM_PROTOCOL)),
    ]))
}

/// The `CLIENT` subcommands.
pub enum Client {
    SetInfo,
    SetName(Vec<u8>),
    GetName,
    Id,
}

/// The `CLIENT` subcommands allowed before `AUTH`.
pub fn client_allowed_before_auth(subcommand: Option<&[u8]>) -> bool {
    subcommand
        .is_some_and(|s| s.eq_ignore_ascii_case(b"SETINFO") || s.eq_ignore_ascii_case(b"SETNAME"))
}

pub fn parse_client(args: &mut Args) -> CmdResult<Client> {
    let sub = args.required()?;
    let client = match sub.to_ascii_uppercase().as_slice() {
        b"SETINFO" => {
            while args.next().is_some() {}
            Client::SetInfo
        }
        b"SETNAME" => Client::SetName(args.required()?),
        b"GETNAME" => Client::GetName,
        b"ID" => Client::Id,
        _ => {
            return Err(syntax(format!(
                "unknown subcommand '{}' of 'client' (SETINFO, SETNAME, GETNAME, ID)",
                printable(&sub)
            )))
        }
    };
    args.finish()?;
    Ok(client)
}

pub fn client(session: &mut Session, client: Client) -> CmdResult {
    Ok(match client {
        Client::SetInfo => Reply::ok(),
        Client::SetName(name) => {
            let name = text("name", &name)?;
            if name.contains(|c: char| c.is_whitespace()) {
                return Err(Reply::error(
                    "INVALID",
                    "name: client names cannot contain spaces",
                ));
            }
            session.name = (!name.is_empty()).then(|| name.to_string());
            Reply::ok()
        }
        Client::GetName => session
            .name
            .clone()
            .map_or(Reply::Nil, |n| Reply::Bulk(n.into_bytes())),
        Client::Id => Reply::Integer(session.id as i64),
    })
}

pub fn select(args: &mut Args) -> CmdResult {
    let index = args.required()?;
    args.finish()?;
    if index.as_slice() == b"0" {
        Ok(Reply::ok())
    } else {
        Err(Reply::error("ERR", "DB index is out of range"))
    }
}

pub fn config(args: &mut Args) -> CmdResult {
    let sub = args.required()?;
    if !sub.eq_ignore_ascii_case(b"GET") {
        return Err(syntax(format!(
            "unknown subcommand '{}' of 'config' (GET)",
            printable(&sub)
        )));
    }
    if args.remaining() == 0 {
        return Err(args.wrong_arity());
    }
    while args.next().is_some() {}
    Ok(Reply::Array(Vec::new()))
}

pub fn command(args: &mut Args) -> CmdResult {
    match args.next() {
        None => Ok(Reply::Array(Vec::new())),
        Some(sub) if sub.eq_ignore_ascii_case(b"DOCS") => {
            while args.next().is_some() {}
            Ok(Reply::Array(Vec::new()))
        }
        Some(sub) if sub.eq_ignore_ascii_case(b"COUNT") => {
            args.finish()?;
            Ok(Reply::Integer(0))
        }
        Some(sub) => Err(syntax(format!(
            "unknown subcommand '{}' of 'command' (DOCS, COUNT)",
            printable(&sub)
        ))),
    }
}
