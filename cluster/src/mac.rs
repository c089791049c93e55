//! MACs of the values this crate keeps in etcd outside the sealed log (the cluster meta, the
//! leader key, node registrations): anyone who can write to etcd could otherwise send clients
//! (and their passwords) to an address of their choosing through `SENTINEL
//! GET-MASTER-ADDR-BY-NAME`. The key is derived from the master key by the engine; every node
//! holds the same one. A value is `payload ‖ tag`, and the tag covers the etcd key it is
//! stored under, so a value moved to another key fails too.

use crate::error::{Error, Result};
use zeroize::Zeroizing;

const TAG: usize = 32;
const CONTEXT: &[u8] = b"crm etcd value v1";

/// The key MACing etcd values (wiped from memory when dropped).
#[derive(Clone)]
pub struct MacKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(<hidden>)")
    }
}

impl MacKey {
    /// Wraps a key (from the engine's master-derived keys).
    pub fn new(key: [u8; 32]) -> MacKey {
        MacKey(Zeroizing::new(key))
    }

    fn tag(&self, etcd_key: &[u8], payload: &[u8]) -> [u8; TAG] {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        hasher.update(CONTEXT);
        hasher.update(&(etcd_key.len() as u64).to_be_bytes());
        hasher.update(etcd_key);
        hasher.update(payload);
        *hasher.finalize().as_bytes()
    }

    /// The value to store under `etcd_key`.
    pub fn sign(&self, etcd_key: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut value = payload.to_vec();
        value.extend_from_slice(&self.tag(etcd_key, payload));
        value
    }

    /// The payload of a value read from `etcd_key`, if its tag is right.
    pub fn verify<'a>(&self, etcd_key: &[u8], value: &'a [u8]) -> Result<&'a [u8]> {
        let malformed = |message: &str| Error::Malformed {
            what: String::from_utf8_lossy(etcd_key).into_owned(),
            message: message.to_string(),
        };
        if value.len() < TAG {
            return Err(malformed("too short to carry a MAC"));
        }
        let (payload, tag) = value.split_at(value.len() - TAG);
        let expected = self.tag(etcd_key, payload);
        // Constant time: blake3's Hash compares in constant time.
        if blake3::Hash::from(expected)
            == blake3::Hash::from(<[u8; TAG]>::try_from(tag).map_err(|_| malformed("bad tag"))?)
        {
            Ok(payload)
        } else {
            Err(malformed("its MAC does not match (written by a node without this cluster's master key, or changed)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_verifies_under_its_key_only() {
        let key = MacKey::new([7; 32]);
        let value = key.sign(b"/crm/a/leader", b"node-1");
        assert_eq!(key.verify(b"/crm/a/leader", &value).unwrap(), b"node-1");
        assert!(key.verify(b"/crm/a/nodes/n1", &value).is_err());
        assert!(MacKey::new([8; 32])
            .verify(b"/crm/a/leader", &value)
            .is_err());
        let mut changed = value.clone();
        changed[0] ^= 1;
        assert!(key.verify(b"/crm/a/leader", &changed).is_err());
        assert!(key.verify(b"/crm/a/leader", b"short").is_err());
    }
}
