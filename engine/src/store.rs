//! Opening a store: the sled database, the key check, the committer.

use crate::cancel::Cancel;
use crate::codec::Codec;
use crate::envelope;
use crate::error::{shutting_down, Result};
use crate::indexes::BlindKeys;
use crate::key_check;
use crate::keys::{KeySource, MasterKey, Purpose};
use crate::seal::Sealer;
use crate::shared::{GroupCommitStats, Shared};
use crate::storage::{Db, Tuning};
use crate::trees::{bytes_key, meta, Space, DATA_TREE};
use crate::upgrade::{self, UpgradeProgress};
use crate::write::{Durability, Outcome, Write, Writer};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

pub use crate::storage::StorageMode;

/// How to open a store.
#[derive(Clone)]
pub struct Options {
    pub durability: Durability,
    /// sled's page cache, in bytes.
    pub cache_capacity: u64,
    pub mode: StorageMode,
    /// sled's background flush interval; `None` keeps the default for the durability,
    /// `Some(0)` runs none (durability never depends on it: see `storage/redo.rs`).
    pub flush_every_ms: Option<u64>,
    /// Bytes of opened customers, products and orders kept for point reads (0: none); see
    /// `record_cache.rs`.
    pub record_cache_bytes: u64,
    /// Bytes of old values a running backup keeps in memory before spilling them to a
    /// temporary file beside the backup (see `backup/snapshot.rs`).
    pub backup_memory_bytes: u64,
    /// In a cluster, the replicated log every write group is appended to before it is
    /// applied (`replica/`); writes are then acknowledged in [`Durability::Cluster`],
    /// whatever `durability` says. `None`: a single node.
    pub replication: Option<Arc<dyn crate::replica::ReplicatedLog>>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("durability", &self.durability)
            .field("cache_capacity", &self.cache_capacity)
            .field("mode", &self.mode)
            .field("flush_every_ms", &self.flush_every_ms)
            .field("record_cache_bytes", &self.record_cache_bytes)
            .field("backup_memory_bytes", &self.backup_memory_bytes)
            .field("replication", &self.replication.is_some())
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::Sync,
            cache_capacity: 256 * 1024 * 1024,
            mode: StorageMode::HighThroughput,
            flush_every_ms: None,
            record_cache_bytes: 64 * 1024 * 1024,
            backup_memory_bytes: 32 * 1024 * 1024,
            replication: None,
        }
    }
}

/// An open store. Cheap to clone; every clone shares one database and one committer.
#[derive(Clone)]
pub struct Store {
    pub(crate) shared: Arc<Shared>,
    pub(crate) writer: Arc<Writer>,
    /// Raised when the caller gives up: long scans through this handle stop (see `cancel.rs`).
    pub(crate) cancel: Cancel,
}

impl Store {
    /// Opens (or creates) the store in `path` with the given key.
    ///
    /// A new store gets a fresh data key wrapped under the master key; an existing one must
    /// unwrap its data key with it, else [`Error::WrongKey`], checked against the key check
    /// file before anything in the folder is written (`key_check.rs`). A store in an older
    /// layout is upgraded first (see `upgrade.rs`).
    pub fn open(path: &Path, key: &KeySource, options: &Options) -> Result<Store> {
        Store::open_reporting(path, key, options, &|_| {})
    }

    /// [`Store::open`], telling `on_upgrade` how an upgrade of an older layout goes.
    pub fn open_reporting(
        path: &Path,
        key: &KeySource,
        options: &Options,
        on_upgrade: &dyn Fn(UpgradeProgress),
    ) -> Result<Store> {
        let store = Store::open_without_writes(path, key, options, on_upgrade)?;
        // In a cluster the purge is a write the leader logs, never a node's own at open.
        if options.replication.is_none() {
            store.purge_expired_merges()?;
        }
        Ok(store)
    }

