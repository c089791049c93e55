//! Helpers shared by the engine's integration tests.

// Test code: a helper that finds the unexpected fails the test by panicking.
#![allow(clippy::panic, clippy::expect_used)]
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use crm_engine::*;

pub fn open_with(dir: &std::path::Path, key: &MasterKey) -> Store {
    Store::open(dir, &KeySource::Key(key.clone()), &Options::default()).unwrap()
}

pub fn customer(store: &Store, name: &str, email: &str) -> u64 {
    let new = NewCustomer::parse(name, email, None, None, Some("2026-01-01")).unwrap();
    store.write(Op::AddCustomer(new)).unwrap().id()
}

pub fn product(store: &Store, name: &str, price: &str, stock: u64) -> u64 {
    let new = NewProduct::parse(name, price, Some(&stock.to_string())).unwrap();
    store.write(Op::AddProduct(new)).unwrap().id()
}

pub fn order(store: &Store, customer_id: u64, product_id: u64, quantity: u32) -> Result<u64> {
    order_placed(store, customer_id, product_id, quantity, None)
}

/// An order taking stock, placed at `created_at` (a timestamp as the wire takes it) or now.
pub fn order_placed(
    store: &Store,
    customer_id: u64,
    product_id: u64,
    quantity: u32,
    created_at: Option<&str>,
) -> Result<u64> {
    let created_at = created_at
        .map(|at| values::parse_timestamp("created_at", at))
        .transpose()?;
    store
        .write(Op::AddOrder(NewOrder {
            id: None,
            customer_id,
            product_id,
            quantity,
            created_at,
            take_stock: true,
        }))
        .map(|outcome| outcome.id())
}

/// Opens a closed store's sled database directly, as an attacker with the disk would. sled
/// releases its folder's lock from its own threads a moment after the last handle is dropped,
/// so this waits (up to 5 s) for a lock a store closed just before is still releasing.
pub fn raw_sled(dir: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(error) if std::time::Instant::now() < deadline => {
                assert!(error.to_string().contains("lock"), "{error}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(error) => panic!("cannot open {}: {error}", dir.display()),
        }
    }
}

/// Copies a folder, recursively (a data folder, a fixture).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A customer query walked by its cursor from the start: each page's ids, with `between`
/// run after every page but the last (given the page's number).
pub fn walk_pages(
    store: &Store,
    request: &crm_engine::QueryRequest,
    between: &mut dyn FnMut(usize),
) -> Vec<Vec<u64>> {
    let mut cursor = crm_engine::query::START.to_string();
    let mut pages = Vec::new();
    for page_number in 0..200 {
        let page = store
            .query_customers(&crm_engine::QueryRequest {
                cursor: Some(cursor.clone()),
                ..request.clone()
            })
            .unwrap();
        assert!(page.records.len() <= request.limit);
        pages.push(page.records.iter().map(|c| c.id).collect());
        match page.cursor {
            Some(next) => cursor = next,
            None => return pages,
        }
        between(page_number);
    }
    panic!("the walk did not end");
}
