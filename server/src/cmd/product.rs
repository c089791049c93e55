//! `PRODUCT.ADD | GET | UPDATE | DEL | LIST`.

use super::customer::parse_fields;
use super::values::{engine, page, read_id, write_id};
use crate::parse::{kw, optional_text, required_text, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::values::DEFAULT_LIMIT;
use crm_engine::{NewProduct, Op, ProductPatch};

const FIELDS: [&str; 3] = ["NAME", "PRICE", "STOCK"];

/// A parsed product command.
pub enum Product {
    Add(Keywords),
    Get(Vec<u8>),
    Update(Vec<u8>, Vec<(String, Vec<u8>)>),
    Del(Vec<u8>),
    List(Keywords),
}

pub fn parse(name: &str, args: &mut Args) -> CmdResult<Product> {
    let command = match name {
        "PRODUCT.ADD" => {
            Product::Add(args.keywords(&[kw("NAME"), kw("PRICE"), kw("STOCK"), kw("ID")])?)
        }
        "PRODUCT.GET" => Product::Get(args.required()?),
        "PRODUCT.DEL" => Product::Del(args.required()?),
        "PRODUCT.UPDATE" => {
            let id = args.required()?;
            Product::Update(id, parse_fields(args, &FIELDS)?)
        }
        _ => Product::List(args.keywords(&[kw("AFTER"), kw("LIMIT")])?),
    };
    args.finish()?;
    Ok(command)
}

pub async fn execute(shared: &Shared, command: Product) -> CmdResult {
    let store = &shared.store;
    match command {
        Product::Add(k) => {
            let mut new = NewProduct::parse(
                required_text("name", k.value("NAME"))?,
                required_text("price", k.value("PRICE"))?,
                optional_text("stock", k.value("STOCK"))?,
            )?;
            if let Some(id) = k.value("ID") {
                new = new.with_id(write_id("id", id)?);
            }
            Ok(Reply::Integer(
                engine(store.write_async(Op::AddProduct(new)).await)?.id() as i64,
            ))
        }
        Product::Get(id) => match read_id(&id) {
            Some(id) => Ok(engine(store.product_shared(id))?
                .map_or(Reply::Nil, |p| Reply::Bulk(p.to_json_bytes()))),
            None => Ok(Reply::Nil),
        },
        Product::Update(id, fields) => {
            let id = write_id("id", &id)?;
            let mut patch = ProductPatch::default();
            for (field, value) in &fields {
                let field_name = match field.as_str() {
                    "NAME" => "name",
                    "PRICE" => "price",
                    _ => "stock",
                };
                patch.set(field, text(field_name, value)?)?;
            }
            engine(store.write_async(Op::UpdateProduct(id, patch)).await)?;
            Ok(Reply::ok())
        }
        Product::Del(id) => {
            let id = write_id("id", &id)?;
            engine(store.write_async(Op::DeleteProduct(id)).await)?;
            Ok(Reply::Integer(1))
        }
        Product::List(k) => {
            let (after, limit) = page(&k, DEFAULT_LIMIT)?;
            Ok(Reply::bulk_array(
                engine(store.products(after, limit))?
                    .iter()
                    .map(|p| p.to_json_bytes()),
            ))
        }
    }
}
