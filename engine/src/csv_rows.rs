//! Reading a CSV file by its physical lines, so that an import's report names the lines a
//! person sees in an editor.
//!
//! The `csv` crate counts a record's line from the records and line endings it has parsed, so
//! its numbers drift after blank lines, and an unclosed quote makes it read on to the end of
//! the file, taking every later row into one field. Here a row is one physical line — or, when
//! a quoted field goes on past the line's end, the lines that field takes. Blank lines count
//! and are skipped. A row that cannot be read (a quote still open at the end of the file or
//! after [`MAX_ROW_BYTES`], text after a closing quote, bytes that are not UTF-8) is reported
//! alone, on the line it began: reading goes on with the next line, so no later row is lost
//! into it. Every row keeps its bytes as they were, so a rejects file can hold it unchanged.
//!
//! The dialect is RFC 4180 as the `csv` crate reads it by default: `,` between fields, `"`
//! around a field that holds a comma, a quote or a line break, `""` for a quote inside one,
//! LF or CRLF line endings. A quote inside an unquoted field is an ordinary character.
//!
//! One file (390 lines of code, the rest its tests): one reader's line-by-line state machine
//! (quotes across lines, the row's first line, the bytes kept for the rejects file).

use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::io::{BufRead, Read};

/// The longest row: a quoted field still open past this many bytes is taken to be an
/// unclosed quote. It is the longest value the protocol takes (a bulk argument).
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// One row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    /// The physical line the row begins on (1 is the file's first line).
    pub line: u64,
    /// The row's bytes as they are in the file, without the line ending that closes it.
    pub raw: Vec<u8>,
    /// The line ending that closed the row: `"\r\n"`, `"\n"`, or `""` at the end of the file.
    pub ending: &'static str,
    /// The row's fields, or why the row cannot be read.
    pub fields: std::result::Result<csv::StringRecord, String>,
}

/// The header row: the column names, and the row as it was in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvHeader {
    pub names: csv::StringRecord,
    pub raw: Vec<u8>,
    pub ending: &'static str,
}

/// A physical line: its number, its bytes without the ending, and the ending.
struct Line {
    number: u64,
    bytes: Vec<u8>,
    ending: &'static str,
    /// The ending of the line before, when this one continues its row (inside a quoted field).
    ending_before: &'static str,
    /// The line was longer than [`MAX_ROW_BYTES`] and is cut.
    too_long: bool,
}

/// Reads rows from a CSV file (see the module's notes).
pub struct CsvRows<R> {
    input: R,
    /// Lines read while looking for the end of a row that then could not be read: they are
    /// read again, as rows of their own.
    given_back: VecDeque<Line>,
    lines_read: u64,
    bytes_read: u64,
    /// Reused for every line read and every row parsed, so a row costs no growing buffers.
    read_buffer: Vec<u8>,
    parser: RowParser,
}

impl<R: BufRead> CsvRows<R> {
    pub fn new(input: R) -> CsvRows<R> {
        CsvRows {
            input,
            given_back: VecDeque::new(),
            lines_read: 0,
            bytes_read: 0,
            read_buffer: Vec::new(),
            parser: RowParser::default(),
        }
    }

    /// Bytes taken from the input so far (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the header row: the column names. A file with no row, a header that cannot be
    /// read, or one that seems to use another delimiter than a comma, is an error naming it.
    pub fn header(&mut self) -> Result<CsvHeader> {
        let Some(row) = self.next_row()? else {
            return Err(Error::invalid("header", "the file is empty"));
        };
        let names = row
            .fields
            .map_err(|reason| Error::invalid("header", format!("line {}: {reason}", row.line)))?;
        check_delimiter(&row.raw)?;
        Ok(CsvHeader {
            names,
            raw: row.raw,
            ending: row.ending,
        })
    }

