//! Order pages: how up to [`SLOTS`] orders share one stored entry (layout 6).
//!
//! # Why
//!
//! sled 0.34 costs 10–13 µs and some 300 bytes of disk per entry, whatever the entry's size
//! (1M 100-byte entries: 381 MiB on disk). An order is about 90 sealed bytes, so per-entry
//! cost was most of an imported order's write time and of the store's size. Orders are written
//! in id order (ids are the high-water mark plus one), so the orders of one write group fill
//! consecutive pages: an import of 5,000 orders writes some 160 entries instead of 5,000.
//!
//! # What a page is
//!
//! The orders with ids `base .. base + SLOTS` (`base` a multiple of [`SLOTS`]) live in one
//! entry at the key `o ‖ base` — the key the first of them would have had, so pages sort
//! exactly where their orders' keys would, and a walk over the pages in key order yields the
//! orders in key order. The value is [`TAG`] followed by, for each order present in
//! ascending id order, `slot (1 byte) ‖ length (4 bytes, big-endian) ‖ sealed order`.
//!
//! Every order is still sealed on its own, bound to its own key `o ‖ id` (`seal.rs`): the page
//! framing is not authenticated and needs not be. Moving a sealed order to another slot, or to
//! another page, makes it fail to open as the order it now claims to be; a page whose framing
//! does not parse is `CORRUPT`. Removing an order from a page is what removing its entry was.
//!
//! A sealed value starts with its format version (1 or 2, `seal.rs` and `codec.rs`), never
//! [`TAG`], so an entry in the order space tells what it is by its first byte: a page, or a
//! single order written by an older layout (a *loose* entry), which the upgrade to layout 6
//! folds into its page — and so does any write that touches that page first.
//!
//! Only the storage boundary (`storage/`) knows of pages: the rest of the engine still reads
//! and writes one order at `o ‖ id`.

use crate::error::{Error, Result};
use crate::trees::Space;
use std::collections::BTreeMap;
use std::ops::Range;

/// Orders per page. 32 keeps a page (about 3 KB) cheap to rewrite when one order is added to
/// it, and still divides the order space's entries by 32.
pub(crate) const SLOTS: u64 = 32;

/// The first byte of a page; no sealed value starts with it.
pub(crate) const TAG: u8 = 0xB0;

/// The packed key space and the length of its keys (`o ‖ id`).
const SPACE: u8 = Space::Order as u8;
const KEY_LEN: usize = 9;
/// `slot ‖ length` in front of each order.
const HEAD_LEN: usize = 5;

/// The id of a key of the packed space (`None`: a key of another space).
pub(crate) fn packed_id(key: &[u8]) -> Option<u64> {
    if key.len() != KEY_LEN || key.first() != Some(&SPACE) {
        return None;
    }
    Some(u64::from_be_bytes(key.get(1..)?.try_into().ok()?))
}

/// The first byte of every key of the packed space.
pub(crate) const SPACE_PREFIX: [u8; 1] = [SPACE];

/// Whether a key is in the packed space, or is a bound inside it (`o ‖` part of an id).
pub(crate) fn in_packed_space(key: &[u8]) -> bool {
    key.len() > 1 && key.first() == Some(&SPACE)
}

/// Whether keys starting with `prefix` can be in the packed space.
pub(crate) fn may_hold_pages(prefix: &[u8]) -> bool {
    prefix.first().is_none_or(|first| *first == SPACE)
}

/// The first id of the page `id` is in.
pub(crate) fn base_of(id: u64) -> u64 {
    id & !(SLOTS - 1)
}

/// The key of an order, which is also the key of the page whose base it is.
pub(crate) fn key_of(id: u64) -> [u8; KEY_LEN] {
    crate::trees::id_key(Space::Order, id)
}

/// The key of the page that holds the keys from `bound` on: a bound inside the packed space
/// (an order key, or a shorter or longer key starting like one) moves back to the start of its
/// page; any other bound is its own.
pub(crate) fn page_bound(bound: &[u8]) -> Vec<u8> {
    if !in_packed_space(bound) {
        return bound.to_vec();
    }
    let mut id = [0u8; 8];
    let given = &bound[1..bound.len().min(KEY_LEN)];
    id[..given.len()].copy_from_slice(given);
    key_of(base_of(u64::from_be_bytes(id))).to_vec()
}

/// Whether a stored entry is a page (rather than an entry of another space, or a loose order).
pub(crate) fn is_page(key: &[u8], value: &[u8]) -> bool {
    packed_id(key).is_some() && value.first() == Some(&TAG)
}

/// The orders of the page at `base`: each one's id and where its sealed bytes are in `page`.
pub(crate) fn entries(base: u64, page: &[u8]) -> Result<Vec<(u64, Range<usize>)>> {
    if page.first() != Some(&TAG) {
        return Err(malformed(base, "it does not start with the page tag"));
    }
    let mut found = Vec::with_capacity(SLOTS as usize);
    let mut at = 1;
    let mut last_slot = None;
    while at < page.len() {
        let (slot, range) = entry_at(base, page, at)?;
        if last_slot.is_some_and(|last| slot <= last) {
            return Err(malformed(base, "its slots are not in ascending order"));
        }
        last_slot = Some(slot);
        at = range.end;
        found.push((base + u64::from(slot), range));
    }
    Ok(found)
}

