//! RESP request framing: check a request is complete and within the limits, then parse it.
//!
//! Requests are inline lines (`PING\r\n`, as `redis-cli` and `nc` send) or multibulk arrays
//! (`*2\r\n$4\r\nPING\r\n...`, as client libraries send). Every limit of `PROTOCOL.md` is checked
//! on the bytes already received, before anything is allocated for what a header announces: a
//! client announcing `$999999999` is refused on that line, not after we reserve a gigabyte.

/// The longest inline line, CRLF not counted.
pub const MAX_INLINE_BYTES: usize = 65_536;
/// The largest bulk argument.
pub const MAX_BULK_BYTES: usize = 1_048_576;
/// The most elements in one request, the command name counted.
pub const MAX_ARGS: usize = 1_024;
/// The largest whole request (the sum of its declared bulk lengths) once authenticated.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// The largest whole request before `AUTH` succeeds: enough for any login, too little to hold
/// the server's memory with unauthenticated connections.
pub const MAX_REQUEST_BYTES_BEFORE_AUTH: usize = 65_536;
/// The longest `*N` or `$N` header line: 20 digits and a sign are plenty.
const MAX_HEADER_BYTES: usize = 32;

/// What the bytes at the front of the buffer hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not a whole request yet: read more.
    Incomplete,
    /// A request and the number of bytes it used.
    Request { args: Vec<Vec<u8>>, used: usize },
    /// An empty line or empty multibulk: no reply, skip the bytes.
    Empty { used: usize },
    /// Not RESP or over a limit: answer `-ERR protocol error: ...` and close.
    Error(String),
}

/// Looks for one request at the front of `buffer`; a request whose declared size is over
/// `max_request` bytes is an error as soon as its headers show it.
pub fn parse_request(buffer: &[u8], max_request: usize) -> Parsed {
    match buffer.first() {
        None => Parsed::Incomplete,
        Some(b'*') => parse_multibulk(buffer, max_request),
        Some(b'$') => Parsed::Error("expected '*' or an inline command, got '$'".into()),
        Some(_) => parse_inline(buffer, max_request),
    }
}

fn too_large(max_request: usize) -> Parsed {
    Parsed::Error(format!("request larger than {max_request} bytes"))
}

/// A line starting at `from`: `Ok(Some((content, next)))`, `Ok(None)` if incomplete, or `Err`
/// when more than `max` bytes arrived without a line end.
fn line(buffer: &[u8], from: usize, max: usize) -> Result<Option<(&[u8], usize)>, ()> {
    let rest = &buffer[from..];
    // Never look further than a line may be: a header is followed by its bulk's bytes.
    let window = &rest[..rest.len().min(max + 2)];
    match window.iter().position(|&b| b == b'\n') {
        Some(end) => {
            let content = &rest[..end];
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            if content.len() > max {
                return Err(());
            }
            Ok(Some((content, from + end + 1)))
        }
        // One byte of slack for a `\r` whose `\n` has not arrived yet.
        None if rest.len() > max + 1 => Err(()),
        None => Ok(None),
    }
}

/// A signed decimal header number; `None` if it is not one.
fn header_number(digits: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(digits).ok()?;
    if text.is_empty() || text.len() > 20 {
        return None;
    }
    text.parse().ok()
}

fn parse_multibulk(buffer: &[u8], max_request: usize) -> Parsed {
    let (header, mut at) = match line(buffer, 0, MAX_HEADER_BYTES) {
        Ok(Some(found)) => found,
        Ok(None) => return Parsed::Incomplete,
        Err(()) => return Parsed::Error("invalid multibulk length".into()),
    };
    let count = match header_number(&header[1..]) {
        Some(n) => n,
        None => return Parsed::Error("invalid multibulk length".into()),
    };
    if count == 0 || count == -1 {
        return Parsed::Empty { used: at };
    }
    if count < 0 {
        return Parsed::Error("invalid multibulk length".into());
    }
    if count as usize > MAX_ARGS {
        return Parsed::Error(format!(
            "too many elements in one request ({count}, at most {MAX_ARGS})"
        ));
    }
    // First walk the headers without copying, so an incomplete request costs no allocation.
    let mut spans = Vec::with_capacity(count as usize);
    let mut declared = 0usize;
    for _ in 0..count {
        let (header, next) = match line(buffer, at, MAX_HEADER_BYTES) {
            Ok(Some(found)) => found,
            Ok(None) => return Parsed::Incomplete,
            Err(()) => return Parsed::Error("invalid bulk length".into()),
        };
        match header.first() {
            Some(b'$') => {}
            Some(&other) => {
                return Parsed::Error(format!(
                    "expected '$', got '{}'",
                    char::from(other).escape_default()
                ))
            }
            None => return Parsed::Error("expected '$', got an empty line".into()),
        }
        let length = match header_number(&header[1..]) {
            Some(n) if n >= 0 => n as usize,
            _ => return Parsed::Error("invalid bulk length".into()),
        };
        if length > MAX_BULK_BYTES {
            return Parsed::Error(format!(
                "bulk argument of {length} bytes, more than {MAX_BULK_BYTES}"
            ));
        }
        declared += length;
        if declared > max_request {
            return too_large(max_request);
        }
        let end = next + length;
        if buffer.len() < end + 2 {
            return Parsed::Incomplete;
        }
        if &buffer[end..end + 2] != b"\r\n" {
            return Parsed::Error("bulk argument not followed by CRLF".into());
        }
        spans.push((next, end));
        at = end + 2;
    }
    let args = spans
        .into_iter()
        .map(|(start, end)| buffer[start..end].to_vec())
        .collect();
    Parsed::Request { args, used: at }
}

