//! The change feed as the Redis stream `crm:changes`: `XRANGE`, `XREVRANGE`, `XREAD` (with
//! `COUNT`, `BLOCK`, `$`) and `XLEN`, parsed and answered as Redis 7 does (ids, `-`, `+`,
//! exclusive `(` bounds, its error replies and reply shapes), read-only; the commands that
//! would write a stream are `NOPERM` for every role.
//!
//! Entry ids are `SEQ-0`, the journal entry's number. A blocked `XREAD` waits on the journal's
//! durability watermark (it holds no thread) and wakes when a write is acknowledged, when its
//! `BLOCK` runs out, when its client leaves or when the server stops (`BUSY`).
//!
//! One file: the stream commands share the id grammar, the range walk and the Redis reply
//! shapes; each verb is a few lines over them.

use super::context::Context;
use super::offload::off_workers;
use super::spec::{block, keyword, value, Access, Arg, ArgKind, Group, Keys, Spec, PLAIN};
use crate::parse::{printable, syntax, Args, CmdResult};
use crate::pieces::{ArraySource, Chunks, Framing, SMALL_ARRAY_ITEMS};
use crate::reply::Reply;
use crate::state::Shared;
use crm_engine::journal::{Entry, FeedRange};
use crm_engine::values::format_timestamp;
use crm_engine::Role;
use crm_engine::Store;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The one stream there is.
pub const FEED: &[u8] = b"crm:changes";

#[derive(Clone, Copy)]
pub enum Verb {
    Range,
    RevRange,
    Read,
    Len,
    /// `XADD`, `XDEL`, `XTRIM`, `XSETID`, `XGROUP`, `XREADGROUP`, `XACK`, `XCLAIM`, `XAUTOCLAIM`.
    Write,
}

/// What the change feed's commands share: every role reads it, since `crm_protocol` 2.
const FEED_READ: Spec = Spec {
    group: Group::Journal,
    since: 2,
    role: Some(Role::Reader),
    access: Access::Read,
    keys: Keys::First,
    ..PLAIN
};

/// A stream id: milliseconds and sequence, as Redis has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamId {
    ms: u64,
    seq: u64,
}

/// A parsed stream command.
pub enum Stream {
    Range {
        first: u64,
        last: u64,
        count: Option<i64>,
        reverse: bool,
    },
    Read {
        count: Option<i64>,
        block: Option<u64>,
        /// Where to read from: `None` is `$`.
        after: Option<StreamId>,
    },
    Len,
}

impl super::context::Verb for Verb {
    type Command = Stream;

