//! The storage boundary against a plain ordered map: whatever batches of inserts and removes
//! it is given (orders of every page, keys of other spaces, loose orders of an older layout),
//! its reads and walks in both directions and over any bounds see exactly what the map holds.
//!
//! One file: every test here compares the boundary with a plain map or with what a crash must
//! leave, through the same helpers.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

pub(super) fn order_key(id: u64) -> Vec<u8> {
    pages::key_of(id).to_vec()
}

/// A key a test writes: mostly orders over a few pages, some far apart, some of other spaces.
fn some_key(rng: &mut StdRng) -> Vec<u8> {
    match rng.gen_range(0..10) {
        0 => vec![b'n', rng.gen_range(0..4)],
        1 => vec![b'p', 0, rng.gen_range(0..4)],
        2 => order_key(u64::MAX - rng.gen_range(0..40)),
        3 => order_key(rng.gen_range(0..3) << 40),
        _ => order_key(rng.gen_range(0..200)),
    }
}

fn some_value(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.gen_range(0..40);
    (0..len).map(|_| rng.gen()).collect()
}

/// A batch of up to 24 random inserts and removes, done to `model` too.
fn random_batch(rng: &mut StdRng, model: &mut Model) -> Batch {
    let mut batch = Batch::default();
    for _ in 0..rng.gen_range(1..25) {
        let key = some_key(rng);
        if rng.gen_bool(0.3) {
            batch.remove(key.clone());
            model.remove(&key);
        } else {
            let value = some_value(rng);
            batch.insert(key.clone(), value.clone());
            model.insert(key, value);
        }
    }
    batch
}

fn collect(iter: impl Iterator<Item = Entry>) -> Vec<(Vec<u8>, Vec<u8>)> {
    iter.map(|entry| {
        let (key, value) = entry.unwrap();
        (key.to_vec(), value.to_vec())
    })
    .collect()
}

