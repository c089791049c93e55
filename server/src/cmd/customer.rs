//! `CUSTOMER.ADD | GET | UPDATE | DEL | FIND | LIST`, and the privacy verbs
//! `CUSTOMER.REVEAL | EXPORT | FORGET` and `FORGET.LIST`, and the data-quality verbs
//! `CUSTOMER.UPSERT | DUPLICATES | MERGE | UNMERGE`.
//!
//! One file, slightly over the house size: it is one family, and its verbs share the masked
//! reply rules (`mask.rs`) and the conflict rewrite below; splitting it by verb would split
//! the family's one `Verb` table.

use super::context::{Context, Verb as _};
use super::offload::off_workers;
use super::paged;
use super::spec::{
    block, keyword, keywords_of, one_of, token, value, Access, ArgKind, Group, Spec, PAGE, PLAIN,
};
use super::values::{
    custom_values, engine, field_values, new_id, page, parse_fields, read_id, write_id,
    UpdateFields,
};
use crate::mask::customer_json;
use crate::parse::{printable, syntax as syntax_error, text, Args, CmdResult, Keywords};
use crate::pieces::{Fetch, HeldRows};
use crate::reply::Reply;
use crate::vocabulary::{self as words, FindBy};
use crm_engine::schema::{name_of, Catalog, CustomGiven};
use crm_engine::values::DEFAULT_LIMIT;
use crm_engine::{
    Customer as Record, CustomerPatch, CustomerUpsert, Kind, NewCustomer, Op, Outcome, Role, Store,
};
use std::sync::Arc;

#[derive(Clone, Copy)]
pub enum Verb {
    Add,
    Get,
    Update,
    Del,
    Find,
    List,
    Reveal,
    Export,
    Forget,
    ForgetList,
    Upsert,
    Duplicates,
    Merge,
    Unmerge,
    Query,
    Count,
}

/// A parsed customer command.
pub enum Customer {
    Add(Keywords),
    Get(Vec<u8>),
    Update(Vec<u8>, UpdateFields),
    Del(Vec<u8>),
    Find {
        by: FindBy,
        value: Vec<u8>,
        page: Keywords,
    },
    List(Keywords),
    Reveal(Vec<u8>),
    Export(Vec<u8>),
    Forget(Vec<u8>),
    ForgetList,
    Upsert(Keywords),
    Duplicates(Keywords),
    Merge {
        keep: Vec<u8>,
        other: Vec<u8>,
    },
    Unmerge(Vec<u8>),
    Query(super::query::Query),
    Count(super::query::Query),
}

impl super::context::Verb for Verb {
    type Command = Customer;

