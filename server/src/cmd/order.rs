//! `ORDER.ADD | GET | DEL | LIST`.

use super::context::Context;
use super::values::{engine, new_id, page, read_id, timestamp, write_id};
use crate::parse::{flag, kw, printable, syntax, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crate::vocabulary as words;
use crm_engine::values::{self, DEFAULT_LIMIT};
use crm_engine::{NewOrder, Op, OrderQuery, OrderScope, Role};

#[derive(Clone, Copy)]
pub enum Verb {
    Add,
    Get,
    Del,
    List,
}

/// Whose orders `ORDER.LIST` lists.
pub enum ListScope {
    All,
    Customer(Vec<u8>),
    Product(Vec<u8>),
}

/// A parsed order command.
pub enum Order {
    Add(Keywords),
    Get(Vec<u8>),
    Del(Vec<u8>),
    List {
        scope: ListScope,
        keywords: Keywords,
    },
}

impl Verb {
    pub fn named(name: &str) -> Option<Verb> {
        Some(match name {
            "ORDER.ADD" => Verb::Add,
            "ORDER.GET" => Verb::Get,
            "ORDER.DEL" => Verb::Del,
            "ORDER.LIST" => Verb::List,
            _ => return None,
        })
    }
}

impl super::context::Verb for Verb {
    type Command = Order;

    fn minimum_arguments(self) -> usize {
        match self {
            Verb::Add => 6,
            Verb::Get | Verb::Del | Verb::List => 1,
        }
    }

    fn required_role(self) -> Option<Role> {
        Some(match self {
            Verb::Add | Verb::Del => Role::Writer,
            Verb::Get | Verb::List => Role::Reader,
        })
    }

    fn parse(self, args: &mut Args) -> CmdResult<Order> {
        Ok(match self {
            Verb::Add => Order::Add(args.keywords(&[
                kw(words::CUSTOMER),
                kw(words::PRODUCT),
                kw(words::QUANTITY),
                kw(words::CREATED_AT),
                kw(words::ID),
                flag(words::NOSTOCK),
            ])?),
            Verb::Get => Order::Get(args.required()?),
            Verb::Del => Order::Del(args.required()?),
            Verb::List => {
                let scope_word = args.required()?;
                let is = |word: &str| scope_word.eq_ignore_ascii_case(word.as_bytes());
                let scope = if is(words::CUSTOMER) {
                    ListScope::Customer(args.required()?)
                } else if is(words::PRODUCT) {
                    ListScope::Product(args.required()?)
                } else if is(words::ALL) {
                    ListScope::All
                } else {
                    return Err(syntax(format!(
                        "syntax error: '{}' is not CUSTOMER c, PRODUCT p or ALL",
                        printable(&scope_word)
                    )));
                };
                let keywords = args.keywords(&[
                    kw(words::SINCE),
                    kw(words::UNTIL),
                    kw(words::AFTER),
                    kw(words::LIMIT),
                ])?;
                Order::List { scope, keywords }
            }
        })
    }
}

fn required<'a>(keywords: &'a Keywords, keyword: &str, field: &'static str) -> CmdResult<&'a [u8]> {
    keywords
        .value(keyword)
        .ok_or_else(|| Reply::error("INVALID", format!("{field}: required")))
}

/// `ORDER.ADD`'s write, from its words alone (no read: it can be submitted at once, see
/// `submit.rs`).
pub(super) fn add_write(k: &Keywords) -> CmdResult<Op> {
    let customer_id = write_id("customer", required(k, words::CUSTOMER, "customer")?)?;
    let product_id = write_id("product", required(k, words::PRODUCT, "product")?)?;
    let quantity =
        values::parse_quantity(text("quantity", required(k, words::QUANTITY, "quantity")?)?)?;
    let created_at = timestamp(k, words::CREATED_AT, "created_at")?;
    let id = k
        .value(words::ID)
        .map(|id| write_id("id", id))
        .transpose()?;
    Ok(Op::AddOrder(NewOrder {
        id,
        customer_id,
        product_id,
        quantity,
        created_at,
        take_stock: !k.has(words::NOSTOCK),
    }))
}

pub async fn execute(context: &Context<'_>, command: Order) -> CmdResult {
    let shared = context.shared;
    let store = &shared.store;
    match command {
        Order::Add(k) => new_id(store.write_async(add_write(&k)?.by(context.author())).await),
        Order::Get(id) => match read_id(&id) {
            Some(id) => Ok(engine(store.order_shared(id))?
                .map_or(Reply::Nil, |o| Reply::Bulk(o.to_json_bytes()))),
            None => Ok(Reply::Nil),
        },
        Order::Del(id) => {
            let id = write_id("id", &id)?;
            engine(
                store
                    .write_async(Op::DeleteOrder(id).by(context.author()))
                    .await,
            )?;
            Ok(Reply::Integer(1))
        }
        Order::List { scope, keywords } => {
            let since = timestamp(&keywords, words::SINCE, "since")?;
            let until = timestamp(&keywords, words::UNTIL, "until")?;
            let (after, limit) = page(&keywords, DEFAULT_LIMIT)?;
            let scope = match scope {
                ListScope::All => OrderScope::All,
                ListScope::Customer(id) => match read_id(&id) {
                    Some(id) => OrderScope::Customer(id),
                    None => return Ok(Reply::Array(Vec::new())),
                },
                ListScope::Product(id) => match read_id(&id) {
                    Some(id) => OrderScope::Product(id),
                    None => return Ok(Reply::Array(Vec::new())),
                },
            };
            let fetch = move |store: &crm_engine::Store, after: u64, limit: usize| {
                let query = OrderQuery {
                    scope,
                    since,
                    until,
                    after,
                    limit,
                };
                Ok(store
                    .orders(&query)?
                    .iter()
                    .map(|o| (o.id, Reply::Bulk(o.to_json_bytes())))
                    .collect())
            };
            super::paged::page(shared, after, limit, std::sync::Arc::new(fetch)).await
        }
    }
}