fn model_range(
    model: &Model,
    start: &Bound<Vec<u8>>,
    end: &Bound<Vec<u8>>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    if let (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e) | Bound::Excluded(e)) =
        (start, end)
    {
        let both_included = matches!((start, end), (Bound::Included(_), Bound::Included(_)));
        if s > e || (s == e && !both_included) {
            return Vec::new();
        }
    }
    model
        .range::<Vec<u8>, _>((start.clone(), end.clone()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn some_bound(rng: &mut StdRng) -> Bound<Vec<u8>> {
    let mut key = some_key(rng);
    if rng.gen_bool(0.2) {
        key.truncate(rng.gen_range(1..key.len().max(2)));
    }
    match rng.gen_range(0..5) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(key),
        _ => Bound::Excluded(key),
    }
}

fn assert_matches(tree: &Tree, model: &Model, rng: &mut StdRng) {
    let all: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(collect(tree.iter()), all);
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(collect(tree.iter().rev()), reversed);
    for prefix in [&b"o"[..], b"", b"n", &order_key(64)[..3], &order_key(70)] {
        let expected: Vec<_> = all
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .cloned()
            .collect();
        assert_eq!(
            collect(tree.scan_prefix(prefix)),
            expected,
            "prefix {prefix:?}"
        );
        let mut back = expected.clone();
        back.reverse();
        assert_eq!(
            collect(tree.scan_prefix(prefix).rev()),
            back,
            "prefix {prefix:?}"
        );
    }
    for _ in 0..20 {
        let (start, end) = (some_bound(rng), some_bound(rng));
        let expected = model_range(model, &start, &end);
        let got = collect(tree.range::<Vec<u8>, _>((start.clone(), end.clone())));
        assert_eq!(got, expected, "range {start:?} .. {end:?}");
        let mut back = expected;
        back.reverse();
        let got = collect(tree.range::<Vec<u8>, _>((start.clone(), end.clone())).rev());
        assert_eq!(got, back, "range {start:?} .. {end:?} backwards");
    }
    // Both ends of one walk meet in the middle of a page without losing or repeating one.
    let mut both = tree.iter();
    let (mut front, mut back) = (Vec::new(), Vec::new());
    loop {
        let next = if rng.gen_bool(0.5) {
            both.next()
        } else {
            both.next_back()
        };
        match (next, front.len() + back.len() < all.len()) {
            (Some(entry), _) => {
                let (k, v) = entry.unwrap();
                if model.range(..k.to_vec()).count() == front.len() {
                    front.push((k.to_vec(), v.to_vec()));
                } else {
                    back.push((k.to_vec(), v.to_vec()));
                }
            }
            (None, more) => {
                assert!(!more, "a walk from both ends stopped early");
                break;
            }
        }
    }
    back.reverse();
    front.extend(back);
    assert_eq!(front, all);
    for _ in 0..30 {
        let key = some_key(rng);
        assert_eq!(
            tree.get(&key).unwrap().map(|v| v.to_vec()),
            model.get(&key).cloned(),
            "get {key:?}"
        );
        assert_eq!(tree.contains_key(&key).unwrap(), model.contains_key(&key));
    }
}

#[test]
fn batches_reads_and_walks_agree_with_an_ordered_map() {
    for seed in 0..12 {
        let mut rng = StdRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().unwrap();
        let db = Db::temporary(dir.path(), 1 << 20).unwrap();
        let tree = db.open_tree("t").unwrap();
        let mut model = Model::new();
        // An older layout's loose orders (sealed values start with their version, 1).
        for id in 0..120 {
            if !rng.gen_bool(0.3) {
                continue;
            }
            let mut value = some_value(&mut rng);
            value.insert(0, 1);
            tree.inner.insert(order_key(id), value.clone()).unwrap();
            model.insert(order_key(id), value);
        }
        assert_matches(&tree, &model, &mut rng);
        for _ in 0..40 {
            tree.apply_batch(random_batch(&mut rng, &mut model))
                .unwrap();
            assert_matches(&tree, &model, &mut rng);
        }
        loop {
            let (_, next) = tree.pack_loose_orders(b"o", 7).unwrap();
            if next.is_none() {
                break;
            }
        }
        assert_eq!(tree.loose_orders().unwrap(), 0);
        assert_matches(&tree, &model, &mut rng);
        // Every stored entry under `o` is a page, and an emptied page is gone.
        for entry in tree.inner.scan_prefix(b"o") {
            let (key, value) = entry.unwrap();
            assert!(pages::is_page(&key, &value));
            assert!(!pages::entries(pages::packed_id(&key).unwrap(), &value)
                .unwrap()
                .is_empty());
        }
    }
}

#[test]
fn orders_of_one_page_share_one_stored_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::temporary(dir.path(), 1 << 20).unwrap();
    let tree = db.open_tree("t").unwrap();
    let mut batch = Batch::default();
    for id in 1..=100u64 {
        batch.insert(order_key(id), id.to_be_bytes().to_vec());
    }
    tree.apply_batch(batch).unwrap();
    // Ids 1..=100 are in the pages at 0, 32, 64 and 96.
    assert_eq!(tree.inner.scan_prefix(b"o").count(), 4);
    tree.insert(order_key(101), vec![1]).unwrap();
    assert_eq!(tree.inner.scan_prefix(b"o").count(), 4);
    let mut gone = Batch::default();
    for id in 96..=101u64 {
        gone.remove(order_key(id));
    }
    tree.apply_batch(gone).unwrap();
    assert_eq!(tree.inner.scan_prefix(b"o").count(), 3);
    assert_eq!(
        tree.get(order_key(95)).unwrap().unwrap().to_vec(),
        95u64.to_be_bytes()
    );
    assert_eq!(tree.get(order_key(96)).unwrap(), None);
}

#[test]
fn a_damaged_page_is_an_error_on_every_path_that_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::temporary(dir.path(), 1 << 20).unwrap();
    let tree = db.open_tree("t").unwrap();
    tree.insert(order_key(3), vec![1, 2, 3]).unwrap();
    tree.inner
        .insert(order_key(0), vec![pages::TAG, 3, 0, 0, 0, 9, 1])
        .unwrap();
    let corrupt = |error: Error| assert_eq!(error.kind(), crate::ErrorKind::Corrupt);
    corrupt(tree.get(order_key(3)).unwrap_err());
    corrupt(tree.iter().next().unwrap().unwrap_err());
    corrupt(tree.scan_prefix(b"o").next_back().unwrap().unwrap_err());
    let mut batch = Batch::default();
    batch.insert(order_key(4), vec![4]);
    corrupt(tree.apply_batch(batch).unwrap_err());
}

