//! Parsing, validation and normalisation of the scalar values in `PROTOCOL.md` "Values".
//!
//! One file on purpose: it is the one place each value's rule is written (ids, money, times,
//! text, email, phone), and its unit tests sit beside the rules; split by value it would scatter
//! the shared helpers (`quote`, the length limits) that every rule uses.
//!
//! Every function takes the text a client sent and either returns the normalised value or an
//! [`Error::Invalid`] that names the field and quotes the value, so every entry point (the wire,
//! CSV import, the engine API) applies exactly the same rules.

use crate::error::{Error, Result};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use unicode_normalization::UnicodeNormalization;

/// The largest id: 2^53 − 1, exact in every JSON reader.
pub const MAX_ID: u64 = (1 << 53) - 1;
/// The largest price, in cents (`DECIMAL(10,2)`).
pub const MAX_PRICE_CENTS: u64 = 9_999_999_999;
/// The largest quantity of one order.
pub const MAX_QUANTITY: u32 = 1_000_000;
/// The largest stock of one product.
pub const MAX_STOCK: u64 = 2_147_483_647;
/// The largest `LIMIT`.
pub const MAX_LIMIT: usize = 100_000;
/// The default `LIMIT`.
pub const DEFAULT_LIMIT: usize = 100;
/// The longest email, in characters, after trimming.
pub const MAX_EMAIL_CHARS: usize = 254;
/// The longest name or address, in characters.
pub const MAX_TEXT_CHARS: usize = 255;

/// Error messages quote values the same way everywhere; the rule lives with the errors.
pub use crate::error::quote;

fn all_ascii_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Parses decimal digits (leading zeros allowed) into a number no larger than `max`.
fn parse_bounded(text: &str, max: u64) -> Option<u64> {
    if !all_ascii_digits(text) {
        return None;
    }
    let mut value: u64 = 0;
    for digit in text.bytes() {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
        if value > max {
            return None;
        }
    }
    Some(value)
}

/// An id given in a write (`ID 12`, `CUSTOMER 7`): 1 to [`MAX_ID`], else `INVALID`.
pub fn parse_id(field: &'static str, text: &str) -> Result<u64> {
    match parse_bounded(text, MAX_ID) {
        Some(id) if id >= 1 => Ok(id),
        _ => Err(Error::invalid(
            field,
            format!("{} is not an id (1 to {MAX_ID})", quote(text)),
        )),
    }
}

/// An id given in a read: anything that is not a valid id finds nothing.
pub fn parse_id_for_read(text: &str) -> Option<u64> {
    parse_bounded(text, MAX_ID).filter(|id| *id >= 1)
}

/// An `AFTER` cursor: 0 (the start) or an id.
pub fn parse_after(text: &str) -> Result<u64> {
    match parse_bounded(text, u64::MAX) {
        Some(after) => Ok(after),
        // A number beyond every id (even beyond u64): nothing comes after it.
        None if !text.is_empty() && all_ascii_digits(text) => Ok(u64::MAX),
        None => Err(Error::invalid(
            "after",
            format!("{} is not an id", quote(text)),
        )),
    }
}

/// Money as digits with an optional `.` and one or two fraction digits, into cents.
pub fn parse_money(field: &'static str, text: &str) -> Result<u64> {
    let invalid = || {
        Error::invalid(
            field,
            format!(
                "{} is not an amount (digits, optional . and 1 or 2 decimals, 0 to 99999999.99)",
                quote(text)
            ),
        )
    };
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    if !all_ascii_digits(whole) || (text.contains('.') && !(1..=2).contains(&fraction.len())) {
        return Err(invalid());
    }
    if !fraction.is_empty() && !all_ascii_digits(fraction) {
        return Err(invalid());
    }
    let whole = parse_bounded(whole, MAX_PRICE_CENTS / 100).ok_or_else(invalid)?;
    let fraction_cents = match fraction.len() {
        0 => 0,
        1 => parse_bounded(fraction, 9).ok_or_else(invalid)? * 10,
        _ => parse_bounded(fraction, 99).ok_or_else(invalid)?,
    };
    let cents = whole * 100 + fraction_cents;
    if cents > MAX_PRICE_CENTS {
        return Err(invalid());
    }
    Ok(cents)
}

