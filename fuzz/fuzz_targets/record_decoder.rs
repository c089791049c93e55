//! Opening arbitrary bytes as a sealed record: always an error (a forgery never opens), never a
//! panic; and a real sealed record with any single byte changed never opens either.
#![no_main]

use crm_engine::codec::Codec;
use crm_engine::keys::{MasterKey, Purpose};
use crm_engine::seal::Sealer;
use crm_engine::Customer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let codec = Codec::new(Sealer::new(&MasterKey::from_bytes([42; 32]).derive(Purpose::RecordSeal)));
    let key = b"c\0\0\0\0\0\0\0\x01";
    assert!(codec.open::<Customer>(key, data).is_err());
    if let Some((&position, _)) = data.split_first() {
        let customer = Customer { id: 1, name: "Ada".into(), email: "a@b.co".into(), phone: None, address: None, created_at: 0 };
        let mut sealed = codec.seal(key, &customer);
        let at = position as usize % sealed.len();
        sealed[at] ^= data.get(1).copied().unwrap_or(1).max(1);
        assert!(codec.open::<Customer>(key, &sealed).is_err());
    }
});
