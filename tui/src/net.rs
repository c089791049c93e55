//! The network, off the render loop: worker threads own the connections and answer requests
//! through channels, so the UI never blocks on the server.

use crm_server::client::{Client, ClientError, Value};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

/// What a reply is for, so the app knows where to put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Finding a server among the addresses and logging in on the main connection.
    Login,
    /// The backup and feed connections, once the main one is up.
    LaneUp,
    /// `ROLE`: this node's place in a cluster (also the heartbeat that notices a lost server).
    Role,
    /// A request that tells whether the user's role may use a part of the console.
    Probe(crate::role::Role),
    /// `INFO`'s record counts (admin), for "page 7 of 42".
    Counts,
    /// `CUSTOMER.COUNT` / `PRODUCT.COUNT` (any role), when `INFO` is not allowed.
    Count(crate::tab::Tab),
    /// Product names for the customer detail's orders.
    ProductName(u64),
    /// A page of products while searching them by name (walks the list).
    ProductSearch(String),
    Forecast,
    Churn,
    /// A read of the way to a tab's last page (`End`).
    Walk(crate::tab::Tab),
    CustomersPage,
    /// A page of `CUSTOMER.QUERY` or `PRODUCT.QUERY` (a typed query or a whole-table sort).
    QueryPage(crate::tab::Tab),
    Search,
    DetailOrders(u64),
    DetailStats(u64),
    /// The detail's customer read again after a save (`CUSTOMER.GET`).
    DetailRecord(u64),
    ProductsPage,
    OrdersPage,
    TopCustomers,
    Monthly,
    Rfm,
    Clusters,
    Anomalies,
    Save,
    Deleted,
    Backups,
    BackupDone,
    Verified(String),
    Info,
    /// `AUDIT.HEAD`: where the latest window ends.
    JournalHead,
    /// A window of the journal read back from `before` over `span` entries.
    JournalWindow {
        before: u64,
        span: u64,
    },
    /// The window after the one shown (`n` on an older window).
    JournalNewer,
    /// Entries after the last shown (appended).
    JournalMore,
    /// A blocked `XREAD` on the change feed returned (an entry, or its time ran out).
    Feed,
    JournalVerified,
    Duplicates,
    /// A record of a duplicate pair.
    PairRecord(u64),
    /// A merge done (the merged-away id).
    Merged(u64),
    Unmerged(u64),
    Revealed(u64),
    /// An export, to write to this file.
    Exported(String),
    Forgotten(u64),
    /// `SCHEMA.LIST`: the fields of customers and products.
    Schema,
    /// The page of a product's orders after order `after` (0: the first), summed into its
    /// sales for the product detail.
    ProductSales {
        product: u64,
        after: u64,
    },
    /// A schema change done (what the status line says).
    SchemaChanged(String),
}

/// A request for a worker.
pub enum Request {
    /// Connects to the first of `addresses` that answers, preferring a cluster's leader.
    Connect {
        /// `Login` for the main connection, `LaneUp` for the others.
        purpose: Purpose,
        addresses: Vec<String>,
        user: String,
        password: zeroize::Zeroizing<String>,
    },
    Command {
        purpose: Purpose,
        args: Vec<String>,
    },
}

impl Purpose {
    /// The tab a reply belongs to, whose status line tells about it (none: every tab's).
    pub fn tab(&self) -> Option<crate::tab::Tab> {
        use crate::tab::Tab;
        Some(match self {
            Purpose::Login | Purpose::LaneUp | Purpose::Role | Purpose::Probe(_) => return None,
            Purpose::Counts | Purpose::Info => return None,
            Purpose::Count(tab) | Purpose::Walk(tab) | Purpose::QueryPage(tab) => *tab,
            Purpose::CustomersPage
            | Purpose::Search
            | Purpose::DetailOrders(_)
            | Purpose::DetailStats(_)
            | Purpose::DetailRecord(_)
            | Purpose::ProductName(_)
            | Purpose::Revealed(_)
            | Purpose::Exported(_)
            | Purpose::Forgotten(_) => Tab::Customers,
            Purpose::ProductsPage | Purpose::ProductSearch(_) | Purpose::ProductSales { .. } => {
                Tab::Products
            }
            Purpose::OrdersPage => Tab::Orders,
            Purpose::TopCustomers
            | Purpose::Monthly
            | Purpose::Rfm
            | Purpose::Clusters
            | Purpose::Anomalies
            | Purpose::Forecast
            | Purpose::Churn => Tab::Analytics,
            Purpose::Save | Purpose::Deleted => return None,
            Purpose::Backups | Purpose::BackupDone | Purpose::Verified(_) => Tab::Backup,
            Purpose::JournalHead
            | Purpose::JournalWindow { .. }
            | Purpose::JournalNewer
            | Purpose::JournalMore
            | Purpose::Feed
            | Purpose::JournalVerified => Tab::Journal,
            Purpose::Duplicates
            | Purpose::PairRecord(_)
            | Purpose::Merged(_)
            | Purpose::Unmerged(_) => Tab::Duplicates,
            Purpose::Schema | Purpose::SchemaChanged(_) => Tab::Schema,
        })
    }
}

