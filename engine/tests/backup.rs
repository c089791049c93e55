//! Backups: round trip, tampering of every part, wrong keys, and consistency under writes.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use crm_engine::backup::{restore, verify};
use crm_engine::*;
use std::path::{Path, PathBuf};

/// The store comes first: fields drop in order, and the folder goes only once it is closed.
struct Fixture {
    store: Store,
    dir: tempfile::TempDir,
    key: MasterKey,
}

fn fixture(customers: usize, orders: usize) -> Fixture {
    fixture_with(customers, orders, &Options::default())
}

fn fixture_with(customers: usize, orders: usize, options: &Options) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    let store = Store::open(
        &dir.path().join("data"),
        &KeySource::Key(key.clone()),
        options,
    )
    .unwrap();
    demo::generate(3, customers, 30, orders)
        .load_into(&store)
        .unwrap();
    store
        .write(Op::AddUser(User {
            name: "ops".into(),
            role: Role::Writer,
            password_hash: "$argon2id$x".into(),
            masked: false,
        }))
        .unwrap();
    Fixture { dir, key, store }
}

fn take_backup(f: &Fixture, name: &str) -> PathBuf {
    let path = f.dir.path().join(name);
    f.store.backup_to(&path, &|_| {}).unwrap();
    path
}

/// Offsets of each framed chunk (start, end) after the header.
fn chunk_spans(path: &Path) -> (usize, Vec<(usize, usize)>) {
    let bytes = std::fs::read(path).unwrap();
    let salt_len = bytes[8 + 2 + 8 + 16 + 8] as usize;
    // Format 2 added the 12 bytes of Argon2id parameters after the salt.
    let version = u16::from_be_bytes([bytes[8], bytes[9]]);
    let params_len = if version >= 2 { 12 } else { 0 };
    let header_len = 8 + 2 + 8 + 16 + 8 + 1 + salt_len + params_len + 32 + 32;
    let mut spans = Vec::new();
    let mut at = header_len;
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        spans.push((at, at + 4 + len));
        at += 4 + len;
    }
    (header_len, spans)
}

#[test]
fn round_trip_restores_every_record_index_and_statistic() {
    let f = fixture(400, 4_000);
    let path = take_backup(&f, "full.crmbak");
    let key = KeySource::Key(f.key.clone());
    let info = verify(&path, &key).unwrap();
    assert_eq!(
        (
            info.header.customers,
            info.header.products,
            info.header.orders,
            info.header.users
        ),
        (400, 30, 4_000, 1)
    );
    let target = f.dir.path().join("restored");
    restore(&path, &key, &target).unwrap();
    let restored = open_with(&target, &f.key);
    restored.check_consistency().unwrap();
    assert_eq!(
        restored.customers(0, 100_000).unwrap(),
        f.store.customers(0, 100_000).unwrap()
    );
    assert_eq!(
        restored.products(0, 100_000).unwrap(),
        f.store.products(0, 100_000).unwrap()
    );
    let all = OrderQuery {
        scope: OrderScope::All,
        since: None,
        until: None,
        after: 0,
        limit: 100_000,
    };
    assert_eq!(
        restored.orders(&all).unwrap(),
        f.store.orders(&all).unwrap()
    );
    assert_eq!(restored.users().unwrap(), f.store.users().unwrap());
    for customer in f.store.customers(0, 50).unwrap() {
        assert_eq!(
            restored
                .find_by_email(&customer.email, 0, usize::MAX)
                .unwrap(),
            vec![customer.clone()]
        );
        let word = customer.name.split(' ').next().unwrap();
        assert_eq!(
            restored.find_by_name(word, 0, usize::MAX).unwrap(),
            f.store.find_by_name(word, 0, usize::MAX).unwrap()
        );
    }
    assert_eq!(
        restored.customer_rollups().unwrap(),
        f.store.customer_rollups().unwrap()
    );
    assert_eq!(
        stats::rfm(&restored, 1_800_000_000).unwrap(),
        stats::rfm(&f.store, 1_800_000_000).unwrap()
    );
    // High-water marks survive: the next id is not a reused one.
    for kind in [Kind::Customer, Kind::Product, Kind::Order] {
        assert_eq!(
            restored.high_water(kind).unwrap(),
            f.store.high_water(kind).unwrap()
        );
    }
    // Restore never writes over an existing store.
    let err = restore(&path, &key, &target).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
}

