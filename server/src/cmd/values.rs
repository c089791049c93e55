//! Turning raw argument bytes into engine values, with the protocol's error codes.

use crate::parse::{
    optional_text, printable, required_text, syntax, text, Args, CmdResult, Keywords,
};
use crate::reply::Reply;
use crm_engine::schema::Presence;
use crm_engine::schema::{Catalog, CustomGiven};
use crm_engine::{values, FieldId, Kind, Record};

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

/// What an `UPDATE` gives: built-in fields by id, and the words that are none (custom
/// fields, checked against the schema by [`custom_values`]), each with its value.
pub struct UpdateFields {
    pub builtin: Vec<(FieldId, Vec<u8>)>,
    pub custom: Vec<(Vec<u8>, Vec<u8>)>,
}

/// `FIELD value [FIELD value ...]` of an `UPDATE`: at least one, none twice; a word that is no
/// keyword of a field an update may change is kept as a custom field.
pub fn parse_fields<R: Record>(args: &mut Args) -> CmdResult<UpdateFields> {
    if args.remaining() == 0 {
        return Err(args.wrong_arity());
    }
    let schema = R::schema();
    let mut fields = UpdateFields {
        builtin: Vec::new(),
        custom: Vec::new(),
    };
    while let Some(word) = args.next() {
        let field = schema.keyword(&word).filter(|field| field.updatable);
        let shown = field.map_or_else(|| printable(&word), |field| field.keyword.to_string());
        let twice = match field {
            Some(field) => fields.builtin.iter().any(|(id, _)| *id == field.id),
            None => fields
                .custom
                .iter()
                .any(|(seen, _)| seen.eq_ignore_ascii_case(&word)),
        };
        if twice {
            return Err(syntax(format!("syntax error: field '{shown}' given twice")));
        }
        let value = args
            .next()
            .ok_or_else(|| syntax(format!("syntax error: field '{shown}' needs a value")))?;
        match field {
            Some(field) => fields.builtin.push((field.id, value)),
            None => fields.custom.push((word, value)),
        }
    }
    Ok(fields)
}

impl UpdateFields {
    /// The custom values of an `UPDATE` of records of kind `R` (`command` in messages), read
    /// against `catalog` as [`custom_values`] reads them.
    pub fn custom_values<R: Record>(
        &self,
        kind: Kind,
        catalog: &Catalog,
        command: &str,
    ) -> CmdResult<CustomGiven> {
        let keywords: Vec<&str> = R::schema().updatable().map(|field| field.keyword).collect();
        custom_values(&self.custom, kind, catalog, (command, "field"), &keywords)
    }
}

/// The custom values a write gives: each word a declared field of `kind` in `catalog` (any
/// case), its value read by the field's type (`INVALID` naming the field and the value; an
/// empty one clears). A word that is neither one of `keywords` nor a declared field is `ERR`
/// "unknown {noun}", listing both.
pub fn custom_values(
    given: &[(Vec<u8>, Vec<u8>)],
    kind: Kind,
    catalog: &Catalog,
    (command, noun): (&str, &str),
    keywords: &[&str],
) -> CmdResult<CustomGiven> {
    let mut values = CustomGiven::default();
    for (word, value) in given {
        let field = std::str::from_utf8(word)
            .ok()
            .and_then(|name| catalog.field(kind, name))
            .ok_or_else(|| {
                let declared: Vec<&str> = catalog.declared(kind).map(|f| f.name.as_str()).collect();
                let custom = if declared.is_empty() {
                    String::new()
                } else {
                    format!("; custom fields: {}", declared.join(", "))
                };
                syntax(format!(
                    "syntax error: unknown {noun} '{}' for '{command}' ({}{custom})",
                    printable(word),
                    keywords.join(", "),
                ))
            })?;
        let text = std::str::from_utf8(value).map_err(|_| {
            Reply::error(
                "INVALID",
                format!(
                    "{}: \"{}\" is not valid UTF-8",
                    field.name,
                    printable(value)
                ),
            )
        })?;
        values.give(field.id, field.read(text)?);
    }
    Ok(values)
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