    const ALL: &'static [Verb] = &[
        Verb::Range,
        Verb::RevRange,
        Verb::Read,
        Verb::Len,
        Verb::Write,
    ];

    fn spec(self) -> &'static Spec {
        match self {
            Verb::Range => {
                const {
                    &Spec {
                    names: &["XRANGE"],
                    summary: "Change-feed entries with ids from start to end (- and + for either end, ( for exclusive)",
                    syntax: &[
                        value("key", ArgKind::Key),
                        value("start", ArgKind::String),
                        value("end", ArgKind::String),
                        keyword("COUNT", "count", ArgKind::Integer).optional(),
                    ],
                    ..FEED_READ
                }
                }
            }
            Verb::RevRange => {
                const {
                    &Spec {
                        names: &["XREVRANGE"],
                        summary: "Change-feed entries from end down to start, newest first",
                        syntax: &[
                            value("key", ArgKind::Key),
                            value("end", ArgKind::String),
                            value("start", ArgKind::String),
                            keyword("COUNT", "count", ArgKind::Integer).optional(),
                        ],
                        ..FEED_READ
                    }
                }
            }
            Verb::Read => {
                const {
                    &Spec {
                    names: &["XREAD"],
                    summary: "Change-feed entries after an id ($: from now), waiting up to BLOCK ms for one",
                    syntax: &[
                        keyword("COUNT", "count", ArgKind::Integer).optional(),
                        keyword("BLOCK", "milliseconds", ArgKind::Integer).optional(),
                        Arg {
                            token: Some("STREAMS"),
                            ..block!(
                                "streams",
                                [
                                    value("key", ArgKind::Key).multiple(),
                                    value("id", ArgKind::String).multiple(),
                                ],
                            )
                        },
                    ],
                    keys: Keys::AfterStreams,
                    ..FEED_READ
                }
                }
            }
            Verb::Len => {
                const {
                    &Spec {
                        names: &["XLEN"],
                        summary: "The number of entries the change feed carries",
                        access: Access::ReadOne,
                        syntax: &[value("key", ArgKind::Key)],
                        ..FEED_READ
                    }
                }
            }
            Verb::Write => {
                const {
                    &Spec {
                        names: &[
                            "XADD",
                            "XDEL",
                            "XTRIM",
                            "XSETID",
                            "XGROUP",
                            "XREADGROUP",
                            "XACK",
                            "XCLAIM",
                            "XAUTOCLAIM",
                        ],
                        summary:
                            "Refused for every role: the change feed is written by the server only",
                        access: Access::Write,
                        syntax: &[value("argument", ArgKind::String).optional().multiple()],
                        keys: Keys::None,
                        ..FEED_READ
                    }
                }
            }
        }
    }

    fn parse(self, args: &mut Args) -> CmdResult<Stream> {
        match self {
            Verb::Write => {
                args.skip_rest();
                Err(Reply::error(
                    "NOPERM",
                    "the change feed is written by the server only",
                ))
            }
            Verb::Len => {
                feed_key(&args.required()?)?;
                Ok(Stream::Len)
            }
            Verb::Range | Verb::RevRange => {
                let reverse = matches!(self, Verb::RevRange);
                feed_key(&args.required()?)?;
                let (first_arg, second_arg) = (args.required()?, args.required()?);
                let (start_arg, end_arg) = if reverse {
                    (second_arg, first_arg)
                } else {
                    (first_arg, second_arg)
                };
                let (start, start_exclusive) = interval_id(&start_arg, 0)?;
                let start = if start_exclusive {
                    increment(start).ok_or_else(|| syntax("invalid start ID for the interval"))?
                } else {
                    start
                };
                let (end, end_exclusive) = interval_id(&end_arg, u64::MAX)?;
                let end = if end_exclusive {
                    decrement(end).ok_or_else(|| syntax("invalid end ID for the interval"))?
                } else {
                    end
                };
                let mut count = None;
                while let Some(word) = args.next() {
                    if !word.eq_ignore_ascii_case(b"COUNT") {
                        return Err(syntax("syntax error"));
                    }
                    let value = args.next().ok_or_else(|| syntax("syntax error"))?;
                    count = Some(integer(&value)?);
                }
                // Entry N is N-0: in the interval when start <= (N, 0) <= end.
                let first = if start.seq == 0 {
                    start.ms
                } else {
                    start.ms.saturating_add(1)
                };
                let (first, last) = if start > end || (start.seq > 0 && start.ms == u64::MAX) {
                    (1, 0)
                } else {
                    (first, end.ms)
                };
                Ok(Stream::Range {
                    first,
                    last,
                    count,
                    reverse,
                })
            }
            Verb::Read => parse_read(args),
        }
    }
}