#[test]
fn every_kind_of_tampering_is_refused_and_restores_nothing() {
    let f = fixture(1_500, 15_000);
    let path = take_backup(&f, "t.crmbak");
    let original = std::fs::read(&path).unwrap();
    let (header_len, spans) = chunk_spans(&path);
    assert!(spans.len() >= 3, "need several chunks, got {}", spans.len());
    let key = KeySource::Key(f.key.clone());
    let (last_start, _) = *spans.last().unwrap();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    let mut flipped_header = original.clone();
    flipped_header[20] ^= 0x40;
    cases.push(("header byte", flipped_header, "header"));
    let mut flipped_chunk = original.clone();
    flipped_chunk[spans[1].0 + 100] ^= 1;
    cases.push(("chunk byte", flipped_chunk, "chunk 1"));
    let mut flipped_trailer = original.clone();
    flipped_trailer[last_start + 10] ^= 1;
    cases.push(("trailer byte", flipped_trailer, "chunk"));
    cases.push((
        "last chunk dropped",
        original[..last_start].to_vec(),
        "truncated",
    ));
    let mut swapped = original[..spans[0].0].to_vec();
    swapped.extend_from_slice(&original[spans[1].0..spans[1].1]);
    swapped.extend_from_slice(&original[spans[0].0..spans[0].1]);
    swapped.extend_from_slice(&original[spans[1].1..]);
    cases.push(("two chunks swapped", swapped, "chunk 0"));
    let mut appended = original.clone();
    appended.extend_from_slice(b"garbage");
    cases.push(("garbage appended", appended, "after the final chunk"));
    cases.push((
        "cut inside a chunk",
        original[..spans[1].0 + 50].to_vec(),
        "truncated",
    ));
    cases.push((
        "magic",
        [b"NOTABACK".as_slice(), &original[8..]].concat(),
        "magic",
    ));
    assert!(header_len > 0);
    for (what, bytes, expected) in cases {
        let bad = f.dir.path().join("bad.crmbak");
        std::fs::write(&bad, &bytes).unwrap();
        let err = verify(&bad, &key).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{what}: {err}");
        assert!(err.to_string().contains(expected), "{what}: {err}");
        let target = f
            .dir
            .path()
            .join(format!("restore-{}", what.replace(' ', "-")));
        assert!(restore(&bad, &key, &target).is_err(), "{what}");
        assert!(!target.exists(), "{what}: restore wrote something");
    }
}

#[test]
fn the_wrong_key_is_refused_before_anything_is_written() {
    let f = fixture(20, 50);
    let path = take_backup(&f, "k.crmbak");
    let wrong = KeySource::Key(MasterKey::generate());
    let err = verify(&path, &wrong).unwrap_err();
    assert!(err.to_string().contains("wrong key"), "{err}");
    let target = f.dir.path().join("nothing");
    assert!(restore(&path, &wrong, &target).is_err());
    assert!(!target.exists());
}

#[test]
fn a_backup_taken_under_concurrent_writes_is_one_point_in_time() {
    backup_under_concurrent_writes(&Options::default(), 3_000);
}

/// Guards against the snapshot's memory growing without bound under heavy writes: with no
/// memory budget at all, every saved old value goes to the spill on disk, and the backup is
/// still one point in time.
#[test]
fn a_snapshot_over_its_memory_budget_spills_and_stays_one_point_in_time() {
    // Enough orders for several chunks, so the writes let in after the first one land on keys
    // still to be copied.
    let spilled = backup_under_concurrent_writes(
        &Options {
            backup_memory_bytes: 0,
            ..Options::default()
        },
        15_000,
    );
    assert!(
        spilled,
        "the writes during the backup should have gone to the spill"
    );
}