/// A store folder whose sled writes nothing on its own (no background flush): what reaches
/// sled's files is what a checkpoint or sled's full buffers put there.
pub(super) fn quiet() -> Tuning {
    Tuning {
        cache_bytes: None,
        mode: StorageMode::LowSpace,
        flush_every_ms: None,
    }
}

#[test]
fn a_store_folder_agrees_with_an_ordered_map_across_reopens_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(99);
    let mut model = Model::new();
    for round in 0..4 {
        let db = Db::open(dir.path(), &quiet()).unwrap();
        let tree = db.open_tree("t").unwrap();
        assert_matches(&tree, &model, &mut rng);
        for step in 0..30 {
            tree.apply_batch(random_batch(&mut rng, &mut model))
                .unwrap();
            if step % 7 == round {
                db.checkpoint().unwrap();
            } else {
                db.flush().unwrap();
            }
            assert_matches(&tree, &model, &mut rng);
        }
        // The marker is no entry of the tree's.
        assert_eq!(tree.iter().count(), model.len());
        assert_eq!(tree.get(MARKER).unwrap(), None);
    }
}

/// sled's snapshot files in `folder`, finished ones only, oldest first.
fn finished_snapshots(folder: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("snap.") && !name.ends_with(".generating")
        })
        .collect();
    found.sort();
    found
}

/// What a process killed while sled wrote its next snapshot leaves (sled writes one at every
/// open that finds a newer log: a kill during a start is enough): half of a snapshot under
/// the next number, not yet renamed. sled 0.34.7 reads it first and refused the store with
/// "Read corrupted data at file offset None" (seen failing so before the fix, and in a release
/// run of the upgrade's SIGKILL test).
#[test]
fn a_snapshot_sled_was_killed_writing_does_not_block_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let mut model = Model::new();
    {
        let db = Db::open(dir.path(), &quiet()).unwrap();
        let tree = db.open_tree("t").unwrap();
        for _ in 0..50 {
            tree.apply_batch(random_batch(&mut rng, &mut model))
                .unwrap();
        }
        db.checkpoint().unwrap();
        db.close().unwrap();
    }
    // sled writes its snapshot while it opens, after reading the log written since the last.
    Db::open(dir.path(), &quiet()).unwrap().close().unwrap();
    let newest = finished_snapshots(dir.path())
        .pop()
        .expect("sled wrote a snapshot at open");
    let name = newest.file_name().unwrap().to_string_lossy().into_owned();
    let number = u64::from_str_radix(name.trim_start_matches("snap."), 16).unwrap();
    let bytes = std::fs::read(&newest).unwrap();
    let partial = dir
        .path()
        .join(format!("snap.{:016X}.generating", number + 1));
    std::fs::write(&partial, &bytes[..bytes.len() / 2]).unwrap();

    let db = Db::open(dir.path(), &quiet()).unwrap();
    let tree = db.open_tree("t").unwrap();
    assert_eq!(
        collect(tree.iter()),
        model_range(&model, &Bound::Unbounded, &Bound::Unbounded)
    );
    assert!(!partial.exists());
}

const CUT_ROUNDS: u64 = 60;

/// Copies a store folder's files, but for the redo log's.
fn copy_sled_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == LOG_DIR {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_sled_files(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Batch `round` of the crash tests: its order, the name entry of this round, and the
/// removal of the last round's.
pub(super) fn write_round(tree: &Tree, round: u64) {
    let mut batch = Batch::default();
    batch.insert(order_key(round), round.to_be_bytes().to_vec());
    batch.insert(vec![b'n', round as u8], vec![7; 10]);
    if round > 0 {
        batch.remove(vec![b'n', (round - 1) as u8]);
    }
    tree.apply_batch(batch).unwrap();
}

/// Copies a store folder's redo log (as synced) beside `to`'s sled files.
fn copy_log(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join(LOG_DIR)).unwrap();
    for entry in std::fs::read_dir(from.join(LOG_DIR)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(LOG_DIR).join(entry.file_name())).unwrap();
    }
}

