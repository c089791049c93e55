//! Turning raw argument bytes into engine values, with the protocol's error codes.

use crate::parse::{
    optional_text, printable, required_text, syntax, text, Args, CmdResult, Keywords,
};
use crate::reply::Reply;
use crm_engine::schema::Presence;
use crm_engine::{values, FieldId, Record};

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

/// `FIELD value [FIELD value ...]` of an `UPDATE`: at least one, each a field of the kind that
/// an update may change (its schema's keyword, any case), none twice.
pub fn parse_fields<R: Record>(args: &mut Args) -> CmdResult<Vec<(FieldId, Vec<u8>)>> {
    if args.remaining() == 0 {
        return Err(args.wrong_arity());
    }
    let schema = R::schema();
    let mut fields: Vec<(FieldId, Vec<u8>)> = Vec::new();
    while let Some(word) = args.next() {
        let Some(field) = schema.keyword(&word).filter(|field| field.updatable) else {
            let known: Vec<&str> = schema.updatable().map(|field| field.keyword).collect();
            return Err(syntax(format!(
                "syntax error: unknown field '{}' for '{}' ({})",
                printable(&word),
                args.command(),
                known.join(", ")
            )));
        };
        let upper = field.keyword;
        if fields.iter().any(|(id, _)| *id == field.id) {
            return Err(syntax(format!("syntax error: field '{upper}' given twice")));
        }
        let value = args
            .next()
            .ok_or_else(|| syntax(format!("syntax error: field '{upper}' needs a value")))?;
        fields.push((field.id, value));
    }
    Ok(fields)
}

/// The texts an `ADD` or `UPSERT` gives for the kind's fields, by their keywords, in the
/// schema's order (what [`crm_engine::schema::Schema::read_given`] reads): a required field
/// missing is `INVALID` "required", a value that is not UTF-8 `INVALID` naming its field.
pub fn field_values<R: Record>(k: &Keywords) -> CmdResult<Vec<(FieldId, &str)>> {
    let mut values = Vec::new();
    for field in R::schema().settable() {
        let bytes = k.value(field.keyword);
        if field.presence == Presence::Required {
            values.push((field.id, required_text(field.name, bytes)?));
        } else if let Some(text) = optional_text(field.name, bytes)? {
            values.push((field.id, text));
        }
    }
    Ok(values)
}

/// The reply to an add: the new record's id.
pub fn new_id(outcome: crm_engine::Result<crm_engine::Outcome>) -> CmdResult {
    Ok(Reply::Integer(engine(outcome)?.id() as i64))
}
