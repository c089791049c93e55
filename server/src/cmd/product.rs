//! `PRODUCT.ADD | GET | UPDATE | DEL | LIST`.

use super::context::Context;
use super::values::{engine, new_id, page, parse_fields, read_id, write_id};
use crate::parse::{kw, optional_text, required_text, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crate::vocabulary::{self as words, product_keyword};
use crm_engine::values::DEFAULT_LIMIT;
use crm_engine::{Field, NewProduct, Op, ProductField, ProductPatch, Role};

#[derive(Clone, Copy)]
pub enum Verb {
    Add,
    Get,
    Update,
    Del,
    List,
}

/// A parsed product command.
pub enum Product {
    Add(Keywords),
    Get(Vec<u8>),
    Update(Vec<u8>, Vec<(ProductField, Vec<u8>)>),
    Del(Vec<u8>),
    List(Keywords),
}

impl Verb {
    pub fn named(name: &str) -> Option<Verb> {
        Some(match name {
            "PRODUCT.ADD" => Verb::Add,
            "PRODUCT.GET" => Verb::Get,
            "PRODUCT.UPDATE" => Verb::Update,
            "PRODUCT.DEL" => Verb::Del,
            "PRODUCT.LIST" => Verb::List,
            _ => return None,
        })
    }
}

impl super::context::Verb for Verb {
    type Command = Product;

    fn minimum_arguments(self) -> usize {
        match self {
            Verb::Add => 4,
            Verb::Update => 3,
            Verb::Get | Verb::Del => 1,
            Verb::List => 0,
        }
    }

    fn required_role(self) -> Option<Role> {
        Some(match self {
            Verb::Add | Verb::Update | Verb::Del => Role::Writer,
            Verb::Get | Verb::List => Role::Reader,
        })
    }

    fn parse(self, args: &mut Args) -> CmdResult<Product> {
        Ok(match self {
            Verb::Add => Product::Add(args.keywords(&[
                kw(product_keyword(ProductField::Name)),
                kw(product_keyword(ProductField::Price)),
                kw(product_keyword(ProductField::Stock)),
                kw(words::ID),
            ])?),
            Verb::Get => Product::Get(args.required()?),
            Verb::Del => Product::Del(args.required()?),
            Verb::Update => {
                let id = args.required()?;
                Product::Update(id, parse_fields(args)?)
            }
            Verb::List => Product::List(args.keywords(&[kw(words::AFTER), kw(words::LIMIT)])?),
        })
    }
}

/// `PRODUCT.ADD`'s write, from its words alone (see `submit.rs`).
pub(super) fn add_write(k: &Keywords) -> CmdResult<Op> {
    let mut new = NewProduct::parse(
        required_text("name", k.value(product_keyword(ProductField::Name)))?,
        required_text("price", k.value(product_keyword(ProductField::Price)))?,
        optional_text("stock", k.value(product_keyword(ProductField::Stock)))?,
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
        Product::Add(k) => new_id(store.write_async(add_write(&k)?.by(context.author())).await),
        Product::Get(id) => match read_id(&id) {
            Some(id) => Ok(engine(store.product_shared(id))?
                .map_or(Reply::Nil, |p| Reply::Bulk(p.to_json_bytes()))),
            None => Ok(Reply::Nil),
        },
        Product::Update(id, fields) => {
            let id = write_id("id", &id)?;
            let mut patch = ProductPatch::default();
            for (field, value) in &fields {
                patch.set(*field, text(field.as_str(), value)?)?;
            }
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
                Ok(store
                    .products(after, limit)?
                    .iter()
                    .map(|p| (p.id, Reply::Bulk(p.to_json_bytes())))
                    .collect())
            };
            super::paged::page(shared, after, limit, std::sync::Arc::new(fetch)).await
        }
    }
}
