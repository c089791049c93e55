//! `CUSTOMER.QUERY`, `PRODUCT.QUERY`, `CUSTOMER.COUNT`, `PRODUCT.COUNT`: the wire's words read
//! into the engine's [`QueryRequest`] (`crm_engine::query`), for the customer and product
//! families, which route their `QUERY` and `COUNT` verbs here.
//!
//! The words are read in the router's order of checks: the grammar here (`ERR`: a clause given
//! twice, an unknown word, an operator missing its values), then a masked user's limits
//! (`NOPERM`, before any value is read), then the values (`INVALID`, by the engine). A query
//! that may open every record runs as a heavy command (`offload.rs`); any other as a read.

use super::context::Context;
use super::offload::{heavy, off_workers};
use super::spec::{block, keyword, one_of, token, Access, Arg, ArgKind, Group, Spec, PLAIN};
use crate::mask::customer_json;
use crate::parse::{printable, syntax, text, Args, CmdResult};
use crate::pieces::{HeldRows, Preceded};
use crate::reply::Reply;
use crate::vocabulary as words;
use crm_engine::query::{Operands, START};
use crm_engine::schema::Catalog;
use crm_engine::values::DEFAULT_LIMIT;
use crm_engine::{ConditionText, Kind, Operator, QueryRequest, Role, SortText};
use std::sync::Arc;

/// `[WHERE cond [AND cond ...]] [SORT field [ASC|DESC]] [LIMIT n] [CURSOR c]`.
const QUERY_SYNTAX: &[Arg] = &[
    WHERE,
    block!(
        "order",
        [
            keyword(words::SORT, "field", ArgKind::String),
            one_of!("direction", [token(words::ASC), token(words::DESC)]).optional(),
        ],
    )
    .optional(),
    keyword(words::LIMIT, "count", ArgKind::Integer).optional(),
    keyword(words::CURSOR, "cursor", ArgKind::String).optional(),
];

/// `[WHERE cond [AND cond ...]]`.
const WHERE: Arg = block!(
    "conditions",
    [
        keyword(words::WHERE, "condition", ArgKind::String),
        keyword(words::AND, "condition", ArgKind::String)
            .optional()
            .multiple(),
    ],
)
.optional();

/// What the four verbs share: every role that may `LIST`.
const QUERIES: Spec = Spec {
    group: Group::Schema,
    since: 3,
    role: Some(Role::Reader),
    access: Access::Read,
    ..PLAIN
};

pub(super) const CUSTOMER_QUERY: Spec = Spec {
    names: &["CUSTOMER.QUERY"],
    summary: "Customers matching conditions on any field or statistic, sorted, a page at a time",
    syntax: QUERY_SYNTAX,
    ..QUERIES
};

pub(super) const PRODUCT_QUERY: Spec = Spec {
    names: &["PRODUCT.QUERY"],
    summary: "Products matching conditions on any field or statistic, sorted, a page at a time",
    syntax: QUERY_SYNTAX,
    ..QUERIES
};

pub(super) const CUSTOMER_COUNT: Spec = Spec {
    names: &["CUSTOMER.COUNT"],
    summary: "How many customers match conditions on any field or statistic",
    syntax: &[WHERE],
    ..QUERIES
};

pub(super) const PRODUCT_COUNT: Spec = Spec {
    names: &["PRODUCT.COUNT"],
    summary: "How many products match conditions on any field or statistic",
    syntax: &[WHERE],
    ..QUERIES
};

/// One condition's words.
pub struct Condition {
    field: Vec<u8>,
    op: Operator,
    values: Vec<Vec<u8>>,
}

/// A parsed `QUERY` or `COUNT`: its clauses as given.
pub struct Query {
    conditions: Vec<Condition>,
    sort: Option<(Vec<u8>, bool)>,
    limit: Option<Vec<u8>>,
    cursor: Option<Vec<u8>>,
}

