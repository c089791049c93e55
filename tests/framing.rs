//! Framing: inline lines with quoting, pipelining, oversized and malformed frames.

#![allow(clippy::unwrap_used)]

use crm_tests::TestServer;
use std::io::{Read, Write};

#[test]
fn inline_quoting_and_bare_newlines() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    let reply = raw.roundtrip("CUSTOMER.ADD NAME \"Ada \\\"The Countess\\\" Lovelace\" EMAIL 'ada@example.com' PHONE \"+44\\x20555 0100\"\n");
    assert_eq!(reply, ":1\r\n");
    let record = raw.roundtrip("CUSTOMER.GET 1\n");
    assert!(
        record.contains(r#""name":"Ada \"The Countess\" Lovelace""#),
        "{record}"
    );
    assert!(record.contains(r#""phone":"+445550100""#), "{record}");
    // Empty lines and empty multibulks get no reply at all.
    raw.send("\r\n\n*0\r\n*-1\r\nPING\r\n");
    assert_eq!(raw.read_reply(), "+PONG\r\n");
}

#[test]
fn ten_thousand_pipelined_commands_answer_in_order() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    let mut batch = Vec::new();
    for i in 0..10_000 {
        if i % 2 == 0 {
            batch.extend_from_slice(
                format!("*2\r\n$4\r\nPING\r\n${}\r\n{}\r\n", i.to_string().len(), i).as_bytes(),
            );
        } else {
            batch.extend_from_slice(
                format!("CUSTOMER.ADD NAME n{i} EMAIL u{i}@example.com\r\n").as_bytes(),
            );
        }
    }
    let writer_stream = raw.stream.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut stream = writer_stream;
        stream.write_all(&batch).unwrap();
    });
    let mut added = 0;
    for i in 0..10_000 {
        let reply = raw.read_reply();
        if i % 2 == 0 {
            assert_eq!(reply, format!("${}\r\n{}\r\n", i.to_string().len(), i));
        } else {
            added += 1;
            assert_eq!(reply, format!(":{added}\r\n"));
        }
    }
    writer.join().unwrap();
    assert!(raw
        .roundtrip("CUSTOMER.GET 5000\r\n")
        .contains("\"id\":5000"));
}

#[test]
fn oversized_and_malformed_frames_close_the_connection() {
    let server = TestServer::start();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("huge bulk", b"*1\r\n$999999999\r\n".to_vec()),
        (
            "bulk over 1 MiB",
            b"*2\r\n$4\r\nPING\r\n$1048577\r\n".to_vec(),
        ),
        ("too many elements", b"*1025\r\n".to_vec()),
        ("negative count", b"*-5\r\n".to_vec()),
        ("non-numeric count", b"*x\r\n".to_vec()),
        ("negative bulk", b"*1\r\n$-3\r\n".to_vec()),
        ("bulk outside multibulk", b"$4\r\nPING\r\n".to_vec()),
        ("not a bulk", b"*1\r\n:4\r\n".to_vec()),
        ("unbalanced quotes", b"PING \"oops\r\n".to_vec()),
        (
            "inline over 64 KiB",
            [vec![b'a'; 65_537], b"\r\n".to_vec()].concat(),
        ),
        ("endless inline", vec![b'a'; 70_000]),
    ];
    for (what, bytes) in cases {
        let mut raw = server.raw();
        raw.send(&bytes);
        let reply = raw.read_reply();
        assert!(
            reply.starts_with("-ERR protocol error: "),
            "{what}: {reply:?}"
        );
        assert!(raw.is_closed(), "{what}: still open");
    }
    // The server is still fine.
    assert_eq!(server.raw().roundtrip("PING\r\n"), "+PONG\r\n");
}

#[test]
fn exactly_the_limits_are_accepted() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    let big = "x".repeat(1_048_576);
    raw.send(format!("*2\r\n$4\r\nPING\r\n$1048576\r\n{big}\r\n"));
    let reply = raw.read_reply();
    assert_eq!(reply.len(), "$1048576\r\n".len() + 1_048_576 + 2);
    let mut request = String::from("*1024\r\n$4\r\nPING\r\n");
    for _ in 0..1023 {
        request.push_str("$1\r\nx\r\n");
    }
    // PING with 1023 arguments is a syntax error, but a well-formed frame.
    assert!(raw
        .roundtrip(&request)
        .starts_with("-ERR wrong number of arguments"));
    let inline = format!("PING {}\r\n", "y".repeat(65_536 - 5));
    assert!(raw.roundtrip(&inline).starts_with("$65531\r\n"));
}