fn parse_read(args: &mut Args) -> CmdResult<Stream> {
    let mut count = None;
    let mut block = None;
    let rest: Vec<Vec<u8>> = std::iter::from_fn(|| args.next()).collect();
    let mut at = 0;
    let streams_at = loop {
        let Some(word) = rest.get(at) else {
            return Err(syntax("syntax error"));
        };
        if word.eq_ignore_ascii_case(b"STREAMS") {
            break at + 1;
        }
        let value = rest.get(at + 1).ok_or_else(|| syntax("syntax error"))?;
        if word.eq_ignore_ascii_case(b"COUNT") {
            count = Some(integer(value)?);
        } else if word.eq_ignore_ascii_case(b"BLOCK") {
            let ms = std::str::from_utf8(value)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                .ok_or_else(|| syntax("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(syntax("timeout is negative"));
            }
            block = Some(ms as u64);
        } else {
            return Err(syntax("syntax error"));
        }
        at += 2;
    };
    let listed = &rest[streams_at..];
    if listed.is_empty() || !listed.len().is_multiple_of(2) {
        return Err(syntax(
            "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
        ));
    }
    let (keys, ids) = listed.split_at(listed.len() / 2);
    for key in keys {
        feed_key(key)?;
    }
    if keys.len() > 1 {
        return Err(syntax("the change feed may be named once per XREAD"));
    }
    let after = match ids[0].as_slice() {
        b"$" => None,
        b">" => return Err(syntax(
            "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
        )),
        other => Some(plain_id(other, 0)?),
    };
    Ok(Stream::Read {
        count,
        block,
        after,
    })
}

/// The stream name must be the change feed's.
fn feed_key(key: &[u8]) -> CmdResult<()> {
    if key == FEED {
        Ok(())
    } else {
        Err(Reply::error(
            "ERR",
            format!(
                "no such stream '{}' (the change feed is crm:changes)",
                printable(key)
            ),
        ))
    }
}

fn invalid_id() -> Reply {
    syntax("Invalid stream ID specified as stream command argument")
}

/// `ms` or `ms-seq` (digits only); a missing seq is `missing_seq`.
fn plain_id(text: &[u8], missing_seq: u64) -> CmdResult<StreamId> {
    let number = |part: &[u8]| -> CmdResult<u64> {
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(invalid_id());
        }
        std::str::from_utf8(part)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(invalid_id)
    };
    match text.iter().position(|&b| b == b'-') {
        Some(dash) => Ok(StreamId {
            ms: number(&text[..dash])?,
            seq: number(&text[dash + 1..])?,
        }),
        None => Ok(StreamId {
            ms: number(text)?,
            seq: missing_seq,
        }),
    }
}

/// A range bound: `-`, `+`, an id, or `(id` (exclusive).
fn interval_id(text: &[u8], missing_seq: u64) -> CmdResult<(StreamId, bool)> {
    match text {
        b"-" => Ok((StreamId { ms: 0, seq: 0 }, false)),
        b"+" => Ok((
            StreamId {
                ms: u64::MAX,
                seq: u64::MAX,
            },
            false,
        )),
        [b'(', rest @ ..] if !rest.is_empty() => Ok((plain_id(rest, missing_seq)?, true)),
        _ => Ok((plain_id(text, missing_seq)?, false)),
    }
}

fn increment(id: StreamId) -> Option<StreamId> {
    match id.seq.checked_add(1) {
        Some(seq) => Some(StreamId { seq, ..id }),
        None => Some(StreamId {
            ms: id.ms.checked_add(1)?,
            seq: 0,
        }),
    }
}

fn decrement(id: StreamId) -> Option<StreamId> {
    match id.seq.checked_sub(1) {
        Some(seq) => Some(StreamId { seq, ..id }),
        None => Some(StreamId {
            ms: id.ms.checked_sub(1)?,
            seq: u64::MAX,
        }),
    }
}

fn integer(value: &[u8]) -> CmdResult<i64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| syntax("value is not an integer or out of range"))
}

/// One stream entry: `[id, [op, v, kind, v, id, v, fields, v, at, v]]`.
fn entry_reply(entry: &Entry) -> Reply {
    let bulk = |text: String| Reply::Bulk(text.into_bytes());
    Reply::Array(vec![
        bulk(format!("{}-0", entry.seq)),
        Reply::Array(vec![
            bulk("op".into()),
            bulk(entry.op.as_str().into()),
            bulk("kind".into()),
            bulk(entry.kind.to_string()),
            bulk("id".into()),
            bulk(entry.id.map_or_else(String::new, |id| id.to_string())),
            bulk("fields".into()),
            bulk(entry.fields.join(",")),
            bulk("at".into()),
            bulk(format_timestamp(entry.at)),
        ]),
    ])
}

pub async fn execute(context: &Context<'_>, command: Stream) -> CmdResult {
    let shared = context.shared;
    match command {
        Stream::Len => Ok(Reply::Integer(shared.store.feed_len() as i64)),
        Stream::Range {
            first,
            last,
            count,
            reverse,
        } => {
            let count = match count {
                // As Redis: a COUNT of 0 or less is a null reply.
                Some(n) if n <= 0 => return Ok(Reply::NilArray),
                Some(n) => n as usize,
                None => usize::MAX,
            };
            let range = FeedRange {
                first,
                last: last.min(shared.store.journal_head().seq),
                count,
                reverse,
            };
            answer(shared, range, Framing::Array).await
        }
        Stream::Read {
            count,
            block,
            after,
        } => read(context, count, block, after).await,
    }
}

