//! `STATS.*`: analytics over the engine's rollups and parallel scans.

use super::values::{engine, limit, read_id};
use crate::parse::{kw, printable, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::values::DEFAULT_LIMIT;
use crm_engine::Kind;

/// A parsed statistics command.
pub enum Stats {
    Customer(Vec<u8>),
    Customers(Keywords),
}

pub fn parse(name: &str, args: &mut Args) -> CmdResult<Stats> {
    let command = match name {
        "STATS.CUSTOMER" => Stats::Customer(args.required()?),
        _ => Stats::Customers(args.keywords(&[kw("BY"), kw("LIMIT")])?),
    };
    args.finish()?;
    Ok(command)
}

/// The order of `STATS.CUSTOMERS`.
#[derive(Clone, Copy)]
enum By {
    Total,
    Count,
    Id,
}

fn by(keywords: &Keywords) -> CmdResult<By> {
    match keywords.value("BY") {
        None => Ok(By::Total),
        Some(value) => match text("by", value)?.to_ascii_uppercase().as_str() {
            "TOTAL" => Ok(By::Total),
            "COUNT" => Ok(By::Count),
            "ID" => Ok(By::Id),
            _ => Err(Reply::error(
                "INVALID",
                format!(
                    "by: \"{}\" is not an order (TOTAL, COUNT, ID)",
                    printable(value)
                ),
            )),
        },
    }
}

pub async fn execute(shared: &Shared, command: Stats) -> CmdResult {
    let store = shared.store.clone();
    match command {
        Stats::Customer(id) => {
            let not_found =
                || Reply::from(crm_engine::Error::not_found(Kind::Customer, printable(&id)));
            let customer_id = read_id(&id).ok_or_else(not_found)?;
            let rollup = engine(store.customer_rollup(customer_id))?.ok_or_else(not_found)?;
            Ok(Reply::json(&rollup.to_json(customer_id)))
        }
        Stats::Customers(k) => {
            let order = by(&k)?;
            let limit = limit(&k, DEFAULT_LIMIT)?;
            let rows = blocking(move || {
                let mut rollups = store.customer_rollups()?;
                match order {
                    By::Total => rollups
                        .sort_by(|a, b| b.1.total_cents.cmp(&a.1.total_cents).then(a.0.cmp(&b.0))),
                    By::Count => rollups
                        .sort_by(|a, b| b.1.order_count.cmp(&a.1.order_count).then(a.0.cmp(&b.0))),
                    By::Id => {}
                }
                rollups.truncate(limit);
                rollups
                    .into_iter()
                    .map(|(id, rollup)| {
                        let mut row = rollup.to_json(id);
                        let name = store.customer(id)?.map(|c| c.name);
                        row["name"] = serde_json::json!(name);
                        Ok(row)
                    })
                    .collect::<crm_engine::Result<Vec<_>>>()
            })
            .await?;
            Ok(Reply::json_array(rows))
        }
    }
}

/// Runs a long computation on a blocking thread, so the async workers keep serving.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> crm_engine::Result<T> + Send + 'static,
) -> CmdResult<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => engine(result),
        Err(e) => Err(Reply::error("ERR", format!("the computation failed: {e}"))),
    }
}
