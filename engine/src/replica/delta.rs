//! A write group's effects as bytes: what one replicated log entry carries (before sealing).
//!
//! The leader plans a group once (`write/committer.rs`) and every node applies its *effects*:
//! the tree's writes exactly as the leader sealed them (same records, same nonces, the same
//! journal page), the rollups the leader computed, the keyring
//! slots the group took (their wrapped keys: the follower's keyring holds the same key in the
//! same slot) and the slots it erases. A follower plans nothing, reads nothing of its own,
//! and ends with the leader's bytes: replaying operations instead would not be deterministic
//! (clocks, random nonces and keys, the merge clock), and would tie every node to one planner.
//! The indexes are not in an entry: a node computes their changes from the records the writes
//! change and the ones it held (`replica/apply.rs`), as the leader's committer does.
//!
//! # Encoding (version 2), explicit big-endian
//!
//! ```text
//! version u8 = 2
//! writes     u32 n × ( key: u16 len ‖ bytes ‖ flag u8 (0 remove, 1 put) ‖ [value: u32 len ‖ bytes] )
//! customers  u32 n × ( id u64 ‖ flag u8 ‖ [orders u64 ‖ total_cents u128 ‖ first ‖ last] )
//!                      where first, last = flag u8 ‖ [i64]
//! products   u32 n × ( id u64 ‖ flag u8 ‖ [orders u64 ‖ units u64 ‖ revenue_cents u128] )
//! slots      u32 n × ( slot u64 ‖ the slot's 72 stored bytes )
//! erasures   u32 n × slot u64
//! ```
//!
//! Decoding checks every length against what is left, so truncated or garbled bytes are
//! `CORRUPT` (never a panic, never an allocation larger than the input); the bytes after the
//! last list must be none. What the values mean is checked where they are applied
//! (`replica/apply.rs`).
//!
//! One file (340 lines of code, the rest its tests): the encoding and its decoding must stay
//! mirror images, field for field, and are kept side by side for that.

use crate::error::{Error, Result};
use crate::keyring::SLOT_LEN;
use crate::model::{CustomerRollup, ProductRollup};

/// The format version this build writes and reads.
pub const VERSION: u8 = 2;

/// One key's new value (`None`: removed).
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// A write group's effects, as a log entry carries them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupDelta {
    /// The tree's writes in order (the logical batch: one entry per order, not pages).
    pub writes: Vec<Write>,
    /// Customer rollups as they now are (`None`: no orders any more).
    pub customers: Vec<(u64, Option<CustomerRollup>)>,
    /// Product rollups as they now are.
    pub products: Vec<(u64, Option<ProductRollup>)>,
    /// The keyring slots the group took, with their stored (wrapped) bytes.
    pub slots: Vec<(u64, [u8; SLOT_LEN])>,
    /// The keyring slots the group erases once it is durable.
    pub erasures: Vec<u64>,
}

impl GroupDelta {
    /// The entry's bytes; `CORRUPT` if a key or value is longer than the format holds (a
    /// bug of the planner: nothing is appended then).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.size_hint());
        out.push(VERSION);
        put_len::<u32>(&mut out, self.writes.len())?;
        for (key, value) in &self.writes {
            put_bytes::<u16>(&mut out, key)?;
            put_option(&mut out, value.as_deref(), put_bytes::<u32>)?;
        }
        put_rollups(&mut out, &self.customers, |out, r| {
            out.extend_from_slice(&r.order_count.to_be_bytes());
            out.extend_from_slice(&r.total_cents.to_be_bytes());
            put_option(out, r.first_order.as_ref(), put_i64)?;
            put_option(out, r.last_order.as_ref(), put_i64)
        })?;
        put_rollups(&mut out, &self.products, |out, r| {
            out.extend_from_slice(&r.order_count.to_be_bytes());
            out.extend_from_slice(&r.units.to_be_bytes());
            out.extend_from_slice(&r.revenue_cents.to_be_bytes());
            Ok(())
        })?;
        put_len::<u32>(&mut out, self.slots.len())?;
        for (slot, raw) in &self.slots {
            out.extend_from_slice(&slot.to_be_bytes());
            out.extend_from_slice(raw);
        }
        put_len::<u32>(&mut out, self.erasures.len())?;
        for slot in &self.erasures {
            out.extend_from_slice(&slot.to_be_bytes());
        }
        Ok(out)
    }

    /// About how many bytes [`GroupDelta::encode`] makes.
    fn size_hint(&self) -> usize {
        let writes: usize = self
            .writes
            .iter()
            .map(|(k, v)| 7 + k.len() + v.as_ref().map_or(0, Vec::len))
            .sum();
        1 + 20
            + writes
            + self.customers.len() * 52
            + self.products.len() * 41
            + self.slots.len() * (8 + SLOT_LEN)
            + self.erasures.len() * 8
    }

    /// An entry's effects from its bytes: `CORRUPT` naming what is wrong if they are not an
    /// entry of this format.
    pub fn decode(bytes: &[u8]) -> Result<GroupDelta> {
        let mut input = Reader { bytes, at: 0 };
        let version = input.u8("the format version")?;
        if version != VERSION {
            return Err(corrupt(format!(
                "is of format version {version} (this build reads {VERSION})"
            )));
        }
        let writes = input.list("a write", 7, |input| {
            let key = input.u16_bytes("a write's key")?;
            let value =
                input.option("a write's flag", |input| input.u32_bytes("a write's value"))?;
            Ok((key, value))
        })?;
        let customers = input.rollups("a customer rollup", |input| {
            Ok(CustomerRollup {
                order_count: input.u64("a customer rollup's order count")?,
                total_cents: input.u128("a customer rollup's total")?,
                first_order: input.option("a first order's flag", |input| {
                    input.i64("a first order's time")
                })?,
                last_order: input.option("a last order's flag", |input| {
                    input.i64("a last order's time")
                })?,
            })
        })?;
        let products = input.rollups("a product rollup", |input| {
            Ok(ProductRollup {
                order_count: input.u64("a product rollup's order count")?,
                units: input.u64("a product rollup's units")?,
                revenue_cents: input.u128("a product rollup's revenue")?,
            })
        })?;
        let slots = input.list("a keyring slot", 8 + SLOT_LEN, |input| {
            let slot = input.u64("a keyring slot's number")?;
            let raw: [u8; SLOT_LEN] = input.array("a keyring slot's bytes")?;
            Ok((slot, raw))
        })?;
        let erasures = input.list("an erasure", 8, |input| input.u64("an erased slot"))?;
        if input.at != bytes.len() {
            return Err(corrupt(format!(
                "has {} bytes after its last list",
                bytes.len() - input.at
            )));
        }
        Ok(GroupDelta {
            writes,
            customers,
            products,
            slots,
            erasures,
        })
    }
}