    const ALL: &'static [Verb] = &[
        Verb::Add,
        Verb::Get,
        Verb::Update,
        Verb::Del,
        Verb::Find,
        Verb::List,
        Verb::Reveal,
        Verb::Export,
        Verb::Forget,
        Verb::ForgetList,
        Verb::Upsert,
        Verb::Duplicates,
        Verb::Merge,
        Verb::Unmerge,
        Verb::Query,
        Verb::Count,
    ];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Add => {
                const {
                    &Spec {
                        names: &["CUSTOMER.ADD"],
                        summary: "Add a customer (keywords in any order); answers its id",
                        role: Some(Role::Writer),
                        access: Access::Write,
                        syntax: &[
                            keyword(words::NAME, "name", ArgKind::String),
                            keyword(words::EMAIL, "email", ArgKind::String),
                            keyword(words::PHONE, "phone", ArgKind::String).optional(),
                            keyword(words::ADDRESS, "address", ArgKind::String).optional(),
                            keyword(words::CREATED_AT, "time", ArgKind::String).optional(),
                            keyword(words::ID, "id", ArgKind::Integer).optional(),
                        ],
                        ..CUSTOMERS
                    }
                }
            }
            Verb::Get => {
                const {
                    &Spec {
                        names: &["CUSTOMER.GET"],
                        summary: "A customer as JSON, or nil",
                        access: Access::ReadOne,
                        syntax: &[value("id", ArgKind::Integer)],
                        ..CUSTOMERS
                    }
                }
            }
            Verb::Update => {
                const {
                    &Spec {
                        names: &["CUSTOMER.UPDATE"],
                        summary:
                            "Change fields of a customer (an empty PHONE or ADDRESS clears it)",
                        role: Some(Role::Writer),
                        access: Access::Write,
                        syntax: &[
                            value("id", ArgKind::Integer),
                            block!(
                                "change",
                                [
                                    one_of!(
                                        "field",
                                        [
                                            token(words::NAME),
                                            token(words::EMAIL),
                                            token(words::PHONE),
                                            token(words::ADDRESS),
                                        ],
                                    ),
                                    value("value", ArgKind::String),
                                ],
                            )
                            .multiple(),
                        ],
                        ..CUSTOMERS
                    }
                }
            }
            Verb::Del => {
                const {
                    &Spec {
                        names: &["CUSTOMER.DEL"],
                        summary: "Delete a customer who has no orders",
                        role: Some(Role::Writer),
                        access: Access::Write,
                        syntax: &[value("id", ArgKind::Integer)],
                        ..CUSTOMERS
                    }
                }
            }
            Verb::Find => {
                const {
                    &Spec {
                    names: &["CUSTOMER.FIND"],
                    summary: "Customers by exact email or phone, or by whole words of the name; a page, ids ascending",
                    syntax: &[
                        one_of!(
                            "by",
                            [
                                keyword(words::EMAIL, "email", ArgKind::String),
                                keyword(words::PHONE, "phone", ArgKind::String),
                                keyword(words::NAME, "word", ArgKind::String),
                            ],
                        ),
                        keyword(words::AFTER, "id", ArgKind::Integer).optional(),
                        keyword(words::LIMIT, "count", ArgKind::Integer).optional(),
                    ],
                    ..CUSTOMERS
                }
                }
            }
            Verb::List => {
                const {
                    &Spec {
                        names: &["CUSTOMER.LIST"],
                        summary: "A page of customers, ids ascending after AFTER",
                        syntax: PAGE,
                        ..CUSTOMERS
                    }
                }
            }
            Verb::Reveal => {
                const {
                    &Spec {
                        names: &["CUSTOMER.REVEAL"],
                        summary: "A customer unmasked, or nil; journaled",
                        role: Some(Role::Writer),
                        access: Access::Write,
                        syntax: &[value("id", ArgKind::Integer)],
                        ..PRIVACY
                    }
                }
            }
            Verb::Export => {
                const {
                    &Spec {
                    names: &["CUSTOMER.EXPORT"],
                    summary: "Everything held about a customer: record, orders, statistics, journal; journaled",
                    role: Some(Role::Admin),
                    access: Access::Write,
                    syntax: &[value("id", ArgKind::Integer)],
                    ..PRIVACY
                }
                }
            }
            Verb::Forget => {
                const {
                    &Spec {
                        names: &["CUSTOMER.FORGET"],
                        summary: "Erase a customer's personal data for good; the orders stay",
                        role: Some(Role::Admin),
                        access: Access::Write,
                        syntax: &[value("id", ArgKind::Integer)],
                        ..PRIVACY
                    }
                }
            }
            Verb::ForgetList => {
                const {
                    &Spec {
                        names: &["FORGET.LIST"],
                        summary: "The ids this store has forgotten, and when",
                        role: Some(Role::Admin),
                        ..PRIVACY
                    }
                }
            }
            Verb::Upsert => {
                const {
                    &Spec {
                    names: &["CUSTOMER.UPSERT"],
                    summary: "Add the customer with this email, or update it; answers id, outcome and fields changed",
                    role: Some(Role::Writer),
                    access: Access::Write,
                    syntax: &[
                        keyword(words::EMAIL, "email", ArgKind::String),
                        keyword(words::NAME, "name", ArgKind::String),
                        keyword(words::PHONE, "phone", ArgKind::String).optional(),
                        keyword(words::ADDRESS, "address", ArgKind::String).optional(),
                        keyword(words::CREATED_AT, "time", ArgKind::String).optional(),
                        keyword(words::ID, "id", ArgKind::Integer).optional(),
                        token(words::DRYRUN).optional(),
                    ],
                    ..QUALITY
                }
                }
            }
            Verb::Duplicates => {
                const {
                    &Spec {
                        names: &["CUSTOMER.DUPLICATES"],
                        summary:
                            "Pairs of customers that look like one person, with a score and reasons",
                        role: Some(Role::Analyst),
                        syntax: &[
                            keyword(words::MIN, "score", ArgKind::Double).optional(),
                            keyword(words::LIMIT, "count", ArgKind::Integer).optional(),
                        ],
                        ..QUALITY
                    }
                }
            }
            Verb::Merge => {
                const {
                    &Spec {
                        names: &["CUSTOMER.MERGE"],
                        summary:
                            "Move other's orders to keep, fill keep's gaps from other, remove other",
                        role: Some(Role::Writer),
                        access: Access::Write,
                        syntax: &[
                            value("keep", ArgKind::Integer),
                            value("other", ArgKind::Integer),
                        ],
                        ..QUALITY
                    }
                }
            }
            Verb::Unmerge => {
                const {
                    &Spec {
                        names: &["CUSTOMER.UNMERGE"],
                        summary:
                            "Undo a merge of the last 30 days: other comes back with its orders",
                        role: Some(Role::Writer),
                        access: Access::Write,
                        syntax: &[value("other", ArgKind::Integer)],
                        ..QUALITY
                    }
                }
            }
            Verb::Query => &super::query::CUSTOMER_QUERY,
            Verb::Count => &super::query::CUSTOMER_COUNT,
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Customer> {
        let syntax = self.spec().syntax;
        Ok(match self {
            Verb::Add => Customer::Add(args.keywords_and_fields(syntax)?),
            Verb::Get => Customer::Get(args.required()?),
            Verb::Del => Customer::Del(args.required()?),
            Verb::Update => {
                let id = args.required()?;
                Customer::Update(id, parse_fields::<Record>(args)?)
            }
            Verb::Find => {
                let by = args.required()?;
                let Some(by) = FindBy::named(&by) else {
                    return Err(syntax_error(format!(
                        "syntax error: unknown keyword '{}' for 'customer.find' (EMAIL, PHONE, NAME)",
                        printable(&by)
                    )));
                };
                let value = args.required()?;
                Customer::Find {
                    by,
                    value,
                    page: args.keywords(&syntax[1..])?,
                }
            }
            Verb::List => Customer::List(args.keywords(syntax)?),
            Verb::Reveal => Customer::Reveal(args.required()?),
            Verb::Export => Customer::Export(args.required()?),
            Verb::Forget => Customer::Forget(args.required()?),
            Verb::ForgetList => Customer::ForgetList,
            Verb::Upsert => Customer::Upsert(args.keywords_and_fields(syntax)?),
            Verb::Duplicates => Customer::Duplicates(args.keywords(syntax)?),
            Verb::Merge => Customer::Merge {
                keep: args.required()?,
                other: args.required()?,
            },
            Verb::Unmerge => Customer::Unmerge(args.required()?),
            Verb::Query => Customer::Query(super::query::Query::parse(args, false)?),
            Verb::Count => Customer::Count(super::query::Query::parse(args, true)?),
        })
    }
}