    /// The next row that is not blank, or `None` at the end of the file. Only a failure to read
    /// the input is an error; a row that cannot be parsed is a row whose `fields` say why.
    pub fn next_row(&mut self) -> Result<Option<CsvRow>> {
        let first = loop {
            match self.next_line()? {
                None => return Ok(None),
                Some(line) if is_blank(&line.bytes) => continue,
                Some(line) => break line,
            }
        };
        self.parser.clear();
        let mut taken: Vec<Line> = Vec::new();
        let mut length = first.bytes.len();
        let mut fed = self.parser.feed(&first.bytes);
        let reason = loop {
            if let Some(reason) = taken.last().unwrap_or(&first).unread() {
                break reason;
            }
            match fed {
                Fed::Row => {
                    let Some(fields) = self.parser.finish() else {
                        break "the row is not UTF-8 text".to_string();
                    };
                    let ending = taken.last().map_or(first.ending, |line| line.ending);
                    let mut raw = first.bytes;
                    for line in &taken {
                        raw.extend_from_slice(line.ending_before.as_bytes());
                        raw.extend_from_slice(&line.bytes);
                    }
                    return Ok(Some(CsvRow {
                        line: first.number,
                        raw,
                        ending,
                        fields: Ok(fields),
                    }));
                }
                Fed::Malformed(reason) => break reason,
                Fed::OpenQuote => {
                    if length > MAX_ROW_BYTES {
                        break format!(
                            "a quoted field is still open after {MAX_ROW_BYTES} bytes (an unclosed quote?)"
                        );
                    }
                    let ending = taken.last().map_or(first.ending, |line| line.ending);
                    let next = match ending {
                        "" => None,
                        _ => self.next_line()?,
                    };
                    let Some(mut next) = next else {
                        break "a quote is not closed before the end of the file".to_string();
                    };
                    next.ending_before = ending;
                    fed = self.parser.feed_continued(ending, &next.bytes);
                    length += next.bytes.len();
                    taken.push(next);
                }
            }
        };
        // The row is its first line alone; the lines after it are read again, as rows.
        for line in taken.into_iter().rev() {
            self.given_back.push_front(line);
        }
        Ok(Some(CsvRow {
            line: first.number,
            raw: first.bytes,
            ending: first.ending,
            fields: Err(reason),
        }))
    }

    /// The next physical line: one given back, else one read from the input. A line longer
    /// than [`MAX_ROW_BYTES`] is cut there and marked (its row cannot be read).
    fn next_line(&mut self) -> Result<Option<Line>> {
        if let Some(line) = self.given_back.pop_front() {
            return Ok(Some(line));
        }
        let bytes = &mut self.read_buffer;
        bytes.clear();
        let limit = MAX_ROW_BYTES as u64 + 1;
        let read = Read::take(&mut self.input, limit).read_until(b'\n', bytes)?;
        if read == 0 {
            return Ok(None);
        }
        self.bytes_read += read as u64;
        let too_long = !bytes.ends_with(b"\n") && read as u64 == limit;
        if too_long {
            // Skip the rest of the line, so the next row starts on the next line.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                let more = Read::take(&mut self.input, limit).read_until(b'\n', &mut rest)?;
                self.bytes_read += more as u64;
                if more == 0 || rest.ends_with(b"\n") {
                    break;
                }
            }
        }
        self.lines_read += 1;
        let ending = if too_long {
            "\n"
        } else if bytes.ends_with(b"\r\n") {
            "\r\n"
        } else if bytes.ends_with(b"\n") {
            "\n"
        } else {
            ""
        };
        if !too_long {
            bytes.truncate(bytes.len() - ending.len());
        }
        Ok(Some(Line {
            number: self.lines_read,
            bytes: bytes.clone(),
            ending,
            ending_before: "",
            too_long,
        }))
    }
}

impl Line {
    /// Why a row holding this line cannot be read, when the line alone says so.
    fn unread(&self) -> Option<String> {
        self.too_long
            .then(|| format!("line {} is longer than {MAX_ROW_BYTES} bytes", self.number))
    }
}

/// Whether a line holds nothing but spaces and tabs.
fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b' ' | b'\t'))
}

/// Where the parser stands after a line.
#[derive(Debug, PartialEq, Eq)]
enum Fed {
    /// The row ended with the line.
    Row,
    /// A quoted field goes on past the line's end.
    OpenQuote,
    /// The line breaks the dialect, for this reason.
    Malformed(String),
}

/// Where in a field the parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Place {
    /// At the start of a field (nothing of it read yet).
    #[default]
    FieldStart,
    /// Inside a field that did not begin with a quote.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field: it closes the field, unless another follows.
    QuoteInQuoted,
}

/// Splits one row into fields, a line at a time.
#[derive(Default)]
struct RowParser {
    /// The fields' bytes, one after the other.
    bytes: Vec<u8>,
    /// Where each finished field ends in `bytes`.
    ends: Vec<usize>,
    place: Place,
}

