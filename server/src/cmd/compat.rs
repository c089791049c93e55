//! The commands stock Redis tools send on connecting (`CLIENT`, `SELECT`, `CONFIG GET`,
//! `COMMAND`), answered so that they connect cleanly; open to every role. `COMMAND` describes
//! every command (`self_description.rs`).

use super::self_description;
use super::spec::{keyword, one_of, value, Access, ArgKind, Group, Spec, Subcommands, PLAIN};
use crate::parse::{printable, syntax, text, Args, CmdResult};
use crate::reply::Reply;
use crate::session::Session;

#[derive(Clone, Copy)]
pub enum Verb {
    Client,
    Select,
    Config,
    Command,
}

/// A parsed compatibility command.
pub enum Compat {
    ClientSetInfo,
    ClientSetName(Vec<u8>),
    ClientGetName,
    ClientId,
    Select(Vec<u8>),
    /// `CONFIG GET`: an empty array.
    ConfigGet,
    /// `COMMAND` and `COMMAND INFO [name ...]`.
    CommandInfo(Vec<Vec<u8>>),
    CommandDocs(Vec<Vec<u8>>),
    CommandCount,
}

impl Verb {
    /// `CLIENT SETINFO` and `CLIENT SETNAME` run before `AUTH` (clients send them first).
    pub fn allowed_before_auth(self, first_argument: Option<&[u8]>) -> bool {
        matches!(self, Verb::Client)
            && first_argument.is_some_and(|s| {
                s.eq_ignore_ascii_case(b"SETINFO") || s.eq_ignore_ascii_case(b"SETNAME")
            })
    }
}

impl super::context::Verb for Verb {
    type Command = Compat;

    const ALL: &'static [Verb] = &[Verb::Client, Verb::Select, Verb::Config, Verb::Command];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Client => {
                const {
                    &Spec {
                    names: &["CLIENT"],
                    summary: "Name this connection, or ask its name or number",
                    subcommands: Subcommands::Required(&[
                        Spec {
                            names: &["SETINFO"],
                            summary: "Accepted and ignored (client libraries send their name and version)",
                            syntax: &[one_of!(
                                "attr",
                                [
                                    keyword("LIB-NAME", "libname", ArgKind::String),
                                    keyword("LIB-VER", "libver", ArgKind::String),
                                ],
                            )],
                            ..COMPAT
                        },
                        Spec {
                            names: &["SETNAME"],
                            summary: "Name this connection",
                            syntax: &[value("connection-name", ArgKind::String)],
                            ..COMPAT
                        },
                        Spec {
                            names: &["GETNAME"],
                            summary: "This connection's name, or nil",
                            ..COMPAT
                        },
                        Spec {
                            names: &["ID"],
                            summary: "This connection's number",
                            ..COMPAT
                        },
                    ]),
                    ..COMPAT
                }
                }
            }
            Verb::Select => {
                const {
                    &Spec {
                        names: &["SELECT"],
                        summary: "Accepted for database 0, the only one",
                        syntax: &[value("index", ArgKind::Integer)],
                        ..COMPAT
                    }
                }
            }
            Verb::Config => {
                const {
                    &Spec {
                        names: &["CONFIG"],
                        summary: "Answered for stock tools: no parameter is exposed",
                        subcommands: Subcommands::Required(&[Spec {
                            names: &["GET"],
                            summary: "An empty array: no parameter is exposed",
                            syntax: &[value("parameter", ArgKind::Pattern).multiple()],
                            ..COMPAT
                        }]),
                        ..COMPAT
                    }
                }
            }
            Verb::Command => {
                const {
                    &Spec {
                    names: &["COMMAND"],
                    summary: "Describe every command (as COMMAND INFO)",
                    subcommands: Subcommands::Optional(&[
                        Spec {
                            names: &["DOCS"],
                            summary: "Each command's summary, group, since and arguments (all when none is named)",
                            syntax: &[value("command-name", ArgKind::String).optional().multiple()],
                            ..COMPAT
                        },
                        Spec {
                            names: &["INFO"],
                            summary: "Each command's arity, flags, keys and categories (all when none is named)",
                            syntax: &[value("command-name", ArgKind::String).optional().multiple()],
                            ..COMPAT
                        },
                        Spec {
                            names: &["COUNT"],
                            summary: "The number of commands",
                            ..COMPAT
                        },
                    ]),
                    ..COMPAT
                }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Compat> {
        match self {
            Verb::Client => parse_client(self.spec(), args),
            Verb::Select => Ok(Compat::Select(args.required()?)),
            Verb::Config => {
                subcommand(self.spec(), args)?;
                args.skip_rest();
                Ok(Compat::ConfigGet)
            }
            Verb::Command => {
                if args.remaining() == 0 {
                    return Ok(Compat::CommandInfo(Vec::new()));
                }
                let names = |args: &mut Args| std::iter::from_fn(|| args.next()).collect();
                match subcommand(self.spec(), args)? {
                    "DOCS" => Ok(Compat::CommandDocs(names(args))),
                    "INFO" => Ok(Compat::CommandInfo(names(args))),
                    "COUNT" => Ok(Compat::CommandCount),
                    other => Err(unserved(other, args)),
                }
            }
        }
    }
}

/// What the compatibility commands share: open to every role, about the connection.
const COMPAT: Spec = Spec {
    group: Group::Connection,
    access: Access::Connection,
    ..PLAIN
};

/// The subcommand the next word names, else `ERR` listing them.
fn subcommand(spec: &Spec, args: &mut Args) -> CmdResult<&'static str> {
    let word = args.required()?;
    match spec.subcommand(&word) {
        Some(sub) => Ok(sub.name()),
        None => Err(syntax(format!(
            "unknown subcommand '{}' of '{}' ({})",
            printable(&word),
            args.command(),
            spec.subcommand_names()
        ))),
    }
}

/// A subcommand the table lists and the parser does not know (a bug: said, not panicked).
fn unserved(name: &str, args: &Args) -> crate::reply::Reply {
    syntax(format!(
        "subcommand '{name}' of '{}' is not served",
        args.command()
    ))
}

fn parse_client(spec: &Spec, args: &mut Args) -> CmdResult<Compat> {
    Ok(match subcommand(spec, args)? {
        "SETINFO" => {
            args.skip_rest();
            Compat::ClientSetInfo
        }
        "SETNAME" => Compat::ClientSetName(args.required()?),
        "GETNAME" => Compat::ClientGetName,
        "ID" => Compat::ClientId,
        other => return Err(unserved(other, args)),
    })
}

pub fn execute(session: &mut Session, command: Compat) -> CmdResult {
    Ok(match command {
        Compat::ClientSetInfo => Reply::ok(),
        Compat::ClientSetName(name) => {
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
        Compat::ClientGetName => session
            .name
            .clone()
            .map_or(Reply::Nil, |n| Reply::Bulk(n.into_bytes())),
        Compat::ClientId => Reply::Integer(session.id as i64),
        Compat::Select(index) if index.as_slice() == b"0" => Reply::ok(),
        Compat::Select(_) => return Err(Reply::error("ERR", "DB index is out of range")),
        Compat::ConfigGet => Reply::Array(Vec::new()),
        Compat::CommandInfo(names) => self_description::info(&names),
        Compat::CommandDocs(names) => self_description::docs(&names),
        Compat::CommandCount => self_description::count(),
    })
}
