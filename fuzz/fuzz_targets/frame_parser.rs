//! The RESP request parser on arbitrary bytes: never a panic, and every request it returns
//! used bytes that exist and respects the limits.
#![no_main]

use crm_server::frame::{parse_request, Parsed, MAX_ARGS, MAX_BULK_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while !rest.is_empty() {
        match parse_request(rest) {
            Parsed::Incomplete | Parsed::Error(_) => break,
            Parsed::Empty { used } => {
                assert!(used > 0 && used <= rest.len());
                rest = &rest[used..];
            }
            Parsed::Request { args, used } => {
                assert!(used > 0 && used <= rest.len());
                assert!(!args.is_empty() && args.len() <= MAX_ARGS);
                assert!(args.iter().all(|a| a.len() <= MAX_BULK_BYTES));
                rest = &rest[used..];
            }
        }
    }
});