/// Guards against acknowledging a write that only sled's unsynced files hold (sled syncs them
/// every `flush_every_ms` at best). A power cut is played by putting sled's files back as
/// they were synced at the last checkpoint, beside the redo log as it was synced: every batch
/// flushed since comes back, whole.
#[test]
fn a_power_cut_keeps_every_flushed_batch_through_the_redo_log() {
    let dir = tempfile::tempdir().unwrap();
    let (store, cut) = (dir.path().join("store"), dir.path().join("cut"));
    let db = Db::open(&store, &quiet()).unwrap();
    let tree = db.open_tree("t").unwrap();
    let write = |round: u64| write_round(&tree, round);
    for round in 0..20 {
        write(round);
        db.flush().unwrap();
    }
    db.checkpoint().unwrap();
    copy_sled_files(&store, &cut);
    for round in 20..CUT_ROUNDS {
        write(round);
        db.flush().unwrap();
    }
    // Applied, never flushed: not acknowledged, so it may be lost.
    write(CUT_ROUNDS);
    copy_log(&store, &cut);
    drop(tree);
    drop(db);
    // sled's files alone lack everything after the checkpoint: the log is what keeps it.
    {
        let bare = Db::open_without_replay(&cut).unwrap();
        let tree = bare.open_tree("t").unwrap();
        assert!(tree.get(order_key(19)).unwrap().is_some());
        assert!(tree.get(order_key(20)).unwrap().is_none());
    }
    let db = Db::open(&cut, &quiet()).unwrap();
    let tree = db.open_tree("t").unwrap();
    for round in 0..CUT_ROUNDS {
        assert_eq!(
            tree.get(order_key(round)).unwrap().unwrap().to_vec(),
            round.to_be_bytes(),
            "batch {round} was flushed"
        );
    }
    assert!(tree.get(order_key(CUT_ROUNDS)).unwrap().is_none());
    // Whole batches: the name entry of the last flushed batch and no other.
    let names: Vec<Vec<u8>> = tree
        .scan_prefix(b"n")
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect();
    assert_eq!(names, vec![vec![b'n', (CUT_ROUNDS - 1) as u8]]);
    // The replayed batches are in sled's own files now.
    drop(tree);
    drop(db);
    let bare = Db::open_without_replay(&cut).unwrap();
    let tree = bare.open_tree("t").unwrap();
    assert!(tree.get(order_key(CUT_ROUNDS - 1)).unwrap().is_some());
}

/// Guards against a log cut in its middle being replayed past the cut: the store refuses to
/// open rather than apply later batches over a gap.
#[test]
fn a_log_missing_a_batch_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join(LOG_DIR);
    {
        let db = Db::open(dir.path(), &quiet()).unwrap();
        db.open_tree("t").unwrap();
    }
    // Batches 1 and 3 of tree "t", 2 lost.
    for entry in std::fs::read_dir(&log_dir).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let log = redo::Log::start(&log_dir).unwrap();
    for number in [1u64, 3] {
        let value = number.to_be_bytes();
        let writes = [(&b"k"[..], Some(&value[..])), (MARKER, Some(&value[..]))];
        log.append(&redo::encode(b"t", number, writes.into_iter()).unwrap());
    }
    log.sync().unwrap();
    drop(log);
    let err = Db::open(dir.path(), &quiet()).err().unwrap();
    assert_eq!(err.kind(), crate::ErrorKind::Corrupt);
    assert!(err.to_string().contains("lacks batch 2"), "{err}");
}