/// Takes a backup while four writers add and delete, restores it and checks it; returns whether
/// the snapshot spilled.
fn backup_under_concurrent_writes(options: &Options, orders: usize) -> bool {
    let f = fixture_with(orders / 10, orders, options);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = f.store.clone();
            let stop = stop.clone();
            let writes = writes.clone();
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let c =
                        NewCustomer::parse("Writer", &format!("w{w}-{i}@x.io"), None, None, None)
                            .unwrap();
                    let customer = store.write(Op::AddCustomer(c)).unwrap().id();
                    writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let order = NewOrder {
                        id: None,
                        customer_id: customer,
                        product_id: 1 + i % 30,
                        quantity: 1,
                        created_at: None,
                        take_stock: false,
                    };
                    let order_id = store.write(Op::AddOrder(order)).unwrap().id();
                    if i.is_multiple_of(3) {
                        store.write(Op::DeleteOrder(order_id)).unwrap();
                        store.write(Op::DeleteCustomer(customer)).unwrap();
                    }
                }
                i
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let path = f.dir.path().join("online.crmbak");
    let spilled = std::sync::atomic::AtomicBool::new(false);
    let first_chunk = std::sync::atomic::AtomicBool::new(true);
    f.store
        .backup_to(&path, &|progress| {
            if progress.spilled {
                spilled.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            // After the first chunk (no lock is held here), let the writers land some writes
            // while the rest of the tree is still to be copied: on a fast machine the whole
            // backup could otherwise finish between two writes, and nothing would be saved.
            if first_chunk.swap(false, std::sync::atomic::Ordering::Relaxed) {
                let seen = writes.load(std::sync::atomic::Ordering::Relaxed);
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                while writes.load(std::sync::atomic::Ordering::Relaxed) < seen + 8
                    && std::time::Instant::now() < deadline
                {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        })
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(written > 0);
    let key = KeySource::Key(f.key.clone());
    let target = f.dir.path().join("online-restored");
    let info = restore(&path, &key, &target).unwrap();
    let restored = open_with(&target, &f.key);
    let report = restored.check_consistency().unwrap();
    assert_eq!(
        (report.customers, report.orders),
        (info.header.customers, info.header.orders)
    );
    f.store.check_consistency().unwrap();
    // The spill is gone with the snapshot.
    assert!(std::fs::read_dir(f.dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".snapshot")));
    spilled.into_inner()
}

/// Guards against a backup filling the disk the store lives on: a backup that would leave less
/// than the minimum free is refused before it writes anything.
#[test]
fn a_backup_that_would_leave_too_little_free_space_is_refused() {
    let f = fixture(50, 200);
    let path = f.dir.path().join("big.crmbak");
    let limits = backup::BackupLimits {
        min_free_bytes: u64::MAX / 2,
    };
    let error = f.store.backup_with(&path, &limits, &|_| {}).unwrap_err();
    assert!(error.to_string().contains("must leave"), "{error}");
    assert!(!path.exists());
    assert!(std::fs::read_dir(f.dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("partial")));
    // Within the default margin it goes through.
    f.store.backup_to(&path, &|_| {}).unwrap();
}

#[test]
fn a_second_backup_while_one_runs_is_busy_and_writes_never_wait_for_it() {
    let f = fixture(200, 3_000);
    let (entered, wait_here) = (
        std::sync::mpsc::channel::<()>(),
        std::sync::mpsc::channel::<()>(),
    );
    let (tell_entered, resume) = (entered.0, wait_here.1);
    let release = wait_here.0;
    let store = f.store.clone();
    let path = f.dir.path().join("slow.crmbak");
    let resume = std::sync::Mutex::new(resume);
    let first = std::thread::spawn(move || {
        let told = std::sync::atomic::AtomicBool::new(false);
        store.backup_to(&path, &|_| {
            if !told.swap(true, std::sync::atomic::Ordering::SeqCst) {
                let _ = tell_entered.send(());
                let _ = resume.lock().unwrap().recv();
            }
        })
    });
    entered.1.recv().unwrap();
    // The first backup is paused mid-way: a second one is BUSY, and writes go through.
    let second = f
        .store
        .backup_to(&f.dir.path().join("second.crmbak"), &|_| {})
        .unwrap_err();
    assert_eq!(second.kind(), ErrorKind::Busy);
    customer(&f.store, "During", "during@x.io");
    release.send(()).unwrap();
    let summary = first.join().unwrap().unwrap();
    assert_eq!(summary.header.customers, 200);
    assert!(summary.longest_pause < std::time::Duration::from_secs(1));
}

// Guards against `verify` and `restore` with no progress to show: each chunk is reported, with
// the bytes and chunks done of the file's totals, through verifying and restoring, and the
// start of every later stage.
#[test]
fn verify_and_restore_report_bytes_and_chunks_of_the_totals() {
    use crm_engine::backup::{restore_reporting, verify_reporting, ReadProgress, ReadStage};
    let f = fixture(2_000, 20_000);
    let path = take_backup(&f, "progress.crmbak");
    let key = KeySource::Key(f.key.clone());
    let (_, spans) = chunk_spans(&path);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(spans.len() > 2, "a backup of several chunks");

    let seen = std::cell::RefCell::new(Vec::<ReadProgress>::new());
    verify_reporting(&path, &key, &|p| seen.borrow_mut().push(p)).unwrap();
    let verified = seen.take();
    let chunks: Vec<u64> = verified.iter().map(|p| p.chunks).collect();
    assert_eq!(chunks, (0..=spans.len() as u64).collect::<Vec<_>>());
    assert!(verified.iter().all(|p| p.stage == ReadStage::Verifying
        && p.total_chunks == spans.len() as u64
        && p.total_bytes == size));
    assert!(verified.windows(2).all(|w| w[0].bytes < w[1].bytes));
    assert_eq!(verified.last().unwrap().bytes, size);

    restore_reporting(&path, &key, &f.dir.path().join("restored"), &[], &|p| {
        seen.borrow_mut().push(p)
    })
    .unwrap();
    let stages: Vec<(ReadStage, u64)> = seen
        .take()
        .iter()
        .filter(|p| p.chunks == p.total_chunks)
        .map(|p| (p.stage, p.bytes))
        .collect();
    assert_eq!(
        stages,
        [
            (ReadStage::Verifying, size),
            (ReadStage::Restoring, size),
            (ReadStage::Forgetting, size),
            (ReadStage::Checking, size),
            (ReadStage::Publishing, size)
        ]
    );
}
