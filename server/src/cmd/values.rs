//! Turning raw argument bytes into engine values, with the protocol's error codes.

use crate::parse::{printable, syntax, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crm_engine::{values, Field};

/// An id where a write needs one: `INVALID` unless it is one.
pub fn write_id(field: &'static str, bytes: &[u8]) -> CmdResult<u64> {
    Ok(values::parse_id(field, text(field, bytes)?)?)
}

/// An id in a read: anything that is not an id finds nothing.
pub fn read_id(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(values::parse_id_for_read)
}

/// `AFTER` (default 0) and `LIMIT` (default `default_limit`).
pub fn page(keywords: &Keywords, default_limit: usize) -> CmdResult<(u64, usize)> {
    let after = match keywords.value(crate::vocabulary::AFTER) {
        Some(bytes) => values::parse_after(text("after", bytes)?)?,
        None => 0,
    };
    Ok((after, limit(keywords, default_limit)?))
}

/// `LIMIT` (1 to 100,000), or the default.
pub fn limit(keywords: &Keywords, default_limit: usize) -> CmdResult<usize> {
    match keywords.value(crate::vocabulary::LIMIT) {
        Some(bytes) => Ok(values::parse_limit(text("limit", bytes)?)?),
        None => Ok(default_limit),
    }
}

/// An optional timestamp keyword.
pub fn timestamp(
    keywords: &Keywords,
    keyword: &str,
    field: &'static str,
) -> CmdResult<Option<i64>> {
    keywords
        .value(keyword)
        .map(|bytes| Ok(values::parse_timestamp(field, text(field, bytes)?)?))
        .transpose()
}

/// An engine result as a reply.
pub fn engine<T>(result: crm_engine::Result<T>) -> CmdResult<T> {
    result.map_err(Reply::from)
}

/// `FIELD value [FIELD value ...]` of an `UPDATE`: at least one, each a field of the kind (any
/// case), none twice.
pub fn parse_fields<F: Field>(args: &mut Args) -> CmdResult<Vec<(F, Vec<u8>)>> {
    if args.remaining() == 0 {
        return Err(args.wrong_arity());
    }
    let mut fields: Vec<(F, Vec<u8>)> = Vec::new();
    while let Some(word) = args.next() {
        let Some(field) = F::named(&word) else {
            let known: Vec<String> = F::ALL
                .iter()
                .map(|f| f.as_str().to_ascii_uppercase())
                .collect();
            return Err(syntax(format!(
                "syntax error: unknown field '{}' for '{}' ({})",
                printable(&word),
                args.command(),
                known.join(", ")
            )));
        };
        let upper = field.as_str().to_ascii_uppercase();
        if fields.iter().any(|(f, _)| *f == field) {
            return Err(syntax(format!("syntax error: field '{upper}' given twice")));
        }
        let value = args
            .next()
            .ok_or_else(|| syntax(format!("syntax error: field '{upper}' needs a value")))?;
        fields.push((field, value));
    }
    Ok(fields)
}

/// The reply to an add: the new record's id.
pub fn new_id(outcome: crm_engine::Result<crm_engine::Outcome>) -> CmdResult {
    Ok(Reply::Integer(engine(outcome)?.id() as i64))
}
