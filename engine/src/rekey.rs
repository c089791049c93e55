//! Offline master-key rotation (`crm-server rekey`).
//!
//! The master key only wraps the store's data key and journal key (`envelope.rs`); records,
//! indexes, the keyring and the journal are sealed under keys derived from those, so rotation
//! re-wraps two keys and re-seals nothing: its cost does not grow with the data. The new
//! wrappings, and the new passphrase's salt and cost parameters (or their removal, for a key
//! file), are one sled batch, flushed before it reports success: a crash leaves either the old
//! wrapping, which the old key opens whole, or the new one, which the new key opens whole.
//! Running it again with the same two keys after a crash finds which, and finishes.
//!
//! What rotation does not do: a copy of the data folder (or a backup) taken before still opens
//! with the old key, and sled may keep the old wrapping in its files for a while; SECURITY.md
//! says what that means after a key leak.

use crate::envelope;
use crate::error::{Error, Result};
use crate::keys::KeySource;
use crate::storage::{Db, Tuning};
use crate::store::{Options, Store};
use crate::trees::{bytes_key, meta, Space, DATA_TREE};
use std::path::Path;

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekeyOutcome {
    /// The store now opens with the new key only.
    Rekeyed,
    /// The store already opened with the new key (an earlier run finished).
    AlreadyDone,
}

/// Re-wraps the store's keys in `dir` from `old` to `new`; the store must not be open anywhere
/// (`BUSY` otherwise). `on_step` hears each step, for a progress bar.
pub fn rekey(
    dir: &Path,
    old: &KeySource,
    new: &KeySource,
    on_step: &dyn Fn(u64, u64, &str),
) -> Result<RekeyOutcome> {
    if !dir.join("db").exists() {
        return Err(Error::Refused(format!("{} holds no store", dir.display())));
    }
    const STEPS: u64 = 5;
    on_step(0, STEPS, "opening");
    // An older layout is brought to the current one first, with the old key (a store already
    // rekeyed is current, and opens with the new key only).
    {
        let db = Db::open(dir, &Tuning::default())?;
        let tree = db.open_tree(DATA_TREE)?;
        let layout = crate::upgrade::layout_of(&tree)?;
        drop(tree);
        drop(db);
        if layout.is_some_and(|l| l < crate::upgrade::CURRENT_LAYOUT) {
            Store::open(dir, old, &Options::default())?.close()?;
        }
    }
    let db = Db::open(dir, &Tuning::default())?;
    let tree = db.open_tree(DATA_TREE)?;
    on_step(1, STEPS, "checking the keys");
    let (old_master, _) = envelope::master_key(&tree, old, false)?;
    let data = match envelope::open_data_key(&tree, &old_master) {
        Ok(data) => data,
        Err(Error::WrongKey) => {
            let (new_master, _) = envelope::master_key(&tree, new, false)?;
            return match envelope::open_data_key(&tree, &new_master) {
                Ok(_) => Ok(RekeyOutcome::AlreadyDone),
                Err(error) => Err(error),
            };
        }
        Err(error) => Err(error)?,
    };
    let journal_key = match tree.get(bytes_key(Space::Meta, meta::JOURNAL_KEY))? {
        Some(sealed) => Some(envelope::unwrap(&old_master, meta::JOURNAL_KEY, &sealed)?),
        None => None,
    };
    on_step(
        2,
        STEPS,
        "wrapping the data and journal keys under the new key",
    );
    let (new_master, passphrase) = envelope::master_key(&tree, new, true)?;
    if new_master.expose() == old_master.expose() {
        return Err(Error::Refused("the new key is the current key".into()));
    }
    let mut batch = crate::storage::Batch::default();
    batch.insert(
        bytes_key(Space::Meta, meta::DATA_KEY),
        envelope::wrap(&new_master, meta::DATA_KEY, &data),
    );
    if let Some(journal) = &journal_key {
        batch.insert(
            bytes_key(Space::Meta, meta::JOURNAL_KEY),
            envelope::wrap(&new_master, meta::JOURNAL_KEY, journal),
        );
    }
    match passphrase {
        Some(fresh) => {
            batch.insert(bytes_key(Space::Meta, meta::KDF_SALT), fresh.salt);
            batch.insert(
                bytes_key(Space::Meta, meta::KDF_PARAMS),
                fresh.params.to_bytes().to_vec(),
            );
        }
        None => {
            batch.remove(bytes_key(Space::Meta, meta::KDF_SALT));
            batch.remove(bytes_key(Space::Meta, meta::KDF_PARAMS));
        }
    }
    on_step(3, STEPS, "writing");
    tree.apply_batch(batch)?;
    on_step(4, STEPS, "flushing");
    db.flush()?;
    on_step(STEPS, STEPS, "done");
    Ok(RekeyOutcome::Rekeyed)
}