/// What the customer verbs share: readers may run them unless an entry says otherwise.
const CUSTOMERS: Spec = Spec {
    group: Group::Customer,
    role: Some(Role::Reader),
    access: Access::Read,
    ..PLAIN
};
/// The privacy verbs (`crm_protocol` 2).
const PRIVACY: Spec = Spec {
    group: Group::Privacy,
    since: 2,
    ..CUSTOMERS
};
/// The data-quality verbs (`crm_protocol` 2).
const QUALITY: Spec = Spec {
    group: Group::Quality,
    since: 2,
    ..CUSTOMERS
};

/// `MIN`: a number from 0.1 to 1, as the least score in thousandths.
fn min_score(value: &[u8]) -> CmdResult<u32> {
    let parsed = std::str::from_utf8(value)
        .ok()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|v| (0.1..=1.0).contains(v));
    match parsed {
        Some(v) => Ok((v * 1000.0 - 1e-9).ceil() as u32),
        None => Err(Reply::error(
            "INVALID",
            format!(
                "min: \"{}\" is not a number from 0.1 to 1",
                printable(value)
            ),
        )),
    }
}

/// A `CONFLICT` on an email, for a masked user, names the customer id only: the message would
/// otherwise quote the stored value back.
fn masked_conflict(
    masked: bool,
    result: crm_engine::Result<Outcome>,
) -> crm_engine::Result<Outcome> {
    match result {
        Err(crm_engine::Error::EmailTaken { owner, .. }) if masked => Err(
            crm_engine::Error::Conflict(format!("email belongs to customer {owner}")),
        ),
        other => other,
    }
}

/// `CUSTOMER.ADD`'s write, from its words alone (see `submit.rs`).
pub(super) fn add_write(k: &Keywords, catalog: &Catalog) -> CmdResult<Op> {
    let schema = <Record as crm_engine::Record>::schema();
    let (record, named) = schema.read_given(&field_values::<Record>(k)?)?;
    let mut new = NewCustomer::from_fields(None, record, named);
    new.custom = custom_keywords(k, catalog, Verb::Add)?;
    if let Some(id) = k.value(words::ID) {
        new = new.with_id(write_id("id", id)?);
    }
    Ok(Op::AddCustomer(new))
}

