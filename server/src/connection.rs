//! One client connection: read bytes, cut them into requests, answer each in order, within
//! the limits of `PROTOCOL.md` ("Framing").
//!
//! Reading and writing are independent: replies wait in an output buffer that is handed to the
//! kernel whenever it takes bytes, and requests keep being read and answered meanwhile — until
//! a reply is produced while more than [`MAX_OUTPUT_BYTES`] wait unsent, which closes the
//! connection (a client that pipelines and never reads cannot hold memory). Replies to every
//! request already received are collected and written together, so a pipelining client gets
//! one write per batch. Each connection is its own task: a slow or hostile client only ever
//! holds up itself. Plain adds and upserts are handed to the committer as they are read and answered
//! later, in order (`cmd/submit.rs`): a pipelining client's adds share a write group; at
//! most [`MAX_OWED`] replies are owed at once.
//!
//! Deadlines: until `AUTH` succeeds, the connection lives at most `--auth-timeout` from accept,
//! whatever it sends; `--idle-timeout` closes one that sends nothing. While a command runs, the
//! connection watches its socket: a client that goes away has its command cancelled (a heavy
//! statistic stops within a second) and its requests not yet started dropped. At shutdown,
//! running heavy commands are cancelled, and a client gets at most [`SHUTDOWN_DRAIN`] to read
//! what it was sent.
//!
//! A connection with subscriptions (`SUBSCRIBE`) hears what is published on `+switch-master`
//! while it waits for requests, and writes it between whole replies; it is never closed for
//! saying nothing, as Redis keeps its subscribers.

use crate::cmd::{self, Answer, Request};
use crate::frame::{parse_request, Parsed, MAX_REQUEST_BYTES, MAX_REQUEST_BYTES_BEFORE_AUTH};
use crate::pieces::{Streamed, PIECE_BYTES};
use crate::reply::Reply;
use crate::session::Session;
use crate::state::Shared;
use std::collections::VecDeque;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use zeroize::Zeroize;

/// How much the read buffer grows by per read.
const READ_CHUNK: usize = 16 * 1024;
/// Replies are handed to the kernel once this much is waiting, even mid-batch.
const WRITE_HIGH_WATER: usize = 64 * 1024;
/// A reply produced while more than this waits unsent closes the connection.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;
/// At shutdown (or after a final error), how long a client may take to read what it was sent.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(2);
/// After the authentication deadline, how long the farewell may take to leave.
const TIMEOUT_DRAIN: Duration = Duration::from_millis(500);
/// The most replies a connection owes before it waits for them (submitted writes and the
/// answers queued behind them): what all connections may have queued for the committer is
/// bounded by this times `--max-connections` (256 × 1,024 writes of at most a few hundred
/// bytes each), and 256 keeps an import's pipeline of 1,000 rows in a few groups.
const MAX_OWED: usize = 256;

/// A reply owed, in the order of the requests.
enum Owed {
    /// An add handed to the committer, not answered yet.
    Submitted(cmd::Submitted),
    /// An answer queued behind submitted adds.
    Ready(Answer),
}

/// Replies waiting to be taken by the kernel.
#[derive(Default)]
struct Output {
    buffer: Vec<u8>,
    sent: usize,
}

impl Output {
    fn pending(&self) -> usize {
        self.buffer.len() - self.sent
    }

    fn unsent(&self) -> &[u8] {
        &self.buffer[self.sent..]
    }

    fn advance(&mut self, written: usize) {
        self.sent += written;
        if self.sent == self.buffer.len() {
            self.buffer.clear();
            self.sent = 0;
        } else if self.sent > self.buffer.len() / 2 && self.sent > WRITE_HIGH_WATER {
            self.buffer.drain(..self.sent);
            self.sent = 0;
        }
    }