/// Where the sealed bytes of order `id` are in the page at `base`, if it holds that order.
///
/// Walks the page's headers without collecting them: this is every point read of an order
/// and every check that a new order's id is free.
pub(crate) fn find(base: u64, page: &[u8], id: u64) -> Result<Option<Range<usize>>> {
    if page.first() != Some(&TAG) {
        return Err(malformed(base, "it does not start with the page tag"));
    }
    let wanted = slot_of(id);
    let mut at = 1;
    while at < page.len() {
        let (slot, range) = entry_at(base, page, at)?;
        if slot == wanted {
            return Ok(Some(range));
        }
        if slot > wanted {
            return Ok(None);
        }
        at = range.end;
    }
    Ok(None)
}

/// The page holding `orders` (slot → sealed order).
pub(crate) fn encode(orders: &BTreeMap<u8, impl AsRef<[u8]>>) -> Vec<u8> {
    let size: usize = orders.values().map(|o| HEAD_LEN + o.as_ref().len()).sum();
    let mut page = Vec::with_capacity(1 + size);
    page.push(TAG);
    for (slot, sealed) in orders {
        let sealed = sealed.as_ref();
        page.push(*slot);
        // A sealed order is a few hundred bytes at most; a length over u32 cannot be built.
        page.extend_from_slice(
            &u32::try_from(sealed.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        page.extend_from_slice(sealed);
    }
    page
}

/// The slot of `id` in its page.
pub(crate) fn slot_of(id: u64) -> u8 {
    // Below SLOTS (32), so it fits.
    (id - base_of(id)) as u8
}

fn entry_at(base: u64, page: &[u8], at: usize) -> Result<(u8, Range<usize>)> {
    let head = page
        .get(at..at + HEAD_LEN)
        .ok_or_else(|| malformed(base, "an order's header is cut short"))?;
    let slot = head[0];
    if u64::from(slot) >= SLOTS {
        return Err(malformed(base, &format!("slot {slot} is out of range")));
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let start = at + HEAD_LEN;
    let end = start
        .checked_add(len)
        .filter(|end| *end <= page.len())
        .ok_or_else(|| malformed(base, &format!("slot {slot} runs past the page's end")))?;
    Ok((slot, start..end))
}

fn malformed(base: u64, why: &str) -> Error {
    Error::Corrupt(format!(
        "the page of orders {base}..{} does not parse: {why}",
        base + SLOTS - 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_round_trips_and_finds_its_orders() {
        let mut orders = BTreeMap::new();
        orders.insert(0u8, vec![1u8, 2, 3]);
        orders.insert(5, vec![]);
        orders.insert(31, vec![9; 300]);
        let page = encode(&orders);
        let found = entries(64, &page).unwrap();
        let ids: Vec<u64> = found.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![64, 69, 95]);
        assert_eq!(&page[found[0].1.clone()], &[1, 2, 3]);
        assert_eq!(find(64, &page, 95).unwrap().map(|r| r.len()), Some(300));
        assert_eq!(find(64, &page, 70).unwrap(), None);
    }

    #[test]
    fn a_damaged_page_is_corrupt_not_misread() {
        let mut orders = BTreeMap::new();
        orders.insert(3u8, vec![7u8; 10]);
        orders.insert(4, vec![8u8; 10]);
        let page = encode(&orders);
        // A page cut between two orders is a shorter page; cut anywhere else, it is damaged.
        for cut in (1..page.len()).filter(|cut| ![1, 1 + HEAD_LEN + 10].contains(cut)) {
            let err = entries(0, &page[..cut]).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Corrupt, "cut at {cut}");
        }
        let mut swapped = page.clone();
        swapped[1] = 9; // slot 3 becomes 9, after slot 4: out of order
        assert!(entries(0, &swapped).is_err());
        let mut far = page.clone();
        far[1] = 40;
        assert!(entries(0, &far)
            .unwrap_err()
            .to_string()
            .contains("slot 40"));
        let mut untagged = page;
        untagged[0] = crate::seal::SEAL_VERSION;
        assert!(entries(0, &untagged).is_err());
    }

    #[test]
    fn bounds_move_to_the_start_of_their_page() {
        assert_eq!(page_bound(&key_of(70)), key_of(64).to_vec());
        assert_eq!(page_bound(&key_of(64)), key_of(64).to_vec());
        assert_eq!(page_bound(b"o"), b"o".to_vec());
        assert_eq!(page_bound(b"p\0\0"), b"p\0\0".to_vec());
        // A shorter bound is padded with zeros: `o ‖ 0x01` is id 2^56.
        assert_eq!(page_bound(&[b'o', 1]), key_of(1 << 56).to_vec());
        let mut longer = key_of(100).to_vec();
        longer.push(0);
        assert_eq!(page_bound(&longer), key_of(96).to_vec());
        assert_eq!(slot_of(100), 4);
        assert!(!is_page(&key_of(1), &[crate::seal::SEAL_VERSION]));
        assert!(is_page(&key_of(0), &[TAG]));
    }
}
