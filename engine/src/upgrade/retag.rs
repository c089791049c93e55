//! Layout 8: customers, products and kept merges stored with their values tagged
//! (`schema/tagged.rs`), so that a field added later needs no migration. Layouts 3 to 7
//! stored them as bincode structs, read here once.

use super::UpgradeProgress;
use crate::codec::{keyed_slot, Codec};
use crate::envelope;
use crate::error::Result;
use crate::keys::{MasterKey, Purpose};
use crate::model::{Customer, KeptMerge, Product};
use crate::seal::Sealer;
use crate::storage::{Batch, Bytes, Tree};
use crate::trees::Space;
use serde::{Deserialize, Serialize};

/// A customer as layouts 3 to 7 stored it.
#[derive(Serialize, Deserialize)]
pub(super) struct LegacyCustomer {
    pub id: u64,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub created_at: i64,
}

impl LegacyCustomer {
    fn tagged(self) -> Customer {
        Customer {
            id: self.id,
            name: self.name,
            email: self.email,
            phone: self.phone,
            address: self.address,
            created_at: self.created_at,
            custom: Default::default(),
        }
    }
}

/// A product as layouts 1 to 7 stored it.
#[derive(Deserialize)]
struct LegacyProduct {
    id: u64,
    name: String,
    price_cents: u64,
    stock: u64,
}

/// A kept merge as layouts 3 to 7 stored it.
#[derive(Deserialize)]
struct LegacyKeptMerge {
    keep: u64,
    other: LegacyCustomer,
    moved_orders: Vec<u64>,
    filled_phone: bool,
    filled_address: bool,
    at: i64,
}

/// Adds to `batch` every customer, product and kept merge re-encoded tagged, each sealed as
/// before (a customer and a kept merge under the same key slot). A record that does not
/// open is left as it is: it was unreadable before (damaged, or its key erased by a `FORGET`
/// a restore is about to replay) and stays so.
pub(super) fn retag_records(
    tree: &Tree,
    master: &MasterKey,
    dir: &std::path::Path,
    batch: &mut Batch,
    from: u64,
    on_progress: &dyn Fn(UpgradeProgress),
) -> Result<()> {
    let data = envelope::open_data_key(tree, master)?;
    let keyring = std::sync::Arc::new(crate::keyring::Keyring::open(dir, &data)?);
    let codec = Codec::with_keyring(Sealer::new(&data.derive(Purpose::RecordSeal)), keyring);
    let entries = |space: Space| -> Result<Vec<(Bytes, Bytes)>> {
        tree.scan_prefix(space.prefix()).collect()
    };
    let customers = entries(Space::Customer)?;
    let products = entries(Space::Product)?;
    let merges = entries(Space::KeptMerge)?;
    let mut progress = UpgradeProgress {
        from,
        to: 8,
        done: 0,
        total: (customers.len() + products.len() + merges.len()) as u64,
    };
    on_progress(progress);
    let step = |progress: &mut UpgradeProgress| {
        progress.done += 1;
        if progress.done.is_multiple_of(1024) || progress.done == progress.total {
            on_progress(*progress);
        }
    };
    for (key, sealed) in &customers {
        if let Some(slot) = keyed_slot(sealed) {
            if let Ok(old) = codec.open::<LegacyCustomer>(key, sealed) {
                let plain = crate::codec::encode(&old.tagged());
                batch.insert(key.clone(), codec.seal_keyed(key, slot, &plain)?);
            }
        }
        step(&mut progress);
    }
    for (key, sealed) in &products {
        if let Ok(old) = codec.open::<LegacyProduct>(key, sealed) {
            let product = Product {
                id: old.id,
                name: old.name,
                price_cents: old.price_cents,
                stock: old.stock,
                custom: Default::default(),
            };
            batch.insert(key.clone(), codec.seal(key, &product));
        }
        step(&mut progress);
    }
    for (key, sealed) in &merges {
        if let (Some(slot), Ok(old)) = (
            keyed_slot(sealed),
            codec.open::<LegacyKeptMerge>(key, sealed),
        ) {
            let merge = KeptMerge {
                keep: old.keep,
                other: old.other.tagged(),
                moved_orders: old.moved_orders,
                filled_phone: old.filled_phone,
                filled_address: old.filled_address,
                filled_custom: Vec::new(),
                at: old.at,
            };
            let plain = crate::codec::encode(&merge);
            batch.insert(key.clone(), codec.seal_keyed(key, slot, &plain)?);
        }
        step(&mut progress);
    }
    Ok(())
}
