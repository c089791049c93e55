//! The cluster options of `crm-server serve` and their checks (PROTOCOL.md, "Start").
//!
//! Each check refuses a bad value with one line naming the option, the value and what is
//! allowed, so `serve` can print it as its one error line and exit 1 before touching anything.

use crate::error::{Error, Result};
use std::time::Duration;

/// The longest cluster or node name.
pub const MAX_NAME: usize = 64;
/// `--lease-ttl` bounds and default, in seconds.
pub const LEASE_TTL_SECS: (u64, u64, u64) = (2, 60, 5);
/// `--log-retain` bounds and default, in seconds.
pub const LOG_RETAIN_SECS: (u64, u64, u64) = (60, 604_800, 3_600);

/// A node's cluster configuration, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// etcd client URLs (`http://host:port`).
    pub endpoints: Vec<String>,
    /// The cluster's name (also the Sentinel service name).
    pub cluster_name: String,
    /// This node's name, unique in the cluster.
    pub node: String,
    /// Where clients reach this node, `host:port`.
    pub advertise: String,
    pub lease_ttl: Duration,
    pub log_retain: Duration,
}

/// The options as given on the command line (`None`: not given).
#[derive(Clone, Debug, Default)]
pub struct ClusterArgs<'a> {
    pub cluster: &'a str,
    pub cluster_name: &'a str,
    pub node: &'a str,
    pub advertise: Option<&'a str>,
    /// The `--listen` address, the default for `advertise`.
    pub listen: &'a str,
    pub lease_ttl: Option<u64>,
    pub log_retain: Option<u64>,
}

impl ClusterConfig {
    /// Checks every option; the first bad one is refused.
    pub fn from_args(args: &ClusterArgs<'_>) -> Result<ClusterConfig> {
        Ok(ClusterConfig {
            endpoints: endpoints(args.cluster)?,
            cluster_name: name("--cluster-name", args.cluster_name)?,
            node: name("--node", args.node)?,
            advertise: address("--advertise", args.advertise.unwrap_or(args.listen))?,
            lease_ttl: seconds("--lease-ttl", args.lease_ttl, LEASE_TTL_SECS)?,
            log_retain: seconds("--log-retain", args.log_retain, LOG_RETAIN_SECS)?,
        })
    }
}

/// A cluster or node name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn name(option: &str, value: &str) -> Result<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if value.is_empty() || value.len() > MAX_NAME || !value.chars().all(allowed) {
        return Err(Error::Config(format!(
            "{option} {}: must be 1 to {MAX_NAME} of A-Z a-z 0-9 . _ -",
            shown(value)
        )));
    }
    Ok(value.to_string())
}

/// A number of seconds within `(min, max, default)`.
pub fn seconds(
    option: &str,
    value: Option<u64>,
    (min, max, default): (u64, u64, u64),
) -> Result<Duration> {
    let value = value.unwrap_or(default);
    if !(min..=max).contains(&value) {
        return Err(Error::Config(format!(
            "{option} {value}: must be {min} to {max} seconds"
        )));
    }
    Ok(Duration::from_secs(value))
}

/// The comma-separated etcd client URLs of `--cluster`: each `http://HOST:PORT`.
pub fn endpoints(value: &str) -> Result<Vec<String>> {
    let urls: Vec<&str> = value.split(',').map(str::trim).collect();
    if value.trim().is_empty() {
        return Err(Error::Config(
            "--cluster: give etcd's client URLs, e.g. http://127.0.0.1:2379".into(),
        ));
    }
    urls.iter()
        .map(|url| {
            let rest = url.strip_prefix("http://").ok_or_else(|| {
                Error::Config(format!(
                    "--cluster {}: each URL must be http://HOST:PORT (https is not supported)",
                    shown(url)
                ))
            })?;
            let hostport = rest.strip_suffix('/').unwrap_or(rest);
            address("--cluster", hostport)
                .map_err(|_| {
                    Error::Config(format!(
                        "--cluster {}: each URL must be http://HOST:PORT",
                        shown(url)
                    ))
                })
                .map(|_| format!("http://{hostport}"))
        })
        .collect()
}

