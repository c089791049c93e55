//! `STATS.*`: analytics over the engine's rollups and parallel scans. Every statistic but
//! `STATS.CUSTOMER` (one rollup read) is a heavy command: it runs off the async workers,
//! within the heavy permits, and stops when its client leaves (see `offload.rs`).

use super::context::Context;
use super::offload::heavy;
use super::spec::{keyword, one_of, token, value, Access, Arg, ArgKind, Group, Spec, PLAIN};
use super::values::{engine, limit, read_id, timestamp};
use crate::parse::{printable, required_text, text, Args, CmdResult, Keywords};
use crate::pieces::HeldRows;
use crate::reply::Reply;
use crm_engine::stats::{self, CustomerOrder};
use crm_engine::values::{now, DEFAULT_LIMIT};
use crm_engine::{Kind, Role};

/// The most clusters `STATS.CLUSTERS` computes: k-means++ seeding costs n·k², so a larger K
/// would let one request take minutes of CPU.
pub const MAX_CLUSTERS: u64 = 100;

#[derive(Clone, Copy)]
pub enum Verb {
    Customer,
    Customers,
    Products,
    Monthly,
    Rfm,
    Clusters,
    Anomalies,
    Forecast,
    Churn,
}

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

impl super::context::Verb for Verb {
    type Command = Stats;

