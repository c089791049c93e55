//! Every command, routed to its family.
//!
//! Each family (one file) states its verbs once, in a `Verb` table whose entries (`spec.rs`)
//! give each verb's names, role, syntax and documentation, and parses the verb's arguments.
//! This file routes a name to its family through those entries, and runs the protocol's
//! checks in order: authentication (`NOAUTH`), the name (`ERR unknown command`), arity
//! (`ERR`), the subscribed state of a RESP2 connection (Redis 7.0's refusal), syntax (`ERR`,
//! with `finish()` called here once for every command), permission (`NOPERM`), then the
//! command, which validates values (`INVALID`) before the engine checks existence and state.

mod audit;
mod backup;
mod cluster;
mod compat;
mod connection;
mod context;
mod customer;
mod export;
mod info;
mod offload;
mod order;
mod paged;
mod product;
mod pubsub;
mod query;
mod schema;
mod self_description;
pub(crate) mod spec;
mod stats;
mod stream;
mod submit;
mod user;
mod values;

pub use connection::{CRM_PROTOCOL, VERSION};
pub use context::Answer;
use context::{Context, Verb};
pub use submit::{step, RunLater, Step, Submitted};

use crate::parse::{printable, Args, CmdResult};
use crate::reply::Reply;
use crate::session::Session;
use crate::state::Shared;
use crm_engine::Role;
use spec::Spec;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tokio::time::Instant;

/// A command name, resolved to its family's verb.
#[derive(Clone, Copy)]
enum Routed {
    Connection(connection::Verb),
    Compat(compat::Verb),
    Customer(customer::Verb),
    Product(product::Verb),
    Order(order::Verb),
    Stats(stats::Verb),
    User(user::Verb),
    Backup(backup::Verb),
    Info(info::Verb),
    Audit(audit::Verb),
    Stream(stream::Verb),
    Cluster(cluster::Verb),
    PubSub(pubsub::Verb),
    Schema(schema::Verb),
}

/// A parsed command.
pub(crate) enum Command {
    Connection(connection::Connection),
    Compat(compat::Compat),
    Customer(customer::Customer),
    Product(product::Product),
    Order(order::Order),
    Stats(stats::Stats),
    User(user::User),
    Backup(backup::Backup),
    Info(info::Info),
    Audit(audit::Audit),
    Stream(stream::Stream),
    Cluster(cluster::Cluster),
    PubSub(pubsub::PubSub),
    Schema(schema::Schema),
}

/// A request, with when it was read (failed logins are slowed from that moment).
pub struct Request {
    pub args: Vec<Vec<u8>>,
    pub read_at: Instant,
}

/// Every verb of every family, in the order `COMMAND` lists them.
fn every_verb() -> impl Iterator<Item = Routed> {
    fn all<V: Verb>(wrap: fn(V) -> Routed) -> impl Iterator<Item = Routed> {
        V::ALL.iter().copied().map(wrap)
    }
    all(Routed::Connection)
        .chain(all(Routed::Compat))
        .chain(all(Routed::Customer))
        .chain(all(Routed::Product))
        .chain(all(Routed::Order))
        .chain(all(Routed::Stats))
        .chain(all(Routed::Schema))
        .chain(all(Routed::Audit))
        .chain(all(Routed::Stream))
        .chain(all(Routed::User))
        .chain(all(Routed::Backup))
        .chain(all(Routed::Info))
        .chain(all(Routed::Cluster))
        .chain(all(Routed::PubSub))
}

/// Whether `word` (any case) is a keyword of a command (from every verb's table entry, its
/// blocks and choices included) or of the query grammar: no custom field may be named so.
pub(crate) fn is_keyword(word: &str) -> bool {
    fn collect(args: &[spec::Arg], into: &mut std::collections::HashSet<String>) {
        for arg in args {
            if let Some(token) = arg.token {
                into.insert(token.to_ascii_uppercase());
            }
            match arg.kind {
                spec::ArgKind::OneOf(inner) | spec::ArgKind::Block(inner) => collect(inner, into),
                _ => {}
            }
        }
    }
    static KEYWORDS: OnceLock<std::collections::HashSet<String>> = OnceLock::new();
    KEYWORDS
        .get_or_init(|| {
            let mut words: std::collections::HashSet<String> = crate::vocabulary::query_keywords()
                .map(str::to_ascii_uppercase)
                .collect();
            for spec in every_spec() {
                collect(spec.syntax, &mut words);
                if let spec::Subcommands::Required(subcommands)
                | spec::Subcommands::Optional(subcommands) = spec.subcommands
                {
                    for sub in subcommands {
                        collect(sub.syntax, &mut words);
                    }
                }
            }
            words
        })
        .contains(&word.to_ascii_uppercase())
}

/// Every verb's table entry (`COMMAND`).
fn every_spec() -> impl Iterator<Item = &'static Spec> {
    every_verb().map(Routed::spec)
}

