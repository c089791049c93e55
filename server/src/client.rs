//! A small blocking client of the protocol, for the TUI, the import tool and tests.
//!
//! It speaks RESP2 multibulk requests and reads RESP2 (and the RESP3 types, should a caller
//! switch with `HELLO 3`). Replies are read with limits, so a broken server cannot make it
//! allocate without bound.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The largest bulk reply the client accepts.
const MAX_REPLY_BULK: usize = 512 * 1024 * 1024;

/// A decoded reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Simple(String),
    Integer(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Value>),
    /// A RESP3 map, as pairs.
    Map(Vec<(Value, Value)>),
    /// A RESP3 double, boolean or other scalar, as text.
    Other(String),
}

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed. Not a `#[source]`: the message already says the cause, and a
    /// source would have anyhow's `{:#}` say it twice.
    #[error("connection: {0}")]
    Io(std::io::Error),
    /// The server answered with an error reply.
    #[error("{code} {message}")]
    Server { code: String, message: String },
    #[error("protocol: {0}")]
    Protocol(String),
}

impl From<std::io::Error> for ClientError {
    fn from(error: std::io::Error) -> ClientError {
        ClientError::Io(error)
    }
}

impl ClientError {
    /// The error code of a server error (`INVALID`, `NOTFOUND`, ...).
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Server { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl Value {
    /// The text of a bulk or simple string.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Bulk(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            Value::Simple(text) | Value::Other(text) => Some(text.clone()),
            _ => None,
        }
    }

    /// A bulk string parsed as JSON (`None` for nil).
    pub fn json(&self) -> Result<Option<serde_json::Value>, ClientError> {
        match self {
            Value::Nil => Ok(None),
            Value::Bulk(bytes) => serde_json::from_slice(bytes)
                .map(Some)
                .map_err(|e| ClientError::Protocol(format!("reply is not JSON: {e}"))),
            other => Err(ClientError::Protocol(format!(
                "expected a JSON bulk string, got {other:?}"
            ))),
        }
    }

    /// An array of JSON bulk strings.
    pub fn json_array(&self) -> Result<Vec<serde_json::Value>, ClientError> {
        match self {
            Value::Array(items) => items.iter().filter_map(|v| v.json().transpose()).collect(),
            other => Err(ClientError::Protocol(format!(
                "expected an array, got {other:?}"
            ))),
        }
    }

    /// An integer reply.
    pub fn integer(&self) -> Result<i64, ClientError> {
        match self {
            Value::Integer(n) => Ok(*n),
            other => Err(ClientError::Protocol(format!(
                "expected an integer, got {other:?}"
            ))),
        }
    }
}

/// One connection to a server.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    /// Connects, with a timeout on connecting and on every read.
    pub fn connect(address: &str, timeout: Duration) -> Result<Client, ClientError> {
        let addresses: Vec<_> = address.to_socket_addrs()?.collect();
        let mut last_error = None;
        for candidate in addresses {
            match TcpStream::connect_timeout(&candidate, timeout) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(timeout))?;
                    stream.set_nodelay(true)?;
                    let writer = stream.try_clone()?;
                    return Ok(Client {
                        reader: BufReader::new(stream),
                        writer,
                    });
                }
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error
            .map(ClientError::Io)
            .unwrap_or_else(|| ClientError::Protocol(format!("{address} resolves to no address"))))
    }

    /// Changes the read timeout (long statistics or backups need more).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<(), ClientError> {
        self.reader.get_ref().set_read_timeout(timeout)?;
        Ok(())
    }

    /// `AUTH user password`.
    pub fn auth(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        self.command(&["AUTH", user, password]).map(|_| ())
    }

    /// Sends a request and reads its reply; an error reply becomes [`ClientError::Server`].
    pub fn command<S: AsRef<[u8]>>(&mut self, args: &[S]) -> Result<Value, ClientError> {
        self.send(args)?;
        self.flush()?;
        self.read_reply()
    }

    /// Queues a request without reading (pipelining); call [`Client::flush`] then read replies.
    /// Sends a built request and reads its reply.
    pub fn call(&mut self, request: &crate::request::Command) -> Result<Value, ClientError> {
        self.command(request.words())
    }

    pub fn send<S: AsRef<[u8]>>(&mut self, args: &[S]) -> Result<(), ClientError> {
        let mut frame = Vec::with_capacity(64);
        frame.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            let arg = arg.as_ref();
            frame.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            frame.extend_from_slice(arg);
            frame.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&frame)?;
        Ok(())
    }

    /// Sends what [`Client::send`] queued.
    pub fn flush(&mut self) -> Result<(), ClientError> {
        self.writer.flush()?;
        Ok(())
    }

    /// Reads one reply.
    pub fn read_reply(&mut self) -> Result<Value, ClientError> {
        read_value(&mut self.reader, 0)
    }
}

/// One change of the feed `crm:changes`, as `XREAD` and `XRANGE` return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub seq: u64,
    pub op: String,
    pub kind: String,
    pub id: Option<u64>,
    pub fields: Vec<String>,
    pub at: String,
}