impl Query {
    /// Reads the clauses, in any order, each at most once (`COUNT`: `WHERE` only).
    pub fn parse(args: &mut Args, count: bool) -> CmdResult<Query> {
        let mut query = Query {
            conditions: Vec::new(),
            sort: None,
            limit: None,
            cursor: None,
        };
        let clauses: &[&str] = if count {
            &[words::WHERE]
        } else {
            &[words::WHERE, words::SORT, words::LIMIT, words::CURSOR]
        };
        let mut given: Vec<&str> = Vec::new();
        while let Some(word) = args.next() {
            let Some(clause) = clauses
                .iter()
                .find(|c| c.as_bytes().eq_ignore_ascii_case(&word))
            else {
                return Err(syntax(format!(
                    "syntax error: unknown keyword '{}' for '{}' ({})",
                    printable(&word),
                    args.command(),
                    clauses.join(", ")
                )));
            };
            if given.contains(clause) {
                return Err(syntax(format!(
                    "syntax error: keyword '{clause}' given twice for '{}'",
                    args.command()
                )));
            }
            given.push(clause);
            match *clause {
                words::WHERE => query.conditions = conditions(args)?,
                words::SORT => {
                    let field = needed(args, words::SORT)?;
                    let descending = match args.peek() {
                        Some(w) if w.eq_ignore_ascii_case(words::DESC.as_bytes()) => true,
                        Some(w) if w.eq_ignore_ascii_case(words::ASC.as_bytes()) => false,
                        _ => {
                            query.sort = Some((field, false));
                            continue;
                        }
                    };
                    args.next();
                    query.sort = Some((field, descending));
                }
                words::LIMIT => query.limit = Some(needed(args, words::LIMIT)?),
                _ => query.cursor = Some(needed(args, words::CURSOR)?),
            }
        }
        Ok(query)
    }
}

/// `cond [AND cond ...]` after `WHERE`.
fn conditions(args: &mut Args) -> CmdResult<Vec<Condition>> {
    let mut conditions = Vec::new();
    loop {
        let field = needed(args, words::WHERE)?;
        let word = needed(args, words::WHERE)?;
        let Some(op) = Operator::named(&word) else {
            let known: Vec<&str> = Operator::ALL.iter().map(|op| op.word()).collect();
            return Err(syntax(format!(
                "syntax error: unknown operator '{}' ({})",
                printable(&word),
                known.join(", ")
            )));
        };
        let values = match op.operands() {
            Operands::None => Vec::new(),
            Operands::One => vec![needed(args, op.word())?],
            Operands::List => {
                let count = needed(args, op.word())?;
                let count = std::str::from_utf8(&count)
                    .ok()
                    .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| {
                        syntax(format!(
                            "syntax error: IN needs a count of values, not '{}'",
                            printable(&count)
                        ))
                    })?;
                if count > args.remaining() {
                    return Err(syntax(format!(
                        "syntax error: IN {count} needs {count} values, {} are given",
                        args.remaining()
                    )));
                }
                (0..count).filter_map(|_| args.next()).collect()
            }
        };
        conditions.push(Condition { field, op, values });
        match args.peek() {
            Some(word) if word.eq_ignore_ascii_case(words::AND.as_bytes()) => {
                args.next();
            }
            _ => return Ok(conditions),
        }
    }
}

/// The word a keyword needs after it.
fn needed(args: &mut Args, after: &str) -> CmdResult<Vec<u8>> {
    args.next()
        .ok_or_else(|| syntax(format!("syntax error: '{after}' needs a value")))
}

