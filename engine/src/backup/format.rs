//! The backup file format (documented in `docs/backup-format.md`).
//!
//! `header ‖ chunk* ‖ final chunk`. The header is plain but carries a keyed BLAKE3 MAC; every
//! chunk is `u32 length ‖ nonce ‖ XChaCha20-Poly1305 ciphertext ‖ tag`, sealed under the backup
//! key with `backup id ‖ header MAC ‖ chunk index ‖ last flag` as associated data, so a chunk
//! that is flipped, moved, reordered, taken from another backup, or missing at the end fails.

use crate::error::{Error, Result};
use crate::keys::{KdfParams, MasterKey, Purpose, SubKey};
use crate::seal::Sealer;
use rand::RngCore;
use std::io::Read;

/// The first bytes of every backup file.
pub const MAGIC: &[u8; 8] = b"CRMBAK\x00\x01";
/// The format version this build writes. Version 1 (2026-11) is read too: it has no Argon2id
/// parameters in its header (its passphrase stores used the legacy ones).
pub const FORMAT_VERSION: u16 = 2;
/// The largest sealed chunk a reader accepts (writers stay far below).
pub const MAX_SEALED_CHUNK: usize = 16 * 1024 * 1024;
/// About how much plain data goes into one chunk.
pub const CHUNK_TARGET: usize = 1024 * 1024;
const MAC_LEN: usize = 32;

/// What the header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The format version the header was written in.
    pub format_version: u16,
    pub created_at: i64,
    pub backup_id: [u8; 16],
    /// The public fingerprint of the key the store (and backup) uses.
    pub key_fingerprint: [u8; 8],
    /// The Argon2id salt of a passphrase store (empty for a key-file store), so a restore can
    /// derive the key from the passphrase before opening anything.
    pub kdf_salt: Vec<u8>,
    /// The Argon2id parameters of a passphrase store (with its salt; from version 2).
    pub kdf_params: KdfParams,
    pub customers: u64,
    pub products: u64,
    pub orders: u64,
    pub users: u64,
}

impl Header {
    /// The bytes the MAC covers.
    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.format_version.to_be_bytes());
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&self.backup_id);
        out.extend_from_slice(&self.key_fingerprint);
        out.push(self.kdf_salt.len() as u8);
        out.extend_from_slice(&self.kdf_salt);
        if self.format_version >= 2 {
            out.extend_from_slice(&self.kdf_params.to_bytes());
        }
        for count in [self.customers, self.products, self.orders, self.users] {
            out.extend_from_slice(&count.to_be_bytes());
        }
        out
    }

    /// The header's bytes with its MAC.
    pub fn encode(&self, keys: &BackupKeys) -> Vec<u8> {
        let mut out = self.body();
        let mac = keys.mac(&out);
        out.extend_from_slice(&mac);
        out
    }

    /// A fresh header id.
    pub fn new_id() -> [u8; 16] {
        let mut id = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut id);
        id
    }

    /// Reads a header without checking its MAC (the key may not be known yet); returns it with
    /// its body bytes and MAC so the caller can check it once it has the key.
    pub fn read(input: &mut impl Read) -> Result<(Header, Vec<u8>, [u8; MAC_LEN])> {
        let corrupt = |what: &str| Error::Corrupt(format!("backup header: {what}"));
        let mut fixed = [0u8; 8 + 2 + 8 + 16 + 8 + 1];
        input
            .read_exact(&mut fixed)
            .map_err(|_| corrupt("file too short"))?;
        if &fixed[..8] != MAGIC {
            return Err(corrupt("not a crm backup (bad magic bytes)"));
        }
        let version = u16::from_be_bytes([fixed[8], fixed[9]]);
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(corrupt(&format!(
                "format version {version} is not supported (this build reads 1 to {FORMAT_VERSION})"
            )));
        }
        let salt_len = fixed[fixed.len() - 1] as usize;
        let params_len = if version >= 2 { 12 } else { 0 };
        let mut rest = vec![0u8; salt_len + params_len + 32 + MAC_LEN];
        input
            .read_exact(&mut rest)
            .map_err(|_| corrupt("file too short"))?;
        let be64 = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
        let kdf_params = if version >= 2 {
            KdfParams::from_bytes(&rest[salt_len..salt_len + 12])
                .ok_or_else(|| corrupt("malformed passphrase parameters"))?
        } else {
            KdfParams::LEGACY
        };
        let counts_at = salt_len + params_len;
        let counts = &rest[counts_at..counts_at + 32];
        let header = Header {
            format_version: version,
            created_at: be64(&fixed[10..18]) as i64,
            backup_id: fixed[18..34].try_into().unwrap_or([0; 16]),
            key_fingerprint: fixed[34..42].try_into().unwrap_or([0; 8]),
            kdf_salt: rest[..salt_len].to_vec(),
            kdf_params,
            customers: be64(&counts[0..8]),
            products: be64(&counts[8..16]),
            orders: be64(&counts[16..24]),
            users: be64(&counts[24..32]),
        };
        let mut mac = [0u8; MAC_LEN];
        mac.copy_from_slice(&rest[counts_at + 32..]);
        let body = header.body();
        Ok((header, body, mac))
    }

    /// Customers, products and orders together.
    pub fn records(&self) -> u64 {
        self.customers + self.products + self.orders
    }

    /// `CORRUPT` unless a store restored from this stream counts what the header does
    /// (`erased`: customers the restore erased again, which the header counted).
    pub(crate) fn check_restored(&self, counts: crate::Counts, erased: u64) -> Result<()> {
        if (counts.customers + erased, counts.products, counts.orders)
            == (self.customers, self.products, self.orders)
        {
            return Ok(());
        }
        Err(Error::Corrupt(format!(
            "restored counts {}/{}/{} differ from the header's {}/{}/{}",
            counts.customers,
            counts.products,
            counts.orders,
            self.customers,
            self.products,
            self.orders
        )))
    }
}