/// Cents as a decimal string with exactly two fraction digits (`"19.90"`).
pub fn format_money(cents: u128) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A quantity: 1 to 1,000,000.
pub fn parse_quantity(text: &str) -> Result<u32> {
    match parse_bounded(text, u64::from(MAX_QUANTITY)) {
        Some(q) if q >= 1 => Ok(q as u32),
        _ => Err(Error::invalid(
            "quantity",
            format!("{} is not a quantity (1 to {MAX_QUANTITY})", quote(text)),
        )),
    }
}

/// A stock level: 0 to 2,147,483,647.
pub fn parse_stock(text: &str) -> Result<u64> {
    parse_bounded(text, MAX_STOCK).ok_or_else(|| {
        Error::invalid(
            "stock",
            format!("{} is not a stock level (0 to {MAX_STOCK})", quote(text)),
        )
    })
}

/// A `LIMIT`: 1 to 100,000.
pub fn parse_limit(text: &str) -> Result<usize> {
    match parse_bounded(text, MAX_LIMIT as u64) {
        Some(n) if n >= 1 => Ok(n as usize),
        _ => Err(Error::invalid(
            "limit",
            format!("{} is not a limit (1 to {MAX_LIMIT})", quote(text)),
        )),
    }
}

/// The earliest and latest instants we accept: years 1 to 9999, so every stored time prints
/// as a four-digit RFC 3339 year.
const EARLIEST: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
const LATEST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

/// A timestamp in RFC 3339 (any offset), `YYYY-MM-DD HH:MM:SS` (UTC) or `YYYY-MM-DD`
/// (midnight UTC), into whole seconds since the Unix epoch, UTC. Fractions are dropped.
pub fn parse_timestamp(field: &'static str, text: &str) -> Result<i64> {
    let trimmed = text.trim();
    let parsed = DateTime::parse_from_rfc3339(trimmed)
        .map(|t| t.timestamp())
        .ok()
        .or_else(|| {
            ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(trimmed, format).ok())
                .map(|t| t.and_utc().timestamp())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc().timestamp())
        });
    match parsed {
        Some(seconds) if (EARLIEST..=LATEST).contains(&seconds) => Ok(seconds),
        _ => Err(Error::invalid(
            field,
            format!(
                "{} is not a timestamp (RFC 3339, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD)",
                quote(text)
            ),
        )),
    }
}

/// Seconds since the epoch as RFC 3339 UTC with seconds (`2026-11-25T09:30:00Z`).
///
/// Written digit by digit: every record read over the wire formats a time, and chrono's
/// `format` (which parses its pattern each call) was a sixth of a `CUSTOMER.GET`.
pub fn format_timestamp(seconds: i64) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp(seconds, 0) else {
        return seconds.to_string();
    };
    let year = match u32::try_from(t.year()) {
        Ok(year) if year <= 9999 => year,
        // Outside four digits chrono's own form (a sign, more digits) is the reference.
        _ => return t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    };
    let mut out = String::with_capacity(20);
    let mut two = |value: u32, then: Option<char>| {
        out.push(char::from(b'0' + (value / 10) as u8));
        out.push(char::from(b'0' + (value % 10) as u8));
        if let Some(separator) = then {
            out.push(separator);
        }
    };
    two(year / 100, None);
    two(year % 100, Some('-'));
    two(t.month(), Some('-'));
    two(t.day(), Some('T'));
    two(t.hour(), Some(':'));
    two(t.minute(), Some(':'));
    two(t.second(), Some('Z'));
    out
}

