//! The write paths of orders: add (checking references and taking stock) and delete (giving
//! stock back). Both keep the per-customer and per-product rollups in the same step.

use super::ids;
use super::view::{Plan, View};
use super::Outcome;
use crate::error::{Error, Kind, Result};
use crate::journal::{Draft, JournalOp};
use crate::model::{CustomerRollup, NewOrder, Order, Product};
use crate::schema::Record;
use crate::trees::{id_key, Space};
use crate::values::{now, MAX_STOCK};

pub fn add(view: &View, new: &NewOrder) -> Result<(Plan, Outcome)> {
    let mut plan = Plan::default();
    let id = ids::choose(view, Space::Order, new.id)?;
    if !view.exists(Space::Customer, new.customer_id)? {
        return Err(Error::MissingReference {
            kind: Kind::Customer,
            id: new.customer_id,
        });
    }
    let mut product: Product = view
        .product(new.product_id)?
        .ok_or(Error::MissingReference {
            kind: Kind::Product,
            id: new.product_id,
        })?;
    ids::claim(
        view,
        &mut plan,
        Space::Order,
        Kind::Order,
        id,
        new.id.is_some(),
    )?;
    if new.take_stock {
        let requested = u64::from(new.quantity);
        if product.stock < requested {
            return Err(Error::Stock {
                product_id: product.id,
                available: product.stock,
                requested,
            });
        }
        let before = product.clone();
        product.stock -= requested;
        plan.put_product(Some(&before), &product);
    }
    let order = Order {
        id,
        customer_id: new.customer_id,
        product_id: new.product_id,
        quantity: new.quantity,
        unit_price_cents: product.price_cents,
        created_at: new.created_at.unwrap_or_else(now),
        took_stock: new.take_stock,
    };
    plan.put_order(None, &order);

    let mut customer_rollup = view.customer_rollup(order.customer_id).unwrap_or_default();
    customer_rollup.add(order.amount_cents(), order.created_at);
    plan.put_rollup(order.customer_id, Some(customer_rollup));

    let mut product_rollup = view.product_rollup(order.product_id).unwrap_or_default();
    product_rollup.add(order.quantity, order.amount_cents());
    plan.put_product_rollup(order.product_id, Some(product_rollup));

    plan.adjust_count(view, Space::Order, 1)?;
    let fields = Order::schema().names(new.given());
    plan.journal(Draft::record(JournalOp::Add, Kind::Order, id, fields));
    Ok((plan, Outcome::Id(id)))
}

pub fn delete(view: &View, id: u64) -> Result<(Plan, Outcome)> {
    let order_key = id_key(Space::Order, id);
    let order: Order = view
        .record(&order_key)?
        .ok_or_else(|| Error::not_found(Kind::Order, id))?;
    let mut plan = Plan::journaled(Draft::record(
        JournalOp::Delete,
        Kind::Order,
        id,
        Vec::new(),
    ));
    if order.took_stock {
        let mut product: Product = view.product(order.product_id)?.ok_or_else(|| {
            Error::Corrupt(format!(
                "order {id} refers to product {} which is missing",
                order.product_id
            ))
        })?;
        let restored = product.stock + u64::from(order.quantity);
        if restored > MAX_STOCK {
            return Err(Error::invalid(
                "stock",
                format!(
                    "giving back {} units would bring product {} to {restored}, more than {MAX_STOCK}",
                    order.quantity, product.id
                ),
            ));
        }
        let before = product.clone();
        product.stock = restored;
        plan.put_product(Some(&before), &product);
    }
    plan.remove_order(&order);

    let rollup = customer_rollup_without(view, &order)?;
    plan.put_rollup(
        order.customer_id,
        (rollup.order_count > 0).then_some(rollup),
    );

    let mut product_rollup = view.product_rollup(order.product_id).unwrap_or_default();
    product_rollup.remove(order.quantity, order.amount_cents());
    plan.put_product_rollup(
        order.product_id,
        (product_rollup.order_count > 0).then_some(product_rollup),
    );

    plan.adjust_count(view, Space::Order, -1)?;
    Ok((plan, Outcome::Done))
}

/// The customer's rollup once `order` is gone. Count and total are adjusted; first and last
/// order times are recomputed from the customer's orders in the index, which carry each
/// order's time.
fn customer_rollup_without(view: &View, order: &Order) -> Result<CustomerRollup> {
    let old = view.customer_rollup(order.customer_id).unwrap_or_default();
    let times: Vec<i64> = view
        .customer_orders(order.customer_id)
        .into_iter()
        .filter(|(id, _)| *id != order.id)
        .map(|(_, at)| at)
        .collect();
    Ok(CustomerRollup {
        order_count: old.order_count.saturating_sub(1),
        total_cents: old
            .total_cents
            .saturating_sub(u128::from(order.amount_cents())),
        first_order: times.iter().copied().min(),
        last_order: times.iter().copied().max(),
    })
}
