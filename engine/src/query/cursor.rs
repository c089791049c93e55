//! Query cursors: where a walk stopped, sealed.
//!
//! A cursor holds the last record's sort value and id, so it may hold a personal value (a
//! walk sorted on email): it is sealed (XChaCha20-Poly1305) under a key derived from the data
//! key for this purpose alone, so it shows nothing and cannot be forged or altered; it
//! survives restarts because the key does. It also carries the kind, the schema's generation
//! and the fingerprint of the query's conditions and order (`plan.rs`): a cursor given with
//! another query, for another kind, after the schema changed, tampered with or from another
//! store is `INVALID`. The text is hex: no byte a client could mangle.

use super::value::Key;
use crate::error::{Error, Result};
use crate::keys::SubKey;
use crate::seal::Sealer;

/// The text of the cursor that starts a walk (and that ends one).
pub const START: &str = "0";

/// Where a walk is: the last record's sort value (`None`: null) and id.
pub(crate) type Position = (Option<Key>, u64);

/// The cursor's format version, first of its sealed bytes. Version 1 (before the catalog's
/// generation went into its own place) held 0 there, the generation counting only through the
/// fingerprint: still opened, with the fingerprint deciding, so that a walk begun before an
/// upgrade goes on after it.
const VERSION: u8 = 2;
const VERSION_1: u8 = 1;

/// What a cursor is bound to: the kind, the schema's generation (`Catalog::generation`)
/// and the fingerprint of the query's conditions and order (`Plan::fingerprint`).
pub(crate) struct Binding<'a> {
    pub kind: &'a str,
    pub generation: u64,
    pub fingerprint: &'a [u8; 32],
}

/// The cursor after `last`, for the query `binding` describes.
pub(crate) fn seal(key: &SubKey, binding: &Binding<'_>, last: &Position) -> String {
    let Binding {
        kind,
        generation,
        fingerprint,
    } = binding;
    let mut plain = vec![VERSION];
    plain.extend_from_slice(&generation.to_be_bytes());
    plain.extend_from_slice(*fingerprint);
    plain.extend_from_slice(&last.1.to_be_bytes());
    match &last.0 {
        Some(value) => value.encode(&mut plain),
        None => plain.push(0),
    }
    let sealed = Sealer::new(key).seal(&associated(kind), &plain);
    sealed.iter().map(|b| format!("{b:02x}")).collect()
}

/// The position a cursor holds, if it is one this store sealed for this query and kind
/// under the current schema; else `INVALID`, saying which of these it is not.
pub(crate) fn open(key: &SubKey, binding: &Binding<'_>, text: &str) -> Result<Position> {
    let Binding {
        kind,
        generation: now,
        fingerprint,
    } = binding;
    let invalid = |why: &str| {
        Error::invalid(
            "cursor",
            format!(
                "{} is not a cursor of this query ({why})",
                crate::error::quote(text)
            ),
        )
    };
    let sealed = unhex(text).ok_or_else(|| invalid("not a cursor this server made"))?;
    let plain = Sealer::new(key)
        .open(&associated(kind), &sealed)
        .map_err(|_| invalid("not a cursor this server made"))?;
    let (&version, rest) = plain.split_first().ok_or_else(|| invalid("empty"))?;
    let (generation, rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| invalid("cut short"))?;
    let (hash, rest) = rest
        .split_first_chunk::<32>()
        .ok_or_else(|| invalid("cut short"))?;
    match version {
        VERSION if u64::from_be_bytes(*generation) != *now => {
            return Err(invalid("the schema changed since it was made"));
        }
        VERSION | VERSION_1 => {}
        _ => return Err(invalid("not a cursor this server made")),
    }
    if hash != *fingerprint {
        return Err(invalid("it was made for other conditions or another sort"));
    }
    let (id, rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| invalid("cut short"))?;
    let value = match rest {
        [0] => None,
        _ => match Key::decode(rest) {
            Some((value, [])) => Some(value),
            _ => return Err(invalid("damaged")),
        },
    };
    Ok((value, u64::from_be_bytes(*id)))
}

/// What binds a cursor to its kind.
fn associated(kind: &str) -> Vec<u8> {
    format!("crm query cursor {kind}").into_bytes()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKey, Purpose};

    fn bound<'a>(kind: &'a str, generation: u64, fingerprint: &'a [u8; 32]) -> Binding<'a> {
        Binding {
            kind,
            generation,
            fingerprint,
        }
    }

    #[test]
    fn a_cursor_opens_only_for_its_query_kind_schema_and_store() {
        let key = MasterKey::generate().derive(Purpose::QueryCursor);
        let other = MasterKey::generate().derive(Purpose::QueryCursor);
        let position = (Some(Key::Text("ada@example.com".into())), 7);
        let cursor = seal(&key, &bound("customers", 4, &[1; 32]), &position);
        // The cursor is hex: the value in clear would be its bytes in hex (a plain "ada" can
        // turn up among random hex digits, and did).
        let in_clear: String = "ada@example.com"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!cursor.contains(&in_clear), "the value is not in clear");
        assert_eq!(
            open(&key, &bound("customers", 4, &[1; 32]), &cursor).unwrap(),
            position
        );
        let refused = |key: &SubKey, binding: Binding<'_>, text: &str| {
            open(key, &binding, text).unwrap_err().to_string()
        };
        assert!(refused(&key, bound("customers", 4, &[2; 32]), &cursor)
            .contains("other conditions or another sort"));
        assert!(refused(&key, bound("customers", 5, &[1; 32]), &cursor)
            .contains("the schema changed since it was made"));
        assert!(refused(&key, bound("products", 4, &[1; 32]), &cursor)
            .contains("not a cursor this server made"));
        assert!(refused(&other, bound("customers", 4, &[1; 32]), &cursor)
            .contains("not a cursor this server made"));
        let mut tampered = cursor.clone().into_bytes();
        tampered[60] = if tampered[60] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(open(&key, &bound("customers", 4, &[1; 32]), &tampered).is_err());
        assert!(open(&key, &bound("customers", 4, &[1; 32]), "zz").is_err());
        let null = (None, 9);
        let cursor = seal(&key, &bound("products", 0, &[3; 32]), &null);
        assert_eq!(
            open(&key, &bound("products", 0, &[3; 32]), &cursor).unwrap(),
            null
        );
    }

    /// A cursor of the first format (generation 0 in its place, the generation only in the
    /// fingerprint) still opens when its fingerprint matches.
    #[test]
    fn a_cursor_of_the_first_format_opens_by_its_fingerprint() {
        let key = MasterKey::generate().derive(Purpose::QueryCursor);
        let mut plain = vec![VERSION_1];
        plain.extend_from_slice(&0u64.to_be_bytes());
        plain.extend_from_slice(&[7; 32]);
        plain.extend_from_slice(&11u64.to_be_bytes());
        plain.push(0);
        let sealed = Sealer::new(&key).seal(&associated("customers"), &plain);
        let text: String = sealed.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            open(&key, &bound("customers", 6, &[7; 32]), &text).unwrap(),
            (None, 11)
        );
        assert!(open(&key, &bound("customers", 6, &[8; 32]), &text).is_err());
    }
}