/// The current time in whole seconds, UTC.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// The server's clock for how long merges are kept: [`now`] plus `CRM_CLOCK_OFFSET_SECS`
/// (seconds, may be negative), so that tests can move it without waiting 30 days. Read once
/// per process.
pub fn merge_clock() -> i64 {
    static OFFSET: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let offset = *OFFSET.get_or_init(|| {
        std::env::var("CRM_CLOCK_OFFSET_SECS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    });
    now().saturating_add(offset)
}

/// An email: trimmed, lower-cased, `local@domain` with a domain of two or more non-empty labels.
pub fn normalize_email(text: &str) -> Result<String> {
    let email = text.trim().to_lowercase();
    let invalid = || Error::invalid("email", format!("{} is not an email address", quote(text)));
    if email.is_empty() {
        return Err(Error::invalid("email", "required"));
    }
    if email.chars().count() > MAX_EMAIL_CHARS
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    if local.is_empty() || domain.contains('@') {
        return Err(invalid());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
        return Err(invalid());
    }
    Ok(email)
}

/// A phone number: separators removed, a leading `+` kept or added, 7 to 15 digits.
pub fn normalize_phone(text: &str) -> Result<String> {
    let invalid = || {
        Error::invalid(
            "phone",
            format!(
                "{} is not a phone number (7 to 15 digits, optional leading +)",
                quote(text)
            ),
        )
    };
    let compact: String = text
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')')))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    Ok(format!("+{digits}"))
}

/// A phone that may be absent: empty or all whitespace means absent.
pub fn normalize_optional_phone(text: &str) -> Result<Option<String>> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        normalize_phone(text).map(Some)
    }
}

/// A name or address: trimmed, inner whitespace runs folded to one space, 1 to 255 characters.
pub fn normalize_text(field: &'static str, text: &str) -> Result<String> {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let length = folded.chars().count();
    if length == 0 {
        return Err(Error::invalid(field, "required"));
    }
    if length > MAX_TEXT_CHARS {
        return Err(Error::invalid(
            field,
            format!(
                "{} is {length} characters long, more than {MAX_TEXT_CHARS}",
                quote(text)
            ),
        ));
    }
    Ok(folded)
}

/// An address (or any optional text): empty or all whitespace means absent.
pub fn normalize_optional_text(field: &'static str, text: &str) -> Result<Option<String>> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        normalize_text(field, text).map(Some)
    }
}

/// The words of a name, as `CUSTOMER.FIND NAME` compares them: runs of letters and digits,
/// NFC-normalised and lower-cased, without repeats.
pub fn name_words(text: &str) -> Vec<String> {
    if text.is_ascii() {
        // The same words without the Unicode machinery (most names, and every customer add
        // computes them): ASCII is its own NFC form, and its letters and digits are ASCII's.
        let lower = text.to_ascii_lowercase();
        let mut words: Vec<String> = lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        words.sort();
        words.dedup();
        return words;
    }
    unicode_name_words(text)
}

