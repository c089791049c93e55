//! Reading what the tree holds for the indexes: the custom fields' declarations, and a
//! space's records a chunk at a time, each chunk opened on every core (the open's rebuild,
//! and the builds of indexes turned on while the store runs).

use crate::codec::Codec;
use crate::error::Result;
use crate::schema::Catalog;
use crate::trees::Space;
use rayon::prelude::*;

/// The custom fields' declarations the tree holds (none in a store that never made one).
pub(crate) fn stored_catalog(tree: &crate::storage::Tree, codec: &Codec) -> Result<Catalog> {
    let key = crate::trees::schema_key();
    match tree.get(&key)? {
        Some(sealed) => codec.open(&key, &sealed),
        None => Ok(Catalog::default()),
    }
}

/// The records of a space that open, a chunk at a time, each chunk opened on every core.
pub(super) fn opened_chunks<'a, R: serde::de::DeserializeOwned + Send>(
    tree: &'a crate::storage::Tree,
    codec: &'a Codec,
    space: Space,
) -> impl Iterator<Item = Result<Vec<R>>> + 'a {
    sealed_chunks(tree, space).map(move |chunk| {
        let opened: Vec<Option<R>> = chunk?
            .par_iter()
            .map(|(key, sealed)| match codec.open::<R>(key, sealed) {
                Ok(record) => Ok(Some(record)),
                Err(error) if error.kind() == crate::ErrorKind::Corrupt => Ok(None),
                Err(error) => Err(error),
            })
            .collect::<Result<_>>()?;
        Ok(opened.into_iter().flatten().collect())
    })
}

/// A space's raw entries in chunks, so that each chunk is opened on every core.
pub(super) fn sealed_chunks(
    tree: &crate::storage::Tree,
    space: Space,
) -> impl Iterator<Item = Result<Vec<(crate::storage::Bytes, crate::storage::Bytes)>>> + '_ {
    const CHUNK: usize = 8192;
    let mut entries = tree.scan_prefix(space.prefix());
    std::iter::from_fn(move || {
        let mut chunk = Vec::with_capacity(CHUNK);
        for entry in entries.by_ref() {
            match entry {
                Ok(pair) => chunk.push(pair),
                Err(error) => return Some(Err(error)),
            }
            if chunk.len() == CHUNK {
                break;
            }
        }
        (!chunk.is_empty()).then_some(Ok(chunk))
    })
}