    /// Opens the store without a write group of its own (no purge of kept merges): what a
    /// restored snapshot is checked with (`replica/snapshot.rs`), and what every open does
    /// before its purge.
    pub(crate) fn open_without_writes(
        path: &Path,
        key: &KeySource,
        options: &Options,
        on_upgrade: &dyn Fn(UpgradeProgress),
    ) -> Result<Store> {
        let durability = match (&options.replication, options.durability) {
            (Some(_), _) => Durability::Cluster,
            (None, Durability::Cluster) => {
                return Err(crate::error::Error::invalid(
                    "durability",
                    "\"cluster\" needs a replicated log (a store started with --cluster)",
                ))
            }
            (None, durability) => durability,
        };
        create_private_dir(path)?;
        let flush_every = options.flush_every_ms.or(match durability {
            Durability::Sync | Durability::Cluster => Some(500),
            Durability::Periodic => Some(100),
        });
        let tuning = Tuning {
            cache_bytes: Some(options.cache_capacity),
            mode: options.mode,
            flush_every_ms: flush_every.filter(|ms| *ms > 0),
        };
        // Before anything in the folder is written (opening sled writes, and its redo log is
        // replayed): a wrong key fails here (`key_check.rs`).
        let checked = key_check::check(path, key)?;
        let db = Db::open(path, &tuning)?;
        let tree = db.open_tree(DATA_TREE)?;
        let layout = upgrade::layout_of(&tree)?;
        let (master, new_passphrase) = match (checked, layout) {
            (Some(master), Some(_)) => (master, None),
            _ => envelope::master_key(&tree, key, layout.is_none())?,
        };
        let data = match layout {
            None => create(&db, &tree, &master, new_passphrase)?,
            Some(version) => {
                upgrade::run(&db, &tree, &master, path, version, on_upgrade)?;
                envelope::open_data_key(&tree, &master)?
            }
        };
        // In step with sled's entries, now durable (a new store's are checkpointed by
        // `create`, an upgrade's by its steps).
        key_check::record(path, &tree)?;
        let keyring = Arc::new(crate::keyring::Keyring::open(path, &data)?);
        let codec = Codec::with_keyring(Sealer::new(&data.derive(Purpose::RecordSeal)), keyring);
        finish_erasures(&tree, &codec)?;
        let journal = crate::journal::JournalState::load(
            &tree,
            &codec,
            crate::journal::JournalKey::new(envelope::journal_key(&db, &tree, &master)?),
        )?;
        let mut rollups = crate::rollup_table::RollupBuilder::default();
        let blind = BlindKeys::derive(&data);
        let indexes = crate::indexes::Indexes::rebuild(&tree, &codec, blind.clone(), &mut rollups)?;
        let rollup_table = rollups.finish();
        let record_ids = crate::record_ids::RecordIds::rebuild(&tree)?;
        // What the tree holds at open is durable (the redo log was replayed from disk).
        let position = cluster_position(&tree, &codec)?;
        let shared = Arc::new(Shared {
            db,
            tree,
            codec,
            blind,
            durability,
            master,
            injected_fault: Mutex::new(None),
            injected_read_fault: std::sync::atomic::AtomicBool::new(false),
            backup_gate: Mutex::new(None),
            backup_memory_bytes: usize::try_from(options.backup_memory_bytes).unwrap_or(usize::MAX),
            rollup_table,
            halted: Mutex::new(None),
            group_commit: GroupCommitStats::default(),
            record_cache: crate::record_cache::RecordCache::new(options.record_cache_bytes),
            journal,
            indexes,
            record_ids,
            replication: options.replication.clone(),
            cluster_applied: AtomicU64::new(position),
            cluster_durable: AtomicU64::new(position),
            replication_stopped: Mutex::new(None),
            dir: path.to_path_buf(),
            log_keys: crate::replica::LogKeys::derive(&data),
            epochs: Mutex::new(None),
            catalog: Default::default(),
            stored: Default::default(),
            sweep: Default::default(),
        });
        shared.reload_catalog()?;
        shared.build_indexes()?;
        let writer = Arc::new(Writer::start(shared.clone())?);
        Ok(Store {
            shared,
            writer,
            cancel: Cancel::never(),
        })
    }

    /// A handle on the same store whose long scans stop once `cancel` is raised (with
    /// [`Error::Cancelled`]).
    pub fn cancellable(&self, cancel: Cancel) -> Store {
        Store {
            cancel,
            ..self.clone()
        }
    }

    /// `Err(Error::Cancelled)` once this handle's cancel flag is raised: long computations call
    /// it between steps.
    pub(crate) fn check_cancelled(&self) -> Result<()> {
        self.cancel.check()
    }

