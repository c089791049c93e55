//! Bringing a store written by an older on-disk layout to the current one, in place.
//!
//! `Store::open` runs the steps a store needs before anything else reads it; `crm-server
//! upgrade` runs them with a progress bar. Each step computes every change it makes and applies
//! them as **one** sled batch together with the new `layout_version`, then flushes: sled applies
//! a batch atomically across a crash, so a crash during an upgrade leaves either the old store,
//! untouched and usable by the old build, or the upgraded one — never a mix.
//!
//! Layouts:
//! 1. (2026-11) records sealed under keys derived from the master key; a sealed key check; users
//!    keyed by their plain name; counters and id high-water marks in plain.
//! 2. (2026-12) a data key wrapped by the master key (`envelope.rs`) replaces the key check;
//!    users keyed by a blind hash of their name, with a `masked` flag; counters and high-water
//!    marks sealed (a changed one is `CORRUPT`); Argon2id parameters recorded.
//! 3. (2026-12) every customer record sealed under a key of its own, kept in the keyring file
//!    (`keyring.rs`), so that `CUSTOMER.FORGET` can destroy it. The keyring's slots are made
//!    and fsynced before the one batch that re-seals the records; a crash before that batch
//!    leaves layout 2 and unused slots, which the next attempt takes.
//!
//!    Records written before this upgrade were sealed under the store's record key, and sled
//!    may keep those old versions in its segment files after the re-seal: a customer forgotten
//!    later had such a copy recoverable with the master key until sled rewrites the segment.
//!    Restoring a backup into a new folder leaves no such copy (SECURITY.md).
//! 4. (2026-12) the orders-by-customer, -product and -time indexes and the journal's index by
//!    record are no longer in the tree: they are rebuilt in memory at open (`indexes/`),
//!    which takes four of an order's five entries off the write path and the disk.
//!
//!    This step writes the new `layout_version` first, in a batch of its own, and then removes
//!    the old index entries in batches of [`SWEEP_BATCH`]. It changes no record, and every open
//!    of a layout-4 store removes what is left of them (`sweep_derived`), so a crash during the
//!    sweep leaves a store that opens and finishes it. The version goes first because a build
//!    of layout 3 must not open a store whose indexes are half gone: it refuses layout 4.
//! 5. (2026-12) the customer and product rollups are no longer in the tree either: they are
//!    rebuilt from the orders at open, in the pass that rebuilds the indexes
//!    (`rollup_table.rs`), which takes two of an imported order's three entries off the
//!    write path. The same mark-then-sweep as step 4, over every space the layout keeps in
//!    memory ([`crate::trees::MEMORY_ONLY`]): a build of layout 4 refuses layout 5.
//! 6. (2026-12) orders are stored 32 to an entry, in pages (`pages.rs`): the storage boundary
//!    reads both an order's own entry and a page, and any write to a page folds the loose
//!    orders of its range into it. The same mark-then-sweep: the version goes first (a build
//!    of layout 5 would take a page for a damaged order), then [`PACK_BATCH`] loose orders at
//!    a time are folded into their pages, each batch atomic; every open finishes what a crash
//!    left. No order is re-sealed: the sealed bytes move into the page as they are.
//! 7. (2026-12) a write is durable once it is in the store's redo log (`storage/redo.rs`),
//!    which sled's files may not hold yet: a build of layout 6 would open such a store without
//!    the writes the log holds, so it must refuse it. The customers' blind index entries
//!    (email, phone, name words) are kept in memory too, rebuilt from the customers at open
//!    (`indexes/`), and journal pages are written packed (older ones still read). The same
//!    mark-then-sweep as step 5 takes the blind index entries out of the tree; the version
//!    is in sled's files at once (a checkpoint).
//! 8. (2026-12) customers, products and kept merges are stored with each value tagged by its
//!    field (`schema/tagged.rs`), custom fields' values among them: a field added later needs
//!    no migration. Every such record is re-encoded (`retag.rs`) and sealed as before (under
//!    the same key slot), in the one batch that writes the new version; a build of layout 7
//!    would misread them, so it must refuse the store.

