//! Replies and their encoding in RESP2 or RESP3.

use crm_engine::{ErrorKind, Store};
use std::io::Write;

/// One reply to one request.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// `+OK`
    Simple(&'static str),
    /// `-CODE message`
    Error { code: &'static str, message: String },
    /// `:n`
    Integer(i64),
    /// `$len\r\nbytes`
    Bulk(Vec<u8>),
    /// `$-1` in RESP2, `_` in RESP3.
    Nil,
    /// `*n`
    Array(Vec<Reply>),
    /// A flat key/value array in RESP2, a `%` map in RESP3.
    Map(Vec<(&'static str, Reply)>),
    /// A null array: `*-1` in RESP2, `_` in RESP3 (an `XREAD` that found nothing).
    NilArray,
    /// `XREAD`'s streams: an array of `[name, entries]` pairs in RESP2, a `%` map in RESP3.
    StreamMap(Vec<(Reply, Reply)>),
    /// A large reply produced in pieces as the client reads (`pieces.rs`); only ever a whole
    /// reply, never inside another.
    Streamed(Streamed),
    /// An array in RESP2, a `~` set in RESP3 (`COMMAND INFO`'s flags and categories).
    Set(Vec<Reply>),
    /// An array in RESP2, a `>` push in RESP3 (what a subscription delivers and confirms).
    Push(Vec<Reply>),
    /// A flat key/value array in RESP2, a `%` map in RESP3, with keys made at run time
    /// (`COMMAND DOCS`: command names).
    Dict(Vec<(Reply, Reply)>),
    /// Several replies to one request, one after the other (`SUBSCRIBE a b` confirms each
    /// channel on its own).
    Several(Vec<Reply>),
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Simple("OK")
    }

    /// An error reply; the message is kept to one line.
    pub fn error(code: &'static str, message: impl Into<String>) -> Reply {
        let message: String = message.into();
        let message = if message.contains(['\r', '\n']) {
            message.replace(['\r', '\n'], " ")
        } else {
            message
        };
        Reply::Error { code, message }
    }

    /// A bulk string holding a JSON document.
    pub fn json(value: &serde_json::Value) -> Reply {
        Reply::Bulk(value.to_string().into_bytes())
    }

    /// An array of JSON bulk strings.
    pub fn json_array<'a>(values: impl IntoIterator<Item = serde_json::Value> + 'a) -> Reply {
        Reply::Array(values.into_iter().map(|v| Reply::json(&v)).collect())
    }

    /// An array of bulk strings (records already serialized).
    pub fn bulk_array(values: impl IntoIterator<Item = Vec<u8>>) -> Reply {
        Reply::Array(values.into_iter().map(Reply::Bulk).collect())
    }

    /// About how many bytes the reply's encoding takes (exact for the flat replies lists are
    /// made of), to decide whether to build a reply whole.
    pub fn encoded_len_estimate(&self) -> usize {
        match self {
            Reply::Simple(text) => text.len() + 3,
            Reply::Error { code, message } => code.len() + message.len() + 4,
            Reply::Integer(_) => 22,
            Reply::Bulk(bytes) => bytes.len() + 16,
            Reply::Nil | Reply::NilArray | Reply::Streamed(_) => 5,
            Reply::Array(items)
            | Reply::Set(items)
            | Reply::Push(items)
            | Reply::Several(items) => {
                16 + items.iter().map(Reply::encoded_len_estimate).sum::<usize>()
            }
            Reply::Map(pairs) => {
                16 + pairs
                    .iter()
                    .map(|(key, value)| key.len() + 16 + value.encoded_len_estimate())
                    .sum::<usize>()
            }
            Reply::StreamMap(pairs) | Reply::Dict(pairs) => {
                16 + pairs
                    .iter()
                    .map(|(key, value)| key.encoded_len_estimate() + value.encoded_len_estimate())
                    .sum::<usize>()
            }
        }
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error { .. })
    }

    /// Appends the encoding for protocol version `proto` (2 or 3).
    pub fn encode(&self, proto: u8, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(text) => {
                out.push(b'+');
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Reply::Error { code, message } => {
                out.push(b'-');
                out.extend_from_slice(code.as_bytes());
                if !message.is_empty() {
                    out.push(b' ');
                    out.extend_from_slice(message.as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
            Reply::Integer(n) => {
                let _ = write!(out, ":{n}\r\n");
            }
            Reply::Bulk(bytes) => {
                let _ = write!(out, "${}\r\n", bytes.len());
                out.extend_from_slice(bytes);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Nil | Reply::NilArray if proto >= 3 => out.extend_from_slice(b"_\r\n"),
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
            Reply::StreamMap(pairs) => {
                if proto >= 3 {
                    let _ = write!(out, "%{}\r\n", pairs.len());
                    for (key, value) in pairs {
                        key.encode(proto, out);
                        value.encode(proto, out);
                    }
                } else {
                    let _ = write!(out, "*{}\r\n", pairs.len());
                    for (key, value) in pairs {
                        out.extend_from_slice(b"*2\r\n");
                        key.encode(proto, out);
                        value.encode(proto, out);
                    }
                }
            }
            Reply::Array(items) => encode_aggregate(b'*', items, proto, out),
            Reply::Set(items) => {
                encode_aggregate(if proto >= 3 { b'~' } else { b'*' }, items, proto, out)
            }
            Reply::Push(items) => {
                encode_aggregate(if proto >= 3 { b'>' } else { b'*' }, items, proto, out)
            }
            Reply::Several(replies) => {
                for reply in replies {
                    reply.encode(proto, out);
                }
            }
            Reply::Dict(pairs) => {
                if proto >= 3 {
                    let _ = write!(out, "%{}\r\n", pairs.len());
                } else {
                    let _ = write!(out, "*{}\r\n", pairs.len() * 2);
                }
                for (key, value) in pairs {
                    key.encode(proto, out);
                    value.encode(proto, out);
                }
            }
            Reply::Streamed(_) => {
                // The connection produces these itself; one nested in another reply is a bug,
                // answered as an error rather than as a reply of the wrong shape.
                out.extend_from_slice(b"-ERR a large reply cannot be nested\r\n");
            }
            Reply::Map(pairs) => {
                if proto >= 3 {
                    let _ = write!(out, "%{}\r\n", pairs.len());
                } else {
                    let _ = write!(out, "*{}\r\n", pairs.len() * 2);
                }
                for (key, value) in pairs {
                    Reply::Bulk(key.as_bytes().to_vec()).encode(proto, out);
                    value.encode(proto, out);
                }
            }
        }
    }
}

/// An aggregate: its type byte, its length, then its items.
fn encode_aggregate(kind: u8, items: &[Reply], proto: u8, out: &mut Vec<u8>) {
    out.push(kind);
    let _ = write!(out, "{}\r\n", items.len());
    for item in items {
        item.encode(proto, out);
    }
}

/// The wire code (`PROTOCOL.md`, "Errors") an engine error is answered with.
pub fn wire_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Invalid => "INVALID",
        ErrorKind::NotFound => "NOTFOUND",
        ErrorKind::Conflict => "CONFLICT",
        ErrorKind::ForeignKey => "FKEY",
        ErrorKind::Stock => "STOCK",
        ErrorKind::Corrupt => "CORRUPT",
        ErrorKind::Busy => "BUSY",
        ErrorKind::ReadOnly => "READONLY",
        ErrorKind::ClusterDown => "CLUSTERDOWN",
        ErrorKind::TryAgain => "TRYAGAIN",
        ErrorKind::Loading => "LOADING",
        ErrorKind::Failed => "ERR",
    }
}

impl From<crm_engine::Error> for Reply {
    fn from(error: crm_engine::Error) -> Self {
        Reply::error(wire_code(error.kind()), error.to_string())
    }
}

/// What produces a streamed reply's encoding, piece by piece.
pub trait Source: Send + 'static {
    /// Appends the next piece of the reply, encoded for protocol `proto`, to `out`; `Ok(false)`
    /// once the reply is complete. Runs on the blocking pool. An error leaves the reply
    /// unfinishable: the connection is closed.
    fn next_piece(
        &mut self,
        store: &Store,
        proto: u8,
        out: &mut Vec<u8>,
    ) -> crm_engine::Result<bool>;
}

/// A reply produced in pieces (`pieces.rs`).
pub struct Streamed(pub Box<dyn Source>);

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streamed")
    }
}

