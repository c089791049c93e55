//! The RESP request parser on arbitrary bytes: never a panic, and every request it returns
//! used bytes that exist and respects the limits — the whole-request limit included, which the
//! first two bytes choose (so small limits, reachable with short inputs, are exercised too).
#![no_main]

use crm_server::frame::{parse_request, Parsed, MAX_ARGS, MAX_BULK_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((limit_bytes, mut rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let max_request = usize::from(u16::from_be_bytes(*limit_bytes));
    while !rest.is_empty() {
        match parse_request(rest, max_request) {
            Parsed::Incomplete | Parsed::Error(_) => break,
            Parsed::Empty { used } => {
                assert!(used > 0 && used <= rest.len());
                rest = &rest[used..];
            }
            Parsed::Request { args, used } => {
                assert!(used > 0 && used <= rest.len());
                assert!(!args.is_empty() && args.len() <= MAX_ARGS);
                assert!(args.iter().all(|a| a.len() <= MAX_BULK_BYTES));
                let size: usize = args.iter().map(Vec::len).sum();
                assert!(size <= max_request, "{size} bytes passed a limit of {max_request}");
                rest = &rest[used..];
            }
        }
    }
});