    /// `Err` once the store has halted after a failed flush (see `Shared::halt`): callers that
    /// serve data check it first.
    pub fn health(&self) -> Result<()> {
        self.shared.health()
    }

    /// (fsyncs, durable writes they acknowledged) since the store opened: their ratio is the
    /// average write group, how many writers shared each fsync.
    pub fn group_commit_totals(&self) -> (u64, u64) {
        self.shared.group_commit.totals()
    }

    /// Hits, misses and size of the record cache, for `INFO`.
    pub fn record_cache_stats(&self) -> crate::record_cache::RecordCacheStats {
        self.shared.record_cache.stats()
    }

    /// The custom fields declared (`SCHEMA.FIELD.ADD`), as of the last write group applied:
    /// what a record's `"fields"` shows.
    pub fn catalog(&self) -> std::sync::Arc<crate::schema::Catalog> {
        self.shared.catalog()
    }

    /// The durability writes are acknowledged with.
    pub fn durability(&self) -> Durability {
        self.shared.durability
    }

    /// A public fingerprint of the store's key (to match backups to keys).
    pub fn key_fingerprint(&self) -> String {
        self.shared.master.fingerprint()
    }

    /// Applies one write and waits until it is acknowledged (durable, in sync mode).
    ///
    /// Blocks the thread: from async code use [`Store::write_async`].
    pub fn write(&self, write: impl Into<Write>) -> Result<Outcome> {
        let write = write.into();
        let indexes = write.op.starts_index();
        let outcome = first(self.writer.write(vec![write])?)?;
        if indexes {
            self.build_indexes()?;
        }
        Ok(outcome)
    }

    /// Builds the indexes of the custom fields newly declared `INDEXED` (every record of the
    /// kind read, while other writes go on) and puts them into use. `write` does it after a
    /// schema change that asks for it; a caller of `write_async` or `submit` calls it (off
    /// the async runtime: it takes seconds over a million records). Until then queries on
    /// those fields open the records.
    pub fn build_indexes(&self) -> Result<()> {
        self.shared.build_indexes()
    }

    /// Applies one write from async code.
    pub async fn write_async(&self, write: impl Into<Write>) -> Result<Outcome> {
        self.submit(write)?.outcome().await
    }

    /// Queues one write for the committer now and returns its result to wait for: writes
    /// submitted one after another are applied in that order, so a client that pipelines
    /// several may have them all in one write group (the server does, for its plain adds).
    pub fn submit(&self, write: impl Into<Write>) -> Result<PendingWrite> {
        Ok(PendingWrite(self.writer.submit(vec![write.into()])?))
    }

    /// Applies many writes in order, in as few groups and flushes as possible (import), and
    /// returns each one's result. One failing does not stop the others.
    pub fn write_many<W: Into<Write>>(
        &self,
        writes: impl IntoIterator<Item = W>,
    ) -> Result<Vec<Result<Outcome>>> {
        // Through the committer thread even when alone (not `commit_alone`): a bulk group's
        // many allocations (overlay, staged layers, index nodes) then come from that thread's
        // malloc arena. Committed on the caller's thread, an import on the main thread left
        // its later point reads at a third to half the speed (`crm-bench`, 100k orders:
        // 2.1-3.6M/s against 4.9-6.8M/s, the same instructions under callgrind), as slow as
        // with one arena for every thread (`MALLOC_ARENA_MAX=1`). The handoff is nothing
        // beside a bulk group's cost.
        self.writer
            .submit(writes.into_iter().map(Into::into).collect())?
            .blocking_recv()
            .map_err(|_| shutting_down())
    }

    /// [`Store::write_many`] from async code.
    pub async fn write_many_async<W: Into<Write>>(
        &self,
        writes: impl IntoIterator<Item = W>,
    ) -> Result<Vec<Result<Outcome>>> {
        let reply = self
            .writer
            .submit(writes.into_iter().map(Into::into).collect())?;
        reply.await.map_err(|_| shutting_down())
    }

    /// Finishes queued writes, checkpoints (a closed store's redo log is empty), and refuses
    /// further writes with `BUSY`.
    pub fn close(&self) -> Result<()> {
        self.writer.close();
        self.shared.db.close()
    }