/// A worker's answer: the reply, or the error as the server (or the socket) said it.
#[derive(Debug)]
pub struct Response {
    pub purpose: Purpose,
    pub result: Result<Value, String>,
}

/// One worker thread with its own connection.
pub struct Worker {
    requests: Sender<Request>,
}

impl Worker {
    /// Starts a worker that answers on `responses`.
    pub fn spawn(responses: Sender<Response>) -> Worker {
        let (requests, incoming) = channel::<Request>();
        std::thread::spawn(move || run(incoming, responses));
        Worker { requests }
    }

    /// Queues a request (never blocks).
    pub fn send(&self, request: Request) {
        let _ = self.requests.send(request);
    }
}

fn describe(error: ClientError) -> String {
    match error {
        ClientError::Server { code, message } => format!("{code} {message}"),
        ClientError::Io(e) => format!("connection: {e}"),
        ClientError::Protocol(e) => format!("protocol: {e}"),
    }
}

fn run(incoming: Receiver<Request>, responses: Sender<Response>) {
    let mut client: Option<Client> = None;
    for request in incoming {
        let response = match request {
            Request::Connect {
                purpose,
                addresses,
                user,
                password,
            } => match discover(&addresses, &user, &password) {
                Ok((address, c)) => {
                    client = Some(c);
                    Response {
                        purpose,
                        result: Ok(Value::Simple(address)),
                    }
                }
                Err(message) => {
                    client = None;
                    Response {
                        purpose,
                        result: Err(message),
                    }
                }
            },
            Request::Command { purpose, args } => {
                let mut result = match client.as_mut() {
                    Some(c) => c.command(&args).map_err(describe),
                    None => Err(NOT_CONNECTED.to_string()),
                };
                if let (Purpose::Exported(path), Ok(Value::Bulk(document))) = (&purpose, &result) {
                    // Written here, off the render loop, readable by its owner only.
                    result = write_private(path, document)
                        .map(|()| Value::Simple(format!("{} bytes", document.len())))
                        .map_err(|e| format!("writing {path}: {e}"));
                }
                if matches!(&result, Err(message) if connection_lost(message)) {
                    client = None;
                }
                Response { purpose, result }
            }
        };
        if responses.send(response).is_err() {
            return;
        }
    }
}

/// What a request gets while its worker has no connection.
pub const NOT_CONNECTED: &str = "not connected";

/// Whether an error means the connection is gone (the server stopped or went away), rather
/// than an answer to the request.
pub fn connection_lost(message: &str) -> bool {
    message.starts_with("connection:")
        || message.starts_with("protocol:")
        || message.starts_with(NOT_CONNECTED)
        || message.starts_with("cannot connect")
        || message.starts_with("BUSY shutting down")
}

/// A node's place in a cluster, as `ROLE` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRole {
    /// No cluster: `["master", 0, []]`, or a server without `ROLE`.
    Standalone,
    /// The leader: what it applied, and each follower's address and applied entry.
    Leader {
        applied: u64,
        followers: Vec<(String, u64)>,
    },
    /// A follower: its leader (`""`/0 while it knows none), its state and what it applied.
    Follower {
        leader: String,
        state: String,
        applied: u64,
    },
}

