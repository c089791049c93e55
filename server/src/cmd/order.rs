//! `ORDER.ADD | GET | DEL | LIST`.

use super::context::Context;
use super::spec::{keyword, one_of, token, value, Access, ArgKind, Group, Spec, PLAIN};
use super::values::{engine, new_id, page, read_id, timestamp, write_id};
use crate::parse::{printable, syntax as syntax_error, text, Args, CmdResult, Keywords};
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

impl super::context::Verb for Verb {
    type Command = Order;

    const ALL: &'static [Verb] = &[Verb::Add, Verb::Get, Verb::Del, Verb::List];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Add => {
                const {
                    &Spec {
                    names: &["ORDER.ADD"],
                    summary: "Place an order, taking the quantity from stock unless NOSTOCK; answers its id",
                    role: Some(Role::Writer),
                    access: Access::Write,
                    syntax: &[
                        keyword(words::CUSTOMER, "customer-id", ArgKind::Integer),
                        keyword(words::PRODUCT, "product-id", ArgKind::Integer),
                        keyword(words::QUANTITY, "quantity", ArgKind::Integer),
                        keyword(words::CREATED_AT, "time", ArgKind::String).optional(),
                        keyword(words::ID, "id", ArgKind::Integer).optional(),
                        token(words::NOSTOCK).optional(),
                    ],
                    ..ORDERS
                }
                }
            }
            Verb::Get => {
                const {
                    &Spec {
                        names: &["ORDER.GET"],
                        summary: "An order as JSON, or nil",
                        access: Access::ReadOne,
                        syntax: &[value("id", ArgKind::Integer)],
                        ..ORDERS
                    }
                }
            }
            Verb::Del => {
                const {
                    &Spec {
                        names: &["ORDER.DEL"],
                        summary: "Delete an order, giving its stock back unless it was NOSTOCK",
                        role: Some(Role::Writer),
                        access: Access::Write,
                        syntax: &[value("id", ArgKind::Integer)],
                        ..ORDERS
                    }
                }
            }
            Verb::List => {
                const {
                    &Spec {
                        names: &["ORDER.LIST"],
                        summary: "A page of a customer's, a product's or all orders, ids ascending",
                        syntax: &[
                            one_of!(
                                "scope",
                                [
                                    keyword(words::CUSTOMER, "customer-id", ArgKind::Integer),
                                    keyword(words::PRODUCT, "product-id", ArgKind::Integer),
                                    token(words::ALL),
                                ],
                            ),
                            keyword(words::SINCE, "time", ArgKind::String).optional(),
                            keyword(words::UNTIL, "time", ArgKind::String).optional(),
                            keyword(words::AFTER, "id", ArgKind::Integer).optional(),
                            keyword(words::LIMIT, "count", ArgKind::Integer).optional(),
                        ],
                        ..ORDERS
                    }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Order> {
        let syntax = self.spec().syntax;
        Ok(match self {
            Verb::Add => Order::Add(args.keywords(syntax)?),
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
                    return Err(syntax_error(format!(
                        "syntax error: '{}' is not CUSTOMER c, PRODUCT p or ALL",
                        printable(&scope_word)
                    )));
                };
                let keywords = args.keywords(&syntax[1..])?;
                Order::List { scope, keywords }
            }
        })
    }
}

/// What the order verbs share: readers may run them unless an entry says otherwise.
const ORDERS: Spec = Spec {
    group: Group::Order,
    role: Some(Role::Reader),
    access: Access::Read,
    ..PLAIN
};

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
