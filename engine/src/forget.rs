//! Reads about forgotten customers, and the repair a restore makes for those forgotten while
//! their backup was taken. Erasure itself is a write (`write/customer.rs`), its argument in
//! `keyring.rs`.

use crate::error::Result;
use crate::model::Forgotten;
use crate::store::Store;
use crate::trees::{id_key, Space};
use crate::write::{Op, Outcome};

impl Store {
    /// `FORGET.LIST`: every forgotten customer, by id.
    pub fn forgotten(&self) -> Result<Vec<Forgotten>> {
        let mut list = Vec::new();
        for entry in self.shared.tree.scan_prefix(Space::Forgotten.prefix()) {
            let (key, sealed) = entry?;
            list.push(self.shared.codec.open(&key, &sealed)?);
        }
        Ok(list)
    }

    /// Whether a customer id was forgotten.
    pub fn is_forgotten(&self, id: u64) -> Result<bool> {
        self.shared.tree.contains_key(id_key(Space::Forgotten, id))
    }

    /// Forgets, journaled by no user, every customer whose record is present but whose key is
    /// gone: a restored backup that was taken while they were being forgotten. Returns how many.
    pub(crate) fn forget_unkeyed_customers(&self) -> Result<u64> {
        let keyring = self.shared.codec.keyring()?;
        let mut unkeyed = Vec::new();
        for entry in self.shared.tree.scan_prefix(Space::Customer.prefix()) {
            let (key, sealed) = entry?;
            if let (Some(slot), Some(id)) = (
                crate::codec::keyed_slot(&sealed),
                crate::trees::trailing_id(&key),
            ) {
                let gone = keyring
                    .raw(slot)
                    .is_none_or(|raw| crate::keyring::is_erased(&raw));
                if gone {
                    unkeyed.push(Op::ForgetRestored {
                        id,
                        at: crate::values::now(),
                    });
                }
            }
        }
        let mut done = 0;
        for result in self.write_many(unkeyed)? {
            if result? == Outcome::Done {
                done += 1;
            }
        }
        Ok(done)
    }
}

impl Store {
    /// Every copy of customer `id` that can be opened from the raw files under `dir` with this
    /// store's keys: the old-page scanner of the white-box erasure test.
    ///
    /// sled keeps old versions of values in its segment files; this reads every file byte by
    /// byte, takes each place that looks like the start of a keyed customer record (`codec.rs`
    /// framing, a slot the keyring has), and tries to open it at every length a record can
    /// have. Before `FORGET` it finds the customer (so it does find what sled keeps); after, it
    /// must find nothing. Slow; for tests only.
    #[doc(hidden)]
    pub fn recover_customer_copies(
        &self,
        dir: &std::path::Path,
        id: u64,
    ) -> Result<Vec<crate::model::Customer>> {
        let keyring = self.shared.codec.keyring()?;
        let record_key = id_key(Space::Customer, id);
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path)? {
                    pending.push(entry?.path());
                }
                continue;
            }
            let bytes = std::fs::read(&path)?;
            for start in 0..bytes.len().saturating_sub(9 + 24 + 16) {
                let Some(slot) = crate::codec::keyed_slot(&bytes[start..]) else {
                    continue;
                };
                if slot >= keyring.len() {
                    continue;
                }
                let Some(sealer) = keyring.sealer(slot)? else {
                    continue;
                };
                let mut associated = record_key.to_vec();
                associated.extend_from_slice(&slot.to_be_bytes());
                let body = &bytes[start + 9..];
                for length in (24 + 16 + 8)..=(24 + 16 + 2048).min(body.len()) {
                    if let Ok(plain) = sealer.open_unframed(&associated, &body[..length]) {
                        if let Ok(customer) = self.shared.codec.decode(&record_key, &plain) {
                            found.push(customer);
                        }
                        break;
                    }
                }
            }
        }
        Ok(found)
    }
}