/// The two keys a backup uses, derived from the store's master key.
pub struct BackupKeys {
    sealer: Sealer,
    /// Wiped when the backup or restore ends.
    mac_key: SubKey,
}

impl BackupKeys {
    pub fn derive(master: &MasterKey) -> Self {
        let seal = master.derive(Purpose::Backup);
        let mac = master.derive(Purpose::BackupHeader);
        BackupKeys {
            sealer: Sealer::new(&seal),
            mac_key: mac,
        }
    }

    pub fn mac(&self, bytes: &[u8]) -> [u8; MAC_LEN] {
        *blake3::keyed_hash(&self.mac_key.0, bytes).as_bytes()
    }

    /// Checks the header MAC in constant time.
    pub fn check_mac(&self, body: &[u8], mac: &[u8; MAC_LEN]) -> bool {
        blake3::Hash::from(self.mac(body)) == blake3::Hash::from(*mac)
    }

    fn associated(
        header_mac: &[u8; MAC_LEN],
        backup_id: &[u8; 16],
        index: u64,
        last: bool,
    ) -> Vec<u8> {
        let mut aad = Vec::with_capacity(16 + MAC_LEN + 9);
        aad.extend_from_slice(backup_id);
        aad.extend_from_slice(header_mac);
        aad.extend_from_slice(&index.to_be_bytes());
        aad.push(u8::from(last));
        aad
    }

    /// Seals chunk `index` and frames it (`u32 length ‖ sealed`).
    pub fn seal_chunk(
        &self,
        header_mac: &[u8; MAC_LEN],
        backup_id: &[u8; 16],
        index: u64,
        last: bool,
        plain: &[u8],
    ) -> Vec<u8> {
        let aad = Self::associated(header_mac, backup_id, index, last);
        let mut framed = vec![0u8; 4];
        self.sealer.seal_after(&mut framed, &aad, plain);
        let sealed_len = (framed.len() - 4) as u32;
        framed[..4].copy_from_slice(&sealed_len.to_be_bytes());
        framed
    }

    /// Opens a sealed chunk as chunk `index` (`last` or not); `None` if it does not verify.
    pub fn open_chunk(
        &self,
        header_mac: &[u8; MAC_LEN],
        backup_id: &[u8; 16],
        index: u64,
        last: bool,
        sealed: &[u8],
    ) -> Option<Vec<u8>> {
        let aad = Self::associated(header_mac, backup_id, index, last);
        self.sealer.open_unframed(&aad, sealed).ok()
    }
}

/// Appends one `(key, value)` entry to a chunk's plain text.
pub fn push_entry(plain: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    plain.extend_from_slice(&(key.len() as u32).to_be_bytes());
    plain.extend_from_slice(key);
    plain.extend_from_slice(&(value.len() as u32).to_be_bytes());
    plain.extend_from_slice(value);
}

/// Splits a chunk's plain text back into entries.
pub fn entries(plain: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let mut out = Vec::new();
    let mut at = 0;
    let take = |at: &mut usize| -> Option<&[u8]> {
        let len = u32::from_be_bytes(plain.get(*at..*at + 4)?.try_into().ok()?) as usize;
        let bytes = plain.get(*at + 4..*at + 4 + len)?;
        *at += 4 + len;
        Some(bytes)
    };
    while at < plain.len() {
        let key = take(&mut at)?;
        let value = take(&mut at)?;
        out.push((key, value));
    }
    Some(out)
}

/// The final chunk's plain text: the number of entries and the BLAKE3 of all data chunks' plain
/// text, in order.
pub fn trailer(entry_count: u64, plain_hash: &blake3::Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 32 + 8);
    out.extend_from_slice(b"CRMEND01");
    out.extend_from_slice(&entry_count.to_be_bytes());
    out.extend_from_slice(plain_hash.as_bytes());
    out
}
