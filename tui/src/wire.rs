//! The words of the requests the console sends that `crm_server::request` has no builder for
//! yet (the cluster's `ROLE`, the analytics parameters, the journal's head). They belong
//! beside the other builders; until they move there, they are spelled here, once.

use crm_server::request::Command;

/// A request's words, the command name first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words(pub Vec<String>);

impl From<Command> for Words {
    fn from(command: Command) -> Words {
        Words(command.into_words())
    }
}

fn words(parts: &[&str]) -> Words {
    Words(parts.iter().map(|p| p.to_string()).collect())
}

/// `ROLE`: the node's place in a cluster.
pub fn role() -> Words {
    words(&["ROLE"])
}

/// `AUDIT.HEAD`: the last journal entry's `seq`.
pub fn audit_head() -> Words {
    words(&["AUDIT.HEAD"])
}

/// Appends `KEYWORD value` when the value is not empty.
fn with(mut words: Words, keyword: &str, value: &str) -> Words {
    if !value.trim().is_empty() {
        words.0.push(keyword.to_string());
        words.0.push(value.trim().to_string());
    }
    words
}

/// `STATS.RFM [ASOF t]`.
pub fn rfm(asof: &str) -> Words {
    with(words(&["STATS.RFM"]), "ASOF", asof)
}

/// `STATS.CLUSTERS K k SEED 1 [ASOF t]`.
pub fn clusters(k: &str, asof: &str) -> Words {
    let base = words(&["STATS.CLUSTERS", "K", k.trim(), "SEED", "1"]);
    with(base, "ASOF", asof)
}

/// `STATS.ANOMALIES THRESHOLD z LIMIT n`.
pub fn anomalies(threshold: &str, limit: usize) -> Words {
    let base = with(words(&["STATS.ANOMALIES"]), "THRESHOLD", threshold);
    with(base, "LIMIT", &limit.to_string())
}

/// `STATS.FORECAST MONTHS n`.
pub fn forecast(months: &str) -> Words {
    with(words(&["STATS.FORECAST"]), "MONTHS", months)
}

/// `STATS.CHURN [ASOF t] LIMIT n`.
pub fn churn(asof: &str, limit: usize) -> Words {
    let base = with(words(&["STATS.CHURN"]), "ASOF", asof);
    with(base, "LIMIT", &limit.to_string())
}