/// `XREAD`: the entries after each id, or — with `BLOCK` — the first to come.
async fn read(
    context: &Context<'_>,
    count: Option<i64>,
    block: Option<u64>,
    after: Option<StreamId>,
) -> CmdResult {
    let shared = context.shared;
    let cancel = &context.session.cancel;
    let count = match count {
        Some(n) if n > 0 => n as usize,
        _ => usize::MAX,
    };
    let mut watch = shared.store.journal_watch();
    // `$`: whatever was last when the command arrived.
    let head = shared.store.journal_head().seq;
    let first = after.map_or(head.saturating_add(1), |id| id.ms.saturating_add(1));
    let deadline = block
        .filter(|ms| *ms > 0)
        .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
    loop {
        watch.borrow_and_update();
        let range = FeedRange {
            first,
            last: shared.store.journal_head().seq,
            count,
            reverse: false,
        };
        let found = answer(shared, range, Framing::StreamMap(FEED)).await?;
        if found != Reply::Array(Vec::new()) {
            return Ok(found);
        }
        if block.is_none() {
            return Ok(Reply::NilArray);
        }
        tokio::select! {
            changed = watch.changed() => {
                if changed.is_err() {
                    return Err(Reply::error("BUSY", "shutting down"));
                }
            }
            () = sleep_until(deadline) => return Ok(Reply::NilArray),
            () = cancel.cancelled() => {
                return if shared.shutting_down.load(Ordering::SeqCst) {
                    Err(Reply::error("BUSY", "shutting down"))
                } else {
                    // The client went away: nobody reads this.
                    Ok(Reply::NilArray)
                };
            }
        }
    }
}

/// The entries of `range` (its `last` at most the durable head), in `framing`: an empty array
/// when there are none; built whole when few, else produced in pieces as the client reads.
async fn answer(shared: &Shared, range: FeedRange, framing: Framing) -> CmdResult {
    // A woken reader asks for what was just written: the pages in memory have it. Read no
    // more than a small answer from them: beyond it, the answer is streamed anyway.
    let capped = FeedRange {
        count: range.count.min(SMALL_ARRAY_ITEMS + 1),
        ..range
    };
    if let Some(entries) = shared.store.feed_recent(&capped) {
        if entries.len() <= SMALL_ARRAY_ITEMS {
            return Ok(framed(entries, framing));
        }
    }
    let FeedRange { first, last, .. } = range;
    let length = off_workers(shared, move |store| store.feed_count(first, last)).await?;
    let length = length.min(range.count as u64) as usize;
    if length <= SMALL_ARRAY_ITEMS {
        let entries = off_workers(shared, move |store| store.feed(&range)).await?;
        return Ok(framed(entries, framing));
    }
    Ok(ArraySource::new(framing, length, FeedChunks { range }).reply())
}

/// Entries as `framing` holds them; no entries is an empty array, whatever the framing.
fn framed(entries: Vec<Entry>, framing: Framing) -> Reply {
    let items = Reply::Array(entries.iter().map(entry_reply).collect());
    match framing {
        _ if entries.is_empty() => Reply::Array(Vec::new()),
        Framing::Array => items,
        Framing::StreamMap(name) => Reply::StreamMap(vec![(Reply::Bulk(name.to_vec()), items)]),
    }
}

/// The rest of a feed range, a chunk at a time: the range shrinks from the side it is read.
struct FeedChunks {
    range: FeedRange,
}

impl Chunks for FeedChunks {
    fn next_chunk(&mut self, store: &Store, max: usize) -> crm_engine::Result<Vec<Reply>> {
        let range = FeedRange {
            count: max,
            ..self.range
        };
        let entries = store.feed(&range)?;
        match entries.last() {
            Some(last) if self.range.reverse => self.range.last = last.seq.saturating_sub(1),
            Some(last) => self.range.first = last.seq.saturating_add(1),
            None => {}
        }
        Ok(entries.iter().map(entry_reply).collect())
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
