//! `COMMAND`, `COMMAND INFO`, `COMMAND DOCS` and `COMMAND COUNT`: every command of the
//! server described in Redis 7's reply shapes, made from the verbs' own table entries
//! (`spec.rs`), so that `redis-cli` builds its `help` and typing hints from them and client
//! libraries know each command's arity and flags.

use super::spec::{Access, Arg, ArgKind, Keys, Spec, Subcommands};
use crate::reply::Reply;
use crm_engine::Role;

/// Every command's name (upper case) and entry, in the router's order.
pub fn commands() -> impl Iterator<Item = (&'static str, &'static Spec)> {
    super::every_spec().flat_map(|spec| spec.names.iter().map(move |name| (*name, spec)))
}

/// The entry of the command named `name` (any case).
fn command(name: &[u8]) -> Option<(&'static str, &'static Spec)> {
    commands().find(|(known, _)| known.as_bytes().eq_ignore_ascii_case(name))
}

/// `COMMAND COUNT`.
pub fn count() -> Reply {
    Reply::Integer(commands().count() as i64)
}

/// `COMMAND INFO [name ...]` (all when none is named; nil for an unknown name), and
/// `COMMAND`.
pub fn info(names: &[Vec<u8>]) -> Reply {
    if names.is_empty() {
        return Reply::Array(
            commands()
                .map(|(name, spec)| info_of(&lower(name), spec))
                .collect(),
        );
    }
    Reply::Array(
        names
            .iter()
            .map(|name| match command(name) {
                Some((name, spec)) => info_of(&lower(name), spec),
                None => Reply::Nil,
            })
            .collect(),
    )
}

/// `COMMAND DOCS [name ...]` (all when none is named; an unknown name is left out).
pub fn docs(names: &[Vec<u8>]) -> Reply {
    let found: Vec<(&str, &Spec)> = if names.is_empty() {
        commands().collect()
    } else {
        names.iter().filter_map(|name| command(name)).collect()
    };
    Reply::Dict(
        found
            .into_iter()
            .map(|(name, spec)| (Reply::Bulk(lower(name).into_bytes()), docs_of(spec)))
            .collect(),
    )
}

fn lower(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn subcommands(spec: &Spec) -> &'static [Spec] {
    match spec.subcommands {
        Subcommands::None => &[],
        Subcommands::Required(list) | Subcommands::Optional(list) => list,
    }
}

/// One command's `COMMAND INFO` entry: name, arity, flags, first key, last key, step, ACL
/// categories, tips, key specifications, subcommands.
fn info_of(name: &str, spec: &Spec) -> Reply {
    let (first, last, step) = match spec.keys {
        Keys::First => (1, 1, 1),
        Keys::None | Keys::AfterStreams => (0, 0, 0),
    };
    // A subcommand's arity counts its command's name too.
    let arity = if name.contains('|') {
        spec.arity() + spec.arity().signum()
    } else {
        spec.arity()
    };
    Reply::Array(vec![
        Reply::Bulk(name.as_bytes().to_vec()),
        Reply::Integer(arity),
        Reply::Set(flags(spec).into_iter().map(Reply::Simple).collect()),
        Reply::Integer(first),
        Reply::Integer(last),
        Reply::Integer(step),
        Reply::Set(categories(spec).into_iter().map(Reply::Simple).collect()),
        Reply::Set(Vec::new()),
        Reply::Set(key_specs(spec.keys)),
        Reply::Set(
            subcommands(spec)
                .iter()
                .map(|sub| info_of(&format!("{name}|{}", lower(sub.name())), sub))
                .collect(),
        ),
    ])
}

fn flags(spec: &Spec) -> Vec<&'static str> {
    let mut flags = match spec.access {
        Access::Write => vec!["write"],
        Access::Read => vec!["readonly"],
        Access::ReadOne => vec!["readonly", "fast"],
        Access::Connection => vec!["noscript", "loading", "stale", "fast"],
        Access::Server => vec!["loading", "stale"],
        Access::PubSub => vec!["noscript", "loading", "stale"],
    };
    if spec.role == Some(Role::Admin) {
        flags.push("admin");
    }
    flags
}

