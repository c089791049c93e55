//! The engine's ground floor: what the committer, the readers, the scans, the checks and the
//! backups share about one open store.

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::indexes::BlindKeys;
use crate::keys::MasterKey;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The number of live records of each kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub customers: u64,
    pub products: u64,
    pub orders: u64,
}

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// After it is on disk (fsync), shared by every writer of the group.
    Sync,
    /// At once; the store is flushed every 100 ms, so a crash may lose the last 100 ms.
    Periodic,
    /// Once the replicated log has committed it (a cluster, `replica/`); the node's own files
    /// are flushed every 100 ms and caught up from the log after a crash.
    Cluster,
}

impl Durability {
    /// The name `INFO` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Sync => "sync",
            Durability::Periodic => "periodic",
            Durability::Cluster => "cluster",
        }
    }
}

/// What the committer and the readers share.
pub(crate) struct Shared {
    pub db: crate::storage::Db,
    pub tree: crate::storage::Tree,
    pub codec: Codec,
    pub blind: BlindKeys,
    pub durability: Durability,
    /// The key that wraps the data key: backups and the public fingerprint derive from it.
    pub master: MasterKey,
    /// A storage failure injected by tests of disk faults: every write group fails with it.
    pub injected_fault: Mutex<Option<String>>,
    /// Set by tests of disk faults: every read a write group's planning makes fails.
    pub injected_read_fault: std::sync::atomic::AtomicBool,
    /// The running backup's copy-on-write snapshot; taken by the committer around each apply.
    pub backup_gate: Mutex<Option<crate::backup::snapshot::Snapshot>>,
    /// Bytes of old values a backup's snapshot keeps in memory before it spills to disk.
    pub backup_memory_bytes: usize,
    /// Every customer rollup in plain form, kept by the committer: `STATS.CUSTOMERS` reads it.
    pub rollup_table: crate::rollup_table::RollupTable,
    /// Set when a flush failed after its batch was applied in memory: from then on the store
    /// refuses writes (and the server refuses data commands) until it is reopened.
    pub halted: Mutex<Option<String>>,
    /// How many fsyncs acknowledged how many writes (to show group commit at work).
    pub group_commit: GroupCommitStats,
    /// Opened records for point reads; the committer drops what it changes.
    pub record_cache: crate::record_cache::RecordCache,
    /// Where the journal's chain ends and how far it is durable.
    pub journal: crate::journal::JournalState,
    /// The indexes, kept in memory only (see `indexes/mod.rs`).
    pub indexes: crate::indexes::Indexes,
    /// Which customers, products and orders have a record (see `record_ids.rs`).
    pub record_ids: crate::record_ids::RecordIds,
    /// In a cluster, the log every write group is appended to before it is applied
    /// (`replica/`); `None` for a single node.
    pub replication: Option<std::sync::Arc<dyn crate::replica::ReplicatedLog>>,
    /// The position of the last log entry applied (0 for a single node).
    pub cluster_applied: AtomicU64,
    /// The position of the last log entry durable in this node's own files.
    pub cluster_durable: AtomicU64,
    /// Set when a log entry could not be applied: the node applies and writes nothing more
    /// until it is reopened (reads go on).
    pub replication_stopped: Mutex<Option<String>>,
    /// The store's folder.
    pub dir: std::path::PathBuf,
    /// The keys of the cluster's log, derived from the data key (`replica/seal.rs`).
    pub log_keys: crate::replica::LogKeys,
    /// The log's epoch keys (`cluster-epochs`), opened when first asked for.
    pub epochs: Mutex<Option<std::sync::Arc<crate::replica::epochs::Epochs>>>,
    /// The custom fields' declarations as queries and replies use them: the tree's, loaded at
    /// open and again by `apply_group` after a group that changed them (here or, on a
    /// follower, replicated), with the fields whose index is still being built read as not
    /// indexed.
    pub catalog: std::sync::RwLock<std::sync::Arc<crate::schema::Catalog>>,
    /// The declarations as the tree held them at the last load, unchanged: what `catalog`
    /// becomes when the builds end. Its lock orders the loads and the builds' ends.
    pub stored: Mutex<std::sync::Arc<crate::schema::Catalog>>,
    /// Where the sweep of dropped custom fields is (`sweep.rs`).
    pub sweep: crate::sweep::SweepState,
}

/// Counters of the durable write path, read by `INFO` and the benchmarks.
#[derive(Default)]
pub struct GroupCommitStats {
    flushes: AtomicU64,
    writes: AtomicU64,
}

impl GroupCommitStats {
    /// Counts one flush that made `writes` acknowledged writes durable.
    pub fn record_flush(&self, writes: u64) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes, Ordering::Relaxed);
    }

    /// (flushes, writes they made durable) since the store opened.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.flushes.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }
}

