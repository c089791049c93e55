//! Encryption at rest: wrong keys, tampered and moved ciphertext, no plain text on disk.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use crm_engine::*;
use std::path::Path;

fn all_bytes_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(all_bytes_under(&path));
        } else {
            files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn nothing_personal_is_stored_in_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut secrets: Vec<String> = Vec::new();
    {
        let store = open_with(&data, &MasterKey::generate());
        for i in 0..200 {
            let name = format!("Zebulon{i} Quixotica{i}");
            let email = format!("zebulon.quixotica{i}@secret-example.org");
            let phone = format!("+4479460{i:05}");
            let address = format!("{i} Hidden Lane, Covertown");
            let new =
                NewCustomer::parse(&name, &email, Some(&phone), Some(&address), None).unwrap();
            store.write(Op::AddCustomer(new)).unwrap();
            secrets.extend([name, email, phone, address, format!("zebulon{i}")]);
        }
        // Updates and deletes leave old versions in sled's log: they must be sealed too.
        let mut patch = CustomerPatch::default();
        patch
            .set(Customer::EMAIL, "changed.address@secret-example.org")
            .unwrap();
        store.write(Op::UpdateCustomer(1, patch)).unwrap();
        secrets.push("changed.address@secret-example.org".into());
        store.write(Op::DeleteCustomer(2)).unwrap();
        store
            .write(Op::AddUser(User {
                name: "operator-zed".into(),
                role: Role::Admin,
                password_hash: "$argon2id$v=19$secret-hash".into(),
                masked: false,
            }))
            .unwrap();
        secrets.push("secret-hash".into());
        // User names are keys too: stored as a blind hash, never in plain (hardening #7).
        secrets.push("operator-zed".into());
        store.close().unwrap();
    }
    let files = all_bytes_under(&data);
    assert!(!files.is_empty());
    for (file, bytes) in &files {
        // Every secret is at least 8 bytes: only where a file holds a secret's first 8 bytes
        // is the whole secret looked for (the naive search over the redo log's zero-filled
        // segments took minutes in debug builds).
        let starts: std::collections::HashSet<&[u8]> = bytes.windows(8).collect();
        let may_hold = |text: &str| {
            starts.contains(&text.as_bytes()[..8])
                || starts.contains(&text.to_lowercase().as_bytes()[..8])
        };
        if !secrets.iter().any(|s| may_hold(s)) && !may_hold("secret-example") {
            continue;
        }
        for secret in &secrets {
            assert!(secret.len() >= 8, "{secret}");
            assert!(
                !contains(bytes, secret.as_bytes()),
                "{secret:?} found in plain text in {file}"
            );
            assert!(
                !contains(bytes, secret.to_lowercase().as_bytes()),
                "{secret:?} (lower case) found in {file}"
            );
        }
        assert!(
            !contains(bytes, b"secret-example"),
            "a domain was found in {file}"
        );
    }
}

/// Every file and folder under `dir`: its path, its size and the BLAKE3 hash of its bytes.
fn folder_state(dir: &Path) -> Vec<(String, u64, String)> {
    let mut state = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            state.push((path.display().to_string(), 0, "folder".to_string()));
            state.extend(folder_state(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let hash = blake3::hash(&bytes).to_hex().to_string();
            state.push((path.display().to_string(), bytes.len() as u64, hash));
        }
    }
    state.sort();
    state
}

