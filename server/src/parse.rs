//! A cursor over a request's arguments, with the syntax checks every command shares.
//!
//! Syntax errors (`ERR`) are found here, before permissions and values are looked at, as the
//! protocol's check order requires. Values stay raw bytes until the command validates them.

use crate::cmd::spec::{keywords_of, Arg, Spec};
use crate::reply::Reply;

/// What a command handler returns: the reply, or an error reply to send instead.
pub type CmdResult<T = Reply> = Result<T, Reply>;

/// The arguments after the command name.
pub struct Args {
    command: String,
    items: std::vec::IntoIter<Vec<u8>>,
    /// The command whose syntax an arity error quotes, if it quotes one.
    syntax: Option<&'static Spec>,
}

/// The keywords found, each at most once.
#[derive(Default)]
pub struct Keywords {
    found: Vec<(&'static str, Option<Vec<u8>>)>,
    /// Words that are no keyword, each with the word after it: custom fields and their values
    /// (what [`Args::keywords_and_fields`] reads; the command checks them against the
    /// schema).
    fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Keywords {
    /// The value of a keyword, if it was given.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        self.found
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Whether a keyword or flag was given.
    pub fn has(&self, name: &str) -> bool {
        self.found.iter().any(|(n, _)| *n == name)
    }

    /// The words that are no keyword, with their values, in the order given.
    pub fn fields(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.fields
    }
}

/// A syntax error reply.
pub fn syntax(message: impl Into<String>) -> Reply {
    Reply::error("ERR", message)
}

impl Args {
    /// The arguments of `command` (its name as sent, for messages).
    pub fn new(command: &str, items: Vec<Vec<u8>>) -> Args {
        Args {
            command: command.to_ascii_lowercase(),
            items: items.into_iter(),
            syntax: None,
        }
    }

    /// The same arguments, whose arity errors quote `spec`'s syntax when it has one to
    /// quote ([`Spec::quotes_syntax`]).
    pub fn quoting(mut self, spec: &'static Spec) -> Args {
        self.syntax = spec.quotes_syntax().then_some(spec);
        self
    }

    /// The command's name in lower case.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The next argument, if any.
    pub fn next(&mut self) -> Option<Vec<u8>> {
        self.items.next()
    }

    /// The next argument, left in place.
    pub fn peek(&self) -> Option<&[u8]> {
        self.items.as_slice().first().map(Vec::as_slice)
    }

    /// The next argument, which must be there.
    pub fn required(&mut self) -> CmdResult<Vec<u8>> {
        self.items.next().ok_or_else(|| self.wrong_arity())
    }

    /// How many arguments are left.
    pub fn remaining(&self) -> usize {
        self.items.len()
    }

    /// The error for a missing or extra positional argument: the contract's text, then the
    /// command's syntax when it quotes one.
    pub fn wrong_arity(&self) -> Reply {
        let mut message = format!("wrong number of arguments for '{}' command", self.command);
        if let Some(spec) = self.syntax {
            message.push_str(&format!(" (syntax: {})", spec.syntax_line()));
        }
        syntax(message)
    }

    /// Ignores whatever is left (options this server accepts and does not need).
    pub fn skip_rest(&mut self) {
        self.items.by_ref().for_each(drop);
    }

    /// Checks nothing is left over.
    pub fn finish(&mut self) -> CmdResult<()> {
        if self.items.len() > 0 {
            return Err(self.wrong_arity());
        }
        Ok(())
    }

    /// Reads the rest as the keywords of `accepted` (those with a token, in any order and
    /// case, each at most once); an unknown word is an error that lists them.
    pub fn keywords(&mut self, accepted: &[Arg]) -> CmdResult<Keywords> {
        self.read_keywords(accepted, false)
    }

    /// As [`Args::keywords`], but a word that is no keyword is kept with the word after it
    /// (a custom field and its value, which the command checks against the schema: it knows
    /// the declared fields, this does not).
    pub fn keywords_and_fields(&mut self, accepted: &[Arg]) -> CmdResult<Keywords> {
        self.read_keywords(accepted, true)
    }

    fn read_keywords(&mut self, accepted: &[Arg], with_fields: bool) -> CmdResult<Keywords> {
        let mut keywords = Keywords::default();
        while let Some(word) = self.items.next() {
            let known =
                keywords_of(accepted).find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(&word));
            if known.is_none() && with_fields {
                let value = self.items.next().ok_or_else(|| {
                    syntax(format!(
                        "syntax error: field '{}' needs a value",
                        printable(&word)
                    ))
                })?;
                if keywords
                    .fields
                    .iter()
                    .any(|(seen, _)| seen.eq_ignore_ascii_case(&word))
                {
                    return Err(syntax(format!(
                        "syntax error: field '{}' given twice for '{}'",
                        printable(&word),
                        self.command
                    )));
                }
                keywords.fields.push((word, value));
                continue;
            }
            let Some((name, takes_value)) = known else {
                let known: Vec<&str> = keywords_of(accepted).map(|(name, _)| name).collect();
                return Err(syntax(format!(
                    "syntax error: unknown keyword '{}' for '{}' ({})",
                    printable(&word),
                    self.command,
                    known.join(", ")
                )));
            };
            if keywords.has(name) {
                return Err(syntax(format!(
                    "syntax error: keyword '{name}' given twice for '{}'",
                    self.command
                )));
            }
            let value = if takes_value {
                Some(self.items.next().ok_or_else(|| {
                    syntax(format!("syntax error: keyword '{name}' needs a value"))
                })?)
            } else {
                None
            };
            keywords.found.push((name, value));
        }
        Ok(keywords)
    }
}

/// Bytes shown in a message: valid UTF-8 as is (cut at 64 characters), else escaped.
pub fn printable(bytes: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(bytes).chars().take(64).collect();
    text.chars()
        .flat_map(char::escape_default)
        .collect::<String>()
}

/// An argument used as text: `INVALID` if it is not UTF-8.
pub fn text<'a>(field: &'static str, bytes: &'a [u8]) -> CmdResult<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| {
        Reply::error(
            "INVALID",
            format!("{field}: \"{}\" is not valid UTF-8", printable(bytes)),
        )
    })
}

/// An optional keyword value as text.
pub fn optional_text<'a>(
    field: &'static str,
    bytes: Option<&'a [u8]>,
) -> CmdResult<Option<&'a str>> {
    bytes.map(|b| text(field, b)).transpose()
}

/// A keyword value that must be present (a missing required keyword is `INVALID`).
pub fn required_text<'a>(field: &'static str, bytes: Option<&'a [u8]>) -> CmdResult<&'a str> {
    match bytes {
        Some(b) => text(field, b),
        None => Err(Reply::error("INVALID", format!("{field}: required"))),
    }
}