    /// Hands the kernel what it takes without waiting; `Err` when the peer is gone.
    fn try_send(&mut self, writer: &OwnedWriteHalf) -> std::io::Result<()> {
        while self.pending() > 0 {
            match writer.try_write(self.unsent()) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(written) => self.advance(written),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes everything, giving up after `limit`.
    async fn drain(&mut self, writer: &mut OwnedWriteHalf, limit: Duration) {
        let _ = tokio::time::timeout(limit, async {
            while self.pending() > 0 {
                match writer.write(self.unsent()).await {
                    Ok(0) | Err(_) => return,
                    Ok(written) => self.advance(written),
                }
            }
        })
        .await;
    }
}

/// Why a connection ends.
enum End {
    /// Write what waits (briefly), then close.
    Close,
    /// The client is gone or over its limits: close without writing more.
    Drop,
}

/// One connection's buffers and deadlines.
struct Connection {
    shared: Arc<Shared>,
    session: Session,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    input: Vec<u8>,
    output: Output,
    shutdown: watch::Receiver<bool>,
    /// When an unauthenticated connection is closed.
    auth_deadline: Option<Instant>,
    /// When the last bytes arrived (a login read before the authentication deadline is
    /// still answered).
    last_read: Instant,
    /// When the connection last showed life: bytes arrived, or a command ended.
    active_at: Instant,
    /// Replies owed to requests already read, in order.
    owed: VecDeque<Owed>,
    /// A large reply put in the output and not produced yet (`pieces.rs`).
    streaming: Option<Streamed>,
}

/// Serves one connection until the client leaves, a protocol error, a deadline or shutdown.
pub async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    shutdown: watch::Receiver<bool>,
    id: u64,
    peer: IpAddr,
    accepted: Instant,
) {
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let auth_deadline = shared.config.auth_timeout.map(|limit| accepted + limit);
    let mut connection = Connection {
        session: Session::new(id, peer),
        shared,
        reader,
        writer,
        input: Vec::with_capacity(READ_CHUNK),
        output: Output::default(),
        shutdown,
        auth_deadline,
        last_read: Instant::now(),
        active_at: Instant::now(),
        owed: VecDeque::new(),
        streaming: None,
    };
    let end = connection.run().await;
    if matches!(end, End::Close) {
        let drain = if connection.timed_out() {
            TIMEOUT_DRAIN
        } else {
            SHUTDOWN_DRAIN
        };
        connection.output.drain(&mut connection.writer, drain).await;
        let _ = connection.writer.shutdown().await;
    }
}

impl Connection {
    fn timed_out(&self) -> bool {
        !self.session.is_authenticated()
            && self
                .auth_deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
    }

    fn max_request(&self) -> usize {
        if self.session.is_authenticated() {
            MAX_REQUEST_BYTES
        } else {
            MAX_REQUEST_BYTES_BEFORE_AUTH
        }
    }

    async fn run(&mut self) -> End {
        loop {
            if let Some(end) = self.answer_buffered().await {
                return end;
            }
            if *self.shutdown.borrow() {
                return End::Close;
            }
            if let Some(end) = self.wait().await {
                return end;
            }
        }
    }