fn categories(spec: &Spec) -> Vec<&'static str> {
    let mut categories = match spec.access {
        Access::Write => vec!["@write", "@slow"],
        Access::Read => vec!["@read", "@slow"],
        Access::ReadOne => vec!["@read", "@fast"],
        Access::Connection => vec!["@fast", "@connection"],
        Access::Server => vec!["@slow"],
        Access::PubSub => vec!["@pubsub", "@slow"],
    };
    if spec.keys != Keys::None {
        categories.push("@stream");
    }
    if spec.role == Some(Role::Admin) {
        categories.extend(["@admin", "@dangerous"]);
    }
    categories
}

/// Redis's key specifications: where the key is found, as Redis states them for its stream
/// commands.
fn key_specs(keys: Keys) -> Vec<Reply> {
    let (begin, find) = match keys {
        Keys::None => return Vec::new(),
        Keys::First => (
            Reply::Map(vec![
                ("type", bulk("index")),
                ("spec", Reply::Map(vec![("index", Reply::Integer(1))])),
            ]),
            Reply::Map(vec![
                ("type", bulk("range")),
                (
                    "spec",
                    Reply::Map(vec![
                        ("lastkey", Reply::Integer(0)),
                        ("keystep", Reply::Integer(1)),
                        ("limit", Reply::Integer(0)),
                    ]),
                ),
            ]),
        ),
        Keys::AfterStreams => (
            Reply::Map(vec![
                ("type", bulk("keyword")),
                (
                    "spec",
                    Reply::Map(vec![
                        ("keyword", bulk("STREAMS")),
                        ("startfrom", Reply::Integer(1)),
                    ]),
                ),
            ]),
            Reply::Map(vec![
                ("type", bulk("range")),
                (
                    "spec",
                    Reply::Map(vec![
                        ("lastkey", Reply::Integer(-1)),
                        ("keystep", Reply::Integer(1)),
                        ("limit", Reply::Integer(2)),
                    ]),
                ),
            ]),
        ),
    };
    vec![Reply::Map(vec![
        (
            "flags",
            Reply::Set(vec![Reply::Simple("RO"), Reply::Simple("access")]),
        ),
        ("begin_search", begin),
        ("find_keys", find),
    ])]
}

fn bulk(text: &str) -> Reply {
    Reply::Bulk(text.as_bytes().to_vec())
}

/// One command's `COMMAND DOCS` entry: summary, since, group, arguments, subcommands.
fn docs_of(spec: &Spec) -> Reply {
    let mut fields = vec![
        ("summary", bulk(spec.summary)),
        ("since", bulk(&spec.since.to_string())),
        ("group", bulk(spec.group.as_str())),
    ];
    if !spec.syntax.is_empty() {
        fields.push(("arguments", arguments(spec.syntax)));
    }
    let subcommands = subcommands(spec);
    if !subcommands.is_empty() {
        let name = lower(spec.name());
        fields.push((
            "subcommands",
            Reply::Dict(
                subcommands
                    .iter()
                    .map(|sub| {
                        let full = format!("{name}|{}", lower(sub.name()));
                        (Reply::Bulk(full.into_bytes()), docs_of(sub))
                    })
                    .collect(),
            ),
        ));
    }
    Reply::Map(fields)
}

fn arguments(args: &[Arg]) -> Reply {
    Reply::Array(args.iter().map(argument).collect())
}