impl NodeRole {
    /// Reads a `ROLE` reply; `ERR unknown command` (a server before the cluster) is standalone.
    pub fn from_reply(result: &Result<Value, String>) -> Option<NodeRole> {
        let items = match result {
            Ok(Value::Array(items)) => items,
            Err(message) if message.starts_with("ERR unknown command") => {
                return Some(NodeRole::Standalone)
            }
            _ => return None,
        };
        let text = |i: usize| items.get(i).and_then(Value::as_text).unwrap_or_default();
        let number = |v: Option<&Value>| match v {
            Some(Value::Integer(n)) => u64::try_from(*n).ok(),
            Some(other) => other.as_text().and_then(|t| t.parse().ok()),
            None => None,
        };
        match text(0).as_str() {
            "master" => {
                let applied = number(items.get(1)).unwrap_or(0);
                let followers: Vec<(String, u64)> = match items.get(2) {
                    Some(Value::Array(list)) => list
                        .iter()
                        .filter_map(|f| match f {
                            Value::Array(parts) => Some((
                                format!(
                                    "{}:{}",
                                    parts.first().and_then(Value::as_text).unwrap_or_default(),
                                    number(parts.get(1)).unwrap_or(0)
                                ),
                                number(parts.get(2)).unwrap_or(0),
                            )),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                Some(if applied == 0 && followers.is_empty() {
                    NodeRole::Standalone
                } else {
                    NodeRole::Leader { applied, followers }
                })
            }
            "slave" => {
                let port = number(items.get(2)).unwrap_or(0);
                let host = text(1);
                Some(NodeRole::Follower {
                    leader: if host.is_empty() || port == 0 {
                        String::new()
                    } else {
                        format!("{host}:{port}")
                    },
                    state: text(3),
                    applied: number(items.get(4)).unwrap_or(0),
                })
            }
            _ => None,
        }
    }
}

/// Connects and logs in to one address.
fn open(address: &str, user: &str, password: &str) -> Result<Client, String> {
    let mut c = Client::connect(address, Duration::from_secs(3))
        .map_err(|e| format!("cannot connect to {address}: {}", describe(e)))?;
    c.auth(user, password).map_err(describe)?;
    c.set_timeout(Some(Duration::from_secs(600)))
        .map_err(describe)?;
    Ok(c)
}

/// Finds the server to use among `addresses`: the first cluster leader that answers, else the
/// first node that answers (a follower serves reads; its `ROLE` names the leader, which is
/// tried too). A refused login is said at once: every node of a store has the same users.
fn discover(addresses: &[String], user: &str, password: &str) -> Result<(String, Client), String> {
    let mut candidates: Vec<String> = addresses.to_vec();
    let mut fallback: Option<(String, Client)> = None;
    let mut errors = Vec::new();
    let mut i = 0;
    while let Some(address) = candidates.get(i).cloned() {
        i += 1;
        let mut c = match open(&address, user, password) {
            Ok(c) => c,
            Err(message) if connection_lost(&message) => {
                errors.push(message);
                continue;
            }
            Err(message) => return Err(message),
        };
        let role = NodeRole::from_reply(&c.command(&["ROLE"]).map_err(describe));
        match role {
            Some(NodeRole::Follower { leader, .. }) => {
                if !leader.is_empty() && !candidates.contains(&leader) && candidates.len() < 16 {
                    candidates.push(leader);
                }
                if fallback.is_none() {
                    fallback = Some((address, c));
                }
            }
            _ => return Ok((address, c)),
        }
    }
    fallback.ok_or_else(|| {
        if errors.is_empty() {
            "cannot connect: no server address given".to_string()
        } else {
            errors.join("; ")
        }
    })
}

/// Writes a file only its owner can read (an export holds a person's data in plain).
fn write_private(path: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// A number from an `INFO` reply (`key:value` lines); 0 when absent.
pub fn info_field(info: &str, key: &str) -> u64 {
    info.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':')?.trim().parse().ok())
        .unwrap_or(0)
}

/// The three workers the app uses: one for ordinary requests, one for long ones (backups), so a
/// backup does not hold up browsing or progress polling, and one for the change feed's blocked
/// `XREAD`.
pub struct Net {
    pub main: Worker,
    pub long: Worker,
    pub feed: Worker,
    pub responses: Receiver<Response>,
}

impl Net {
    pub fn start() -> Net {
        let (sender, responses) = channel();
        Net {
            main: Worker::spawn(sender.clone()),
            long: Worker::spawn(sender.clone()),
            feed: Worker::spawn(sender),
            responses,
        }
    }
}
