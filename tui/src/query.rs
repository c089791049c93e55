//! The query a person types at the Customers or Products `/` prompt, read into the clauses of
//! `CUSTOMER.QUERY` / `PRODUCT.QUERY`: `where stage = lead and total_amount > 100 sort
//! last_order desc` (keywords and operators in any case; a value with spaces in quotes,
//! `name = "Ada Lovelace"`; `IN` takes the values up to the next `and` or `sort`, and the
//! console counts them). Only the grammar is checked here: fields, values and what a role may
//! ask are the server's to judge, and its answer goes to the status line.
//!
//! A text that starts with neither `where` nor `sort` is not a query (the prompt's older
//! search). `LIMIT` and `CURSOR` are not typed: the console pages with the screen.

use crate::page::Page;
use crate::screens::table::Column;
use crate::sort::Sort;
use crm_engine::query::Operands;
#[cfg(test)]
use crm_server::request::Command;
use crm_server::request::{ConditionText, Operator, QueryClauses, SortText};

/// A query as typed: its conditions (all must hold) and its sort.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typed {
    /// What was typed, shown in the table's title and put back in the prompt.
    pub text: String,
    pub conditions: Vec<ConditionText>,
    pub sort: Option<SortText>,
}

/// One word of the text: quoted words are never keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    quoted: bool,
}

impl Token {
    /// Whether it is the keyword `word` (unquoted, any case).
    fn is(&self, word: &str) -> bool {
        !self.quoted && self.text.eq_ignore_ascii_case(word)
    }

    /// Whether it starts a clause or another condition.
    fn ends_values(&self) -> bool {
        ["and", "sort", "where", "limit", "cursor"]
            .iter()
            .any(|w| self.is(w))
    }
}

/// The characters operators are written with: outside quotes they end a word
/// (`total_amount>100` is three words).
const OPERATOR_CHARS: &str = "=!<>";

/// Splits the text into words: spaces separate them outside quotes (`"` or `'`; `\` escapes
/// the next character inside `"`), and a run of operator characters is a word of its own.
fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut current: Option<Token> = None;
    let mut chars = text.chars().peekable();
    let flush = |current: &mut Option<Token>, tokens: &mut Vec<Token>| {
        if let Some(token) = current.take() {
            tokens.push(token);
        }
    };
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            let token = current.get_or_insert(Token {
                text: String::new(),
                quoted: true,
            });
            token.quoted = true;
            loop {
                match chars.next() {
                    Some(q) if q == c => break,
                    Some('\\') if c == '"' => match chars.next() {
                        Some(escaped) => token.text.push(escaped),
                        None => return Err("unfinished quote: a \\ ends the text".into()),
                    },
                    Some(other) => token.text.push(other),
                    None => return Err(format!("unfinished quote: no closing {c}")),
                }
            }
        } else if c.is_whitespace() {
            flush(&mut current, &mut tokens);
        } else if OPERATOR_CHARS.contains(c) {
            flush(&mut current, &mut tokens);
            let mut op = c.to_string();
            while let Some(&next) = chars.peek() {
                if !OPERATOR_CHARS.contains(next) {
                    break;
                }
                op.push(next);
                chars.next();
            }
            tokens.push(Token {
                text: op,
                quoted: false,
            });
        } else {
            current
                .get_or_insert(Token {
                    text: String::new(),
                    quoted: false,
                })
                .text
                .push(c);
        }
    }
    flush(&mut current, &mut tokens);
    Ok(tokens)
}

/// Whether the text is meant as a query (starts with `where` or `sort`).
pub fn is_query(text: &str) -> bool {
    text.split_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("where") || w.eq_ignore_ascii_case("sort"))
}