/// Waits until the store in `dir` is closed for good: its threads, which end after the last
/// handle is dropped, release sled's lock of the `db` file last.
fn wait_released(dir: &Path) {
    let db = std::fs::File::open(dir.join("db")).unwrap();
    let locked = |op| rustix::fs::flock(&db, op).is_ok();
    let released = (0..500).any(|_| {
        let free = locked(rustix::fs::FlockOperation::NonBlockingLockExclusive);
        if !free {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        free
    });
    assert!(
        released,
        "the store in {} was never released",
        dir.display()
    );
    assert!(locked(rustix::fs::FlockOperation::Unlock));
}

// Guards against a wrong key writing before it is refused (issue 32: the store replayed its
// redo log into sled and renamed the log's segments, and sled rewrote its own files, before
// the key was found wrong). Every file of the folder is byte-identical after each attempt —
// a closed store, and one dropped with batches only its redo log holds — and the right key
// still opens it whole.
#[test]
fn the_wrong_key_fails_at_open_and_writes_nothing() {
    for closed in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let right = MasterKey::generate();
        {
            let store = open_with(dir.path(), &right);
            for i in 0..50 {
                customer(&store, "Ada", &format!("ada{i}@example.com"));
            }
            if closed {
                store.close().unwrap();
            }
        }
        wait_released(dir.path());
        let before = folder_state(dir.path());
        let wrong = Store::open(
            dir.path(),
            &KeySource::Key(MasterKey::generate()),
            &Options::default(),
        );
        let error = wrong.err().unwrap();
        assert!(matches!(error, Error::WrongKey), "{error}");
        assert!(error.to_string().contains("key"));
        assert_eq!(folder_state(dir.path()), before, "closed: {closed}");
        let passphrase = KeySource::Passphrase(zeroize::Zeroizing::new("guess".to_string()));
        assert!(matches!(
            Store::open(dir.path(), &passphrase, &Options::default())
                .err()
                .unwrap(),
            Error::WrongKey
        ));
        assert_eq!(folder_state(dir.path()), before, "closed: {closed}");
        // A rekey with two wrong keys writes nothing either.
        let guess = KeySource::Key(MasterKey::generate());
        let rekeyed = rekey(dir.path(), &guess, &passphrase, &|_, _, _| {});
        assert!(matches!(rekeyed, Err(Error::WrongKey)), "{rekeyed:?}");
        assert_eq!(folder_state(dir.path()), before, "closed: {closed}");
        let store = open_with(dir.path(), &right);
        assert_eq!(store.counts().unwrap().customers, 50);
        assert_eq!(store.customer(1).unwrap().unwrap().name, "Ada");
    }
}

#[test]
fn a_passphrase_store_opens_only_with_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let phrase = |p: &str| KeySource::Passphrase(zeroize::Zeroizing::new(p.to_string()));
    {
        let store = Store::open(
            dir.path(),
            &phrase("correct horse battery staple"),
            &Options::default(),
        )
        .unwrap();
        customer(&store, "Ada", "ada@example.com");
    }
    assert!(matches!(
        Store::open(
            dir.path(),
            &phrase("wrong horse battery staple"),
            &Options::default()
        )
        .err()
        .unwrap(),
        Error::WrongKey
    ));
    let store = Store::open(
        dir.path(),
        &phrase("correct horse battery staple"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        store
            .find_by_email("ada@example.com", 0, usize::MAX)
            .unwrap()
            .len(),
        1
    );
}

/// Opens the raw sled tree of a closed store, as an attacker with the disk would.
fn with_raw_tree(dir: &Path, change: impl FnOnce(&sled::Tree)) {
    let db = raw_sled(dir);
    let tree = db.open_tree(b"crm").unwrap();
    change(&tree);
    db.flush().unwrap();
}

fn customer_key(id: u64) -> Vec<u8> {
    let mut key = vec![b'c'];
    key.extend_from_slice(&id.to_be_bytes());
    key
}

