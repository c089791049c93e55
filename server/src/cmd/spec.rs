//! What a verb says about itself, in one table entry per verb (each family's `Verb::spec`):
//! its names, the role it needs, what it does to the store, and its syntax.
//!
//! Everything else is made from that entry, so nothing is spelled twice: the router's name
//! lookup, the arity rule (the least number of words the syntax needs), the keywords a
//! command's parser accepts, the syntax quoted in error messages, and the self-description
//! (`COMMAND`, `COMMAND DOCS`, `COMMAND INFO`, in `self_description.rs`) that gives
//! `redis-cli` its help and hints. The syntax is written as Redis 7 documents its own
//! commands: named arguments with a type, keyword tokens, choices, blocks, optional and
//! repeated parts.

use crate::vocabulary as words;
use crm_engine::Role;

/// One verb's entry.
#[derive(Debug)]
pub struct Spec {
    /// Its names, upper case: the first is the one shown in messages; a verb that answers
    /// several commands alike (the refused stream writes) lists them all.
    pub names: &'static [&'static str],
    /// One line saying what it does (`redis-cli help`).
    pub summary: &'static str,
    pub group: Group,
    /// The `crm_protocol` that added it.
    pub since: u8,
    /// The least role that may run it; `None` for the commands open to every connection
    /// that has logged in (or to every connection, as the router decides).
    pub role: Option<Role>,
    pub access: Access,
    /// Its arguments after the name (after the subcommand, for a subcommand).
    pub syntax: &'static [Arg],
    pub subcommands: Subcommands,
    /// Where its key is (the change feed's name), for `COMMAND INFO`.
    pub keys: Keys,
}

/// The groups of `COMMAND DOCS` (`redis-cli help @customer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Connection,
    Customer,
    Product,
    Order,
    Analytics,
    Journal,
    Privacy,
    Quality,
    /// The Schema section's commands (`SCHEMA.*`, `*.QUERY`, `*.COUNT`).
    Schema,
    Cluster,
    Backup,
    Admin,
}

impl Group {
    pub const fn as_str(self) -> &'static str {
        match self {
            Group::Connection => "connection",
            Group::Customer => "customer",
            Group::Product => "product",
            Group::Order => "order",
            Group::Analytics => "analytics",
            Group::Journal => "journal",
            Group::Privacy => "privacy",
            Group::Quality => "quality",
            Group::Schema => "schema",
            Group::Cluster => "cluster",
            Group::Backup => "backup",
            Group::Admin => "admin",
        }
    }
}

/// What a command does, for its `COMMAND INFO` flags and ACL categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Changes or journals something.
    Write,
    /// Reads, at a cost that grows with what it reads.
    Read,
    /// Reads one thing by its key.
    ReadOne,
    /// About the connection itself; answered while loading.
    Connection,
    /// About the server (`INFO`); answered while loading.
    Server,
    /// A subscription command.
    PubSub,
}

/// A container's subcommands (`CLIENT ID`, `COMMAND DOCS`): each an entry whose names are its
/// subcommand word.
#[derive(Debug, Clone, Copy)]
pub enum Subcommands {
    None,
    /// The command needs one of them.
    Required(&'static [Spec]),
    /// The command also runs alone (`COMMAND`).
    Optional(&'static [Spec]),
}

/// Where a command's key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    None,
    /// The first argument (`XRANGE crm:changes ...`).
    First,
    /// After the `STREAMS` keyword (`XREAD`), as Redis describes it.
    AfterStreams,
}

/// One argument of a syntax, as `COMMAND DOCS` describes it.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    /// The keyword that comes before it (`NAME` of `NAME name`); for a pure token, itself.
    pub token: Option<&'static str>,
    pub optional: bool,
    pub multiple: bool,
}

/// The types of `COMMAND DOCS` arguments.
#[derive(Debug, Clone, Copy)]
pub enum ArgKind {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    /// A keyword alone (`NOSTOCK`), or one choice of several.
    PureToken,
    /// One of these.
    OneOf(&'static [Arg]),
    /// These, in order.
    Block(&'static [Arg]),
}

impl ArgKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ArgKind::String => "string",
            ArgKind::Integer => "integer",
            ArgKind::Double => "double",
            ArgKind::Key => "key",
            ArgKind::Pattern => "pattern",
            ArgKind::PureToken => "pure-token",
            ArgKind::OneOf(_) => "oneof",
            ArgKind::Block(_) => "block",
        }
    }
}

/// A value (`id`).
pub const fn value(name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        name,
        kind,
        token: None,
        optional: false,
        multiple: false,
    }
}