/// [`name_words`] for any text.
fn unicode_name_words(text: &str) -> Vec<String> {
    let normalized: String = text.nfc().collect::<String>().to_lowercase();
    let mut words: Vec<String> = normalized
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.nfc().collect())
        .collect();
    words.sort();
    words.dedup();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_exactly_as_chrono_does() {
        let chrono_form = |seconds: i64| {
            DateTime::<Utc>::from_timestamp(seconds, 0)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        };
        let mut seconds = -62_167_219_200i64; // 0000-01-01
        while seconds < 253_402_300_800 + 86_400 * 400 {
            for probe in [seconds, seconds + 59, seconds + 86_399] {
                assert_eq!(Some(format_timestamp(probe)), chrono_form(probe), "{probe}");
            }
            seconds += 86_400 * 37 + 3_607;
        }
        assert_eq!(format_timestamp(1_764_063_000), "2025-11-25T09:30:00Z");
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_timestamp(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn ids_accept_leading_zeros_and_refuse_zero_and_overflow() {
        assert_eq!(parse_id("id", "000000012345").unwrap(), 12345);
        assert!(parse_id("id", "0").is_err());
        assert!(parse_id("id", "9007199254740992").is_err());
        assert_eq!(parse_id("id", "9007199254740991").unwrap(), MAX_ID);
        assert!(parse_id("id", "-1").is_err());
        assert!(parse_id("id", "1e3").is_err());
        assert_eq!(parse_id_for_read("abc"), None);
    }

    #[test]
    fn money_forms() {
        assert_eq!(parse_money("price", "20").unwrap(), 2000);
        assert_eq!(parse_money("price", "19.9").unwrap(), 1990);
        assert_eq!(parse_money("price", "19.90").unwrap(), 1990);
        assert_eq!(parse_money("price", "0019.05").unwrap(), 1905);
        assert_eq!(
            parse_money("price", "99999999.99").unwrap(),
            MAX_PRICE_CENTS
        );
        for bad in [
            "",
            ".",
            ".5",
            "5.",
            "1.234",
            "-1",
            "+1",
            "1e2",
            "100000000",
            "1,00",
            " 1",
        ] {
            assert!(parse_money("price", bad).is_err(), "{bad}");
        }
        assert_eq!(format_money(1990), "19.90");
        assert_eq!(format_money(5), "0.05");
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("created_at", "2026-11-25T10:30:00.75+01:00").unwrap();
        assert_eq!(format_timestamp(t), "2026-11-25T09:30:00Z");
        let t = parse_timestamp("created_at", "2026-11-25 09:30:00").unwrap();
        assert_eq!(format_timestamp(t), "2026-11-25T09:30:00Z");
        let t = parse_timestamp("created_at", "2026-11-25").unwrap();
        assert_eq!(format_timestamp(t), "2026-11-25T00:00:00Z");
        assert!(parse_timestamp("created_at", "yesterday").is_err());
        assert!(parse_timestamp("created_at", "2026-13-01").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "bob@",
            "bob@example",
            "a@example.",
            "a@.com",
            "a@b..c",
            "@b.com",
            "a b@c.com",
            "a@b@c.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        let err = normalize_email("bob@").unwrap_err().to_string();
        assert_eq!(err, "email: \"bob@\" is not an email address");
    }

    #[test]
    fn phones() {
        assert_eq!(
            normalize_phone("+1 (555) 010-9999").unwrap(),
            "+15550109999"
        );
        assert_eq!(normalize_phone("1-555-010-9999").unwrap(), "+15550109999");
        assert!(normalize_phone("555-CALL-NOW").is_err());
        assert!(normalize_phone("123456").is_err());
        assert!(normalize_phone("1234567890123456").is_err());
        assert_eq!(normalize_optional_phone("   ").unwrap(), None);
    }

    #[test]
    fn text_is_folded_and_bounded() {
        assert_eq!(
            normalize_text("name", "  Ada \t\n Lovelace ").unwrap(),
            "Ada Lovelace"
        );
        assert!(normalize_text("name", "   ").is_err());
        assert!(normalize_text("name", &"x".repeat(256)).is_err());
        assert!(normalize_text("name", &"é".repeat(255)).is_ok());
    }

    #[test]
    fn words_of_names() {
        assert_eq!(
            name_words("Jean-Luc O'Brien"),
            vec!["brien", "jean", "luc", "o"]
        );
        assert_eq!(name_words("ÉLODIE"), vec!["élodie"]);
        // "e" + combining acute (NFD) matches the precomposed form.
        assert_eq!(name_words("Ele\u{301}onore"), name_words("Eléonore"));
    }

    #[test]
    fn ascii_names_split_as_the_unicode_path_splits_them() {
        let unicode = unicode_name_words;
        for byte_pattern in 0u32..20_000 {
            // Every printable ASCII character, in names of up to three of them, and longer
            // ones made of the awkward ones.
            let chars: String = [
                byte_pattern % 95,
                byte_pattern / 95 % 95,
                byte_pattern / 9025,
            ]
            .iter()
            .map(|c| char::from(32 + *c as u8))
            .collect();
            assert_eq!(name_words(&chars), unicode(&chars), "{chars:?}");
        }
        for name in [
            "Ada  LOVELACE",
            "o'Brien-Smith",
            "ZOE zoe Zoë",
            "R2-D2 c3po",
            "  ",
            "",
        ] {
            assert_eq!(name_words(name), unicode(name), "{name:?}");
        }
    }
}