impl RowParser {
    /// Takes the row's first line.
    fn feed(&mut self, line: &[u8]) -> Fed {
        // Runs of ordinary bytes are copied whole: only commas and quotes change the place.
        let mut index = 0;
        while index < line.len() {
            let rest = &line[index..];
            match self.place {
                Place::FieldStart if rest[0] == b'"' => {
                    self.place = Place::Quoted;
                    index += 1;
                }
                Place::FieldStart | Place::Unquoted => {
                    let run = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
                    self.bytes.extend_from_slice(&rest[..run]);
                    self.place = Place::Unquoted;
                    if run < rest.len() {
                        self.end_field();
                    }
                    index += run + 1;
                }
                Place::Quoted => {
                    let run = rest.iter().position(|&b| b == b'"').unwrap_or(rest.len());
                    self.bytes.extend_from_slice(&rest[..run]);
                    if run < rest.len() {
                        self.place = Place::QuoteInQuoted;
                    }
                    index += run + 1;
                }
                Place::QuoteInQuoted => {
                    match rest[0] {
                        b'"' => {
                            self.place = Place::Quoted;
                            self.bytes.push(b'"');
                        }
                        b',' => self.end_field(),
                        _ => {
                            return Fed::Malformed(format!(
                                "text after the closing quote of field {} ({})",
                                self.ends.len() + 1,
                                crate::values::quote(&String::from_utf8_lossy(
                                    &rest[..rest.len().min(20)]
                                ))
                            ))
                        }
                    }
                    index += 1;
                }
            }
        }
        if self.place == Place::Quoted {
            return Fed::OpenQuote;
        }
        self.end_field();
        Fed::Row
    }

    /// Takes the next line of a row whose quoted field went on past the line `ending`.
    fn feed_continued(&mut self, ending: &str, line: &[u8]) -> Fed {
        self.bytes.extend_from_slice(ending.as_bytes());
        self.feed(line)
    }

    /// Ready for a new row.
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.place = Place::FieldStart;
    }

    fn end_field(&mut self) {
        self.ends.push(self.bytes.len());
        self.place = Place::FieldStart;
    }

    /// The row's fields (`None` when they are not UTF-8).
    fn finish(&self) -> Option<csv::StringRecord> {
        let text = std::str::from_utf8(&self.bytes).ok()?;
        let mut record = csv::StringRecord::with_capacity(text.len(), self.ends.len());
        let mut start = 0;
        for &end in &self.ends {
            // Field ends fall after an ASCII byte or at the end: always on a char boundary.
            record.push_field(text.get(start..end)?);
            start = end;
        }
        Some(record)
    }
}