#[test]
fn invalid_utf8_is_invalid_in_values_and_unknown_in_names() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    raw.send(b"*5\r\n$12\r\nCUSTOMER.ADD\r\n$4\r\nNAME\r\n$2\r\n\xff\xfe\r\n$5\r\nEMAIL\r\n$7\r\na@b.com\r\n");
    assert!(raw.read_reply().starts_with("-INVALID name: "));
    raw.send(b"*1\r\n$2\r\n\xff\xfe\r\n");
    assert!(raw.read_reply().starts_with("-ERR unknown command"));
    let mut anonymous = server.raw();
    anonymous.send(b"*1\r\n$2\r\n\xff\xfe\r\n");
    assert_eq!(
        anonymous.read_reply(),
        "-NOAUTH Authentication required.\r\n"
    );
}

#[test]
fn a_slow_client_does_not_stall_the_others() {
    let server = TestServer::start();
    let mut slow = server.raw_admin();
    // Half a request, never finished.
    slow.send("*3\r\n$4\r\nPING\r\n$100\r\nabc");
    let mut other = server.raw_admin();
    for _ in 0..100 {
        assert_eq!(other.roundtrip("PING\r\n"), "+PONG\r\n");
    }
    let mut byte = [0u8; 1];
    slow.stream
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    assert!(
        slow.stream.read(&mut byte).is_err(),
        "the slow client got a reply to half a request"
    );
}

/// Guards the pipelined adds (`server/src/cmd/submit.rs`): adds a client pipelines are handed
/// to the committer as they are read and share write groups, yet every reply comes in request
/// order — refusals among them included — and a read pipelined after them sees them all.
#[test]
fn pipelined_adds_share_write_groups_and_answer_in_order() {
    let server = TestServer::start();
    let mut raw = server.raw_admin();
    assert_eq!(
        raw.roundtrip("CUSTOMER.ADD NAME Ann EMAIL ann@example.com\r\n"),
        ":1\r\n"
    );
    assert_eq!(
        raw.roundtrip("PRODUCT.ADD NAME Pen PRICE 1.25 STOCK 0\r\n"),
        ":1\r\n"
    );
    let flushes_before = info_number(&mut raw, "write_flushes");
    let mut batch = String::new();
    let mut expected = Vec::new();
    let mut next_order = 1;
    for i in 0..200 {
        match i {
            // A refusal before the write (a missing keyword), and one by the committer (a
            // taken email), each answered in its place.
            50 => {
                batch.push_str("ORDER.ADD CUSTOMER 1 QUANTITY 1\r\n");
                expected.push("-ERR".to_string());
            }
            120 => {
                batch.push_str("CUSTOMER.ADD NAME Ann EMAIL ann@example.com\r\n");
                expected.push("-CONFLICT".to_string());
            }
            150 => {
                batch.push_str("PRODUCT.ADD NAME Ink PRICE 2 STOCK 0\r\n");
                expected.push(":2\r\n".to_string());
            }
            _ => {
                batch.push_str("ORDER.ADD CUSTOMER 1 PRODUCT 1 QUANTITY 1 NOSTOCK\r\n");
                expected.push(format!(":{next_order}\r\n"));
                next_order += 1;
            }
        }
    }
    // Read right after the adds, in the same pipeline: it must see every one of them.
    batch.push_str("STATS.CUSTOMER 1\r\n");
    raw.send(batch);
    for (index, want) in expected.iter().enumerate() {
        let reply = raw.read_reply();
        assert!(
            reply.starts_with(want.as_str()),
            "request {index}: {reply:?}, wanted {want:?}"
        );
    }
    let stats = raw.read_reply();
    let orders = next_order - 1;
    assert!(
        stats.contains(&format!("\"order_count\":{orders}")),
        "{stats}"
    );
    // 197 durable writes did not take 197 fsyncs one after another.
    let flushes = info_number(&mut raw, "write_flushes") - flushes_before;
    assert!(flushes < 100, "{flushes} fsyncs for 198 pipelined writes");
}

fn info_number(raw: &mut crm_tests::RawConnection, field: &str) -> u64 {
    let info = raw.roundtrip("INFO\r\n");
    let value = info
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|value| value.trim().parse().ok());
    assert!(value.is_some(), "no {field} in {info}");
    value.unwrap()
}