#[test]
fn tampered_and_moved_ciphertext_is_an_integrity_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    {
        let store = open_with(dir.path(), &key);
        customer(&store, "Ada", "ada@example.com");
        customer(&store, "Bob", "bob@example.com");
        customer(&store, "Cy", "cy@example.com");
    }
    with_raw_tree(dir.path(), |tree| {
        // Flip one bit in customer 1; copy customer 2's value over customer 3's key.
        let mut sealed = tree.get(customer_key(1)).unwrap().unwrap().to_vec();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        tree.insert(customer_key(1), sealed).unwrap();
        let moved = tree.get(customer_key(2)).unwrap().unwrap();
        tree.insert(customer_key(3), moved).unwrap();
    });
    let store = open_with(dir.path(), &key);
    let flipped = store.customer(1).unwrap_err();
    assert_eq!(flipped.kind(), ErrorKind::Corrupt);
    assert_eq!(
        flipped.to_string(),
        "customer 1 failed its integrity check: authentication tag does not verify"
    );
    let moved = store.customer(3).unwrap_err();
    assert_eq!(
        moved.to_string(),
        "customer 3 failed its integrity check: authentication tag does not verify"
    );
    assert_eq!(store.customer(2).unwrap().unwrap().name, "Bob");
    assert!(store.customers(0, 10).is_err());
}

#[test]
fn a_byte_flipped_in_the_data_files_never_panics_or_returns_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    {
        let store = open_with(dir.path(), &key);
        customer(&store, "Ada", "ada@example.com");
        store.close().unwrap();
    }
    let mut sealed = Vec::new();
    with_raw_tree(dir.path(), |tree| {
        sealed = tree.get(customer_key(1)).unwrap().unwrap().to_vec()
    });
    // Find the sealed value in the files and flip a byte of its ciphertext in place.
    let mut flipped_somewhere = false;
    for (file, mut bytes) in all_bytes_under(dir.path()) {
        while let Some(at) = bytes
            .windows(sealed.len())
            .position(|w| w == sealed.as_slice())
        {
            bytes[at + sealed.len() - 1] ^= 0x80;
            flipped_somewhere = true;
        }
        std::fs::write(&file, &bytes).unwrap();
    }
    assert!(flipped_somewhere, "the sealed value was not found on disk");
    // Whatever sled makes of it, the engine answers with an error or nothing — never a panic
    // and never a customer that is not Ada.
    match Store::open(dir.path(), &KeySource::Key(key), &Options::default()) {
        Err(error) => assert!(!error.to_string().is_empty()),
        Ok(store) => match store.customer(1) {
            Ok(Some(customer)) => assert_eq!(customer.name, "Ada"),
            Ok(None) => {}
            Err(error) => assert!(
                matches!(error.kind(), ErrorKind::Corrupt | ErrorKind::Failed),
                "{error}"
            ),
        },
    }
}

/// Guards against a changed or rolled-back id high-water mark making the next add overwrite a
/// record: the mark is sealed (a plain value written over it is `CORRUPT`), a mark rolled back
/// to an older sealed value fails the consistency check, and an add never overwrites.
#[test]
fn a_changed_or_rolled_back_high_water_mark_is_caught_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate();
    // The customer high-water mark: `m` ‖ `hw/` ‖ `c` (trees.rs).
    let mark = b"mhw/c".to_vec();
    let mut old_mark = Vec::new();
    {
        let store = open_with(dir.path(), &key);
        customer(&store, "Ada", "ada@example.com");
        store.close().unwrap();
    }
    with_raw_tree(dir.path(), |tree| {
        old_mark = tree.get(&mark).unwrap().unwrap().to_vec();
        // Sealed, not the plain number.
        assert_ne!(old_mark, 1u64.to_be_bytes());
    });
    {
        let store = open_with(dir.path(), &key);
        customer(&store, "Bob", "bob@example.com");
        store.check_consistency().unwrap();
        store.close().unwrap();
    }
    // A plain value in its place is refused, naming the entry.
    with_raw_tree(dir.path(), |tree| {
        tree.insert(&mark, 1u64.to_be_bytes().to_vec()).unwrap();
    });
    {
        let store = open_with(dir.path(), &key);
        let error = store.high_water(Kind::Customer).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Corrupt);
        assert!(error.to_string().contains("metadata"), "{error}");
        store.close().unwrap();
    }
    // The older sealed value put back (a rollback): the check finds the record above it, and
    // the next add is refused instead of overwriting customer 2.
    with_raw_tree(dir.path(), |tree| {
        tree.insert(&mark, old_mark.clone()).unwrap();
    });
    let store = open_with(dir.path(), &key);
    let error = store.check_consistency().unwrap_err();
    assert_eq!(
        error.to_string(),
        "consistency check: customer 2 is above the customer id high-water mark 1"
    );
    let new = NewCustomer::parse("Cy", "cy@example.com", None, None, None).unwrap();
    let refused = store.write(Op::AddCustomer(new)).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Corrupt, "{refused}");
    assert_eq!(store.customer(2).unwrap().unwrap().name, "Bob");
}

