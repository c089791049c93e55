//! Replies too large to hold whole, produced in pieces as the client reads them
//! (`PROTOCOL.md`, "Framing": a reply over 1 MiB never sits whole in memory).
//!
//! A command that may answer with many items returns a [`Streamed`] reply: a [`Source`] that
//! the connection asks for the next piece (about [`PIECE_BYTES`] of encoded reply) only once
//! less than a piece waits unsent, so one connection holds at most a piece or two of such a
//! reply however large it is and however slowly its client reads. Pieces are produced on the
//! blocking pool, under the same permits as other large reads, so building one never holds
//! up the async workers that answer other clients.
//!
//! A RESP array states its length first. Every source here therefore knows its length
//! before the first piece: the change feed from the counts its pages keep, held rows from
//! their number, pages of records from a first pass that counts them. A record deleted
//! between that count and its piece leaves its place to the next one, and at the end of the
//! walk a nil (never a shorter array than announced, which would desynchronise the client).

use crate::reply::Reply;
/// Named here too, beside what implements them; declared beside [`Reply`], whose
/// `Streamed` variant holds one (types that refer to each other live in one file).
pub use crate::reply::{Source, Streamed};
use crm_engine::Store;
use std::io::Write;

/// Roughly how much of a reply one piece holds.
pub const PIECE_BYTES: usize = 256 * 1024;
/// Feed answers of at most this many entries (about 100 bytes each) are built whole.
pub const SMALL_ARRAY_ITEMS: usize = 4_096;
/// Replies up to this size are built whole; larger ones are streamed (`PROTOCOL.md`: "a
/// reply over 1 MiB is produced in pieces").
pub const WHOLE_BYTES: usize = 1024 * 1024;
/// The most items read from the store at a time.
pub const CHUNK_ITEMS: usize = 1_024;

/// The items of an array, read a chunk at a time.
pub trait Chunks: Send + 'static {
    /// Up to `max` further items, in order; none once the walk is over.
    fn next_chunk(&mut self, store: &Store, max: usize) -> crm_engine::Result<Vec<Reply>>;
}

/// What comes before a streamed array: nothing, or `XREAD`'s one-stream map around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Array,
    /// `[[name, entries]]` in RESP2, `%{name: entries}` in RESP3.
    StreamMap(&'static [u8]),
}

/// An array of a length stated up front, its items produced a chunk at a time.
pub struct ArraySource<C> {
    framing: Framing,
    length: usize,
    emitted: usize,
    started: bool,
    /// The walk ran out before `length` items: the rest are nils.
    exhausted: bool,
    chunks: C,
}

impl<C: Chunks> ArraySource<C> {
    pub fn new(framing: Framing, length: usize, chunks: C) -> ArraySource<C> {
        ArraySource {
            framing,
            length,
            emitted: 0,
            started: false,
            exhausted: false,
            chunks,
        }
    }

    /// As a reply.
    pub fn reply(self) -> Reply {
        Reply::Streamed(Streamed(Box::new(self)))
    }
}

impl<C: Chunks> Source for ArraySource<C> {
    fn next_piece(
        &mut self,
        store: &Store,
        proto: u8,
        out: &mut Vec<u8>,
    ) -> crm_engine::Result<bool> {
        if !self.started {
            self.started = true;
            if let Framing::StreamMap(name) = self.framing {
                if proto >= 3 {
                    out.extend_from_slice(b"%1\r\n");
                } else {
                    out.extend_from_slice(b"*1\r\n*2\r\n");
                }
                Reply::Bulk(name.to_vec()).encode(proto, out);
            }
            let _ = write!(out, "*{}\r\n", self.length);
        }
        let start = out.len();
        while self.emitted < self.length && out.len() - start < PIECE_BYTES {
            let wanted = (self.length - self.emitted).min(CHUNK_ITEMS);
            let items = if self.exhausted {
                Vec::new()
            } else {
                self.chunks.next_chunk(store, wanted)?
            };
            if items.is_empty() {
                self.exhausted = true;
                for _ in 0..wanted {
                    Reply::Nil.encode(proto, out);
                }
                self.emitted += wanted;
                continue;
            }
            for item in items.into_iter().take(wanted) {
                item.encode(proto, out);
                self.emitted += 1;
            }
        }
        Ok(self.emitted < self.length)
    }
}

