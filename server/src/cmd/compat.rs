//! The commands stock Redis tools send on connecting (`CLIENT`, `SELECT`, `CONFIG GET`,
//! `COMMAND`), answered so that they connect cleanly; open to every role.

use crate::parse::{printable, syntax, text, Args, CmdResult};
use crate::reply::Reply;
use crate::session::Session;
use crm_engine::Role;

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
    /// `CONFIG GET`, `COMMAND`, `COMMAND DOCS`: an empty array.
    Empty,
    /// `COMMAND COUNT`: `:0`.
    Count,
}

impl Verb {
    pub fn named(name: &str) -> Option<Verb> {
        Some(match name {
            "CLIENT" => Verb::Client,
            "SELECT" => Verb::Select,
            "CONFIG" => Verb::Config,
            "COMMAND" => Verb::Command,
            _ => return None,
        })
    }

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

    fn minimum_arguments(self) -> usize {
        match self {
            Verb::Client | Verb::Select => 1,
            Verb::Config => 2,
            Verb::Command => 0,
        }
    }

    fn required_role(self) -> Option<Role> {
        None
    }

    fn parse(self, args: &mut Args) -> CmdResult<Compat> {
        match self {
            Verb::Client => parse_client(args),
            Verb::Select => Ok(Compat::Select(args.required()?)),
            Verb::Config => {
                let sub = args.required()?;
                if !sub.eq_ignore_ascii_case(b"GET") {
                    return Err(syntax(format!(
                        "unknown subcommand '{}' of 'config' (GET)",
                        printable(&sub)
                    )));
                }
                args.skip_rest();
                Ok(Compat::Empty)
            }
            Verb::Command => match args.next() {
                None => Ok(Compat::Empty),
                Some(sub) if sub.eq_ignore_ascii_case(b"DOCS") => {
                    args.skip_rest();
                    Ok(Compat::Empty)
                }
                Some(sub) if sub.eq_ignore_ascii_case(b"COUNT") => Ok(Compat::Count),
                Some(sub) => Err(syntax(format!(
                    "unknown subcommand '{}' of 'command' (DOCS, COUNT)",
                    printable(&sub)
                ))),
            },
        }
    }
}

fn parse_client(args: &mut Args) -> CmdResult<Compat> {
    let sub = args.required()?;
    Ok(match sub.to_ascii_uppercase().as_slice() {
        b"SETINFO" => {
            args.skip_rest();
            Compat::ClientSetInfo
        }
        b"SETNAME" => Compat::ClientSetName(args.required()?),
        b"GETNAME" => Compat::ClientGetName,
        b"ID" => Compat::ClientId,
        _ => {
            return Err(syntax(format!(
                "unknown subcommand '{}' of 'client' (SETINFO, SETNAME, GETNAME, ID)",
                printable(&sub)
            )))
        }
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
        Compat::Empty => Reply::Array(Vec::new()),
        Compat::Count => Reply::Integer(0),
    })
}