use crate::codec::Codec;
use crate::envelope;
use crate::error::{Error, Result};
use crate::indexes::BlindKeys;
use crate::keys::{MasterKey, Purpose};
use crate::model::{Role, User};
use crate::seal::Sealer;
use crate::trees::{bytes_key, decode_u64, meta, Space, MEMORY_ONLY};
use serde::Deserialize;

mod retag;

/// The on-disk layout this build writes and reads.
pub const CURRENT_LAYOUT: u64 = 8;

/// Old entries removed per batch by the sweep of the spaces kept in memory.
const SWEEP_BATCH: usize = 10_000;

/// Loose orders folded into their pages per batch by the upgrade to layout 6.
const PACK_BATCH: usize = 10_000;

/// Layout 1's key check text.
const V1_KEY_CHECK_TEXT: &[u8] = b"crm-engine key check v1";

/// How far an upgrade is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeProgress {
    /// The layout being upgraded from, and to.
    pub from: u64,
    pub to: u64,
    /// Entries rewritten so far, of `total`.
    pub done: u64,
    pub total: u64,
}

impl UpgradeProgress {
    /// The start of a step from `from` to the current layout that rewrites `total` entries.
    fn starting(from: u64, total: u64) -> UpgradeProgress {
        UpgradeProgress {
            from,
            to: CURRENT_LAYOUT,
            done: 0,
            total,
        }
    }
}

/// The layout a store's tree is written in; `None` for a new, empty tree.
pub(crate) fn layout_of(tree: &crate::storage::Tree) -> Result<Option<u64>> {
    match tree.get(bytes_key(Space::Meta, meta::LAYOUT_VERSION))? {
        Some(bytes) => decode_u64(&bytes)
            .map(Some)
            .ok_or_else(|| Error::Corrupt("metadata \"layout_version\" is malformed".into())),
        None if tree.iter().next().is_none() => Ok(None),
        None => Err(Error::Corrupt(
            "the store has data but no layout version".into(),
        )),
    }
}

/// Runs every step from `from` to [`CURRENT_LAYOUT`].
pub(crate) fn run(
    db: &crate::storage::Db,
    tree: &crate::storage::Tree,
    master: &MasterKey,
    dir: &std::path::Path,
    from: u64,
    on_progress: &dyn Fn(UpgradeProgress),
) -> Result<()> {
    if from > CURRENT_LAYOUT {
        return Err(Error::Refused(format!(
            "the store is in layout {from}, written by a newer build (this one reads up to {CURRENT_LAYOUT})"
        )));
    }
    if from == 1 {
        v1_to_v2(tree, master, on_progress)?;
        db.checkpoint()?;
    }
    if from <= 2 {
        v2_to_v3(tree, master, dir, on_progress)?;
        db.checkpoint()?;
    }
    // Steps 1 → 2 and 2 → 3 prove the key as they unwrap; the steps after them change the tree
    // without unsealing anything, so a wrong key is refused here, before they run.
    envelope::open_data_key(tree, master)?;
    if from < CURRENT_LAYOUT {
        let mut batch = crate::storage::Batch::default();
        // Layouts up to 7 stored records as structs; 8 tags their values.
        retag::retag_records(tree, master, dir, &mut batch, from.max(3), on_progress)?;
        batch.insert(
            bytes_key(Space::Meta, meta::LAYOUT_VERSION),
            CURRENT_LAYOUT.to_be_bytes().to_vec(),
        );
        batch.insert(bytes_key(Space::Meta, meta::PACKING_ORDERS), Vec::new());
        tree.apply_batch(batch)?;
        db.checkpoint()?;
    }
    // The steps above leave a layout-3 store at most; a finished upgrade resuming its sweep
    // reports it as the last step.
    sweep_memory_only(db, tree, from.clamp(3, CURRENT_LAYOUT - 1), on_progress)?;
    pack_loose_orders(db, tree, from.clamp(3, CURRENT_LAYOUT - 1), on_progress)
}