    /// Answers every complete request in the input buffer; `Some` when the connection ends.
    async fn answer_buffered(&mut self) -> Option<End> {
        let mut start = 0usize;
        let end = loop {
            // At shutdown only what is in flight finishes: requests read but not started are
            // dropped (a client that pipelined thirty large reads does not hold up the stop).
            if *self.shutdown.borrow() {
                break Some(End::Close);
            }
            let (args, used) = match parse_request(&self.input[start..], self.max_request()) {
                Parsed::Incomplete => break None,
                Parsed::Empty { used } => {
                    start += used;
                    continue;
                }
                Parsed::Error(message) => {
                    if let Some(end) = self.settle().await {
                        break Some(end);
                    }
                    tracing::warn!(connection = self.session.id, %message, "protocol error; closing");
                    self.push(Reply::error("ERR", format!("protocol error: {message}")));
                    break Some(End::Close);
                }
                Parsed::Request { args, used } => (args, used),
            };
            let logs_in = is_login(&args);
            if self.timed_out() && !(logs_in && self.last_read < self.deadline()) {
                break Some(self.authentication_timeout());
            }
            // A login's bytes are wiped from the buffer once copied out.
            if logs_in {
                self.input[start..start + used].zeroize();
            }
            start += used;
            self.shared.total_commands.fetch_add(1, Ordering::Relaxed);
            let request = Request {
                args,
                read_at: self.last_read,
            };
            let answer = match cmd::step(&self.shared, &mut self.session, request) {
                cmd::Step::Submitted(submitted) => {
                    self.owed.push_back(Owed::Submitted(submitted));
                    if self.owed.len() < MAX_OWED {
                        continue;
                    }
                    match self.settle().await {
                        Some(end) => break Some(end),
                        None => continue,
                    }
                }
                cmd::Step::Answered(answer) if !self.owed.is_empty() => {
                    self.owed.push_back(Owed::Ready(answer));
                    continue;
                }
                cmd::Step::Answered(answer) => answer,
                cmd::Step::Run(later) => {
                    // What it reads or does comes after the adds before it.
                    if let Some(end) = self.settle().await {
                        break Some(end);
                    }
                    let (answer, gone) = self.run_command(later).await;
                    self.active_at = Instant::now();
                    if gone {
                        break Some(End::Drop);
                    }
                    answer
                }
            };
            if let Some(end) = self.deliver(answer).await {
                break Some(end);
            }
            if self.timed_out() {
                break Some(self.authentication_timeout());
            }
        };
        if start > 0 {
            drain_wiping(&mut self.input, start);
        }
        let end = match end {
            None => self.settle().await,
            end => end,
        };
        if end.is_none() && self.output.try_send(&self.writer).is_err() {
            return Some(End::Drop);
        }
        end
    }

    /// Answers every owed reply, in order; `Some` when the connection ends.
    async fn settle(&mut self) -> Option<End> {
        while let Some(owed) = self.owed.pop_front() {
            let answer = match owed {
                Owed::Submitted(submitted) => submitted.answer().await,
                Owed::Ready(answer) => answer,
            };
            self.active_at = Instant::now();
            if let Some(end) = self.deliver(answer).await {
                self.owed.clear();
                return Some(end);
            }
        }
        None
    }

    /// Puts an answer in the output (handing the output to the kernel when it is large);
    /// `Some` when the connection ends.
    async fn deliver(&mut self, answer: Answer) -> Option<End> {
        if let Reply::Error { code, .. } = &answer.reply {
            tracing::debug!(connection = self.session.id, code, "error reply");
        }
        if self.output.pending() > MAX_OUTPUT_BYTES && self.output.try_send(&self.writer).is_err() {
            return Some(End::Drop);
        }
        if self.output.pending() > MAX_OUTPUT_BYTES {
            tracing::warn!(
                connection = self.session.id,
                waiting = self.output.pending(),
                "the client does not read its replies; closing"
            );
            return Some(End::Drop);
        }
        self.push(answer.reply);
        if answer.close {
            return Some(End::Close);
        }
        if self.streaming.is_some() {
            return self.stream().await;
        }
        if self.output.pending() >= WRITE_HIGH_WATER && self.output.try_send(&self.writer).is_err()
        {
            return Some(End::Drop);
        }
        None
    }

    fn deadline(&self) -> Instant {
        self.auth_deadline.unwrap_or_else(Instant::now)
    }

    fn push(&mut self, reply: Reply) {
        match reply {
            Reply::Streamed(streamed) => self.streaming = Some(streamed),
            reply => reply.encode(self.session.proto, &mut self.output.buffer),
        }
    }