/// A `HOST:PORT` address (a host name or an IP; IPv6 in brackets), port 1 to 65535.
pub fn address(option: &str, value: &str) -> Result<String> {
    let refuse = || {
        Error::Config(format!(
            "{option} {}: must be HOST:PORT with a port from 1 to 65535",
            shown(value)
        ))
    };
    let (host, port) = value.rsplit_once(':').ok_or_else(refuse)?;
    let port: u16 = port.parse().map_err(|_| refuse())?;
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    if port == 0 || !host_ok {
        return Err(refuse());
    }
    Ok(value.to_string())
}

/// A value quoted for a one-line message, cut when very long.
fn shown(value: &str) -> String {
    const SHOWN: usize = 80;
    if value.chars().count() > SHOWN {
        format!("{:?}...", value.chars().take(SHOWN).collect::<String>())
    } else {
        format!("{value:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ClusterArgs<'static> {
        ClusterArgs {
            cluster: "http://127.0.0.1:2379,http://127.0.0.1:22379",
            cluster_name: "crm-prod",
            node: "n1",
            advertise: None,
            listen: "127.0.0.1:7379",
            lease_ttl: None,
            log_retain: None,
        }
    }

    fn refusal(args: ClusterArgs<'_>) -> String {
        match ClusterConfig::from_args(&args) {
            Err(Error::Config(line)) => line,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_good_values_are_taken() {
        let config = ClusterConfig::from_args(&args()).unwrap();
        assert_eq!(config.lease_ttl, Duration::from_secs(5));
        assert_eq!(config.log_retain, Duration::from_secs(3600));
        assert_eq!(config.advertise, "127.0.0.1:7379");
        assert_eq!(config.endpoints.len(), 2);
        let edge = ClusterConfig::from_args(&ClusterArgs {
            cluster_name: &"a".repeat(64),
            node: "A-z_0.9",
            advertise: Some("crm-1.example:7000"),
            lease_ttl: Some(2),
            log_retain: Some(604_800),
            ..args()
        })
        .unwrap();
        assert_eq!(edge.lease_ttl, Duration::from_secs(2));
        assert_eq!(edge.advertise, "crm-1.example:7000");
    }

    #[test]
    fn bad_values_are_refused_in_one_line_naming_option_and_value() {
        let long = "a".repeat(65);
        for (bad, option) in [
            (
                ClusterArgs {
                    cluster_name: "",
                    ..args()
                },
                "--cluster-name",
            ),
            (
                ClusterArgs {
                    cluster_name: &long,
                    ..args()
                },
                "--cluster-name",
            ),
            (
                ClusterArgs {
                    cluster_name: "a/b",
                    ..args()
                },
                "--cluster-name",
            ),
            (
                ClusterArgs {
                    node: "n 1",
                    ..args()
                },
                "--node",
            ),
            (
                ClusterArgs {
                    node: "é",
                    ..args()
                },
                "--node",
            ),
            (
                ClusterArgs {
                    lease_ttl: Some(1),
                    ..args()
                },
                "--lease-ttl",
            ),
            (
                ClusterArgs {
                    lease_ttl: Some(61),
                    ..args()
                },
                "--lease-ttl",
            ),
            (
                ClusterArgs {
                    log_retain: Some(59),
                    ..args()
                },
                "--log-retain",
            ),
            (
                ClusterArgs {
                    log_retain: Some(604_801),
                    ..args()
                },
                "--log-retain",
            ),
            (
                ClusterArgs {
                    cluster: "",
                    ..args()
                },
                "--cluster",
            ),
            (
                ClusterArgs {
                    cluster: "127.0.0.1:2379",
                    ..args()
                },
                "--cluster",
            ),
            (
                ClusterArgs {
                    cluster: "https://127.0.0.1:2379",
                    ..args()
                },
                "--cluster",
            ),
            (
                ClusterArgs {
                    cluster: "http://127.0.0.1",
                    ..args()
                },
                "--cluster",
            ),
            (
                ClusterArgs {
                    advertise: Some("host"),
                    ..args()
                },
                "--advertise",
            ),
            (
                ClusterArgs {
                    advertise: Some("host:0"),
                    ..args()
                },
                "--advertise",
            ),
        ] {
            let line = refusal(bad);
            assert!(line.starts_with(option), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
        assert_eq!(
            refusal(ClusterArgs {
                lease_ttl: Some(1),
                ..args()
            }),
            "--lease-ttl 1: must be 2 to 60 seconds"
        );
        assert_eq!(
            refusal(ClusterArgs {
                node: "n 1",
                ..args()
            }),
            "--node \"n 1\": must be 1 to 64 of A-Z a-z 0-9 . _ -"
        );
    }
}