/// Reads a typed query; `Ok(None)` when the text is not one (see [`is_query`]), else the
/// first thing wrong with it.
pub fn parse(text: &str) -> Result<Option<Typed>, String> {
    if !is_query(text) {
        return Ok(None);
    }
    let tokens = tokens(text)?;
    let mut words = tokens.iter().peekable();
    let mut typed = Typed {
        text: text.trim().to_string(),
        ..Typed::default()
    };
    let (mut had_where, mut had_sort) = (false, false);
    while let Some(word) = words.next() {
        if word.is("where") {
            if had_where {
                return Err("WHERE is given twice (join conditions with AND)".into());
            }
            had_where = true;
            loop {
                typed.conditions.push(condition(&mut words)?);
                match words.peek() {
                    Some(next) if next.is("and") => {
                        words.next();
                    }
                    _ => break,
                }
            }
        } else if word.is("sort") {
            if had_sort {
                return Err("SORT is given twice".into());
            }
            had_sort = true;
            let field = match words.next() {
                Some(field) if !field.ends_values() => field.text.clone(),
                _ => return Err("SORT needs a field (sort last_order desc)".into()),
            };
            let descending = match words.peek() {
                Some(d) if d.is("desc") => true,
                Some(a) if a.is("asc") => false,
                _ => {
                    typed.sort = Some(SortText {
                        field,
                        descending: false,
                    });
                    continue;
                }
            };
            words.next();
            typed.sort = Some(SortText { field, descending });
        } else if word.is("limit") || word.is("cursor") {
            return Err(format!(
                "{} is not typed here: the table pages with the screen (n/p)",
                word.text.to_ascii_uppercase()
            ));
        } else {
            return Err(format!(
                "\"{}\" is not understood here: WHERE or SORT was expected",
                word.text
            ));
        }
    }
    Ok(Some(typed))
}

/// One condition: `field op value`, `field IN v1 v2 ...`, `field EXISTS`, `field MISSING`.
fn condition<'a>(
    words: &mut std::iter::Peekable<impl Iterator<Item = &'a Token>>,
) -> Result<ConditionText, String> {
    let field = match words.next() {
        Some(field) if !field.ends_values() => field.text.clone(),
        _ => return Err("a condition needs a field (where stage = lead)".into()),
    };
    let op = words
        .next()
        .filter(|op| !op.quoted)
        .and_then(|op| Operator::named(op.text.as_bytes()))
        .ok_or_else(|| {
            let names: Vec<&str> = Operator::ALL.iter().map(|op| op.word()).collect();
            format!(
                "{field} needs an operator: {}",
                names.join(" ").to_lowercase()
            )
        })?;
    let mut values = Vec::new();
    match op.operands() {
        Operands::None => {}
        Operands::One => match words.next() {
            Some(value) => values.push(value.text.clone()),
            None => return Err(format!("{field} {} needs a value", op.word())),
        },
        Operands::List => {
            while let Some(value) = words.next_if(|w| !w.ends_values()) {
                values.push(value.text.clone());
            }
            if values.is_empty() {
                return Err(format!("{field} IN needs at least one value"));
            }
        }
    }
    Ok(ConditionText { field, op, values })
}

/// Puts a typed query (or none) and a column sort (or none) in force on a table, from its
/// first page: paged by the query's cursors while either is, else by ids.
pub fn requery(
    page: &mut Page,
    query: &mut Option<Typed>,
    typed: Option<Typed>,
    sort: Option<Sort>,
) {
    *query = typed;
    page.sort = sort;
    page.page_by_query(query.is_some() || sort.is_some());
}

/// The clauses of a table's page while it pages by a query (else `None`: it lists by id):
/// the typed conditions, the column sort (else the typed one), as many rows as the screen
/// shows, from the page's cursor.
pub fn page_clauses(
    page: &Page,
    typed: Option<&Typed>,
    columns: &[Column],
) -> Option<QueryClauses> {
    page.by_query.as_ref()?;
    clauses(typed, page.sort, columns, page.size, page.cursor())
}

/// The clauses of a query with these parts; `None` when there is neither a typed query nor
/// a sort.
pub fn clauses(
    typed: Option<&Typed>,
    sort: Option<Sort>,
    columns: &[Column],
    size: usize,
    cursor: String,
) -> Option<QueryClauses> {
    let by_column = sort.and_then(|sort| {
        columns.get(sort.column).map(|column| SortText {
            field: column.field().to_string(),
            descending: sort.descending,
        })
    });
    if typed.is_none() && by_column.is_none() {
        return None;
    }
    Some(QueryClauses {
        conditions: typed.map(|t| t.conditions.clone()).unwrap_or_default(),
        sort: by_column.or_else(|| typed.and_then(|t| t.sort.clone())),
        limit: Some(size),
        cursor: Some(cursor),
    })
}

