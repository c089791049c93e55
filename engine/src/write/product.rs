//! The write paths of products: add, update, delete.

use super::ids;
use super::view::{Plan, View};
use super::Outcome;
use crate::error::{Error, Kind, Result};
use crate::journal::{Draft, JournalOp};
use crate::model::{NewProduct, Product, ProductPatch};
use crate::schema::Record;
use crate::trees::{id_key, Space};

pub fn add(view: &View, new: &NewProduct) -> Result<(Plan, Outcome)> {
    let catalog = super::schema::checked(view, Kind::Product, &new.custom)?;
    let mut plan = Plan::default();
    let id = ids::choose(view, Space::Product, new.id)?;
    ids::claim(
        view,
        &mut plan,
        Space::Product,
        Kind::Product,
        id,
        new.id.is_some(),
    )?;
    let product = new.to_record(id);
    plan.put_product(None, &product);
    plan.adjust_count(view, Space::Product, 1)?;
    let mut fields: Vec<String> = Product::schema()
        .names(new.given())
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(catalog) = catalog {
        let set: Vec<u32> = new.custom.set_ids().collect();
        fields.extend(catalog.names_of(Kind::Product, |id| set.contains(&id)));
    }
    let fields = fields.iter().map(String::as_str).collect();
    plan.journal(Draft::record(JournalOp::Add, Kind::Product, id, fields));
    Ok((plan, Outcome::Id(id)))
}

pub fn update(view: &View, id: u64, patch: &ProductPatch) -> Result<(Plan, Outcome)> {
    let key = id_key(Space::Product, id);
    let mut product: Product = view
        .record(&key)?
        .ok_or_else(|| Error::not_found(Kind::Product, id))?;
    super::schema::checked(view, Kind::Product, &patch.custom)?;
    let old = product.clone();
    patch.apply_to(&mut product);
    let mut fields: Vec<String> = Product::schema()
        .names(Product::schema().changed(&old, &product))
        .into_iter()
        .map(str::to_string)
        .collect();
    let changed = crate::schema::custom::changed_ids(&old.custom, &product.custom);
    if !changed.is_empty() {
        let catalog = super::schema::catalog(view)?;
        fields.extend(catalog.names_of(Kind::Product, |id| changed.contains(&id)));
    }
    let fields = fields.iter().map(String::as_str).collect();
    let mut plan = Plan::journaled(Draft::record(JournalOp::Update, Kind::Product, id, fields));
    plan.put_product(Some(&old), &product);
    Ok((plan, Outcome::Done))
}

pub fn delete(view: &View, id: u64) -> Result<(Plan, Outcome)> {
    let product = view
        .product(id)?
        .ok_or_else(|| Error::not_found(Kind::Product, id))?;
    if let Some(rollup) = view.product_rollup(id).filter(|r| r.order_count > 0) {
        return Err(Error::StillOrdered {
            kind: Kind::Product,
            id,
            orders: rollup.order_count,
        });
    }
    let mut plan = Plan::journaled(Draft::record(
        JournalOp::Delete,
        Kind::Product,
        id,
        Vec::new(),
    ));
    plan.remove_product(&product);
    plan.adjust_count(view, Space::Product, -1)?;
    Ok((plan, Outcome::Done))
}
