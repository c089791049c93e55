//! One client connection: read bytes, cut them into requests, answer each in order.
//!
//! Replies to every request already in the buffer are collected and written together, so a
//! pipelining client gets one write per batch instead of one per reply. Each connection is its
//! own task: a slow or hostile client only ever holds up itself.

use crate::cmd;
use crate::frame::{parse_request, Parsed};
use crate::reply::Reply;
use crate::state::{Session, Shared};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// How much the read buffer grows by per read.
const READ_CHUNK: usize = 16 * 1024;
/// Replies are written once this much is waiting, even mid-batch.
const WRITE_HIGH_WATER: usize = 64 * 1024;

/// Serves one connection until the client leaves, a protocol error, an idle timeout or shutdown.
pub async fn serve(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    mut shutdown: watch::Receiver<bool>,
    id: u64,
) {
    let _ = stream.set_nodelay(true);
    let mut session = Session::new(id);
    let mut input: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut output: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut start = 0usize;
    loop {
        // Answer every complete request already received.
        let mut close = false;
        loop {
            match parse_request(&input[start..]) {
                Parsed::Incomplete => break,
                Parsed::Empty { used } => start += used,
                Parsed::Request { args, used } => {
                    start += used;
                    shared.total_commands.fetch_add(1, Ordering::Relaxed);
                    let answer = cmd::dispatch(&shared, &mut session, args).await;
                    if let Reply::Error { code, .. } = &answer.reply {
                        tracing::debug!(connection = id, code, "error reply");
                    }
                    answer.reply.encode(session.proto, &mut output);
                    if answer.close {
                        close = true;
                        break;
                    }
                    if output.len() >= WRITE_HIGH_WATER {
                        if stream.write_all(&output).await.is_err() {
                            return;
                        }
                        output.clear();
                    }
                }
                Parsed::Error(message) => {
                    tracing::warn!(connection = id, %message, "protocol error; closing");
                    Reply::error("ERR", format!("protocol error: {message}"))
                        .encode(session.proto, &mut output);
                    close = true;
                    break;
                }
            }
        }
        if !output.is_empty() {
            if stream.write_all(&output).await.is_err() {
                return;
            }
            output.clear();
        }
        if close || *shutdown.borrow() {
            let _ = stream.shutdown().await;
            return;
        }
        // Keep the unread tail at the front of the buffer.
        if start > 0 {
            input.drain(..start);
            start = 0;
        }
        input.reserve(READ_CHUNK);
        let read = stream.read_buf(&mut input);
        let outcome = tokio::select! {
            result = with_idle_timeout(&shared, read) => result,
            _ = shutdown.changed() => return,
        };
        match outcome {
            Some(Ok(n)) if n > 0 => {}
            Some(Ok(_)) | Some(Err(_)) => return,
            None => {
                tracing::info!(connection = id, "idle timeout; closing");
                return;
            }
        }
    }
}

/// Runs a read under the idle timeout (`None` when it expires).
async fn with_idle_timeout<F: std::future::Future>(shared: &Shared, read: F) -> Option<F::Output> {
    match shared.config.idle_timeout {
        Some(limit) => tokio::time::timeout(limit, read).await.ok(),
        None => Some(read.await),
    }
}