    /// Writes everything into the store's own files now (a checkpoint: see `redo.rs`).
    pub fn flush(&self) -> Result<()> {
        let applied = self.cluster_applied();
        self.shared.db.checkpoint()?;
        self.shared
            .cluster_durable
            .fetch_max(applied, std::sync::atomic::Ordering::AcqRel);
        Ok(())
    }

    /// The size of the store on disk, in bytes.
    pub fn data_bytes(&self) -> u64 {
        self.shared.db.size_on_disk().unwrap_or(0)
    }

    /// Makes every read of the committer's planning fail with a storage error (as a failing
    /// disk does), to test that the store halts whichever step meets the failure first.
    pub fn inject_planning_read_fault(&self, failing: bool) {
        self.shared
            .injected_read_fault
            .store(failing, std::sync::atomic::Ordering::Relaxed);
    }

    /// Makes every later write group fail with this storage error (`None` heals), to test how
    /// the layers above handle a full or read-only disk.
    pub fn inject_storage_fault(&self, fault: Option<&str>) {
        if let Ok(mut slot) = self.shared.injected_fault.lock() {
            *slot = fault.map(str::to_string);
        }
    }
}

fn first(mut results: Vec<Result<Outcome>>) -> Result<Outcome> {
    results.pop().unwrap_or_else(|| Err(shutting_down()))
}

/// A write submitted with [`Store::submit`], whose result comes once its group is applied
/// (and, in sync durability, durable).
pub struct PendingWrite(crate::write::Reply);

impl PendingWrite {
    /// Waits for the write's result.
    pub async fn outcome(self) -> Result<Outcome> {
        first(self.0.await.map_err(|_| shutting_down())?)
    }

    /// Waits for the write's result, blocking the thread.
    pub fn wait(self) -> Result<Outcome> {
        first(self.0.blocking_recv().map_err(|_| shutting_down())?)
    }
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !path.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path)?;
    Ok(())
}

/// The position in a cluster's log of the last entry the tree holds (0: none, or a single
/// node's store).
fn cluster_position(tree: &crate::storage::Tree, codec: &Codec) -> Result<u64> {
    let key = bytes_key(Space::Meta, meta::CLUSTER_APPLIED);
    match tree.get(&key)? {
        Some(sealed) => codec.open(&key, &sealed),
        None => Ok(0),
    }
}

/// Destroys the key of every forgotten customer whose erasure a crash interrupted (between
/// the durable batch and the keyring's overwrite): nothing is served before it is done.
fn finish_erasures(tree: &crate::storage::Tree, codec: &Codec) -> Result<()> {
    let keyring = codec.keyring()?;
    let mut pending = Vec::new();
    for entry in tree.scan_prefix(Space::Forgotten.prefix()) {
        let (key, sealed) = entry?;
        let forgotten: crate::model::Forgotten = codec.open(&key, &sealed)?;
        if let Some(slot) = forgotten.slot {
            if keyring
                .raw(slot)
                .is_some_and(|raw| !crate::keyring::is_erased(&raw))
            {
                pending.push(slot);
            }
        }
    }
    let mut done = crate::storage::Batch::default();
    for entry in tree.scan_prefix(Space::PendingErasure.prefix()) {
        let (key, _) = entry?;
        if let Some(slot) = crate::trees::trailing_id(&key) {
            pending.push(slot);
        }
        done.remove(key);
    }
    keyring.erase(&pending)?;
    tree.apply_batch(done)?;
    Ok(())
}

/// Makes a new store's first entries (its wrapped data key, the passphrase's salt and
/// parameters, the layout version) durable before anything else is written.
fn create(
    db: &crate::storage::Db,
    tree: &crate::storage::Tree,
    master: &MasterKey,
    passphrase: Option<envelope::NewPassphrase>,
) -> Result<MasterKey> {
    let mut batch = crate::storage::Batch::default();
    let data = envelope::new_store_entries(master, passphrase, &mut batch);
    batch.insert(
        bytes_key(Space::Meta, meta::LAYOUT_VERSION),
        upgrade::CURRENT_LAYOUT.to_be_bytes().to_vec(),
    );
    tree.apply_batch(batch)?;
    // In sled's own files at once: a build before the redo log must find the layout there.
    db.checkpoint()?;
    Ok(data)
}