/// Refuses a header that seems to use another delimiter than the comma: a semicolon (as
/// spreadsheets write CSV in locales whose decimal mark is a comma), a tab or a bar more often
/// than commas, outside quotes.
pub fn check_delimiter(header: &[u8]) -> Result<()> {
    let mut counts = [
        (b',', "\",\" (comma)", 0usize),
        (b';', "\";\" (semicolon)", 0),
        (b'\t', "a tab", 0),
        (b'|', "\"|\" (bar)", 0),
    ];
    let mut quoted = false;
    for &byte in header {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (delimiter, _, count) in counts.iter_mut() {
                if byte == *delimiter {
                    *count += 1;
                }
            }
        }
    }
    let commas = counts[0].2;
    match counts[1..].iter().filter(|(_, _, count)| *count > commas).max_by_key(|(_, _, count)| *count) {
        Some((_, name, _)) => Err(Error::invalid(
            "header",
            format!("the file is not comma-separated CSV: its columns seem to be separated by {name}; save it as CSV with commas"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row's fields, or why it cannot be read.
    type Fields = std::result::Result<Vec<String>, String>;

    /// Every row of `text` as (line, fields, raw text, ending).
    fn rows(text: &str) -> Vec<(u64, Fields, String, &'static str)> {
        let mut reader = CsvRows::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            out.push((
                row.line,
                row.fields.map(|r| r.iter().map(str::to_string).collect()),
                String::from_utf8(row.raw).unwrap(),
                row.ending,
            ));
        }
        assert_eq!(reader.bytes_read(), text.len() as u64);
        out
    }

    fn fields(list: &[&str]) -> Fields {
        Ok(list.iter().map(|s| s.to_string()).collect())
    }

    // Guards against line numbers that drift on CRLF files and after blank lines.
    #[test]
    fn rows_carry_their_physical_line_with_crlf_and_blank_lines() {
        let found = rows("id,name\r\n1,Ada\r\n\r\n  \r\n2,Bob\r\n\n3,Cy");
        let lines: Vec<u64> = found.iter().map(|r| r.0).collect();
        assert_eq!(lines, vec![1, 2, 5, 7]);
        assert_eq!(found[2].1, fields(&["2", "Bob"]));
        assert_eq!((found[1].3, found[3].3), ("\r\n", ""));
    }

    #[test]
    fn a_quoted_field_spanning_lines_counts_its_lines() {
        let found = rows("id,address\n1,\"12 Road\r\nLondon\"\n2,\"say \"\"hi\"\", then\"\n3,x\n");
        assert_eq!(found[1].0, 2);
        assert_eq!(found[1].1, fields(&["1", "12 Road\r\nLondon"]));
        assert_eq!(found[1].2, "1,\"12 Road\r\nLondon\"");
        assert_eq!(
            found[2],
            (
                4,
                fields(&["2", "say \"hi\", then"]),
                "2,\"say \"\"hi\"\", then\"".into(),
                "\n"
            )
        );
        assert_eq!(found[3].0, 5);
    }

    // Guards against an unclosed quote taking the rows after it into one field.
    #[test]
    fn an_unclosed_quote_rejects_its_line_alone() {
        let found = rows("id,name,email\n1,\"Ada,a@x\n2,Bob,b@x\n");
        assert_eq!(found.len(), 3);
        assert_eq!(found[1].0, 2);
        assert_eq!(found[1].2, "1,\"Ada,a@x");
        assert!(
            found[1].1.as_ref().unwrap_err().contains("not closed"),
            "{found:?}"
        );
        assert_eq!(
            found[2],
            (3, fields(&["2", "Bob", "b@x"]), "2,Bob,b@x".into(), "\n")
        );
    }

    #[test]
    fn text_after_a_closing_quote_rejects_the_line_the_quote_opened_on() {
        let found = rows("h\n1,\"Ada\n2,\"Bob,b\n3,c\n4,\"x\" y\n");
        let lines: Vec<(u64, bool)> = found.iter().map(|r| (r.0, r.1.is_ok())).collect();
        assert_eq!(
            lines,
            vec![(1, true), (2, false), (3, false), (4, true), (5, false)]
        );
        assert!(found[1]
            .1
            .as_ref()
            .unwrap_err()
            .contains("after the closing quote"));
        // Line 3's quote runs into line 5's, which text follows.
        assert!(found[2]
            .1
            .as_ref()
            .unwrap_err()
            .contains("after the closing quote"));
        assert!(
            found[4].1.as_ref().unwrap_err().contains("field 2"),
            "{found:?}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_reject_their_row() {
        let mut reader = CsvRows::new(&b"h\n\xff,x\nok\n"[..]);
        reader.next_row().unwrap();
        let bad = reader.next_row().unwrap().unwrap();
        assert_eq!((bad.line, bad.raw.as_slice()), (2, &b"\xff,x"[..]));
        assert!(bad.fields.is_err());
        assert_eq!(reader.next_row().unwrap().unwrap().line, 3);
    }

    #[test]
    fn an_over_long_line_is_one_unreadable_row() {
        let text = format!("h\n{}\nnext\n", "x".repeat(MAX_ROW_BYTES + 10));
        let found = rows(&text);
        assert_eq!(found.len(), 3);
        assert!(found[1].1.as_ref().unwrap_err().contains("longer than"));
        assert_eq!(found[2].0, 3);
    }

    #[test]
    fn a_header_with_another_delimiter_is_refused_naming_it() {
        for (header, named) in [
            ("id;name;email\n", "semicolon"),
            ("id\tname\temail\n", "tab"),
            ("a|b|c\n", "bar"),
        ] {
            let error = CsvRows::new(header.as_bytes())
                .header()
                .unwrap_err()
                .to_string();
            assert!(error.contains(named), "{error}");
        }
        let header = CsvRows::new(&b"\"a;b;c\",name\n"[..]).header().unwrap();
        assert_eq!(header.names.len(), 2);
        assert!(CsvRows::new(&b"\n\n"[..]).header().is_err());
    }
}
