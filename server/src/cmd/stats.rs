//! `STATS.*`: analytics over the engine's rollups and parallel scans. Every computation runs
//! on a blocking thread so the async workers keep serving other clients meanwhile.

use super::values::{engine, limit, read_id, timestamp};
use crate::parse::{kw, printable, required_text, text, Args, CmdResult, Keywords};
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::stats::{self, CustomerOrder};
use crm_engine::values::{now, DEFAULT_LIMIT};
use crm_engine::Kind;

/// A parsed statistics command.
pub enum Stats {
    Customer(Vec<u8>),
    Customers(Keywords),
    Products(Keywords),
    Monthly(Keywords),
    Rfm(Keywords),
    Clusters(Keywords),
    Anomalies(Keywords),
    Forecast(Keywords),
    Churn(Keywords),
}

pub fn parse(name: &str, args: &mut Args) -> CmdResult<Stats> {
    let command = match name {
        "STATS.CUSTOMER" => Stats::Customer(args.required()?),
        "STATS.CUSTOMERS" => Stats::Customers(args.keywords(&[kw("BY"), kw("LIMIT")])?),
        "STATS.PRODUCTS" => Stats::Products(args.keywords(&[kw("LIMIT")])?),
        "STATS.MONTHLY" => Stats::Monthly(args.keywords(&[kw("SINCE"), kw("UNTIL")])?),
        "STATS.RFM" => Stats::Rfm(args.keywords(&[kw("ASOF")])?),
        "STATS.CLUSTERS" => Stats::Clusters(args.keywords(&[kw("K"), kw("SEED"), kw("ASOF")])?),
        "STATS.ANOMALIES" => Stats::Anomalies(args.keywords(&[kw("THRESHOLD"), kw("LIMIT")])?),
        "STATS.FORECAST" => Stats::Forecast(args.keywords(&[kw("MONTHS")])?),
        _ => Stats::Churn(args.keywords(&[kw("ASOF"), kw("HORIZON"), kw("LIMIT")])?),
    };
    args.finish()?;
    Ok(command)
}

fn invalid(field: &str, value: &[u8], expected: &str) -> Reply {
    Reply::error(
        "INVALID",
        format!("{field}: \"{}\" is not {expected}", printable(value)),
    )
}

/// A whole number in `range`, else `INVALID` naming the field.
fn number(field: &str, value: &[u8], range: std::ops::RangeInclusive<u64>) -> CmdResult<u64> {
    let expected = format!("a whole number from {} to {}", range.start(), range.end());
    let text = std::str::from_utf8(value).map_err(|_| invalid(field, value, &expected))?;
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) && text.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(invalid(field, value, &expected)),
    }
}

fn customer_order(keywords: &Keywords) -> CmdResult<CustomerOrder> {
    match keywords.value("BY") {
        None => Ok(CustomerOrder::Total),
        Some(value) => match text("by", value)?.to_ascii_uppercase().as_str() {
            "TOTAL" => Ok(CustomerOrder::Total),
            "COUNT" => Ok(CustomerOrder::Count),
            "ID" => Ok(CustomerOrder::Id),
            _ => Err(invalid("by", value, "an order (TOTAL, COUNT, ID)")),
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
            let order = customer_order(&k)?;
            let limit = limit(&k, DEFAULT_LIMIT)?;
            let rows = blocking(move || {
                stats::customer_table(&store, order, limit)?
                    .into_iter()
                    .map(|(id, rollup)| {
                        let mut row = rollup.to_json(id);
                        row["name"] = serde_json::json!(store.customer(id)?.map(|c| c.name));
                        Ok(row)
                    })
                    .collect::<crm_engine::Result<Vec<_>>>()
            })
            .await?;
            Ok(Reply::json_array(rows))
        }
        Stats::Products(k) => {
            let limit = limit(&k, DEFAULT_LIMIT)?;
            let rows = blocking(move || stats::products(&store, limit)).await?;
            Ok(Reply::json_array(rows.iter().map(|r| r.to_json())))
        }
        Stats::Monthly(k) => {
            let since = timestamp(&k, "SINCE", "since")?;
            let until = timestamp(&k, "UNTIL", "until")?;
            let rows = blocking(move || stats::monthly(&store, since, until)).await?;
            Ok(Reply::json_array(rows.iter().map(|r| r.to_json())))
        }
        Stats::Rfm(k) => {
            let as_of = timestamp(&k, "ASOF", "asof")?.unwrap_or_else(now);
            let rows = blocking(move || stats::rfm(&store, as_of)).await?;
            Ok(Reply::json_array(rows.iter().map(|r| r.to_json())))
        }
        Stats::Clusters(k) => {
            let clusters = number(
                "k",
                required_text("k", k.value("K"))?.as_bytes(),
                1..=1_000_000,
            )? as usize;
            let seed = k
                .value("SEED")
                .map(|s| number("seed", s, 0..=u64::MAX))
                .transpose()?
                .unwrap_or(0);
            let as_of = timestamp(&k, "ASOF", "asof")?.unwrap_or_else(now);
            let rows = blocking(move || stats::clusters(&store, clusters, seed, as_of)).await?;
            Ok(Reply::json_array(rows.iter().map(|r| r.to_json())))
        }
        Stats::Anomalies(k) => {
            let threshold = match k.value("THRESHOLD") {
                None => 3.0,
                Some(value) => match std::str::from_utf8(value)
                    .ok()
                    .and_then(|t| t.parse::<f64>().ok())
                {
                    Some(z) if z.is_finite() && z >= 0.0 => z,
                    _ => return Err(invalid("threshold", value, "a number of 0 or more")),
                },
            };
            let limit = limit(&k, 1_000)?;
            let rows = blocking(move || stats::anomalies(&store, threshold, limit)).await?;
            Ok(Reply::json_array(rows.iter().map(|r| r.to_json())))
        }
        Stats::Forecast(k) => {
            let months = k
                .value("MONTHS")
                .map(|m| number("months", m, 1..=24))
                .transpose()?
                .unwrap_or(3) as usize;
            let result = blocking(move || stats::forecast(&store, months)).await?;
            Ok(Reply::json(&result.to_json()))
        }
        Stats::Churn(k) => {
            let as_of = timestamp(&k, "ASOF", "asof")?.unwrap_or_else(now);
            let horizon = k
                .value("HORIZON")
                .map(|h| number("horizon", h, 1..=36_500))
                .transpose()?
                .unwrap_or(90) as u32;
            let limit = limit(&k, DEFAULT_LIMIT)?;
            let result = blocking(move || stats::churn(&store, as_of, horizon, limit)).await?;
            Ok(Reply::json(&result.to_json()))
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