/// A keyword and its value (`NAME name`).
pub const fn keyword(token: &'static str, name: &'static str, kind: ArgKind) -> Arg {
    Arg {
        token: Some(token),
        ..value(name, kind)
    }
}

/// A keyword alone: a flag (`NOSTOCK`) or a choice (`TOTAL`).
pub const fn token(token: &'static str) -> Arg {
    keyword(token, token, ArgKind::PureToken)
}

/// One of the choices: `one_of!("by", [keyword(...), ...])` (a macro, so that the list is a
/// constant of its own wherever the entry is written).
macro_rules! one_of {
    ($name:expr, [$($choice:expr),+ $(,)?] $(,)?) => {
        $crate::cmd::spec::value(
            $name,
            $crate::cmd::spec::ArgKind::OneOf(const { &[$($choice),+] }),
        )
    };
}
pub(crate) use one_of;

/// The parts, in order: `block!("change", [value(...), ...])`.
macro_rules! block {
    ($name:expr, [$($part:expr),+ $(,)?] $(,)?) => {
        $crate::cmd::spec::value(
            $name,
            $crate::cmd::spec::ArgKind::Block(const { &[$($part),+] }),
        )
    };
}
pub(crate) use block;

impl Arg {
    /// The same argument, which may be left out.
    pub const fn optional(self) -> Arg {
        Arg {
            optional: true,
            ..self
        }
    }

    /// The same argument, which may be repeated.
    pub const fn multiple(self) -> Arg {
        Arg {
            multiple: true,
            ..self
        }
    }

    /// The fewest words it takes, and the most (`None`: no limit).
    fn words(&self) -> (usize, Option<usize>) {
        let token = usize::from(self.token.is_some() && !matches!(self.kind, ArgKind::PureToken));
        let (least, most) = match self.kind {
            ArgKind::OneOf(choices) => {
                let each = choices.iter().map(Arg::words);
                let least = each.clone().map(|(l, _)| l).min().unwrap_or(0);
                let most = each.map(|(_, m)| m).try_fold(0, |acc, m| Some(acc.max(m?)));
                (least, most)
            }
            ArgKind::Block(parts) => words_of(parts),
            _ => (1, Some(1)),
        };
        let (least, most) = (least + token, most.map(|m| m + token));
        match (self.optional, self.multiple) {
            (false, false) => (least, most),
            (true, false) => (0, most),
            (false, true) => (least, None),
            (true, true) => (0, None),
        }
    }

    /// How `redis-cli` shows it, with ` | ` between choices.
    fn render(&self, out: &mut String) {
        if self.optional {
            out.push('[');
        }
        let start = out.len();
        if let Some(token) = self.token {
            out.push_str(token);
            if !matches!(self.kind, ArgKind::PureToken) {
                out.push(' ');
            }
        }
        match self.kind {
            ArgKind::OneOf(choices) => render_all(choices, " | ", out),
            ArgKind::Block(parts) => render_all(parts, " ", out),
            ArgKind::PureToken => {}
            _ => out.push_str(self.name),
        }
        if self.multiple {
            let once = out[start..].to_string();
            out.push_str(" [");
            out.push_str(&once);
            out.push_str(" ...]");
        }
        if self.optional {
            out.push(']');
        }
    }
}

fn words_of(args: &[Arg]) -> (usize, Option<usize>) {
    args.iter()
        .map(Arg::words)
        .fold((0, Some(0)), |(l, m), (al, am)| {
            (l + al, m.zip(am).map(|(m, am)| m + am))
        })
}

fn render_all(args: &[Arg], separator: &str, out: &mut String) {
    for (at, arg) in args.iter().enumerate() {
        if at > 0 {
            out.push_str(separator);
        }
        arg.render(out);
    }
}

/// A page of a list: `[AFTER id] [LIMIT count]`.
pub const PAGE: &[Arg] = &[
    keyword(words::AFTER, "id", ArgKind::Integer).optional(),
    keyword(words::LIMIT, "count", ArgKind::Integer).optional(),
];

/// The parts every entry has unless it says otherwise: `..spec::PLAIN`.
pub const PLAIN: Spec = Spec {
    names: &[],
    summary: "",
    group: Group::Connection,
    since: 1,
    role: None,
    access: Access::Read,
    syntax: &[],
    subcommands: Subcommands::None,
    keys: Keys::None,
};