/// Guards against weak passphrases: a new store refuses one under 16 characters, records the
/// strong Argon2id parameters, and its backups carry them so a restore derives the same key.
#[test]
fn new_passphrase_stores_refuse_short_passphrases_and_record_their_cost() {
    let dir = tempfile::tempdir().unwrap();
    let phrase = |p: &str| KeySource::Passphrase(zeroize::Zeroizing::new(p.to_string()));
    let short = Store::open(
        &dir.path().join("short"),
        &phrase("too short pass"),
        &Options::default(),
    );
    let error = short.err().unwrap();
    assert!(error.to_string().contains("at least 16"), "{error}");
    let good = "a passphrase long enough";
    let store = Store::open(&dir.path().join("data"), &phrase(good), &Options::default()).unwrap();
    customer(&store, "Ada", "ada@example.com");
    let backup = dir.path().join("b.crmbak");
    store.backup_to(&backup, &|_| {}).unwrap();
    store.close().unwrap();
    drop(store);
    let mut raw_params = Vec::new();
    with_raw_tree(&dir.path().join("data"), |tree| {
        raw_params = tree.get(b"mkdf_params").unwrap().unwrap().to_vec();
    });
    assert_eq!(KdfParams::from_bytes(&raw_params), Some(KdfParams::STRONG));
    let info = backup::verify(&backup, &phrase(good)).unwrap();
    assert_eq!(info.header.kdf_params, KdfParams::STRONG);
    let restored = dir.path().join("restored");
    backup::restore(&backup, &phrase(good), &restored).unwrap();
    let store = Store::open(&restored, &phrase(good), &Options::default()).unwrap();
    assert_eq!(store.customer(1).unwrap().unwrap().name, "Ada");
}

// Guards the key check file across rotations between key files and passphrases (issue 32):
// each rekey leaves a store that only its new key opens — a passphrase's fresh salt and cost
// included — and each old key is refused without a file of the folder changing.
#[test]
fn rekeys_between_key_files_and_passphrases_leave_only_the_new_key_and_old_ones_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let phrase = |p: &str| KeySource::Passphrase(zeroize::Zeroizing::new(p.to_string()));
    let first = KeySource::Key(MasterKey::generate());
    {
        let store = Store::open(dir.path(), &first, &Options::default()).unwrap();
        customer(&store, "Ada", "ada@example.com");
        store.close().unwrap();
    }
    let keys = [
        first,
        phrase("correct horse battery staple"),
        phrase("another horse, another staple"),
        KeySource::Key(MasterKey::generate()),
    ];
    for pair in keys.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        let done = rekey(dir.path(), old, new, &|_, _, _| {}).unwrap();
        assert_eq!(done, RekeyOutcome::Rekeyed);
        wait_released(dir.path());
        let before = folder_state(dir.path());
        for refused in [old, &keys[0]] {
            let opened = Store::open(dir.path(), refused, &Options::default());
            assert!(matches!(opened, Err(Error::WrongKey)), "{:?}", opened.err());
            assert_eq!(folder_state(dir.path()), before);
        }
        let store = Store::open(dir.path(), new, &Options::default()).unwrap();
        assert_eq!(store.customer(1).unwrap().unwrap().name, "Ada");
        store.close().unwrap();
    }
}