/// Guards the order of a drain (the log synced first, the marker written last): a crash that
/// cuts a drain short leaves sled's files with part of a layer and the old marker, and
/// reopening applies the layer's batches again over it, whole.
#[test]
fn a_crash_in_the_middle_of_a_drain_is_completed_by_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (store, cut) = (dir.path().join("store"), dir.path().join("cut"));
    let db = Db::open(&store, &quiet()).unwrap();
    let tree = db.open_tree("t").unwrap();
    db.checkpoint().unwrap();
    // Staged in a moment, without a flush each (the drain syncs the log first): a layer is
    // not due for the applier before it is 50 ms old, so this test's drain is the one that
    // freezes it (40 fsyncs on a busy machine took longer, and the applier drained it first).
    for round in 0..40u64 {
        write_round(&tree, round);
    }
    let (durable, log) = tree.log.clone().unwrap();
    // The layer, in key order: 40 name keys, the pages of orders 0-31 and 32-39, the marker.
    // Cut after the first page.
    log.staging.fail_after(41);
    assert!(
        durable.drain(&log).is_err(),
        "the drain was to stop after 41 keys"
    );
    // What sled wrote of the layer reaches its file; the log is synced.
    db.inner.flush().unwrap();
    copy_sled_files(&store, &cut);
    copy_log(&store, &cut);
    {
        // Part of the layer is in sled's files, without its marker.
        let bare = Db::open_without_replay(&cut).unwrap();
        let tree = bare.open_tree("t").unwrap();
        assert!(tree.inner.get(order_key(0)).unwrap().is_some());
        assert!(tree.inner.get(order_key(32)).unwrap().is_none());
        assert_eq!(logged_through(&tree.inner).unwrap(), 0);
    }
    let reopened = Db::open(&cut, &quiet()).unwrap();
    let tree = reopened.open_tree("t").unwrap();
    for round in 0..40u64 {
        assert_eq!(
            tree.get(order_key(round)).unwrap().unwrap().to_vec(),
            round.to_be_bytes()
        );
    }
    let names: Vec<Vec<u8>> = tree
        .scan_prefix(b"n")
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect();
    assert_eq!(names, vec![vec![b'n', 39]]);
    assert_eq!(logged_through(&tree.inner).unwrap(), 40);
}

/// sled 0.34 never finishes a flush after a failed blob write (`sled_hang.rs`): removing the
/// folder under the store makes the drain of a large value fail that way. Flushes and
/// checkpoints report it, and dropping the store returns (it hung in the drop's flush).
#[test]
fn a_failed_write_into_sled_is_reported_and_dropping_the_store_returns() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("store");
    let (dropped, returned) = std::sync::mpsc::channel();
    let db = Db::open(&folder, &quiet()).unwrap();
    let tree = db.open_tree("t").unwrap();
    let mut batch = Batch::default();
    // Over a quarter of sled's 512 KiB segment: sled writes it to a blob file of its own.
    batch.insert(b"n-large".to_vec(), vec![7u8; 1 << 20]);
    tree.apply_batch(batch).unwrap();
    db.flush().unwrap();
    std::fs::remove_dir_all(&folder).unwrap();
    let (durable, log) = tree.log.clone().unwrap();
    let failure = durable.drain(&log).unwrap_err();
    assert!(matches!(failure, Error::Storage(_)), "{failure}");
    assert!(db.flush().is_err(), "a later flush reports the failure too");
    assert!(db.checkpoint().is_err());
    drop((durable, log));
    std::thread::spawn(move || {
        drop(tree);
        drop(db);
        let _ = dropped.send(());
    });
    // Not a speed check: without the defence the drop never returns.
    assert!(
        returned
            .recv_timeout(std::time::Duration::from_secs(120))
            .is_ok(),
        "dropping the failed store hung in sled's flush"
    );
}

/// A failed write of the redo log halts the store as a failed flush does: the write that met it
/// fails, the store reports itself halted, and every later write is refused, also once the
/// failed records are no longer pending (the log's failure is sticky, see `redo.rs`).
#[test]
fn a_failed_log_write_halts_the_store() {
    use crate::{KeySource, MasterKey, NewCustomer, Op, Options, Store};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        &KeySource::Key(MasterKey::generate()),
        &Options::default(),
    )
    .unwrap();
    let add = |email: &str| {
        let new = NewCustomer::parse("Ada", email, None, None, None).unwrap();
        store.write(Op::AddCustomer(new))
    };
    add("a@x.io").unwrap();
    let durable = store.shared.db.durable.clone().unwrap();
    redo::tests::break_writes(&durable.log);
    assert!(add("b@x.io").is_err());
    assert!(
        matches!(store.health(), Err(Error::Halted { .. })),
        "{:?}",
        store.health()
    );
    assert!(add("c@x.io").is_err());
    assert!(store.shared.db.flush().is_err());
    assert!(store.flush().is_err(), "a checkpoint fails too");
}