impl PartialEq for Streamed {
    /// Two streams are never compared by content (it is not produced yet).
    fn eq(&self, _: &Streamed) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(reply: Reply, proto: u8) -> Vec<u8> {
        let mut out = Vec::new();
        reply.encode(proto, &mut out);
        out
    }

    #[test]
    fn engine_errors_keep_their_message_after_the_code() {
        let missing = crm_engine::Error::MissingReference {
            kind: crm_engine::Kind::Customer,
            id: 999,
        };
        assert_eq!(
            encoded(Reply::from(missing), 2),
            b"-FKEY customer 999 does not exist\r\n"
        );
        let ordered = crm_engine::Error::StillOrdered {
            kind: crm_engine::Kind::Product,
            id: 4,
            orders: 1,
        };
        assert_eq!(
            encoded(Reply::from(ordered), 2),
            b"-FKEY product 4 has 1 order\r\n"
        );
        assert_eq!(wire_code(crm_engine::Error::WrongKey.kind()), "CORRUPT");
        assert_eq!(wire_code(crm_engine::Error::Cancelled.kind()), "BUSY");
    }

    #[test]
    fn cluster_errors_are_the_contracts_lines() {
        let cases = [
            (
                crm_engine::Error::ReadOnly,
                &b"-READONLY You can't write against a read only replica.\r\n"[..],
            ),
            (
                crm_engine::Error::ClusterDown("etcdserver: request timed out".into()),
                b"-CLUSTERDOWN The cluster is down\r\n",
            ),
            (
                crm_engine::Error::TryAgain,
                b"-TRYAGAIN the outcome of this write is unknown: read it back before retrying\r\n",
            ),
            (
                crm_engine::Error::Loading,
                b"-LOADING the node is copying a snapshot\r\n",
            ),
        ];
        for (error, wire) in cases {
            assert_eq!(encoded(Reply::from(error), 2), wire);
        }
    }

    #[test]
    fn encodings() {
        assert_eq!(encoded(Reply::ok(), 2), b"+OK\r\n");
        assert_eq!(
            encoded(Reply::error("NOTFOUND", "customer 4"), 2),
            b"-NOTFOUND customer 4\r\n"
        );
        assert_eq!(encoded(Reply::error("ERR", "a\r\nb"), 2), b"-ERR a  b\r\n");
        assert_eq!(encoded(Reply::Nil, 2), b"$-1\r\n");
        assert_eq!(encoded(Reply::Nil, 3), b"_\r\n");
        assert_eq!(
            encoded(Reply::Map(vec![("a", Reply::Integer(1))]), 2),
            b"*2\r\n$1\r\na\r\n:1\r\n"
        );
        assert_eq!(
            encoded(Reply::Map(vec![("a", Reply::Integer(1))]), 3),
            b"%1\r\n$1\r\na\r\n:1\r\n"
        );
    }
}
