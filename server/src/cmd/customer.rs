//! `CUSTOMER.ADD | GET | UPDATE | DEL | FIND | LIST`.

use super::values::{engine, page, read_id, write_id};
use crate::parse::{
    kw, optional_text, printable, required_text, syntax, text, Args, CmdResult, Keywords,
};
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::values::DEFAULT_LIMIT;
use crm_engine::{CustomerPatch, NewCustomer, Op};

const ADD_KEYWORDS: [crate::parse::Keyword; 6] = [
    kw("NAME"),
    kw("EMAIL"),
    kw("PHONE"),
    kw("ADDRESS"),
    kw("CREATED_AT"),
    kw("ID"),
];
const FIELDS: [&str; 4] = ["NAME", "EMAIL", "PHONE", "ADDRESS"];

/// A parsed customer command.
pub enum Customer {
    Add(Keywords),
    Get(Vec<u8>),
    Update(Vec<u8>, Vec<(String, Vec<u8>)>),
    Del(Vec<u8>),
    Find(&'static str, Vec<u8>),
    List(Keywords),
}

/// Parses `FIELD value [FIELD value ...]` of an `UPDATE`: at least one, each known, no repeats.
pub fn parse_fields(args: &mut Args, known: &[&str]) -> CmdResult<Vec<(String, Vec<u8>)>> {
    if args.remaining() == 0 {
        return Err(args.wrong_arity());
    }
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    while let Some(field) = args.next() {
        let name = String::from_utf8_lossy(&field).to_ascii_uppercase();
        if !known.contains(&name.as_str()) {
            return Err(syntax(format!(
                "syntax error: unknown field '{}' for '{}' ({})",
                printable(&field),
                args.command(),
                known.join(", ")
            )));
        }
        if fields.iter().any(|(n, _)| *n == name) {
            return Err(syntax(format!("syntax error: field '{name}' given twice")));
        }
        let value = args
            .next()
            .ok_or_else(|| syntax(format!("syntax error: field '{name}' needs a value")))?;
        fields.push((name, value));
    }
    Ok(fields)
}

pub fn parse(name: &str, args: &mut Args) -> CmdResult<Customer> {
    let command = match name {
        "CUSTOMER.ADD" => Customer::Add(args.keywords(&ADD_KEYWORDS)?),
        "CUSTOMER.GET" => Customer::Get(args.required()?),
        "CUSTOMER.DEL" => Customer::Del(args.required()?),
        "CUSTOMER.UPDATE" => {
            let id = args.required()?;
            Customer::Update(id, parse_fields(args, &FIELDS)?)
        }
        "CUSTOMER.FIND" => {
            let by = args.required()?;
            let by = match by.to_ascii_uppercase().as_slice() {
                b"EMAIL" => "EMAIL",
                b"PHONE" => "PHONE",
                b"NAME" => "NAME",
                _ => {
                    return Err(syntax(format!(
                    "syntax error: unknown keyword '{}' for 'customer.find' (EMAIL, PHONE, NAME)",
                    printable(&by)
                )))
                }
            };
            Customer::Find(by, args.required()?)
        }
        _ => Customer::List(args.keywords(&[kw("AFTER"), kw("LIMIT")])?),
    };
    args.finish()?;
    Ok(command)
}

pub async fn execute(shared: &Shared, command: Customer) -> CmdResult {
    let store = &shared.store;
    match command {
        Customer::Add(k) => {
            let mut new = NewCustomer::parse(
                required_text("name", k.value("NAME"))?,
                required_text("email", k.value("EMAIL"))?,
                optional_text("phone", k.value("PHONE"))?,
                optional_text("address", k.value("ADDRESS"))?,
                optional_text("created_at", k.value("CREATED_AT"))?,
            )?;
            if let Some(id) = k.value("ID") {
                new = new.with_id(write_id("id", id)?);
            }
            Ok(Reply::Integer(
                engine(store.write_async(Op::AddCustomer(new)).await)?.id() as i64,
            ))
        }
        Customer::Get(id) => match read_id(&id) {
            Some(id) => Ok(engine(store.customer_shared(id))?
                .map_or(Reply::Nil, |c| Reply::Bulk(c.to_json_bytes()))),
            None => Ok(Reply::Nil),
        },
        Customer::Update(id, fields) => {
            let id = write_id("id", &id)?;
            let mut patch = CustomerPatch::default();
            for (field, value) in &fields {
                let field_name = match field.as_str() {
                    "NAME" => "name",
                    "EMAIL" => "email",
                    "PHONE" => "phone",
                    _ => "address",
                };
                patch.set(field, text(field_name, value)?)?;
            }
            engine(store.write_async(Op::UpdateCustomer(id, patch)).await)?;
            Ok(Reply::ok())
        }
        Customer::Del(id) => {
            let id = write_id("id", &id)?;
            engine(store.write_async(Op::DeleteCustomer(id)).await)?;
            Ok(Reply::Integer(1))
        }
        Customer::Find(by, value) => {
            let field = match by {
                "EMAIL" => "email",
                "PHONE" => "phone",
                _ => "name",
            };
            let value = text(field, &value)?;
            let found = match by {
                "EMAIL" => store.find_by_email(value),
                "PHONE" => store.find_by_phone(value),
                _ => store.find_by_name(value),
            };
            Ok(Reply::bulk_array(
                engine(found)?.iter().map(|c| c.to_json_bytes()),
            ))
        }
        Customer::List(k) => {
            let (after, limit) = page(&k, DEFAULT_LIMIT)?;
            Ok(Reply::bulk_array(
                engine(store.customers(after, limit))?
                    .iter()
                    .map(|c| c.to_json_bytes()),
            ))
        }
    }
}