impl Spec {
    /// The name shown in messages and replies.
    pub fn name(&self) -> &'static str {
        self.names.first().copied().unwrap_or("")
    }

    /// The fewest arguments after the name (flags counted); fewer is
    /// `ERR wrong number of arguments`, before any other check.
    pub fn minimum_arguments(&self) -> usize {
        match self.subcommands {
            Subcommands::None => words_of(self.syntax).0,
            Subcommands::Optional(_) => 0,
            Subcommands::Required(subcommands) => {
                1 + subcommands
                    .iter()
                    .map(Spec::minimum_arguments)
                    .min()
                    .unwrap_or(0)
            }
        }
    }

    /// Redis's arity: the words of the request, name included; negative for "at least".
    pub fn arity(&self) -> i64 {
        let least = self.minimum_arguments() as i64 + 1;
        let fixed = match self.subcommands {
            Subcommands::None => words_of(self.syntax).1 == Some(words_of(self.syntax).0),
            _ => false,
        };
        if fixed {
            least
        } else {
            -least
        }
    }

    /// The syntax as one line: `CUSTOMER.FIND EMAIL email | PHONE phone | NAME word ...`.
    pub fn syntax_line(&self) -> String {
        let mut line = self.name().to_string();
        let mut arguments = String::new();
        render_all(self.syntax, " ", &mut arguments);
        if !arguments.is_empty() {
            line.push(' ');
            line.push_str(&arguments);
        }
        line
    }

    /// Whether its errors quote its syntax: the commands of this CRM do (their names have a
    /// dot, which no Redis command has); those Redis also has answer Redis's exact texts.
    pub fn quotes_syntax(&self) -> bool {
        self.name().contains('.')
    }

    /// The subcommand named `word` (any case).
    pub fn subcommand(&self, word: &[u8]) -> Option<&'static Spec> {
        let (Subcommands::Required(list) | Subcommands::Optional(list)) = self.subcommands else {
            return None;
        };
        list.iter()
            .find(|sub| sub.name().as_bytes().eq_ignore_ascii_case(word))
    }

    /// The subcommands' names, for an unknown one's message: `DOCS, INFO, COUNT`.
    pub fn subcommand_names(&self) -> String {
        let (Subcommands::Required(list) | Subcommands::Optional(list)) = self.subcommands else {
            return String::new();
        };
        list.iter().map(Spec::name).collect::<Vec<_>>().join(", ")
    }
}

/// The keywords a list of arguments accepts in any order (those with a token, each at most
/// once), and whether each takes a value: what `Args::keywords` parses.
pub fn keywords_of(syntax: &[Arg]) -> impl Iterator<Item = (&'static str, bool)> + '_ {
    syntax.iter().filter_map(|arg| {
        let token = arg.token?;
        Some((token, !matches!(arg.kind, ArgKind::PureToken)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIND: Spec = Spec {
        names: &["CUSTOMER.FIND"],
        syntax: &[
            one_of!(
                "by",
                [
                    keyword("EMAIL", "email", ArgKind::String),
                    keyword("PHONE", "phone", ArgKind::String),
                    keyword("NAME", "word", ArgKind::String),
                ],
            ),
            keyword("AFTER", "id", ArgKind::Integer).optional(),
            keyword("LIMIT", "count", ArgKind::Integer).optional(),
        ],
        ..PLAIN
    };

    #[test]
    fn the_syntax_line_reads_as_the_contract_writes_it() {
        assert_eq!(
            FIND.syntax_line(),
            "CUSTOMER.FIND EMAIL email | PHONE phone | NAME word [AFTER id] [LIMIT count]"
        );
        const UPDATE: Spec = Spec {
            names: &["PRODUCT.UPDATE"],
            syntax: &[
                value("id", ArgKind::Integer),
                block!(
                    "change",
                    [
                        one_of!("field", [token("NAME"), token("PRICE")]),
                        value("value", ArgKind::String),
                    ],
                )
                .multiple(),
            ],
            ..PLAIN
        };
        assert_eq!(
            UPDATE.syntax_line(),
            "PRODUCT.UPDATE id NAME | PRICE value [NAME | PRICE value ...]"
        );
    }

    #[test]
    fn arity_counts_the_words_the_syntax_needs() {
        assert_eq!(FIND.minimum_arguments(), 2);
        assert_eq!(FIND.arity(), -3);
        const GET: Spec = Spec {
            names: &["CUSTOMER.GET"],
            syntax: &[value("id", ArgKind::Integer)],
            ..PLAIN
        };
        assert_eq!((GET.minimum_arguments(), GET.arity()), (1, 2));
        const LIST: Spec = Spec {
            names: &["X"],
            syntax: &[keyword("AFTER", "id", ArgKind::Integer).optional()],
            ..PLAIN
        };
        assert_eq!((LIST.minimum_arguments(), LIST.arity()), (0, -1));
    }
}
