//! Connection commands: `PING`, `AUTH`, `HELLO`, `QUIT` (open to every connection).

use super::context::{Answer, Context};
use super::spec::{block, keyword, one_of, token, value, Access, Arg, ArgKind, Group, Spec, PLAIN};
use crate::parse::{printable, syntax, text, Args, CmdResult};
use crate::reply::Reply;
use zeroize::Zeroizing;

/// The version string `HELLO` and `INFO` report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The protocol contract version.
pub const CRM_PROTOCOL: i64 = 3;

#[derive(Clone, Copy)]
pub enum Verb {
    Ping,
    Auth,
    Hello,
    Quit,
}

/// A parsed connection command.
pub enum Connection {
    Ping(Option<Vec<u8>>),
    Auth(Credentials),
    Hello(Hello),
    Quit,
}

/// A user name and a password, wiped from memory once checked.
pub struct Credentials {
    user: Vec<u8>,
    password: Zeroizing<Vec<u8>>,
}

/// `HELLO [2|3] [AUTH user password] [SETNAME name]`, parsed.
pub struct Hello {
    version: Option<Vec<u8>>,
    auth: Option<Credentials>,
    name: Option<Vec<u8>>,
}

impl super::context::Verb for Verb {
    type Command = Connection;

    const ALL: &'static [Verb] = &[Verb::Ping, Verb::Auth, Verb::Hello, Verb::Quit];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Ping => {
                const {
                    &Spec {
                        names: &["PING"],
                        summary: "Answer PONG, or the message given",
                        syntax: &[value("message", ArgKind::String).optional()],
                        ..CONNECTION
                    }
                }
            }
            Verb::Auth => {
                const {
                    &Spec {
                        names: &["AUTH"],
                        summary: "Log in; a password alone is user admin's",
                        syntax: &[
                            value("username", ArgKind::String).optional(),
                            value("password", ArgKind::String),
                        ],
                        ..CONNECTION
                    }
                }
            }
            Verb::Hello => {
                const {
                    &Spec {
                    names: &["HELLO"],
                    summary: "Describe the server; switch to RESP2 or RESP3, log in, name the connection",
                    syntax: &[
                        one_of!("protover", [token("2"), token("3")]).optional(),
                        Arg {
                            token: Some("AUTH"),
                            ..block!(
                                "auth",
                                [
                                    value("username", ArgKind::String),
                                    value("password", ArgKind::String),
                                ],
                            )
                        }
                        .optional(),
                        keyword("SETNAME", "clientname", ArgKind::String).optional(),
                    ],
                    ..CONNECTION
                }
                }
            }
            Verb::Quit => {
                const {
                    &Spec {
                        names: &["QUIT"],
                        summary: "Close the connection once the reply is sent",
                        ..CONNECTION
                    }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Connection> {
        Ok(match self {
            Verb::Ping => Connection::Ping(args.next()),
            Verb::Auth => Connection::Auth(auth_args(args)?),
            Verb::Hello => Connection::Hello(parse_hello(args)?),
            Verb::Quit => Connection::Quit,
        })
    }
}

/// What the connection commands share: open to every connection, answered while loading.
const CONNECTION: Spec = Spec {
    group: Group::Connection,
    access: Access::Connection,
    ..PLAIN
};

/// The user and password of `AUTH password` (user `admin`) or `AUTH user password`.
fn auth_args(args: &mut Args) -> CmdResult<Credentials> {
    let first = args.required()?;
    Ok(match args.next() {
        Some(password) => Credentials {
            user: first,
            password: Zeroizing::new(password),
        },
        None => Credentials {
            user: b"admin".to_vec(),
            password: Zeroizing::new(first),
        },
    })
}

/// Whether a `HELLO` argument is a protocol version rather than an option: redis-py sends
/// `HELLO 3 AUTH ...`, but `HELLO AUTH user pass` (no version) keeps the current protocol.
fn is_option(word: &[u8]) -> bool {
    word.eq_ignore_ascii_case(b"AUTH") || word.eq_ignore_ascii_case(b"SETNAME")
}

fn parse_hello(args: &mut Args) -> CmdResult<Hello> {
    let mut pending = args.next();
    let version = match pending.take() {
        Some(word) if is_option(&word) => {
            pending = Some(word);
            None
        }
        other => other,
    };
    let mut hello = Hello {
        version,
        auth: None,
        name: None,
    };
    while let Some(word) = pending.take().or_else(|| args.next()) {
        match word.to_ascii_uppercase().as_slice() {
            b"AUTH" if hello.auth.is_none() => {
                let needs = || syntax("syntax error: AUTH needs a user and a password");
                let user = args.next().ok_or_else(needs)?;
                let password = Zeroizing::new(args.next().ok_or_else(needs)?);
                hello.auth = Some(Credentials { user, password });
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

fn wrongpass() -> Reply {
    Reply::error(
        "WRONGPASS",
        "invalid username-password pair or user is disabled.",
    )
}

/// Checks credentials and, on success, authenticates the session (failures are slowed).
async fn log_in(context: &mut Context<'_>, credentials: &Credentials) -> CmdResult<()> {
    let user = text("user", &credentials.user)?;
    // The bytes of a password are never quoted back: the field is named, not its value.
    let password = std::str::from_utf8(&credentials.password)
        .map_err(|_| Reply::error("INVALID", "password: not valid UTF-8"))?;
    if context
        .session
        .log_in(context.shared, user, password, context.read_at)
        .await
    {
        Ok(())
    } else {
        Err(wrongpass())
    }
}

pub async fn execute(mut context: Context<'_>, command: Connection) -> CmdResult<Answer> {
    let subscribed_resp2 = context.session.proto == 2 && context.session.subscriptions.any();
    let reply = match command {
        // Redis 7.0 answers a subscribed RESP2 connection's PING as a message would come.
        Connection::Ping(message) if subscribed_resp2 => Reply::Array(vec![
            Reply::Bulk(b"pong".to_vec()),
            Reply::Bulk(message.unwrap_or_default()),
        ]),
        Connection::Ping(Some(message)) => Reply::Bulk(message),
        Connection::Ping(None) => Reply::Simple("PONG"),
        Connection::Quit => {
            return Ok(Answer {
                reply: Reply::ok(),
                close: true,
            })
        }
        Connection::Auth(credentials) => {
            log_in(&mut context, &credentials).await?;
            Reply::ok()
        }
        Connection::Hello(hello) => hello_reply(&mut context, hello).await?,
    };
    Ok(Answer::reply(reply))
}

async fn hello_reply(context: &mut Context<'_>, hello: Hello) -> CmdResult {
    let proto = match &hello.version {
        None => context.session.proto,
        Some(v) if v.as_slice() == b"2" => 2,
        Some(v) if v.as_slice() == b"3" => 3,
        Some(v) => {
            return Err(Reply::error(
                "NOPROTO",
                format!("unsupported protocol version \"{}\" (2 or 3)", printable(v)),
            ))
        }
    };
    if let Some(credentials) = &hello.auth {
        log_in(context, credentials).await?;
    }
    if let Some(name) = &hello.name {
        context.session.name = Some(text("name", name)?.to_string());
    }
    let role: &[u8] = match &context.shared.cluster {
        Some(cluster) if !cluster.is_leader() => b"replica",
        _ => b"master",
    };
    let session = &mut *context.session;
    session.proto = proto;
    Ok(Reply::Map(vec![
        ("server", Reply::Bulk(b"crm-server".to_vec())),
        ("version", Reply::Bulk(VERSION.as_bytes().to_vec())),
        ("proto", Reply::Integer(i64::from(proto))),
        ("id", Reply::Integer(session.id as i64)),
        ("mode", Reply::Bulk(b"standalone".to_vec())),
        ("role", Reply::Bulk(role.to_vec())),
        ("modules", Reply::Array(Vec::new())),
        ("crm_protocol", Reply::Integer(CRM_PROTOCOL)),
    ]))
}