/// One argument: name, type, key_spec_index (a key), token, flags, and the arguments of a
/// choice or a block.
fn argument(arg: &Arg) -> Reply {
    let mut fields = vec![("name", bulk(arg.name)), ("type", bulk(arg.kind.as_str()))];
    if matches!(arg.kind, ArgKind::Key) {
        fields.push(("key_spec_index", Reply::Integer(0)));
    }
    if let Some(token) = arg.token {
        fields.push(("token", bulk(token)));
    }
    let flags: Vec<Reply> = [(arg.optional, "optional"), (arg.multiple, "multiple")]
        .into_iter()
        .filter(|(set, _)| *set)
        .map(|(_, flag)| Reply::Simple(flag))
        .collect();
    if !flags.is_empty() {
        fields.push(("flags", Reply::Set(flags)));
    }
    if let ArgKind::OneOf(parts) | ArgKind::Block(parts) = arg.kind {
        fields.push(("arguments", arguments(parts)));
    }
    Reply::Map(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's arity rule ("Errors"): the least arguments of each command, the others
    /// taking none. The router checks each verb's least arguments as its syntax counts them.
    #[test]
    fn every_command_needs_the_arguments_the_contract_says() {
        let at_least: &[(usize, &[&str])] = &[
            (6, &["ORDER.ADD"]),
            (
                4,
                &[
                    "CUSTOMER.ADD",
                    "PRODUCT.ADD",
                    "USER.ADD",
                    "CUSTOMER.UPSERT",
                    "SCHEMA.FIELD.ADD",
                ],
            ),
            (
                3,
                &[
                    "CUSTOMER.UPDATE",
                    "PRODUCT.UPDATE",
                    "XRANGE",
                    "XREVRANGE",
                    "XREAD",
                    "SCHEMA.FIELD.INDEX",
                ],
            ),
            (
                2,
                &[
                    "CUSTOMER.FIND",
                    "STATS.CLUSTERS",
                    "USER.PASSWD",
                    "USER.MASK",
                    "CUSTOMER.MERGE",
                    "CONFIG",
                    "SCHEMA.FIELD.DROP",
                ],
            ),
            (
                1,
                &[
                    "SENTINEL",
                    "SUBSCRIBE",
                    "PSUBSCRIBE",
                    "CUSTOMER.GET",
                    "PRODUCT.GET",
                    "ORDER.GET",
                    "CUSTOMER.DEL",
                    "PRODUCT.DEL",
                    "ORDER.DEL",
                    "CUSTOMER.REVEAL",
                    "CUSTOMER.EXPORT",
                    "CUSTOMER.FORGET",
                    "CUSTOMER.UNMERGE",
                    "STATS.CUSTOMER",
                    "USER.DEL",
                    "BACKUP.VERIFY",
                    "ORDER.LIST",
                    "XLEN",
                    "AUTH",
                    "SELECT",
                    "CLIENT",
                ],
            ),
        ];
        for (name, spec) in commands() {
            let expected = at_least
                .iter()
                .find(|(_, names)| names.contains(&name))
                .map_or(0, |(least, _)| *least);
            assert_eq!(spec.minimum_arguments(), expected, "{name}");
        }
    }

    #[test]
    fn every_command_is_described() {
        let mut names: Vec<&str> = commands().map(|(name, _)| name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a name is given twice");
        for (name, spec) in commands() {
            assert!(!spec.summary.is_empty(), "{name} has no summary");
            assert!((1..=3).contains(&spec.since), "{name}");
            assert_eq!(name, name.to_ascii_uppercase());
            for sub in subcommands(spec) {
                assert!(!sub.summary.is_empty(), "{name} {}", sub.name());
            }
        }
    }

    #[test]
    fn docs_and_info_have_redis_shapes() {
        let mut out = Vec::new();
        docs(&[b"customer.get".to_vec()]).encode(2, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "*2\r\n$12\r\ncustomer.get\r\n*8\r\n$7\r\nsummary\r\n$26\r\nA customer as JSON, or nil\r\n\
             $5\r\nsince\r\n$1\r\n1\r\n$5\r\ngroup\r\n$8\r\ncustomer\r\n$9\r\narguments\r\n\
             *1\r\n*4\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$7\r\ninteger\r\n"
        );
        let mut out = Vec::new();
        info(&[b"XLEN".to_vec()]).encode(3, &mut out);
        assert!(String::from_utf8(out).unwrap().starts_with(
            "*1\r\n*10\r\n$4\r\nxlen\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
             ~3\r\n+@read\r\n+@fast\r\n+@stream\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n"
        ));
        let mut out = Vec::new();
        info(&[b"client".to_vec()]).encode(2, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("$9\r\nclient|id\r\n:2\r\n"), "{text}");
        assert!(text.contains("$14\r\nclient|setname\r\n:3\r\n"), "{text}");
    }
}