/// The verb a command name (upper case) names, from the names the verbs' entries give.
fn route(name: &str) -> Option<Routed> {
    static BY_NAME: OnceLock<HashMap<&'static str, Routed>> = OnceLock::new();
    BY_NAME
        .get_or_init(|| {
            every_verb()
                .flat_map(|verb| verb.spec().names.iter().map(move |name| (*name, verb)))
                .collect()
        })
        .get(name)
        .copied()
}

impl Routed {
    /// The verb's entry in its family's table.
    fn spec(self) -> &'static Spec {
        match self {
            Routed::Connection(verb) => verb.spec(),
            Routed::Compat(verb) => verb.spec(),
            Routed::Customer(verb) => verb.spec(),
            Routed::Product(verb) => verb.spec(),
            Routed::Order(verb) => verb.spec(),
            Routed::Stats(verb) => verb.spec(),
            Routed::User(verb) => verb.spec(),
            Routed::Backup(verb) => verb.spec(),
            Routed::Info(verb) => verb.spec(),
            Routed::Audit(verb) => verb.spec(),
            Routed::Stream(verb) => verb.spec(),
            Routed::Cluster(verb) => verb.spec(),
            Routed::PubSub(verb) => verb.spec(),
            Routed::Schema(verb) => verb.spec(),
        }
    }

    /// Whether a RESP2 connection with subscriptions may run it (Redis 7.0: the subscription
    /// commands, `PING` and `QUIT`).
    fn allowed_while_subscribed(self) -> bool {
        matches!(
            self,
            Routed::PubSub(_) | Routed::Connection(connection::Verb::Ping | connection::Verb::Quit)
        )
    }

    /// Whether a node still catching up after its snapshot answers it (the rest is
    /// `LOADING`): the connection commands, `INFO`, `ROLE` and `SENTINEL`.
    fn answered_while_syncing(self) -> bool {
        matches!(
            self,
            Routed::Connection(_) | Routed::Info(_) | Routed::Cluster(_)
        )
    }

    /// Whether the request may run before `AUTH`.
    fn allowed_before_auth(self, first_argument: Option<&[u8]>) -> bool {
        match self {
            Routed::Connection(_) => true,
            Routed::Compat(verb) => verb.allowed_before_auth(first_argument),
            _ => false,
        }
    }

    /// Checks the arity, parses, checks nothing is left over, and says who may run it.
    fn parse(self, args: &mut Args) -> CmdResult<(Command, Option<Role>)> {
        fn checked<V: Verb>(
            verb: V,
            args: &mut Args,
            wrap: fn(V::Command) -> Command,
        ) -> CmdResult<(Command, Option<Role>)> {
            let command = verb.parse(args)?;
            args.finish()?;
            Ok((wrap(command), verb.spec().role))
        }
        match self {
            Routed::Connection(verb) => checked(verb, args, Command::Connection),
            Routed::Compat(verb) => checked(verb, args, Command::Compat),
            Routed::Customer(verb) => checked(verb, args, Command::Customer),
            Routed::Product(verb) => checked(verb, args, Command::Product),
            Routed::Order(verb) => checked(verb, args, Command::Order),
            Routed::Stats(verb) => checked(verb, args, Command::Stats),
            Routed::User(verb) => checked(verb, args, Command::User),
            Routed::Backup(verb) => checked(verb, args, Command::Backup),
            Routed::Info(verb) => checked(verb, args, Command::Info),
            Routed::Audit(verb) => checked(verb, args, Command::Audit),
            Routed::Stream(verb) => checked(verb, args, Command::Stream),
            Routed::Cluster(verb) => checked(verb, args, Command::Cluster),
            Routed::PubSub(verb) => checked(verb, args, Command::PubSub),
            Routed::Schema(verb) => checked(verb, args, Command::Schema),
        }
    }
}