impl Shared {
    /// Stops the store after a failed flush. The group's batch is already visible in memory,
    /// but its writers were told it failed, and whether it reached the disk is unknown until a
    /// restart replays the log (an ambiguous commit, as after any failed fsync). PostgreSQL
    /// stops in this case; so do we: nothing more is written or served from this state.
    pub fn halt(&self, cause: &Error) {
        if let Ok(mut halted) = self.halted.lock() {
            halted.get_or_insert_with(|| cause.to_string());
        }
    }

    /// `Err` once the store has halted after a failed flush.
    pub fn health(&self) -> Result<()> {
        match self.halted.lock().ok().and_then(|h| h.clone()) {
            Some(cause) => Err(Error::Halted { cause }),
            None => Ok(()),
        }
    }

    /// Stops applying the log and writing (see `Store::stop_replication`); keeps the first
    /// cause.
    pub fn stop_replication(&self, cause: &str) {
        if let Ok(mut stopped) = self.replication_stopped.lock() {
            stopped.get_or_insert_with(|| cause.to_string());
        }
    }

    /// `Err(CORRUPT)` once a log entry could not be applied.
    pub fn replication_health(&self) -> Result<()> {
        match self.replication_stopped.lock().ok().and_then(|s| s.clone()) {
            Some(cause) => Err(Error::Corrupt(format!(
                "this node stopped applying the replicated log ({cause}); restart it"
            ))),
            None => Ok(()),
        }
    }

    /// A sealed numeric metadata entry (a counter, a high-water mark); 0 when absent.
    pub fn meta_u64(&self, name: &[u8]) -> Result<u64> {
        let key = crate::trees::bytes_key(crate::trees::Space::Meta, name);
        match self.tree.get(&key)? {
            Some(sealed) => self.codec.open(&key, &sealed),
            None => Ok(0),
        }
    }

    /// The live record counts (read under the backup gate by a starting backup).
    pub fn counts(&self) -> Result<Counts> {
        use crate::trees::{meta, Space};
        Ok(Counts {
            customers: self.meta_u64(&meta::count(Space::Customer as u8))?,
            products: self.meta_u64(&meta::count(Space::Product as u8))?,
            orders: self.meta_u64(&meta::count(Space::Order as u8))?,
        })
    }

    /// The custom fields' declarations as the tree holds them (empty when none was made).
    pub fn stored_catalog(&self) -> Result<crate::schema::Catalog> {
        crate::indexes::stored_catalog(&self.tree, &self.codec)
    }

    /// The custom fields' declarations, as of the last group applied.
    pub fn catalog(&self) -> std::sync::Arc<crate::schema::Catalog> {
        match self.catalog.read() {
            Ok(catalog) => catalog.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the declarations again after a group that changed them. The query rows start
    /// keeping a newly indexed field's values before the new declarations are in use (its
    /// index is built by [`Shared::build_indexes`], outside the write group), and stop keeping
    /// an unindexed one's after (`indexes/query_rows.rs`).
    pub fn reload_catalog(&self) -> Result<()> {
        let loaded = std::sync::Arc::new(self.stored_catalog()?);
        let mut stored = self.stored.lock().unwrap_or_else(|p| p.into_inner());
        self.indexes.start_custom(&loaded);
        *stored = loaded.clone();
        self.publish_catalog(&stored);
        self.indexes.shrink_custom(&loaded);
        Ok(())
    }

    /// Builds the indexes of custom fields newly declared `INDEXED` that no other caller is
    /// building: every record of their kind read, while writes go on. Run by the writer that
    /// indexed them (`Store::write`, the server's schema commands) and by a follower after
    /// applying the group; until then queries answer without those indexes (by opening the
    /// records), so a build that is never run costs speed, not answers.
    pub fn build_indexes(&self) -> Result<()> {
        if self.indexes.build_custom(&self.tree, &self.codec)? {
            let stored = self.stored.lock().unwrap_or_else(|p| p.into_inner());
            self.publish_catalog(&stored);
        }
        Ok(())
    }

    /// Puts the declarations `stored` into use, the fields still being built read as not
    /// indexed (called with `stored`'s lock held).
    fn publish_catalog(&self, stored: &std::sync::Arc<crate::schema::Catalog>) {
        let building = self.indexes.building_custom();
        let now = if building.is_empty() {
            stored.clone()
        } else {
            std::sync::Arc::new(stored.while_building(&building))
        };
        match self.catalog.write() {
            Ok(mut catalog) => *catalog = now,
            Err(poisoned) => *poisoned.into_inner() = now,
        }
    }

    /// Fails when a storage fault is injected or the store has halted.
    pub fn storage_guard(&self) -> Result<()> {
        self.health()?;
        match self.injected_fault.lock().ok().and_then(|f| f.clone()) {
            Some(fault) => Err(Error::Storage(fault)),
            None => Ok(()),
        }
    }
}