fn corrupt(what: String) -> Error {
    Error::Corrupt(format!("a replicated log entry {what}"))
}

/// A length as the `T` (u8, u16 or u32, big-endian) the format gives it.
fn put_len<T: TryFrom<usize> + BigEndian>(out: &mut Vec<u8>, len: usize) -> Result<()> {
    let len = T::try_from(len).map_err(|_| {
        Error::Corrupt(format!(
            "a replicated log entry cannot hold a length of {len} here"
        ))
    })?;
    len.put(out);
    Ok(())
}

fn put_bytes<T: TryFrom<usize> + BigEndian>(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    put_len::<T>(out, bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(())
}

/// A list of rollups: each an id and, unless the record has no orders any more, the rollup.
fn put_rollups<T>(
    out: &mut Vec<u8>,
    rollups: &[(u64, Option<T>)],
    put: impl Fn(&mut Vec<u8>, &T) -> Result<()>,
) -> Result<()> {
    put_len::<u32>(out, rollups.len())?;
    for (id, rollup) in rollups {
        out.extend_from_slice(&id.to_be_bytes());
        put_option(out, rollup.as_ref(), &put)?;
    }
    Ok(())
}

fn put_i64(out: &mut Vec<u8>, value: &i64) -> Result<()> {
    out.extend_from_slice(&value.to_be_bytes());
    Ok(())
}

fn put_option<T: ?Sized>(
    out: &mut Vec<u8>,
    value: Option<&T>,
    put: impl FnOnce(&mut Vec<u8>, &T) -> Result<()>,
) -> Result<()> {
    match value {
        None => {
            out.push(0);
            Ok(())
        }
        Some(value) => {
            out.push(1);
            put(out, value)
        }
    }
}

/// The length types of the format, written big-endian.
trait BigEndian {
    fn put(self, out: &mut Vec<u8>);
}

impl BigEndian for u8 {
    fn put(self, out: &mut Vec<u8>) {
        out.push(self);
    }
}

impl BigEndian for u16 {
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

impl BigEndian for u32 {
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
}

/// Reads an entry's bytes from the front, every read bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize, what: &str) -> Result<&[u8]> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| corrupt(format!("is truncated in {what}")))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let bytes = self.take(N, what)?;
        bytes
            .try_into()
            .map_err(|_| corrupt(format!("is truncated in {what}")))
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    fn i64(&mut self, what: &str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    fn u128(&mut self, what: &str) -> Result<u128> {
        Ok(u128::from_be_bytes(self.array(what)?))
    }

    fn u16_bytes(&mut self, what: &str) -> Result<Vec<u8>> {
        let len = usize::from(u16::from_be_bytes(self.array(what)?));
        Ok(self.take(len, what)?.to_vec())
    }

    fn u32_bytes(&mut self, what: &str) -> Result<Vec<u8>> {
        let len = u32::from_be_bytes(self.array(what)?) as usize;
        Ok(self.take(len, what)?.to_vec())
    }

    fn option<T>(
        &mut self,
        what: &str,
        read: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => read(self).map(Some),
            other => Err(corrupt(format!("has {what} {other}, not 0 or 1"))),
        }
    }

    /// A list of rollups: each an id and, unless the record has no orders any more, the
    /// rollup `read` reads.
    fn rollups<T>(
        &mut self,
        what: &str,
        read: impl Fn(&mut Self) -> Result<T>,
    ) -> Result<Vec<(u64, Option<T>)>> {
        self.list(what, 9, |input| {
            let id = input.u64(what)?;
            let rollup = input.option(what, &read)?;
            Ok((id, rollup))
        })
    }

    /// A list of items each at least `min_len` bytes long: a count that cannot fit in what is
    /// left is refused before anything is allocated for it.
    fn list<T>(
        &mut self,
        what: &str,
        min_len: usize,
        mut read: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let count = u32::from_be_bytes(self.array(what)?) as usize;
        let left = self.bytes.len() - self.at;
        if count.saturating_mul(min_len) > left {
            return Err(corrupt(format!(
                "counts {count} of {what}, more than its {left} remaining bytes hold"
            )));
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(read(self)?);
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..=max)
    }

    fn delta() -> impl Strategy<Value = GroupDelta> {
        let write = (bytes(40), proptest::option::of(bytes(200)));
        let customer = (
            any::<u64>(),
            proptest::option::of(
                (
                    any::<u64>(),
                    any::<u128>(),
                    any::<Option<i64>>(),
                    any::<Option<i64>>(),
                )
                    .prop_map(
                        |(order_count, total_cents, first_order, last_order)| CustomerRollup {
                            order_count,
                            total_cents,
                            first_order,
                            last_order,
                        },
                    ),
            ),
        );
        let product = (
            any::<u64>(),
            proptest::option::of((any::<u64>(), any::<u64>(), any::<u128>()).prop_map(
                |(order_count, units, revenue_cents)| ProductRollup {
                    order_count,
                    units,
                    revenue_cents,
                },
            )),
        );
        let slot =
            (any::<u64>(), proptest::array::uniform32(any::<u8>())).prop_map(|(slot, half)| {
                let mut raw = [7u8; SLOT_LEN];
                raw[..32].copy_from_slice(&half);
                (slot, raw)
            });
        (
            proptest::collection::vec(write, 0..20),
            proptest::collection::vec(customer, 0..5),
            proptest::collection::vec(product, 0..5),
            proptest::collection::vec(slot, 0..3),
            proptest::collection::vec(any::<u64>(), 0..4),
        )
            .prop_map(
                |(writes, customers, products, slots, erasures)| GroupDelta {
                    writes,
                    customers,
                    products,
                    slots,
                    erasures,
                },
            )
    }

    proptest! {
        #[test]
        fn every_delta_round_trips(delta in delta()) {
            prop_assert_eq!(GroupDelta::decode(&delta.encode().unwrap()).unwrap(), delta);
        }

        /// Guards the decoder against a panic or a huge allocation on bytes that are not an
        /// entry: every cut and every flipped byte of a real entry, and random bytes, decode
        /// to an entry or to `CORRUPT`.
        #[test]
        fn truncated_flipped_or_random_bytes_are_corrupt_never_a_panic(
            delta in delta(),
            cut in any::<prop::sample::Index>(),
            flip in any::<prop::sample::Index>(),
            bit in 0u8..8,
            noise in bytes(300),
        ) {
            let encoded = delta.encode().unwrap();
            let cut_at = cut.index(encoded.len());
            let truncated = GroupDelta::decode(&encoded[..cut_at]);
            prop_assert!(matches!(truncated, Err(Error::Corrupt(_))), "{truncated:?}");
            let mut flipped = encoded.clone();
            let at = flip.index(flipped.len());
            flipped[at] ^= 1 << bit;
            match GroupDelta::decode(&flipped) {
                Ok(_) | Err(Error::Corrupt(_)) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
            match GroupDelta::decode(&noise) {
                Ok(_) | Err(Error::Corrupt(_)) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }

    #[test]
    fn a_count_beyond_the_input_is_refused_before_allocating() {
        let mut bytes = vec![VERSION];
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        let error = GroupDelta::decode(&bytes).unwrap_err().to_string();
        assert!(error.contains("counts 4294967295 of a write"), "{error}");
        assert!(GroupDelta::decode(&[]).is_err());
        let mut other_version = GroupDelta::default().encode().unwrap();
        other_version[0] = 1;
        let error = GroupDelta::decode(&other_version).unwrap_err().to_string();
        assert!(error.contains("format version 1"), "{error}");
        let mut trailing = GroupDelta::default().encode().unwrap();
        trailing.push(0);
        assert!(GroupDelta::decode(&trailing).is_err());
        let long_key = GroupDelta {
            writes: vec![(vec![0; 1 << 16], None)],
            ..GroupDelta::default()
        };
        assert!(matches!(long_key.encode(), Err(Error::Corrupt(_))));
    }
}
