//! Explicit big-endian encoding of the values this crate keeps in etcd (registrations, the
//! leader key, the cluster meta, log entry headers), with bounds-checked decoding: a short or
//! overlong value is an error, never a panic.

use crate::error::{Error, Result};

/// Appends fields to a byte vector.
#[derive(Default)]
pub(crate) struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    pub(crate) fn new() -> Encoder {
        Encoder::default()
    }

    pub(crate) fn u8(mut self, value: u8) -> Encoder {
        self.bytes.push(value);
        self
    }

    pub(crate) fn u16(mut self, value: u16) -> Encoder {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u32(mut self, value: u32) -> Encoder {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn u64(mut self, value: u64) -> Encoder {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn i64(mut self, value: i64) -> Encoder {
        self.bytes.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// A byte string of at most 65,535 bytes, length first (longer ones are cut: callers pass
    /// names and addresses, which are far shorter).
    pub(crate) fn bytes(mut self, value: &[u8]) -> Encoder {
        let len = value.len().min(usize::from(u16::MAX));
        self = self.u16(u16::try_from(len).unwrap_or(u16::MAX));
        self.bytes.extend_from_slice(&value[..len]);
        self
    }

    pub(crate) fn str(self, value: &str) -> Encoder {
        self.bytes(value.as_bytes())
    }

    /// Raw bytes with no length (the last field).
    pub(crate) fn rest(mut self, value: &[u8]) -> Encoder {
        self.bytes.extend_from_slice(value);
        self
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Reads fields back; `what` names the value in errors.
pub(crate) struct Decoder<'a> {
    bytes: &'a [u8],
    what: &'a str,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'a str) -> Decoder<'a> {
        Decoder { bytes, what }
    }

    fn malformed(&self, message: &str) -> Error {
        Error::Malformed {
            what: self.what.to_string(),
            message: message.to_string(),
        }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < len {
            return Err(self.malformed("truncated"));
        }
        let (head, tail) = self.bytes.split_at(len);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = usize::from(self.u16()?);
        self.take(len)
    }

    pub(crate) fn str(&mut self) -> Result<String> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.malformed("text is not UTF-8"))
    }

    pub(crate) fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.array()
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(self.malformed("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_short_input_is_an_error() {
        let bytes = Encoder::new()
            .u8(7)
            .u64(1 << 40)
            .i64(-3)
            .str("node-1")
            .finish();
        let mut decoder = Decoder::new(&bytes, "test");
        assert_eq!(decoder.u8().unwrap(), 7);
        assert_eq!(decoder.u64().unwrap(), 1 << 40);
        assert_eq!(decoder.i64().unwrap(), -3);
        assert_eq!(decoder.str().unwrap(), "node-1");
        decoder.finish().unwrap();
        for cut in 0..bytes.len() {
            let mut short = Decoder::new(&bytes[..cut], "test");
            let read = (|| {
                short.u8()?;
                short.u64()?;
                short.i64()?;
                short.str()
            })();
            assert!(read.is_err(), "cut at {cut}");
        }
    }
}