/// Whether a typed query narrows the table (so `INFO`'s counts are not its total).
pub fn narrows(typed: Option<&Typed>) -> bool {
    typed.is_some_and(|t| !t.conditions.is_empty())
}

/// The table's title: the query in force, the page, the sort.
pub fn title(kind: &str, page: &Page, typed: Option<&Typed>, columns: &[Column]) -> String {
    let query = typed.map(|t| format!("{} · ", t.text)).unwrap_or_default();
    let sorted = crate::screens::table::sorted_note(page.sort, columns, "");
    format!("{kind} — {query}{}{sorted}", page.position())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let typed = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let clauses = clauses(typed.as_ref(), None, &[], 20, "0".into());
        clauses.map_or_else(Vec::new, |c| Command::customer_query(&c).into_words())
    }

    #[test]
    fn a_typed_query_becomes_the_requests_words() {
        assert_eq!(
            words("where stage = lead and total_amount > 100 sort last_order desc"),
            [
                "CUSTOMER.QUERY",
                "WHERE",
                "stage",
                "=",
                "lead",
                "AND",
                "total_amount",
                ">",
                "100",
                "SORT",
                "last_order",
                "DESC",
                "LIMIT",
                "20",
                "CURSOR",
                "0"
            ]
        );
        // Keywords in any case, operators glued to their words, quotes keep spaces.
        assert_eq!(
            words(r#"WHERE name="Ada Lovelace" And id>=7 SORT name"#)[1..10],
            [
                "WHERE",
                "name",
                "=",
                "Ada Lovelace",
                "AND",
                "id",
                ">=",
                "7",
                "SORT"
            ]
        );
        // A quoted keyword is a value; IN counts its values; EXISTS takes none.
        assert_eq!(
            words(r#"where stage in lead 'and' "sort" and email exists"#)[1..11],
            ["WHERE", "stage", "IN", "3", "lead", "and", "sort", "AND", "email", "EXISTS"]
        );
        assert_eq!(
            words(r#"sort price where name word "big red""#)[1..7],
            ["WHERE", "name", "WORD", "big red", "SORT", "price"]
        );
    }

    #[test]
    fn plain_words_are_not_a_query() {
        assert_eq!(parse("ada@example.com"), Ok(None));
        assert_eq!(parse("O'Brien"), Ok(None));
        assert_eq!(parse(""), Ok(None));
        assert!(is_query("  Where x exists"));
    }

    #[test]
    fn what_is_wrong_with_a_query_is_said() {
        let error = |text: &str| parse(text).err().unwrap_or_default();
        assert!(error("where").contains("needs a field"));
        assert!(error("where stage").contains("stage needs an operator"));
        assert!(error("where stage lead").contains("needs an operator"));
        assert!(error("where stage =").contains("stage = needs a value"));
        assert!(error("where stage in sort id").contains("at least one value"));
        assert!(error(r#"where name = "Ada"#).contains("unfinished quote"));
        assert!(error("where a exists where b exists").contains("twice"));
        assert!(error("sort").contains("SORT needs a field"));
        assert!(error("sort id limit 5").contains("LIMIT is not typed"));
        assert!(error("where a exists b").contains("\"b\" is not understood"));
    }

    #[test]
    fn the_column_sort_wins_over_the_typed_one() {
        use crate::screens::table::{column, Kind};
        let columns = [column("Name", "name", Kind::Text)];
        let typed = parse("where id > 3 sort id desc").ok().flatten();
        let sort = Some(Sort {
            column: 0,
            descending: true,
        });
        let clauses = clauses(typed.as_ref(), sort, &columns, 5, "abc".into());
        let sort = clauses.and_then(|c| c.sort);
        assert_eq!(
            sort.map(|s| (s.field, s.descending)),
            Some(("name".into(), true))
        );
        assert_eq!(clauses_of_nothing(), None);
    }

    fn clauses_of_nothing() -> Option<QueryClauses> {
        clauses(None, None, &[], 5, "0".into())
    }
}
