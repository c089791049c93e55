//! `ORDER.ADD | GET | DEL | LIST`.

use super::values::{engine, page, read_id, timestamp, write_id};
use crate::parse::{flag, kw, printable, syntax, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::values::{self, DEFAULT_LIMIT};
use crm_engine::{NewOrder, Op, OrderQuery, OrderScope};

/// A parsed order command.
pub enum Order {
    Add(Keywords),
    Get(Vec<u8>),
    Del(Vec<u8>),
    List {
        scope: (&'static str, Option<Vec<u8>>),
        keywords: Keywords,
    },
}

pub fn parse(name: &str, args: &mut Args) -> CmdResult<Order> {
    let command = match name {
        "ORDER.ADD" => Order::Add(args.keywords(&[
            kw("CUSTOMER"),
            kw("PRODUCT"),
            kw("QUANTITY"),
            kw("CREATED_AT"),
            kw("ID"),
            flag("NOSTOCK"),
        ])?),
        "ORDER.GET" => Order::Get(args.required()?),
        "ORDER.DEL" => Order::Del(args.required()?),
        _ => {
            let scope_word = args.required()?;
            let scope = match scope_word.to_ascii_uppercase().as_slice() {
                b"CUSTOMER" => ("CUSTOMER", Some(args.required()?)),
                b"PRODUCT" => ("PRODUCT", Some(args.required()?)),
                b"ALL" => ("ALL", None),
                _ => {
                    return Err(syntax(format!(
                        "syntax error: '{}' is not CUSTOMER c, PRODUCT p or ALL",
                        printable(&scope_word)
                    )))
                }
            };
            let keywords = args.keywords(&[kw("SINCE"), kw("UNTIL"), kw("AFTER"), kw("LIMIT")])?;
            Order::List { scope, keywords }
        }
    };
    args.finish()?;
    Ok(command)
}

fn required<'a>(keywords: &'a Keywords, keyword: &str, field: &'static str) -> CmdResult<&'a [u8]> {
    keywords
        .value(keyword)
        .ok_or_else(|| Reply::error("INVALID", format!("{field}: required")))
}

pub async fn execute(shared: &Shared, command: Order) -> CmdResult {
    let store = &shared.store;
    match command {
        Order::Add(k) => {
            let customer_id = write_id("customer", required(&k, "CUSTOMER", "customer")?)?;
            let product_id = write_id("product", required(&k, "PRODUCT", "product")?)?;
            let quantity =
                values::parse_quantity(text("quantity", required(&k, "QUANTITY", "quantity")?)?)?;
            let created_at = timestamp(&k, "CREATED_AT", "created_at")?;
            let id = k.value("ID").map(|id| write_id("id", id)).transpose()?;
            let new = NewOrder {
                id,
                customer_id,
                product_id,
                quantity,
                created_at,
                take_stock: !k.has("NOSTOCK"),
            };
            Ok(Reply::Integer(
                engine(store.write_async(Op::AddOrder(new)).await)?.id() as i64,
            ))
        }
        Order::Get(id) => match read_id(&id) {
            Some(id) => Ok(engine(store.order_shared(id))?
                .map_or(Reply::Nil, |o| Reply::Bulk(o.to_json_bytes()))),
            None => Ok(Reply::Nil),
        },
        Order::Del(id) => {
            let id = write_id("id", &id)?;
            engine(store.write_async(Op::DeleteOrder(id)).await)?;
            Ok(Reply::Integer(1))
        }
        Order::List { scope, keywords } => {
            let since = timestamp(&keywords, "SINCE", "since")?;
            let until = timestamp(&keywords, "UNTIL", "until")?;
            let (after, limit) = page(&keywords, DEFAULT_LIMIT)?;
            let scope = match scope {
                ("ALL", _) => OrderScope::All,
                (kind, Some(id)) => match read_id(&id) {
                    Some(id) if kind == "CUSTOMER" => OrderScope::Customer(id),
                    Some(id) => OrderScope::Product(id),
                    None => return Ok(Reply::Array(Vec::new())),
                },
                (_, None) => OrderScope::All,
            };
            let query = OrderQuery {
                scope,
                since,
                until,
                after,
                limit,
            };
            Ok(Reply::bulk_array(
                engine(store.orders(&query))?
                    .iter()
                    .map(|o| o.to_json_bytes()),
            ))
        }
    }
}