    const ALL: &'static [Verb] = &[
        Verb::Customer,
        Verb::Customers,
        Verb::Products,
        Verb::Monthly,
        Verb::Rfm,
        Verb::Clusters,
        Verb::Anomalies,
        Verb::Forecast,
        Verb::Churn,
    ];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Customer => {
                const {
                    &Spec {
                        names: &["STATS.CUSTOMER"],
                        summary: "One customer's order count, total and first and last order",
                        access: Access::ReadOne,
                        syntax: &[value("id", ArgKind::Integer)],
                        ..STATS
                    }
                }
            }
            Verb::Customers => {
                const {
                    &Spec {
                        names: &["STATS.CUSTOMERS"],
                        summary: "Customers with orders, by total, count or id",
                        syntax: &[
                            Arg {
                                token: Some("BY"),
                                ..one_of!("order", [token("TOTAL"), token("COUNT"), token("ID")])
                            }
                            .optional(),
                            keyword("LIMIT", "count", ArgKind::Integer).optional(),
                        ],
                        ..STATS
                    }
                }
            }
            Verb::Products => {
                const {
                    &Spec {
                        names: &["STATS.PRODUCTS"],
                        summary:
                            "Products with orders: units, revenue, order count; revenue descending",
                        syntax: &[keyword("LIMIT", "count", ArgKind::Integer).optional()],
                        ..STATS
                    }
                }
            }
            Verb::Monthly => {
                const {
                    &Spec {
                        names: &["STATS.MONTHLY"],
                        summary: "Orders, revenue and distinct customers per month",
                        syntax: &[
                            keyword("SINCE", "time", ArgKind::String).optional(),
                            keyword("UNTIL", "time", ArgKind::String).optional(),
                        ],
                        ..STATS
                    }
                }
            }
            Verb::Rfm => {
                const {
                    &Spec {
                        names: &["STATS.RFM"],
                        summary:
                            "Customers and revenue per RFM segment (recency, frequency, monetary)",
                        syntax: &[keyword("ASOF", "time", ArgKind::String).optional()],
                        ..STATS
                    }
                }
            }
            Verb::Clusters => {
                const {
                    &Spec {
                        names: &["STATS.CLUSTERS"],
                        summary:
                            "k-means clusters of customers by recency, frequency and monetary value",
                        syntax: &[
                            keyword("K", "k", ArgKind::Integer),
                            keyword("SEED", "seed", ArgKind::Integer).optional(),
                            keyword("ASOF", "time", ArgKind::String).optional(),
                        ],
                        ..STATS
                    }
                }
            }
            Verb::Anomalies => {
                const {
                    &Spec {
                        names: &["STATS.ANOMALIES"],
                        summary: "Orders whose amount is far from the median (robust z-score)",
                        syntax: &[
                            keyword("THRESHOLD", "z", ArgKind::Double).optional(),
                            keyword("LIMIT", "count", ArgKind::Integer).optional(),
                        ],
                        ..STATS
                    }
                }
            }
            Verb::Forecast => {
                const {
                    &Spec {
                        names: &["STATS.FORECAST"],
                        summary: "Monthly revenue's least-squares trend, extended some months",
                        syntax: &[keyword("MONTHS", "months", ArgKind::Integer).optional()],
                        ..STATS
                    }
                }
            }
            Verb::Churn => {
                const {
                    &Spec {
                        names: &["STATS.CHURN"],
                        summary:
                            "Each customer's probability of ordering no more (logistic regression)",
                        syntax: &[
                            keyword("ASOF", "time", ArgKind::String).optional(),
                            keyword("HORIZON", "days", ArgKind::Integer).optional(),
                            keyword("LIMIT", "count", ArgKind::Integer).optional(),
                        ],
                        ..STATS
                    }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Stats> {
        let syntax = self.spec().syntax;
        Ok(match self {
            Verb::Customer => Stats::Customer(args.required()?),
            Verb::Customers => Stats::Customers(args.keywords(syntax)?),
            Verb::Products => Stats::Products(args.keywords(syntax)?),
            Verb::Monthly => Stats::Monthly(args.keywords(syntax)?),
            Verb::Rfm => Stats::Rfm(args.keywords(syntax)?),
            Verb::Clusters => Stats::Clusters(args.keywords(syntax)?),
            Verb::Anomalies => Stats::Anomalies(args.keywords(syntax)?),
            Verb::Forecast => Stats::Forecast(args.keywords(syntax)?),
            Verb::Churn => Stats::Churn(args.keywords(syntax)?),
        })
    }
}

/// What the statistics share: analysts may run them.
const STATS: Spec = Spec {
    group: Group::Analytics,
    role: Some(Role::Analyst),
    access: Access::Read,
    ..PLAIN
};

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

pub async fn execute(context: &Context<'_>, command: Stats) -> CmdResult {
    let shared = context.shared;
    let cancel = &context.session.cancel;
    match command {
        Stats::Customer(id) => {
            let not_found =
                || Reply::from(crm_engine::Error::not_found(Kind::Customer, printable(&id)));
            let customer_id = read_id(&id).ok_or_else(not_found)?;
            let rollup =
                engine(shared.store.customer_rollup(customer_id))?.ok_or_else(not_found)?;
            Ok(Reply::json(&rollup.to_json(customer_id)))
        }
        Stats::Customers(k) => {
            let order = customer_order(&k)?;
            let limit = limit(&k, DEFAULT_LIMIT)?;
            heavy(shared, cancel, move |store| {
                let rows = stats::customer_table(store, order, limit)?;
                HeldRows::reply(rows, customer_row, store)
            })
            .await
        }
        Stats::Products(k) => {
            let limit = limit(&k, DEFAULT_LIMIT)?;
            heavy(shared, cancel, move |store| {
                HeldRows::reply(
                    stats::products(store, limit)?,
                    |_, r| Ok(Reply::json(&r.to_json())),
                    store,
                )
            })
            .await
        }
        Stats::Monthly(k) => {
            let since = timestamp(&k, "SINCE", "since")?;
            let until = timestamp(&k, "UNTIL", "until")?;
            heavy(shared, cancel, move |store| {
                HeldRows::reply(
                    stats::monthly(store, since, until)?,
                    |_, r| Ok(Reply::json(&r.to_json())),
                    store,
                )
            })
            .await
        }
        Stats::Rfm(k) => {
            let as_of = timestamp(&k, "ASOF", "asof")?.unwrap_or_else(now);
            let rows = heavy(shared, cancel, move |store| stats::rfm(store, as_of)).await?;
            Ok(Reply::json_array(rows.iter().map(|r| r.to_json())))
        }
        Stats::Clusters(k) => {
            let clusters = number(
                "k",
                required_text("k", k.value("K"))?.as_bytes(),
                1..=MAX_CLUSTERS,
            )? as usize;
            let seed = k
                .value("SEED")
                .map(|s| number("seed", s, 0..=u64::MAX))
                .transpose()?
                .unwrap_or(0);
            let as_of = timestamp(&k, "ASOF", "asof")?.unwrap_or_else(now);
            let rows = heavy(shared, cancel, move |store| {
                stats::clusters(store, clusters, seed, as_of)
            })
            .await?;
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
            heavy(shared, cancel, move |store| {
                let rows = stats::anomalies(store, threshold, limit)?;
                HeldRows::reply(rows, |_, r| Ok(Reply::json(&r.to_json())), store)
            })
            .await
        }
        Stats::Forecast(k) => {
            let months = k
                .value("MONTHS")
                .map(|m| number("months", m, 1..=24))
                .transpose()?
                .unwrap_or(3) as usize;
            let result = heavy(shared, cancel, move |store| stats::forecast(store, months)).await?;
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
            let result = heavy(shared, cancel, move |store| {
                stats::churn(store, as_of, horizon, limit)
            })
            .await?;
            Ok(Reply::json(&result.to_json()))
        }
    }
}

/// A row of `STATS.CUSTOMERS`: the rollup and the customer's name (null once forgotten), read
/// as the row is sent.
fn customer_row(
    store: &crm_engine::Store,
    (id, rollup): (u64, crm_engine::CustomerRollup),
) -> crm_engine::Result<Reply> {
    let mut row = rollup.to_json(id);
    row["name"] = serde_json::json!(store.customer(id)?.map(|c| c.name));
    Ok(Reply::json(&row))
}
