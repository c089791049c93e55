//! Pages of records (`LIST`, `FIND`, `ORDER.LIST`, `AUDIT.LOG`) answered whole up to
//! [`WHOLE_BYTES`] and in pieces beyond (`pieces.rs`).

use super::offload::off_workers;
use crate::parse::CmdResult;
use crate::pieces::{AfterCursor, ArraySource, Fetch, Framing, CHUNK_ITEMS, WHOLE_BYTES};
use crate::reply::Reply;
use crate::state::Shared;
use std::sync::Arc;

/// Up to `limit` items after `after`, as `fetch` reads them (ascending, each with the cursor
/// it moves to). Read a chunk at a time; a page whose replies fit in [`WHOLE_BYTES`] is
/// answered whole. A larger one is counted to its end (its array states its length before
/// its items) and then read again a chunk at a time as the client takes the reply.
pub async fn page(shared: &Arc<Shared>, after: u64, limit: usize, fetch: Arc<Fetch>) -> CmdResult {
    let reader = fetch.clone();
    let (whole, counted, resume) = off_workers(shared, move |store| {
        let mut items = Vec::new();
        let mut bytes = 0;
        let mut cursor = after;
        while items.len() < limit {
            let found = reader(store, cursor, (limit - items.len()).min(CHUNK_ITEMS))?;
            let Some((last, _)) = found.last() else {
                return Ok((Some(items), 0, cursor));
            };
            cursor = *last;
            for (_, reply) in found {
                bytes += reply.encoded_len_estimate();
                items.push(reply);
            }
            if bytes > WHOLE_BYTES {
                return Ok((None, items.len(), cursor));
            }
        }
        Ok((Some(items), 0, cursor))
    })
    .await?;
    if let Some(items) = whole {
        return Ok(Reply::Array(items));
    }
    let reader = fetch.clone();
    let length = off_workers(shared, move |store| {
        let mut counted = counted;
        let mut cursor = resume;
        while counted < limit {
            let found = reader(store, cursor, (limit - counted).min(CHUNK_ITEMS))?;
            let Some((last, _)) = found.last() else {
                break;
            };
            cursor = *last;
            counted += found.len();
        }
        Ok(counted)
    })
    .await?;
    Ok(ArraySource::new(Framing::Array, length, AfterCursor { after, fetch }).reply())
}