impl FeedEntry {
    /// Reads `[id, [field, value, ...]]`.
    fn from_value(value: &Value) -> Result<FeedEntry, ClientError> {
        let bad = || ClientError::Protocol(format!("not a stream entry: {value:?}"));
        let Value::Array(parts) = value else {
            return Err(bad());
        };
        let [id, Value::Array(pairs)] = parts.as_slice() else {
            return Err(bad());
        };
        let seq = id
            .as_text()
            .and_then(|id| id.split_once('-').map(|(seq, _)| seq.to_string()))
            .and_then(|seq| seq.parse().ok())
            .ok_or_else(bad)?;
        let mut entry = FeedEntry {
            seq,
            op: String::new(),
            kind: String::new(),
            id: None,
            fields: Vec::new(),
            at: String::new(),
        };
        for pair in pairs.chunks(2) {
            let (Some(name), Some(text)) = (
                pair.first().and_then(Value::as_text),
                pair.get(1).and_then(Value::as_text),
            ) else {
                return Err(bad());
            };
            match name.as_str() {
                "op" => entry.op = text,
                "kind" => entry.kind = text,
                "id" => entry.id = text.parse().ok(),
                "fields" => {
                    entry.fields = text
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                        .collect()
                }
                "at" => entry.at = text,
                _ => {}
            }
        }
        Ok(entry)
    }

    /// The change as one JSON object (what `crm-server tail` prints).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "seq": self.seq,
            "op": self.op,
            "kind": self.kind,
            "id": self.id,
            "fields": self.fields,
            "at": self.at,
        })
    }
}

impl Client {
    /// `XREAD [BLOCK ms] STREAMS crm:changes after`: the changes after entry `after` (waiting
    /// up to `block` for the first, when given); empty when none came.
    pub fn read_feed(
        &mut self,
        after: u64,
        block: Option<Duration>,
    ) -> Result<Vec<FeedEntry>, ClientError> {
        let after = format!("{after}-0");
        let block = block.map(|b| b.as_millis().to_string());
        let mut request: Vec<&str> = vec!["XREAD"];
        if let Some(ms) = &block {
            request.extend(["BLOCK", ms.as_str()]);
        }
        request.extend(["STREAMS", "crm:changes", after.as_str()]);
        let streams = match self.command(&request)? {
            Value::Nil => return Ok(Vec::new()),
            Value::Array(streams) => streams
                .into_iter()
                .filter_map(|s| match s {
                    Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            Value::Map(pairs) => pairs.into_iter().map(|(_, v)| v).collect(),
            other => {
                return Err(ClientError::Protocol(format!(
                    "unexpected XREAD reply {other:?}"
                )))
            }
        };
        let mut entries = Vec::new();
        for stream in streams {
            if let Value::Array(items) = stream {
                for item in &items {
                    entries.push(FeedEntry::from_value(item)?);
                }
            }
        }
        Ok(entries)
    }

    /// The newest change of the feed, if any (`XREVRANGE crm:changes + - COUNT 1`).
    pub fn last_feed_entry(&mut self) -> Result<Option<FeedEntry>, ClientError> {
        match self.command(&["XREVRANGE", "crm:changes", "+", "-", "COUNT", "1"])? {
            Value::Array(items) => items.first().map(FeedEntry::from_value).transpose(),
            _ => Ok(None),
        }
    }
}

fn read_line(reader: &mut impl BufRead) -> Result<String, ClientError> {
    let mut line = Vec::new();
    reader
        .by_ref()
        .take(64 * 1024)
        .read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\r\n") {
        return Err(if line.is_empty() {
            ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ))
        } else {
            ClientError::Protocol("reply line not ended by CRLF".into())
        });
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| ClientError::Protocol("reply line is not UTF-8".into()))
}

fn number(text: &str) -> Result<i64, ClientError> {
    text.parse()
        .map_err(|_| ClientError::Protocol(format!("bad number {text:?}")))
}

fn read_value(reader: &mut impl BufRead, depth: usize) -> Result<Value, ClientError> {
    if depth > 32 {
        return Err(ClientError::Protocol("replies nested too deep".into()));
    }
    let line = read_line(reader)?;
    let (kind, rest) = line.split_at(line.len().min(1));
    match kind {
        "+" => Ok(Value::Simple(rest.to_string())),
        "-" => {
            let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
            Err(ClientError::Server {
                code: code.to_string(),
                message: message.to_string(),
            })
        }
        ":" => Ok(Value::Integer(number(rest)?)),
        "_" => Ok(Value::Nil),
        "," | "#" | "(" => Ok(Value::Other(rest.to_string())),
        "$" | "=" => {
            let length = number(rest)?;
            if length < 0 {
                return Ok(Value::Nil);
            }
            let length = length as usize;
            if length > MAX_REPLY_BULK {
                return Err(ClientError::Protocol(format!(
                    "bulk reply of {length} bytes is too large"
                )));
            }
            let mut bytes = vec![0u8; length + 2];
            reader.read_exact(&mut bytes)?;
            bytes.truncate(length);
            Ok(Value::Bulk(bytes))
        }
        "*" | "~" | ">" => {
            let count = number(rest)?;
            if count < 0 {
                return Ok(Value::Nil);
            }
            (0..count)
                .map(|_| read_value(reader, depth + 1))
                .collect::<Result<_, _>>()
                .map(Value::Array)
        }
        "%" => {
            let count = number(rest)?;
            (0..count.max(0))
                .map(|_| {
                    Ok((
                        read_value(reader, depth + 1)?,
                        read_value(reader, depth + 1)?,
                    ))
                })
                .collect::<Result<_, ClientError>>()
                .map(Value::Map)
        }
        _ => Err(ClientError::Protocol(format!(
            "unknown reply type in {line:?}"
        ))),
    }
}