/// `CUSTOMER.UPSERT`'s write, from its words alone (see `submit.rs`): the committer decides
/// whether it adds, changes or leaves the customer.
impl Customer {
    /// The refusal of a command a masked user may not run however high its role: an upsert's
    /// `DRYRUN` would compare a guess with a value the user may not see, and leave no record.
    pub(super) fn refused_when_masked(&self) -> Option<Reply> {
        match self {
            Customer::Upsert(k) if k.has(words::DRYRUN) => Some(Reply::error(
                "NOPERM",
                "a masked user may not run 'customer.upsert' with DRYRUN",
            )),
            _ => None,
        }
    }
}

pub(super) fn upsert_write(k: &Keywords, catalog: &Catalog) -> CmdResult<Op> {
    let schema = <Record as crm_engine::Record>::schema();
    let (record, named) = schema.read_given(&field_values::<Record>(k)?)?;
    let mut upsert = CustomerUpsert::from_fields(record, named);
    upsert.custom = custom_keywords(k, catalog, Verb::Upsert)?;
    if let Some(id) = k.value(words::ID) {
        upsert.id = Some(write_id("id", id)?);
    }
    upsert.dry_run = k.has(words::DRYRUN);
    Ok(Op::UpsertCustomer(upsert))
}

/// The custom fields an `ADD` or `UPSERT` gives, after its keywords.
fn custom_keywords(k: &Keywords, catalog: &Catalog, verb: Verb) -> CmdResult<CustomGiven> {
    let spec = verb.spec();
    let keywords: Vec<&str> = keywords_of(spec.syntax).map(|(name, _)| name).collect();
    custom_values(
        k.fields(),
        Kind::Customer,
        catalog,
        (&spec.names[0].to_ascii_lowercase(), "keyword"),
        &keywords,
    )
}

/// The reply to `CUSTOMER.UPSERT`: `[id, kind, fields]`.
pub(super) fn upserted(masked: bool, outcome: crm_engine::Result<Outcome>) -> CmdResult {
    let outcome = engine(masked_conflict(masked, outcome))?;
    let Outcome::Upserted { id, kind, fields } = outcome else {
        return Err(Reply::error("ERR", "the upsert gave no outcome"));
    };
    Ok(Reply::Array(vec![
        Reply::Integer(id as i64),
        Reply::Bulk(kind.as_str().as_bytes().to_vec()),
        Reply::bulk_array(fields.into_iter().map(String::into_bytes)),
    ]))
}

/// The reply to `CUSTOMER.ADD`: the new id, or the conflict as a masked user may see it.
pub(super) fn added(masked: bool, outcome: crm_engine::Result<Outcome>) -> CmdResult {
    new_id(masked_conflict(masked, outcome))
}

