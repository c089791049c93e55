//! `PRODUCT.ADD | GET | UPDATE | DEL | LIST`, and `PRODUCT.QUERY | COUNT` (`query.rs`).

use super::context::{Context, Verb as _};
use super::spec::{
    block, keyword, keywords_of, one_of, token, value, Access, ArgKind, Group, Spec, PAGE, PLAIN,
};
use super::values::{
    custom_values, engine, field_values, new_id, page, parse_fields, read_id, write_id,
    UpdateFields,
};
use crate::parse::{text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crate::vocabulary as words;
use crm_engine::schema::{name_of, Catalog};
use crm_engine::values::DEFAULT_LIMIT;
use crm_engine::{Kind, NewProduct, Op, Product as Record, ProductPatch, Role};

#[derive(Clone, Copy)]
pub enum Verb {
    Add,
    Get,
    Update,
    Del,
    List,
    Query,
    Count,
}

/// A parsed product command.
pub enum Product {
    Add(Keywords),
    Get(Vec<u8>),
    Update(Vec<u8>, UpdateFields),
    Del(Vec<u8>),
    List(Keywords),
    Query(super::query::Query),
    Count(super::query::Query),
}

impl super::context::Verb for Verb {
    type Command = Product;

    const ALL: &'static [Verb] = &[
        Verb::Add,
        Verb::Get,
        Verb::Update,
        Verb::Del,
        Verb::List,
        Verb::Query,
        Verb::Count,
    ];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Add => {
                const {
                    &Spec {
                        names: &["PRODUCT.ADD"],
                        summary: "Add a product (keywords in any order); answers its id",
                        role: Some(Role::Writer),
                        access: Access::Write,
                        syntax: &[
                            keyword(words::NAME, "name", ArgKind::String),
                            keyword(words::PRICE, "price", ArgKind::String),
                            keyword(words::STOCK, "stock", ArgKind::Integer).optional(),
                            keyword(words::ID, "id", ArgKind::Integer).optional(),
                        ],
                        ..PRODUCTS
                    }
                }
            }
            Verb::Get => {
                const {
                    &Spec {
                        names: &["PRODUCT.GET"],
                        summary: "A product as JSON, or nil",
                        access: Access::ReadOne,
                        syntax: &[value("id", ArgKind::Integer)],
                        ..PRODUCTS
                    }
                }
            }
            Verb::Update => {
                const {
                    &Spec {
                        names: &["PRODUCT.UPDATE"],
                        summary: "Change fields of a product",
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
                                            token(words::PRICE),
                                            token(words::STOCK)
                                        ],
                                    ),
                                    value("value", ArgKind::String),
                                ],
                            )
                            .multiple(),
                        ],
                        ..PRODUCTS
                    }
                }
            }
            Verb::Del => {
                const {
                    &Spec {
                        names: &["PRODUCT.DEL"],
                        summary: "Delete a product that was never ordered",
                        role: Some(Role::Writer),
                        access: Access::Write,
                        syntax: &[value("id", ArgKind::Integer)],
                        ..PRODUCTS
                    }
                }
            }
            Verb::List => {
                const {
                    &Spec {
                        names: &["PRODUCT.LIST"],
                        summary: "A page of products, ids ascending after AFTER",
                        syntax: PAGE,
                        ..PRODUCTS
                    }
                }
            }
            Verb::Query => &super::query::PRODUCT_QUERY,
            Verb::Count => &super::query::PRODUCT_COUNT,
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Product> {
        Ok(match self {
            Verb::Add => Product::Add(args.keywords_and_fields(self.spec().syntax)?),
            Verb::Get => Product::Get(args.required()?),
            Verb::Del => Product::Del(args.required()?),
            Verb::Update => {
                let id = args.required()?;
                Product::Update(id, parse_fields::<Record>(args)?)
            }
            Verb::List => Product::List(args.keywords(self.spec().syntax)?),
            Verb::Query => Product::Query(super::query::Query::parse(args, false)?),
            Verb::Count => Product::Count(super::query::Query::parse(args, true)?),
        })
    }
}

/// What the product verbs share: readers may run them unless an entry says otherwise.
const PRODUCTS: Spec = Spec {
    group: Group::Product,
    role: Some(Role::Reader),
    access: Access::Read,
    ..PLAIN
};

/// `PRODUCT.ADD`'s write, from its words alone (see `submit.rs`).
pub(super) fn add_write(k: &Keywords, catalog: &Catalog) -> CmdResult<Op> {
    let schema = <Record as crm_engine::Record>::schema();
    let (record, named) = schema.read_given(&field_values::<Record>(k)?)?;
    let mut new = NewProduct::from_fields(None, record, named);
    let keywords: Vec<&str> = keywords_of(Verb::Add.spec().syntax)
        .map(|(name, _)| name)
        .collect();
    new.custom = custom_values(
        k.fields(),
        Kind::Product,
        catalog,
        ("product.add", "keyword"),
        &keywords,
    )?;
    if let Some(id) = k.value(words::ID) {
        new = new.with_id(write_id("id", id)?);
    }
    Ok(Op::AddProduct(new))
}

pub async fn execute(context: &Context<'_>, command: Product) -> CmdResult {
    let shared = context.shared;
    let store = &shared.store;
    match command {
        Product::Add(k) => new_id(
            store
                .write_async(add_write(&k, &store.catalog())?.by(context.author()))
                .await,
        ),
        Product::Get(id) => match read_id(&id) {
            Some(id) => Ok(engine(store.product_shared(id))?.map_or(Reply::Nil, |p| {
                Reply::Bulk(p.to_json_bytes(&store.catalog()))
            })),
            None => Ok(Reply::Nil),
        },
        Product::Update(id, fields) => {
            let id = write_id("id", &id)?;
            let mut patch = ProductPatch::default();
            for (field, value) in &fields.builtin {
                patch.set(*field, text(name_of::<Record>(*field), value)?)?;
            }
            patch.custom = fields.custom_values::<Record>(
                Kind::Product,
                &store.catalog(),
                "product.update",
            )?;
            engine(
                store
                    .write_async(Op::UpdateProduct(id, patch).by(context.author()))
                    .await,
            )?;
            Ok(Reply::ok())
        }
        Product::Del(id) => {
            let id = write_id("id", &id)?;
            engine(
                store
                    .write_async(Op::DeleteProduct(id).by(context.author()))
                    .await,
            )?;
            Ok(Reply::Integer(1))
        }
        Product::List(k) => {
            let (after, limit) = page(&k, DEFAULT_LIMIT)?;
            let fetch = |store: &crm_engine::Store, after: u64, limit: usize| {
                let catalog = store.catalog();
                Ok(store
                    .products(after, limit)?
                    .iter()
                    .map(|p| (p.id, Reply::Bulk(p.to_json_bytes(&catalog))))
                    .collect())
            };
            super::paged::page(shared, after, limit, std::sync::Arc::new(fetch)).await
        }
        Product::Query(query) => super::query::query(context, Kind::Product, query).await,
        Product::Count(query) => super::query::count(context, Kind::Product, query).await,
    }
}