/// Redis 7.0's refusal of a command on a RESP2 connection with subscriptions, naming it as
/// Redis does (`client|id` for a subcommand).
fn refused_while_subscribed(spec: &Spec, first_argument: Option<&[u8]>) -> Reply {
    let mut name = spec.name().to_ascii_lowercase();
    if let Some(sub) = first_argument.and_then(|word| spec.subcommand(word)) {
        name = format!("{name}|{}", sub.name().to_ascii_lowercase());
    }
    Reply::error(
        "ERR",
        format!(
            "Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        ),
    )
}

/// Whether a request's words route and parse (name, arity, syntax), without running it: the
/// request builders' tests check every builder against the parsers with it.
#[cfg(test)]
pub(crate) fn parses(words: &[String]) -> CmdResult<()> {
    let name = words[0].to_ascii_uppercase();
    let routed =
        route(&name).ok_or_else(|| Reply::error("ERR", format!("unknown command '{name}'")))?;
    let rest: Vec<Vec<u8>> = words[1..].iter().map(|w| w.as_bytes().to_vec()).collect();
    let mut args = Args::new(&name, rest).quoting(routed.spec());
    if args.remaining() < routed.spec().minimum_arguments() {
        return Err(args.wrong_arity());
    }
    routed.parse(&mut args).map(|_| ())
}

/// Runs an admitted command and says what to answer.
pub async fn run(shared: &Arc<Shared>, session: &mut Session, later: RunLater) -> Answer {
    let context = Context {
        shared,
        session,
        read_at: later.read_at,
    };
    execute(context, later.command)
        .await
        .unwrap_or_else(Answer::reply)
}

/// The protocol's checks before a command runs, in order: authentication, the name, arity and
/// syntax, permission. The parsed command, or the reply that refuses it.
fn admit(
    shared: &Arc<Shared>,
    session: &mut Session,
    args: Vec<Vec<u8>>,
) -> Result<Command, Answer> {
    let mut items = args.into_iter();
    let raw_name = items.next().unwrap_or_default();
    let name = std::str::from_utf8(&raw_name)
        .ok()
        .map(str::to_ascii_uppercase)
        .unwrap_or_default();
    session.recheck_user(shared);
    let routed = route(&name);
    let rest: Vec<Vec<u8>> = items.collect();
    let before_auth =
        routed.is_some_and(|r| r.allowed_before_auth(rest.first().map(Vec::as_slice)));
    if !session.is_authenticated() && !before_auth {
        return Err(Answer::reply(Reply::error(
            "NOAUTH",
            "Authentication required.",
        )));
    }
    let Some(routed) = routed else {
        return Err(Answer::reply(Reply::error(
            "ERR",
            format!("unknown command '{}'", printable(&raw_name)),
        )));
    };
    // A node catching up after its snapshot answers only what tells a client where it is.
    if shared.cluster.as_ref().is_some_and(|c| c.syncing()) && !routed.answered_while_syncing() {
        return Err(Answer::reply(Reply::from(crm_engine::Error::Loading)));
    }
    let spec = routed.spec();
    let mut args = Args::new(&name, rest).quoting(spec);
    if args.remaining() < spec.minimum_arguments() {
        return Err(Answer::reply(args.wrong_arity()));
    }
    // Redis checks the subscribed state after the name and the arity, before anything else.
    if session.proto == 2 && session.subscriptions.any() && !routed.allowed_while_subscribed() {
        return Err(Answer::reply(refused_while_subscribed(spec, args.peek())));
    }
    let (command, needed) = routed.parse(&mut args).map_err(Answer::reply)?;
    if let (Some(needed), Some((_, role))) = (needed, &session.user) {
        if *role < needed {
            return Err(Answer::reply(Reply::error(
                "NOPERM",
                format!(
                    "this user's role ({}) may not run '{}'",
                    role.as_str(),
                    name.to_ascii_lowercase()
                ),
            )));
        }
    }
    if session.masked {
        if let Command::Customer(command) = &command {
            if let Some(refusal) = command.refused_when_masked() {
                return Err(Answer::reply(refusal));
            }
        }
    }
    // In a cluster, a write on a node that may not write now is refused here, before its
    // values are looked at, so nothing is written (`READONLY`, `CLUSTERDOWN`).
    if spec.access == spec::Access::Write {
        if let Some(refusal) = shared.cluster.as_ref().and_then(|c| c.write_refusal()) {
            return Err(Answer::reply(Reply::from(refusal)));
        }
    }
    Ok(command)
}

async fn execute(context: Context<'_>, command: Command) -> CmdResult<Answer> {
    let serves_data = !matches!(
        command,
        Command::Connection(_)
            | Command::Compat(_)
            | Command::Info(_)
            | Command::Cluster(_)
            | Command::PubSub(_)
    );
    if serves_data {
        values::engine(context.shared.store.health())?;
    }
    let reply = match command {
        Command::Connection(command) => return connection::execute(context, command).await,
        Command::Compat(command) => compat::execute(context.session, command)?,
        Command::Customer(command) => customer::execute(&context, command).await?,
        Command::Product(command) => product::execute(&context, command).await?,
        Command::Order(command) => order::execute(&context, command).await?,
        Command::Stats(command) => stats::execute(&context, command).await?,
        Command::User(command) => user::execute(context, command).await?,
        Command::Backup(command) => backup::execute(&context, command).await?,
        Command::Info(command) => info::execute(context.shared, command)?,
        Command::Audit(command) => audit::execute(&context, command).await?,
        Command::Stream(command) => stream::execute(&context, command).await?,
        Command::Cluster(command) => cluster::execute(context.shared, command),
        Command::PubSub(command) => pubsub::execute(context.shared, context.session, command)?,
        Command::Schema(command) => schema::execute(&context, command).await?,
    };
    Ok(Answer::reply(reply))
}