/// An array whose first items are small and known (a query's cursor) and whose last item is
/// a large array produced in pieces (the page's records): `*n`, the items, then the source's
/// own encoding.
pub struct Preceded {
    head: Vec<Reply>,
    rest: Box<dyn Source>,
    started: bool,
}

impl Preceded {
    /// `[head..., rest]` as one reply: built whole when `rest` is (then it is an array of
    /// its own), else streamed after the head.
    pub fn reply(head: Vec<Reply>, rest: Reply) -> Reply {
        match rest {
            Reply::Streamed(Streamed(rest)) => Reply::Streamed(Streamed(Box::new(Preceded {
                head,
                rest,
                started: false,
            }))),
            whole => {
                let mut items = head;
                items.push(whole);
                Reply::Array(items)
            }
        }
    }
}

impl Source for Preceded {
    fn next_piece(
        &mut self,
        store: &Store,
        proto: u8,
        out: &mut Vec<u8>,
    ) -> crm_engine::Result<bool> {
        if !self.started {
            self.started = true;
            let _ = write!(out, "*{}\r\n", self.head.len() + 1);
            for item in &self.head {
                item.encode(proto, out);
            }
        }
        self.rest.next_piece(store, proto, out)
    }
}

/// Rows already computed (a statistic's table), turned into replies a chunk at a time: the
/// rows are compact structs; their JSON is made only as the client reads.
pub struct HeldRows<T, F> {
    /// Rows already encoded, sent first.
    encoded: std::collections::VecDeque<Reply>,
    rows: std::vec::IntoIter<T>,
    encode: F,
}

impl<T, F> HeldRows<T, F>
where
    T: Send + 'static,
    F: FnMut(&Store, T) -> crm_engine::Result<Reply> + Send + 'static,
{
    /// An array reply of `rows`, each encoded by `encode`: whole up to [`WHOLE_BYTES`], else
    /// streamed (the rows encoded so far go first).
    pub fn reply(rows: Vec<T>, mut encode: F, store: &Store) -> crm_engine::Result<Reply> {
        let length = rows.len();
        let mut rows = rows.into_iter();
        let mut encoded = Vec::new();
        let mut bytes = 0;
        for row in rows.by_ref() {
            let reply = encode(store, row)?;
            bytes += reply.encoded_len_estimate();
            encoded.push(reply);
            if bytes > WHOLE_BYTES {
                break;
            }
        }
        if encoded.len() == length {
            return Ok(Reply::Array(encoded));
        }
        let chunks = HeldRows {
            encoded: encoded.into(),
            rows,
            encode,
        };
        Ok(ArraySource::new(Framing::Array, length, chunks).reply())
    }
}

impl<T, F> Chunks for HeldRows<T, F>
where
    T: Send + 'static,
    F: FnMut(&Store, T) -> crm_engine::Result<Reply> + Send + 'static,
{
    fn next_chunk(&mut self, store: &Store, max: usize) -> crm_engine::Result<Vec<Reply>> {
        let mut chunk: Vec<Reply> = self.encoded.drain(..max.min(self.encoded.len())).collect();
        for row in self.rows.by_ref().take(max - chunk.len()) {
            chunk.push((self.encode)(store, row)?);
        }
        Ok(chunk)
    }
}

/// Reads up to `limit` items after a cursor, ascending: each with the cursor it moves to.
pub type Fetch =
    dyn Fn(&Store, u64, usize) -> crm_engine::Result<Vec<(u64, Reply)>> + Send + Sync + 'static;

/// The rest of a page of records, read after a cursor a chunk at a time.
pub struct AfterCursor {
    pub after: u64,
    pub fetch: std::sync::Arc<Fetch>,
}

impl Chunks for AfterCursor {
    fn next_chunk(&mut self, store: &Store, max: usize) -> crm_engine::Result<Vec<Reply>> {
        let found = (self.fetch)(store, self.after, max)?;
        if let Some((last, _)) = found.last() {
            self.after = *last;
        }
        Ok(found.into_iter().map(|(_, reply)| reply).collect())
    }
}