    /// Produces the large reply just put in the output, a piece at a time, each once less
    /// than a piece waits unsent; `Some` when the connection ends meanwhile (the client stopped
    /// reading for `--idle-timeout`, went away, the server stops, or the reply could not be
    /// completed). Requests that follow wait until it is sent.
    async fn stream(&mut self) -> Option<End> {
        let Streamed(mut source) = self.streaming.take()?;
        loop {
            if let Some(end) = self.send_down_to(PIECE_BYTES).await {
                return Some(end);
            }
            let Ok(_permit) = self.shared.work.reads.acquire().await else {
                return Some(End::Close);
            };
            let store = self.shared.store.clone();
            let proto = self.session.proto;
            let mut piece = Vec::with_capacity(PIECE_BYTES + PIECE_BYTES / 4);
            let produced = tokio::task::spawn_blocking(move || {
                let more = source.next_piece(&store, proto, &mut piece);
                (source, piece, more)
            })
            .await;
            let Ok((back, piece, more)) = produced else {
                return Some(End::Drop);
            };
            source = back;
            self.output.buffer.extend_from_slice(&piece);
            match more {
                Ok(true) => {}
                Ok(false) => return None,
                Err(error) => {
                    tracing::warn!(
                        connection = self.session.id,
                        %error,
                        "a large reply could not be completed; closing"
                    );
                    return Some(End::Drop);
                }
            }
        }
    }

    /// Hands the kernel what waits until less than `level` bytes wait; `Some` when the
    /// connection ends meanwhile.
    async fn send_down_to(&mut self, level: usize) -> Option<End> {
        let mut progress_at = Instant::now();
        while self.output.pending() >= level {
            let idle_deadline = self
                .shared
                .config
                .idle_timeout
                .map(|limit| progress_at + limit);
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => return Some(End::Close),
                () = sleep_until(idle_deadline) => {
                    tracing::info!(
                        connection = self.session.id,
                        "the client reads nothing of its reply; closing"
                    );
                    return Some(End::Drop);
                }
                written = self.writer.write(self.output.unsent()) => match written {
                    Ok(written) if written > 0 => {
                        self.output.advance(written);
                        progress_at = Instant::now();
                        self.active_at = progress_at;
                    }
                    _ => return Some(End::Drop),
                },
            }
        }
        None
    }

    fn authentication_timeout(&mut self) -> End {
        tracing::info!(
            connection = self.session.id,
            "authentication timeout; closing"
        );
        self.output
            .buffer
            .extend_from_slice(b"-ERR authentication timeout\r\n");
        End::Close
    }

    /// Runs one command while watching the socket: `gone` is set (and the command cancelled)
    /// when the client goes away meanwhile; a shutdown cancels it too.
    async fn run_command(&mut self, later: cmd::RunLater) -> (cmd::Answer, bool) {
        let cancel = self.session.cancel.clone();
        let input_cap = self.max_request() + READ_CHUNK;
        let future = cmd::run(&self.shared, &mut self.session, later);
        watch_while(
            future,
            &mut self.reader,
            &mut self.input,
            input_cap,
            &mut self.shutdown,
            &cancel,
        )
        .await
    }

    /// Waits for bytes, for the kernel to take replies, for a message on a subscribed
    /// channel, or for a deadline; `Some` when the connection ends.
    async fn wait(&mut self) -> Option<End> {
        // A subscribed connection listens, as Redis's do, however long nothing is said.
        let idle_deadline = self
            .shared
            .config
            .idle_timeout
            .filter(|_| !self.session.subscriptions.any())
            .map(|limit| self.active_at + limit);
        let auth_deadline = (!self.session.is_authenticated())
            .then_some(self.auth_deadline)
            .flatten();
        // Keep at most one request in progress beyond what the parser has seen: the parser
        // refuses a request over the limit as soon as its headers show it.
        reserve_wiping(&mut self.input, READ_CHUNK);
        let sending = self.output.pending() > 0;
        tokio::select! {
            biased;
            _ = self.shutdown.changed() => Some(End::Close),
            () = sleep_until(auth_deadline) => Some(self.authentication_timeout()),
            () = sleep_until(idle_deadline) => {
                tracing::info!(connection = self.session.id, "idle timeout; closing");
                Some(End::Drop)
            }
            written = self.writer.write(self.output.unsent()), if sending => match written {
                Ok(written) if written > 0 => {
                    self.output.advance(written);
                    None
                }
                _ => Some(End::Drop),
            },
            read = self.reader.read_buf(&mut self.input) => match read {
                Ok(n) if n > 0 => {
                    self.last_read = Instant::now();
                    self.active_at = self.last_read;
                    None
                }
                _ => Some(End::Drop),
            },
            text = self.session.subscriptions.next_message() => {
                self.deliver_message(&text)
            }
        }
    }