impl Query {
    /// The request with only its fields and operators read (what a masked user's limits
    /// look at: no value).
    fn shape(&self) -> QueryRequest {
        QueryRequest {
            conditions: self
                .conditions
                .iter()
                .map(|c| ConditionText {
                    field: String::from_utf8_lossy(&c.field).into_owned(),
                    op: c.op,
                    values: Vec::new(),
                })
                .collect(),
            sort: self.sort.as_ref().map(|(field, descending)| SortText {
                field: String::from_utf8_lossy(field).into_owned(),
                descending: *descending,
            }),
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }

    /// The whole request: the shape, then the values (`INVALID` when one is not UTF-8).
    fn request(&self, kind: Kind, masked: bool, catalog: &Catalog) -> CmdResult<QueryRequest> {
        let mut request = self.shape();
        if masked {
            if let Some(why) = request.refusal_when_masked(kind, catalog)? {
                return Err(Reply::error("NOPERM", why));
            }
        }
        for (condition, given) in request.conditions.iter_mut().zip(&self.conditions) {
            condition.values = given
                .values
                .iter()
                .map(|value| text("value", value).map(str::to_string))
                .collect::<CmdResult<_>>()?;
        }
        if let Some(limit) = &self.limit {
            request.limit = crm_engine::values::parse_limit(text("limit", limit)?)?;
        }
        request.cursor = self
            .cursor
            .as_deref()
            .map(|c| text("cursor", c).map(str::to_string))
            .transpose()?;
        Ok(request)
    }
}

/// Runs a `QUERY`: `*2` of the next cursor (`"0"` at the end) and the page's records, as
/// `GET` shows them to this user (streamed past 1 MiB, as `PROTOCOL.md` "Framing" asks).
pub async fn query(context: &Context<'_>, kind: Kind, query: Query) -> CmdResult {
    let masked = context.session.masked;
    let request = query.request(kind, masked, &context.shared.store.catalog())?;
    let scans = context.shared.store.query_scans(kind, &request)?;
    let work = move |store: &crm_engine::Store| {
        let catalog = store.catalog();
        // The page's records are held decoded; their JSON is made as the client reads, so a
        // page over 1 MiB is sent in pieces (`pieces.rs`).
        let (cursor, records) = match kind {
            Kind::Customer => {
                let page = store.query_customers(&request)?;
                let json = move |_: &crm_engine::Store, customer: Arc<crm_engine::Customer>| {
                    Ok(Reply::Bulk(customer_json(&customer, &catalog, masked)))
                };
                (page.cursor, HeldRows::reply(page.records, json, store)?)
            }
            _ => {
                let page = store.query_products(&request)?;
                let json = move |_: &crm_engine::Store, product: Arc<crm_engine::Product>| {
                    Ok(Reply::Bulk(product.to_json_bytes(&catalog)))
                };
                (page.cursor, HeldRows::reply(page.records, json, store)?)
            }
        };
        let cursor = cursor.unwrap_or_else(|| START.to_string());
        Ok(Preceded::reply(
            vec![Reply::Bulk(cursor.into_bytes())],
            records,
        ))
    };
    run(context, scans, work).await
}

/// Runs a `COUNT`: `:n`.
pub async fn count(context: &Context<'_>, kind: Kind, query: Query) -> CmdResult {
    let request = query.request(
        kind,
        context.session.masked,
        &context.shared.store.catalog(),
    )?;
    let scans = context.shared.store.query_scans(kind, &request)?;
    let work = move |store: &crm_engine::Store| {
        let count = match kind {
            Kind::Customer => store.count_customers(&request.conditions)?,
            _ => store.count_products(&request.conditions)?,
        };
        Ok(Reply::Integer(i64::try_from(count).unwrap_or(i64::MAX)))
    };
    run(context, scans, work).await
}

/// Off the async workers: as a heavy command when it may open every record.
async fn run(
    context: &Context<'_>,
    scans: bool,
    work: impl FnOnce(&crm_engine::Store) -> crm_engine::Result<Reply> + Send + 'static,
) -> CmdResult {
    if scans {
        heavy(context.shared, &context.session.cancel, work).await
    } else {
        off_workers(context.shared, work).await
    }
}
