//! What a joining node answers while it copies its snapshot, before it has a store: `PING`,
//! `HELLO` (without `AUTH`), `QUIT` and `CLIENT SETINFO`/`SETNAME`, and `-LOADING` to every
//! other command (`AUTH` included), as Redis answers while it loads — client libraries retry
//! that. When the copy is done these connections are closed; clients reconnect to the server
//! proper on the same listener.

use crate::frame::{parse_request, Parsed};
use crate::reply::Reply;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The largest request read while loading (nothing legitimate is larger).
const MAX_REQUEST: usize = 64 * 1024;
/// Connections answered at once while loading.
const MAX_CONNECTIONS: usize = 256;

/// Answers connections on `listener` until `done` turns true; then returns the listener.
pub async fn answer_while_loading(listener: &TcpListener, mut done: watch::Receiver<bool>) {
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let Ok(permit) = open.clone().try_acquire_owned() else { continue };
                let done = done.clone();
                connections.spawn(async move {
                    answer(stream, done).await;
                    drop(permit);
                });
                while connections.try_join_next().is_some() {}
            }
            changed = done.changed() => {
                if changed.is_err() || *done.borrow() {
                    break;
                }
            }
        }
    }
    connections.abort_all();
}

async fn answer(mut stream: TcpStream, mut done: watch::Receiver<bool>) {
    let mut buffer = Vec::with_capacity(1024);
    let mut proto = 2u8;
    loop {
        match parse_request(&buffer, MAX_REQUEST) {
            Parsed::Incomplete => {
                let mut chunk = [0u8; 4096];
                let read = tokio::select! {
                    read = stream.read(&mut chunk) => read,
                    _ = done.changed() => return,
                };
                match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            Parsed::Empty { used } => {
                buffer.drain(..used);
            }
            Parsed::Error(message) => {
                let _ = stream
                    .write_all(format!("-ERR protocol error: {message}\r\n").as_bytes())
                    .await;
                return;
            }
            Parsed::Request { args, used } => {
                buffer.drain(..used);
                let (reply, quit) = reply_to(&args, &mut proto);
                let mut out = Vec::new();
                reply.encode(proto, &mut out);
                if stream.write_all(&out).await.is_err() || quit {
                    return;
                }
            }
        }
    }
}

fn loading() -> Reply {
    Reply::error("LOADING", "the node is copying a snapshot")
}

fn reply_to(args: &[Vec<u8>], proto: &mut u8) -> (Reply, bool) {
    let word = |i: usize| {
        args.get(i)
            .map(|w| String::from_utf8_lossy(w).to_ascii_uppercase())
            .unwrap_or_default()
    };
    match word(0).as_str() {
        "PING" => match args.get(1) {
            Some(message) if args.len() == 2 => (Reply::Bulk(message.clone()), false),
            None => (Reply::Simple("PONG"), false),
            Some(_) => (
                Reply::error("ERR", "wrong number of arguments for 'ping' command"),
                false,
            ),
        },
        "QUIT" => (Reply::Simple("OK"), true),
        "CLIENT" if matches!(word(1).as_str(), "SETINFO" | "SETNAME") => {
            (Reply::Simple("OK"), false)
        }
        "HELLO" => {
            if args.len() > 2 {
                // HELLO with AUTH or SETNAME: AUTH waits for the store.
                return (loading(), false);
            }
            let asked = match args.get(1) {
                None => *proto,
                Some(v) if v == b"2" => 2,
                Some(v) if v == b"3" => 3,
                Some(_) => {
                    return (
                        Reply::error("NOPROTO", "unsupported protocol version (2 or 3)"),
                        false,
                    )
                }
            };
            *proto = asked;
            (
                Reply::Map(vec![
                    ("server", Reply::Bulk(b"crm-server".to_vec())),
                    ("version", Reply::Bulk(crate::VERSION.as_bytes().to_vec())),
                    ("proto", Reply::Integer(i64::from(asked))),
                    ("id", Reply::Integer(0)),
                    ("mode", Reply::Bulk(b"standalone".to_vec())),
                    ("role", Reply::Bulk(b"replica".to_vec())),
                    ("modules", Reply::Array(Vec::new())),
                    ("crm_protocol", Reply::Integer(crate::CRM_PROTOCOL)),
                ]),
                false,
            )
        }
        _ => (loading(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_of(words: &[&str], proto: &mut u8) -> (Vec<u8>, bool) {
        let args: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
        let (reply, quit) = reply_to(&args, proto);
        let mut out = Vec::new();
        reply.encode(*proto, &mut out);
        (out, quit)
    }

    #[test]
    fn while_copying_only_the_connection_commands_answer_and_the_rest_is_loading() {
        let mut proto = 2;
        assert_eq!(answer_of(&["PING"], &mut proto).0, b"+PONG\r\n");
        assert_eq!(answer_of(&["ping", "hi"], &mut proto).0, b"$2\r\nhi\r\n");
        assert_eq!(
            answer_of(&["CLIENT", "SETNAME", "x"], &mut proto).0,
            b"+OK\r\n"
        );
        assert_eq!(
            answer_of(&["client", "setinfo", "lib-name", "x"], &mut proto).0,
            b"+OK\r\n"
        );
        let loading = b"-LOADING the node is copying a snapshot\r\n".to_vec();
        for words in [
            vec!["AUTH", "admin", "pw"],
            vec!["HELLO", "3", "AUTH", "admin", "pw"],
            vec!["CUSTOMER.GET", "1"],
            vec!["INFO"],
            vec!["ROLE"],
            vec!["CLIENT", "LIST"],
        ] {
            assert_eq!(answer_of(&words, &mut proto).0, loading, "{words:?}");
        }
        let (hello, _) = answer_of(&["HELLO", "3"], &mut proto);
        assert_eq!(proto, 3);
        assert!(hello.starts_with(b"%8\r\n"));
        assert!(hello.windows(7).any(|w| w == b"replica"));
        assert_eq!(
            answer_of(&["QUIT"], &mut proto),
            (b"+OK\r\n".to_vec(), true)
        );
    }
}