    /// Puts what a published message delivers in the output, between whole replies (it is
    /// only heard while the connection waits); `Some` when the client does not read.
    fn deliver_message(&mut self, text: &str) -> Option<End> {
        if self.output.pending() > MAX_OUTPUT_BYTES {
            return Some(End::Drop);
        }
        for push in self.session.subscriptions.deliveries(text) {
            push.encode(self.session.proto, &mut self.output.buffer);
        }
        None
    }
}

/// Sleeps until `deadline`, or for ever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Makes room for `additional` more bytes in the read buffer without leaving a copy of what
/// it holds behind: a growing `Vec` moves its bytes to a new allocation and frees the old one
/// as it is, which would leave a copy of a password being received in freed memory.
fn reserve_wiping(buffer: &mut Vec<u8>, additional: usize) {
    if buffer.capacity() - buffer.len() >= additional {
        return;
    }
    let capacity = (buffer.len() + additional).max(buffer.capacity().saturating_mul(2));
    let mut grown = Vec::with_capacity(capacity);
    grown.extend_from_slice(buffer);
    // Zeroes every byte of the old allocation, its spare capacity included.
    buffer.zeroize();
    *buffer = grown;
}

/// Removes the first `used` bytes of the read buffer, zeroing the bytes its tail leaves behind
/// when it moves forward (they may hold part of a password still being received).
fn drain_wiping(buffer: &mut Vec<u8>, used: usize) {
    let before = buffer.len();
    buffer.drain(..used);
    let after = buffer.len();
    buffer.resize(before, 0);
    buffer.truncate(after);
}

/// Whether a request carries a password (`AUTH`, or `HELLO` with its `AUTH` option).
fn is_login(args: &[Vec<u8>]) -> bool {
    args.first().is_some_and(|name| {
        name.eq_ignore_ascii_case(b"AUTH") || name.eq_ignore_ascii_case(b"HELLO")
    })
}

/// Drives `command` to completion while reading the client's socket into `input` (up to
/// `input_cap` bytes): end of stream or an error means the client is gone, so `cancel` is
/// raised and `true` returned with the answer. A shutdown raises `cancel` as well. The command
/// always runs to its end — a cancelled heavy command ends within a second — so nothing it
/// holds (a backup's slot, a permit) is dropped midway.
async fn watch_while<T>(
    command: impl Future<Output = T>,
    reader: &mut OwnedReadHalf,
    input: &mut Vec<u8>,
    input_cap: usize,
    shutdown: &mut watch::Receiver<bool>,
    cancel: &crm_engine::Cancel,
) -> (T, bool) {
    tokio::pin!(command);
    let mut gone = false;
    let mut stopping = *shutdown.borrow();
    if stopping {
        cancel.cancel();
    }
    loop {
        let reading = !gone && input.len() < input_cap;
        if reading {
            reserve_wiping(input, READ_CHUNK);
        }
        tokio::select! {
            biased;
            answer = &mut command => return (answer, gone),
            _ = shutdown.changed(), if !stopping => {
                stopping = true;
                cancel.cancel();
            }
            read = reader.read_buf(input), if reading => {
                if !matches!(read, Ok(n) if n > 0) {
                    gone = true;
                    cancel.cancel();
                }
            }
        }
    }
}