/// Folds the orders that still have an entry of their own into pages (layout 6), reporting
/// its progress as the step from `from`; then drops the mark that says it is not finished.
/// A store without the mark (packed, or made in layout 6) costs one look.
fn pack_loose_orders(
    db: &crate::storage::Db,
    tree: &crate::storage::Tree,
    from: u64,
    on_progress: &dyn Fn(UpgradeProgress),
) -> Result<()> {
    let mark = bytes_key(Space::Meta, meta::PACKING_ORDERS);
    if tree.get(&mark)?.is_none() {
        return Ok(());
    }
    let total = tree.loose_orders()?;
    let mut progress = UpgradeProgress::starting(from, total);
    on_progress(progress);
    let mut from = crate::trees::id_key(Space::Order, 0).to_vec();
    loop {
        let (folded, next) = tree.pack_loose_orders(&from, PACK_BATCH)?;
        progress.done = (progress.done + folded).min(total);
        on_progress(progress);
        match next {
            Some(key) => from = key.to_vec(),
            None => break,
        }
    }
    let mut done = crate::storage::Batch::default();
    done.remove(mark);
    tree.apply_batch(done)?;
    db.checkpoint()?;
    Ok(())
}

/// Removes the entries an older store kept in the tree in the spaces this layout keeps in
/// memory (indexes up to layout 3, rollups up to 4), reporting its progress as the step from
/// `from`. Finds nothing on a store that never held them, or whose sweep is finished: a
/// prefix look per space.
fn sweep_memory_only(
    db: &crate::storage::Db,
    tree: &crate::storage::Tree,
    from: u64,
    on_progress: &dyn Fn(UpgradeProgress),
) -> Result<()> {
    let left = |space: Space| tree.scan_prefix(space.prefix()).next().is_some();
    if !MEMORY_ONLY.into_iter().any(left) {
        return Ok(());
    }
    let total: u64 = MEMORY_ONLY
        .into_iter()
        .map(|space| tree.scan_prefix(space.prefix()).count() as u64)
        .sum();
    let mut progress = UpgradeProgress::starting(from, total);
    on_progress(progress);
    for space in MEMORY_ONLY {
        loop {
            let keys: Vec<crate::storage::Bytes> = tree
                .scan_prefix(space.prefix())
                .keys()
                .take(SWEEP_BATCH)
                .collect::<std::result::Result<_, _>>()?;
            if keys.is_empty() {
                break;
            }
            let mut batch = crate::storage::Batch::default();
            progress.done += keys.len() as u64;
            for key in keys {
                batch.remove(key);
            }
            tree.apply_batch(batch)?;
            on_progress(progress);
        }
    }
    db.checkpoint()?;
    Ok(())
}

fn v2_to_v3(
    tree: &crate::storage::Tree,
    master: &MasterKey,
    dir: &std::path::Path,
    on_progress: &dyn Fn(UpgradeProgress),
) -> Result<()> {
    let data = envelope::open_data_key(tree, master)?;
    let sealer = Sealer::new(&data.derive(Purpose::RecordSeal));
    let old = Codec::new(sealer.clone());
    let keyring = std::sync::Arc::new(crate::keyring::Keyring::open(dir, &data)?);
    let new = Codec::with_keyring(sealer, keyring.clone());
    let customers: Vec<(crate::storage::Bytes, crate::storage::Bytes)> = tree
        .scan_prefix(Space::Customer.prefix())
        .collect::<std::result::Result<_, _>>()?;
    let total = customers.len() as u64;
    keyring.ensure(total)?;
    let mut progress = UpgradeProgress {
        from: 2,
        to: 3,
        done: 0,
        total,
    };
    on_progress(progress);
    let mut batch = crate::storage::Batch::default();
    for (slot, (key, sealed)) in customers.iter().enumerate() {
        let customer: retag::LegacyCustomer = old.open(key, sealed)?;
        let plain = crate::codec::encode(&customer);
        batch.insert(key.clone(), new.seal_keyed(key, slot as u64, &plain)?);
        progress.done += 1;
        if progress.done.is_multiple_of(1024) || progress.done == total {
            on_progress(progress);
        }
    }
    let next_key = bytes_key(Space::Meta, meta::KEYRING_NEXT);
    batch.insert(next_key.clone(), new.seal(&next_key, &total));
    batch.insert(
        bytes_key(Space::Meta, meta::LAYOUT_VERSION),
        3u64.to_be_bytes().to_vec(),
    );
    tree.apply_batch(batch)?;
    Ok(())
}

