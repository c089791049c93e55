//! `crm-engine`: the encrypted, indexed customer/product/order store of the CRM.
//!
//! Records are `bincode` values sealed with XChaCha20-Poly1305 in one sled tree; emails, phones
//! and name words are found through blind (keyed BLAKE3) indexes; every write — record, index
//! entries, stock, journal entry — is one atomic batch, acknowledged once durable, with
//! concurrent writers sharing one flush. The order indexes and the rollups are functions of the
//! sealed orders, kept in memory and rebuilt at open.
//!
//! ```
//! use crm_engine::{KeySource, MasterKey, NewCustomer, Op, Options, Store};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let key = KeySource::Key(MasterKey::generate());
//! let store = Store::open(dir.path(), &key, &Options::default()).unwrap();
//! let new = NewCustomer::parse("Ada Lovelace", "Ada@Example.com", None, None, None).unwrap();
//! let id = store.write(Op::AddCustomer(new)).unwrap().id();
//! assert_eq!(store.find_by_email("ada@example.com", 0, usize::MAX).unwrap()[0].id, id);
//! assert_eq!(store.find_by_name("ada", 0, usize::MAX).unwrap().len(), 1);
//! ```

pub mod backup;
mod cancel;
mod check;
pub mod clean;
pub mod codec;
mod crash_points;
pub mod csv_rows;
pub mod demo;
mod duplicates;
mod envelope;
pub mod error;
mod find;
mod forget;
mod import;
mod indexes;
pub mod journal;
mod key_check;
mod keyring;
pub mod keys;
mod merges;
pub mod model;
mod pages;
pub mod query;
mod read;
mod record_cache;
mod record_ids;
mod rekey;
pub mod replica;
mod rollup_table;
mod scan;
pub mod schema;
pub mod seal;
mod shared;
mod slot_file;
pub mod stats;
mod storage;
mod store;
mod sweep;
mod trees;
pub mod upgrade;
pub mod values;
mod write;

pub use cancel::Cancel;
pub use check::CheckReport;
pub use clean::{CleanRecord, Cleaner, ImportKind, Verdict};
pub use csv_rows::{CsvHeader, CsvRow, CsvRows};
pub use duplicates::DuplicatePair;
pub use error::{Error, ErrorKind, Kind, Result};
pub use import::{ImportReport, Rejection};
pub use keys::{write_key_file, KdfParams, KeySource, MasterKey, MIN_PASSPHRASE_CHARS};
pub use model::{
    Customer, CustomerPatch, CustomerRollup, CustomerUpsert, Forgotten, NewCustomer, NewOrder,
    NewProduct, Order, Product, ProductPatch, ProductRollup, Role, User,
};
pub use query::{ConditionText, Operator, Page, QueryRequest, SortText};
pub use read::{Counts, OrderQuery, OrderScope};
pub use record_cache::RecordCacheStats;
pub use rekey::{rekey, RekeyOutcome};
pub use replica::{AppendOutcome, Refusal, ReplicatedLog};
pub use schema::{FieldId, FieldSet, Record};
pub use store::{Options, PendingWrite, StorageMode, Store};
pub use sweep::SweepStep;
pub use upgrade::{UpgradeProgress, CURRENT_LAYOUT};
pub use write::{Durability, Op, Outcome, UpsertKind, Write, MAX_GROUP_OPS};
