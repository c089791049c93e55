//! The network, off the render loop: worker threads own the connections and answer requests
//! through channels, so the UI never blocks on the server.

use crm_server::client::{Client, ClientError, Value};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

/// What a reply is for, so the app knows where to put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    Login,
    CustomersPage,
    Search,
    DetailOrders(u64),
    DetailStats(u64),
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
    /// The journal's latest entries (replacing what is shown).
    JournalPage,
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
}

/// A request for a worker.
pub enum Request {
    Connect {
        address: String,
        user: String,
        password: zeroize::Zeroizing<String>,
    },
    Command {
        purpose: Purpose,
        args: Vec<String>,
    },
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
                address,
                user,
                password,
            } => {
                let result = Client::connect(&address, Duration::from_secs(5))
                    .map_err(|e| format!("cannot connect to {address}: {}", describe(e)))
                    .and_then(|mut c| {
                        c.auth(&user, &password).map_err(describe)?;
                        c.set_timeout(Some(Duration::from_secs(600)))
                            .map_err(describe)?;
                        Ok(c)
                    });
                match result {
                    Ok(c) => {
                        client = Some(c);
                        Response {
                            purpose: Purpose::Login,
                            result: Ok(Value::Simple("OK".into())),
                        }
                    }
                    Err(message) => Response {
                        purpose: Purpose::Login,
                        result: Err(message),
                    },
                }
            }
            Request::Command { purpose, args } => {
                let mut result = match client.as_mut() {
                    Some(c) => c.command(&args).map_err(describe),
                    None => Err("not connected".to_string()),
                };
                if let (Purpose::Exported(path), Ok(Value::Bulk(document))) = (&purpose, &result) {
                    // Written here, off the render loop, readable by its owner only.
                    result = write_private(path, document)
                        .map(|()| Value::Simple(format!("{} bytes", document.len())))
                        .map_err(|e| format!("writing {path}: {e}"));
                }
                if matches!(&result, Err(message) if message.starts_with("connection:")) {
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