/// A layout-1 user record.
#[derive(Deserialize)]
struct UserV1 {
    name: String,
    role: Role,
    password_hash: String,
}

fn v1_to_v2(
    tree: &crate::storage::Tree,
    master: &MasterKey,
    on_progress: &dyn Fn(UpgradeProgress),
) -> Result<()> {
    // In layout 1 the master key itself played the data key's part.
    let codec = Codec::new(Sealer::new(&master.derive(Purpose::RecordSeal)));
    let check_key = bytes_key(Space::Meta, meta::KEY_CHECK);
    let check = tree
        .get(&check_key)?
        .ok_or_else(|| Error::Corrupt("the layout-1 store has no key check".into()))?;
    let opened: Vec<u8> = codec
        .open(&check_key, &check)
        .map_err(|_| Error::WrongKey)?;
    if opened != V1_KEY_CHECK_TEXT {
        return Err(Error::WrongKey);
    }
    let blind = BlindKeys::derive(master);
    let users: Vec<(crate::storage::Bytes, crate::storage::Bytes)> = tree
        .scan_prefix(Space::LegacyUser.prefix())
        .collect::<std::result::Result<_, _>>()?;
    let counters: Vec<Vec<u8>> = [Space::Customer, Space::Product, Space::Order]
        .iter()
        .flat_map(|space| [meta::count(*space as u8), meta::high_water(*space as u8)])
        .collect();
    let total = (users.len() + counters.len()) as u64;
    let mut progress = UpgradeProgress {
        from: 1,
        to: 2,
        done: 0,
        total,
    };
    on_progress(progress);
    let mut batch = crate::storage::Batch::default();
    for (key, sealed) in &users {
        let old: UserV1 = codec.open(key, sealed)?;
        let user = User {
            name: old.name,
            role: old.role,
            password_hash: old.password_hash,
            masked: false,
        };
        let new_key = blind.user_key(&user.name);
        batch.insert(new_key.clone(), codec.seal(&new_key, &user));
        batch.remove(key.clone());
        progress.done += 1;
        on_progress(progress);
    }
    for name in &counters {
        let key = bytes_key(Space::Meta, name);
        if let Some(plain) = tree.get(&key)? {
            let value = decode_u64(&plain).ok_or_else(|| {
                Error::Corrupt(format!(
                    "metadata {:?} is malformed",
                    String::from_utf8_lossy(name)
                ))
            })?;
            batch.insert(key.clone(), codec.seal(&key, &value));
        }
        progress.done += 1;
        on_progress(progress);
    }
    batch.remove(check_key);
    batch.insert(
        bytes_key(Space::Meta, meta::DATA_KEY),
        envelope::wrap(master, meta::DATA_KEY, master),
    );
    if tree.get(bytes_key(Space::Meta, meta::KDF_SALT))?.is_some() {
        batch.insert(
            bytes_key(Space::Meta, meta::KDF_PARAMS),
            crate::keys::KdfParams::LEGACY.to_bytes().to_vec(),
        );
    }
    batch.insert(
        bytes_key(Space::Meta, meta::LAYOUT_VERSION),
        2u64.to_be_bytes().to_vec(),
    );
    tree.apply_batch(batch)?;
    Ok(())
}
