//! The CSV import row cleaner on arbitrary files: never a panic; every accepted row's values
//! pass the protocol's validation again unchanged.
#![no_main]

use crm_engine::{CleanRecord, Cleaner, Table, Verdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let table = [Table::Customers, Table::Products, Table::Orders][selector as usize % 3];
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let Ok(headers) = reader.headers().cloned() else { return };
    let Ok(mut cleaner) = Cleaner::new(table, &headers) else { return };
    for (line, record) in reader.records().enumerate() {
        let Ok(record) = record else { continue };
        if let Verdict::Accepted(clean) | Verdict::Fixed(clean, _) = cleaner.clean(line as u64 + 2, &record) {
            if let CleanRecord::Customer(c) = clean {
                assert_eq!(crm_engine::values::normalize_email(&c.email).unwrap(), c.email);
                assert_eq!(crm_engine::values::normalize_text("name", &c.name).unwrap(), c.name);
            }
        }
    }
});