fn parse_inline(buffer: &[u8], max_request: usize) -> Parsed {
    let (content, used) = match line(buffer, 0, MAX_INLINE_BYTES.min(max_request)) {
        Ok(Some(found)) => found,
        Ok(None) => return Parsed::Incomplete,
        Err(()) if max_request < MAX_INLINE_BYTES => return too_large(max_request),
        Err(()) => {
            return Parsed::Error(format!(
                "inline request longer than {MAX_INLINE_BYTES} bytes"
            ))
        }
    };
    match split_inline(content) {
        Ok(args) if args.is_empty() => Parsed::Empty { used },
        Ok(args) if args.len() > MAX_ARGS => Parsed::Error(format!(
            "too many elements in one request ({}, at most {MAX_ARGS})",
            args.len()
        )),
        Ok(args) => Parsed::Request { args, used },
        Err(message) => Parsed::Error(message),
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|d| d as u8)
}

/// Splits an inline line into arguments: spaces separate them; `"..."` may hold spaces and the
/// escapes `\" \\ \n \r \t \a \b \xHH`; `'...'` may hold spaces and `\'`.
pub fn split_inline(line: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut args = Vec::new();
    let mut i = 0;
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c);
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(args);
        }
        let mut arg = Vec::new();
        let quote = match line[i] {
            b'"' | b'\'' => {
                i += 1;
                Some(line[i - 1])
            }
            _ => None,
        };
        loop {
            match quote {
                None => {
                    if i >= line.len() || is_space(line[i]) {
                        break;
                    }
                    arg.push(line[i]);
                    i += 1;
                }
                Some(q) => {
                    let Some(&b) = line.get(i) else {
                        return Err("unbalanced quotes in request".into());
                    };
                    if b == q {
                        i += 1;
                        if i < line.len() && !is_space(line[i]) {
                            return Err("closing quote must be followed by a space".into());
                        }
                        break;
                    }
                    if b == b'\\' && i + 1 < line.len() {
                        let next = line[i + 1];
                        if q == b'\'' {
                            if next == b'\'' {
                                arg.push(b'\'');
                                i += 2;
                                continue;
                            }
                        } else {
                            let escaped = match next {
                                b'n' => Some(b'\n'),
                                b'r' => Some(b'\r'),
                                b't' => Some(b'\t'),
                                b'a' => Some(7),
                                b'b' => Some(8),
                                b'x' => match (
                                    line.get(i + 2).copied().and_then(hex_value),
                                    line.get(i + 3).copied().and_then(hex_value),
                                ) {
                                    (Some(high), Some(low)) => {
                                        arg.push(high * 16 + low);
                                        i += 4;
                                        continue;
                                    }
                                    _ => Some(b'x'),
                                },
                                other => Some(other),
                            };
                            if let Some(byte) = escaped {
                                arg.push(byte);
                                i += 2;
                                continue;
                            }
                        }
                    }
                    arg.push(b);
                    i += 1;
                }
            }
        }
        args.push(arg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Parsed {
        parse_request(bytes, MAX_REQUEST_BYTES)
    }

    fn request(bytes: &[u8]) -> Vec<Vec<u8>> {
        match parse(bytes) {
            Parsed::Request { args, used } => {
                assert_eq!(used, bytes.len());
                args
            }
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn multibulk_and_inline() {
        assert_eq!(
            request(b"*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n"),
            vec![b"PING".to_vec(), b"hi".to_vec()]
        );
        assert_eq!(
            request(b"ping hi\r\n"),
            vec![b"ping".to_vec(), b"hi".to_vec()]
        );
        assert_eq!(
            request(b"ping hi\n"),
            vec![b"ping".to_vec(), b"hi".to_vec()]
        );
        assert_eq!(
            request(b"SET \"a b\\x41\\n\" 'it\\'s'\r\n"),
            vec![b"SET".to_vec(), b"a bA\n".to_vec(), b"it's".to_vec()]
        );
        assert_eq!(request(b"x \"\"\r\n"), vec![b"x".to_vec(), b"".to_vec()]);
    }

    #[test]
    fn partial_requests_wait() {
        let whole = b"*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n";
        for cut in 0..whole.len() {
            assert_eq!(parse(&whole[..cut]), Parsed::Incomplete, "cut at {cut}");
        }
        assert_eq!(parse(b"PING"), Parsed::Incomplete);
    }

    #[test]
    fn empties_are_skipped() {
        assert_eq!(parse(b"*0\r\n"), Parsed::Empty { used: 4 });
        assert_eq!(parse(b"*-1\r\n"), Parsed::Empty { used: 5 });
        assert_eq!(parse(b"\r\n"), Parsed::Empty { used: 2 });
        assert_eq!(parse(b"   \n"), Parsed::Empty { used: 4 });
    }

    #[test]
    fn limits_and_malformed_frames_are_errors() {
        let is_error = |bytes: &[u8]| matches!(parse(bytes), Parsed::Error(_));
        assert!(is_error(b"*-2\r\n"));
        assert!(is_error(b"*abc\r\n"));
        assert!(is_error(b"*1025\r\n"));
        assert!(is_error(b"*1\r\n$999999999\r\n"));
        assert!(is_error(b"*1\r\n$-1\r\n"));
        assert!(is_error(b"*1\r\n$x\r\n"));
        assert!(is_error(b"*1\r\n:1\r\n"));
        assert!(is_error(b"$3\r\nfoo\r\n"));
        assert!(is_error(b"*1\r\n$3\r\nfooXY"));
        assert!(is_error(b"x \"unbalanced\r\n"));
        assert!(is_error(&vec![b'a'; MAX_INLINE_BYTES + 2]));
        assert!(is_error(b"*11111111111111111111111111111111111"));
        let mut exact = vec![b'a'; MAX_INLINE_BYTES];
        exact.extend_from_slice(b"\r\n");
        assert!(matches!(parse(&exact), Parsed::Request { .. }));
        let mut over = vec![b'a'; MAX_INLINE_BYTES + 1];
        over.extend_from_slice(b"\r\n");
        assert!(is_error(&over));
    }

    /// Guards against whole requests of many large bulks being buffered (1,024 × 1 MiB was
    /// about 1 GiB per connection before `AUTH`).
    #[test]
    fn whole_requests_are_refused_as_soon_as_their_declared_size_is_over_the_limit() {
        let header = |n: usize| format!("$1048576\r\n{}\r\n", "x".repeat(n));
        // Eight full bulks and one more header: refused on that header, before its bytes.
        let mut eight: Vec<u8> = b"*1024\r\n".to_vec();
        for _ in 0..8 {
            eight.extend_from_slice(header(1_048_576).as_bytes());
        }
        assert_eq!(parse_request(&eight, MAX_REQUEST_BYTES), Parsed::Incomplete);
        let mut nine = eight.clone();
        nine.extend_from_slice(b"$1\r\n");
        assert!(matches!(
            parse_request(&nine, MAX_REQUEST_BYTES),
            Parsed::Error(message) if message.contains("larger than 8388608")
        ));
        // Before AUTH, 64 KiB: one bulk header announcing more is enough to refuse.
        assert!(matches!(
            parse_request(
                b"*2\r\n$4\r\nAUTH\r\n$65533\r\n",
                MAX_REQUEST_BYTES_BEFORE_AUTH
            ),
            Parsed::Error(_)
        ));
        // Exactly at the limit is allowed.
        let mut exact = b"*2\r\n$4\r\nAUTH\r\n$65532\r\n".to_vec();
        exact.extend(std::iter::repeat_n(b'p', 65_532));
        exact.extend_from_slice(b"\r\n");
        assert!(matches!(
            parse_request(&exact, MAX_REQUEST_BYTES_BEFORE_AUTH),
            Parsed::Request { .. }
        ));
        // An inline line over the limit before AUTH is a request-size error too.
        let long_inline = vec![b'a'; MAX_REQUEST_BYTES_BEFORE_AUTH + 2];
        assert!(matches!(
            parse_request(&long_inline, MAX_REQUEST_BYTES_BEFORE_AUTH),
            Parsed::Error(_)
        ));
    }
}