pub async fn execute(context: &Context<'_>, command: Customer) -> CmdResult {
    let store = &context.shared.store;
    let masked = context.session.masked;
    match command {
        Customer::Add(k) => added(
            masked,
            store
                .write_async(add_write(&k, &store.catalog())?.by(context.author()))
                .await,
        ),
        Customer::Get(id) => match read_id(&id) {
            Some(id) => Ok(engine(store.customer_shared(id))?.map_or(Reply::Nil, |c| {
                Reply::Bulk(customer_json(&c, &store.catalog(), masked))
            })),
            None => Ok(Reply::Nil),
        },
        Customer::Update(id, fields) => {
            let id = write_id("id", &id)?;
            let mut patch = CustomerPatch::default();
            for (field, value) in &fields.builtin {
                patch.set(*field, text(name_of::<Record>(*field), value)?)?;
            }
            patch.custom = fields.custom_values::<Record>(
                Kind::Customer,
                &store.catalog(),
                "customer.update",
            )?;
            engine(masked_conflict(
                masked,
                store
                    .write_async(Op::UpdateCustomer(id, patch).by(context.author()))
                    .await,
            ))?;
            Ok(Reply::ok())
        }
        Customer::Del(id) => {
            let id = write_id("id", &id)?;
            engine(
                store
                    .write_async(Op::DeleteCustomer(id).by(context.author()))
                    .await,
            )?;
            Ok(Reply::Integer(1))
        }
        Customer::Find { by, value, page: k } => {
            let (after, limit) = page(&k, DEFAULT_LIMIT)?;
            let field = match by {
                FindBy::Email => "email",
                FindBy::Phone => "phone",
                FindBy::Name => "name",
            };
            let value = text(field, &value)?.to_string();
            let fetch = move |store: &Store, after: u64, limit: usize| match by {
                FindBy::Email => store.find_by_email(&value, after, limit),
                FindBy::Phone => store.find_by_phone(&value, after, limit),
                FindBy::Name => store.find_by_name(&value, after, limit),
            };
            paged::page(context.shared, after, limit, customers(fetch, masked)).await
        }
        Customer::List(k) => {
            let (after, limit) = page(&k, DEFAULT_LIMIT)?;
            let fetch = |store: &Store, after: u64, limit: usize| store.customers(after, limit);
            paged::page(context.shared, after, limit, customers(fetch, masked)).await
        }
        Customer::Reveal(id) => {
            let Some(id) = read_id(&id) else {
                return Ok(Reply::Nil);
            };
            // Read first, journal second, answer what was read only if the journal entry was
            // written: a customer deleted in between is answered nil with nothing journaled,
            // so every plain answer has its entry and every entry its answer.
            let Some(customer) = engine(store.customer_shared(id))? else {
                return Ok(Reply::Nil);
            };
            let outcome = engine(
                store
                    .write_async(Op::RevealCustomer(id).by(context.author()))
                    .await,
            )?;
            if outcome == Outcome::Skipped {
                return Ok(Reply::Nil);
            }
            Ok(Reply::Bulk(customer.to_json_bytes(&store.catalog())))
        }
        Customer::Export(id) => {
            let id = write_id("id", &id)?;
            let outcome = engine(
                store
                    .write_async(Op::ExportCustomer(id).by(context.author()))
                    .await,
            )?;
            let Outcome::Journaled(seq) = outcome else {
                return Err(Reply::from(crm_engine::Error::not_found(
                    Kind::Customer,
                    id,
                )));
            };
            super::export::wait_durable(store, seq).await;
            off_workers(context.shared, move |store| {
                super::export::document(store, id, seq)
            })
            .await
        }
        Customer::Forget(id) => {
            let id = write_id("id", &id)?;
            engine(
                store
                    .write_async(Op::ForgetCustomer(id).by(context.author()))
                    .await,
            )?;
            Ok(Reply::ok())
        }
        Customer::Upsert(k) => upserted(
            masked,
            store
                .write_async(upsert_write(&k, &store.catalog())?.by(context.author()))
                .await,
        ),
        Customer::Duplicates(k) => {
            let min = match k.value("MIN") {
                Some(value) => min_score(value)?,
                None => 500,
            };
            let limit = super::values::limit(&k, DEFAULT_LIMIT)?;
            super::offload::heavy(context.shared, &context.session.cancel, move |store| {
                let pairs = store.duplicates(min, limit)?;
                HeldRows::reply(pairs, |_, pair| Ok(Reply::json(&pair.to_json())), store)
            })
            .await
        }
        Customer::Merge { keep, other } => {
            let keep = write_id("keep", &keep)?;
            let other = write_id("other", &other)?;
            let at = crm_engine::values::merge_clock();
            engine(
                store
                    .write_async(Op::MergeCustomers { keep, other, at }.by(context.author()))
                    .await,
            )?;
            Ok(Reply::ok())
        }
        Customer::Unmerge(other) => {
            let other = write_id("other", &other)?;
            let now = crm_engine::values::merge_clock();
            engine(masked_conflict(
                masked,
                store
                    .write_async(Op::UnmergeCustomer { other, now }.by(context.author()))
                    .await,
            ))?;
            Ok(Reply::ok())
        }
        Customer::Query(query) => super::query::query(context, Kind::Customer, query).await,
        Customer::Count(query) => super::query::count(context, Kind::Customer, query).await,
        // Grows with every erasure ever made: over 1 MiB it goes in pieces (`pieces.rs`).
        Customer::ForgetList => engine(HeldRows::reply(
            engine(store.forgotten())?,
            |_, forgotten| Ok(Reply::json(&forgotten.to_json())),
            store,
        )),
    }
}

/// A page read of customers as their replies (masked for a masked user), each with its id as
/// the cursor.
fn customers(
    read: impl Fn(&Store, u64, usize) -> crm_engine::Result<Vec<Record>> + Send + Sync + 'static,
    masked: bool,
) -> Arc<Fetch> {
    Arc::new(move |store: &Store, after: u64, limit: usize| {
        let catalog = store.catalog();
        Ok(read(store, after, limit)?
            .iter()
            .map(|c| (c.id, Reply::Bulk(customer_json(c, &catalog, masked))))
            .collect())
    })
}
