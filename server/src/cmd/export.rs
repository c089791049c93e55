//! `CUSTOMER.EXPORT`: everything held about one customer, as one JSON document.
//!
//! The document is one bulk string, whose length the reply states first. A customer with
//! few orders is written whole into one buffer. One with many is laid out first — the
//! customer, its statistics, and each order's and journal entry's place and length, read a
//! chunk at a time — then produced in pieces as the client reads (`pieces.rs`), each order
//! read again into its place. An order deleted or moved to another customer in between
//! leaves its place as JSON whitespace, so the document keeps its stated length and stays
//! valid JSON; it lists the orders the customer still had when its piece was made.

use crate::pieces::{Source, Streamed, CHUNK_ITEMS, PIECE_BYTES};
use crate::reply::Reply;
use crm_engine::journal::JournalFilter;
use crm_engine::{Error, Kind, OrderQuery, OrderScope, Result, Store};
use std::io::Write;

/// Documents up to this size are built whole.
const WHOLE_BYTES: usize = 1024 * 1024;

/// Waits (a few seconds at most) until the journal is durable through `seq`: in `periodic`
/// durability the export's own entry is on disk only at the next flush.
pub async fn wait_durable(store: &Store, seq: u64) {
    let mut watch = store.journal_watch();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.journal_head().seq < seq {
        if tokio::time::timeout_at(deadline, watch.changed())
            .await
            .map_or(true, |changed| changed.is_err())
        {
            return;
        }
    }
}

/// One element of the document's arrays: which order or entry, and the bytes it was given
/// (its JSON, and the comma before it when it is not the first).
#[derive(Clone, Copy)]
struct Place {
    id: u64,
    bytes: u32,
}

/// The two arrays whose elements are read in chunks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Orders,
    Journal,
}

/// `{"customer":{...},"orders":[...],"stats":{...},"journal":[...]}`, the journal up to and
/// including the export's own entry `seq`: whole when it is small, else streamed.
pub fn document(store: &Store, id: u64, seq: u64) -> Result<Reply> {
    let customer = store
        .customer(id)?
        .ok_or_else(|| Error::not_found(Kind::Customer, id))?
        .to_json_bytes(&store.catalog());
    let stats = store
        .customer_rollup(id)?
        .unwrap_or_default()
        .to_json(id)
        .to_string()
        .into_bytes();
    let mut layout = Layout {
        customer_id: id,
        seq,
        customer,
        stats,
        orders: Vec::new(),
        journal: Vec::new(),
        element_bytes: 0,
    };
    // The elements themselves, while the document is small enough to be answered whole.
    let mut small: Option<Vec<Vec<u8>>> = Some(Vec::new());
    for part in [Part::Orders, Part::Journal] {
        let mut after = 0;
        loop {
            let chunk = layout.read(store, part, after, CHUNK_ITEMS)?;
            let Some((last, _)) = chunk.last() else {
                break;
            };
            after = *last;
            for (element_id, json) in chunk {
                layout.place(part, element_id, json.len());
                if let Some(elements) = small.as_mut() {
                    elements.push(json);
                }
            }
            if layout.length() > WHOLE_BYTES {
                small = None;
            }
        }
    }
    let Some(elements) = small else {
        return Ok(Reply::Streamed(Streamed(Box::new(Export {
            layout,
            step: Step::Head,
        }))));
    };
    let (orders, journal) = elements.split_at(layout.orders.len());
    let mut out = Vec::with_capacity(layout.length());
    layout.write_head(&mut out);
    out.extend_from_slice(&orders.join(&b',')[..]);
    layout.write_middle(&mut out);
    out.extend_from_slice(&journal.join(&b',')[..]);
    out.extend_from_slice(b"]}");
    Ok(Reply::Bulk(out))
}

/// What the document holds, and where each array element goes.
struct Layout {
    customer_id: u64,
    seq: u64,
    customer: Vec<u8>,
    stats: Vec<u8>,
    orders: Vec<Place>,
    journal: Vec<Place>,
    /// The bytes given to every element.
    element_bytes: usize,
}

impl Layout {
    /// Gives the next element of `part` its place: its JSON, and a comma unless it is first.
    fn place(&mut self, part: Part, id: u64, json_bytes: usize) {
        let places = self.places_mut(part);
        let bytes = json_bytes + usize::from(!places.is_empty());
        places.push(Place {
            id,
            bytes: u32::try_from(bytes).unwrap_or(u32::MAX),
        });
        self.element_bytes += bytes;
    }

    fn places_mut(&mut self, part: Part) -> &mut Vec<Place> {
        match part {
            Part::Orders => &mut self.orders,
            Part::Journal => &mut self.journal,
        }
    }

    fn places(&self, part: Part) -> &[Place] {
        match part {
            Part::Orders => &self.orders,
            Part::Journal => &self.journal,
        }
    }

    /// The document's length in bytes.
    fn length(&self) -> usize {
        br#"{"customer":,"orders":[],"stats":,"journal":[]}"#.len()
            + self.customer.len()
            + self.stats.len()
            + self.element_bytes
    }

    fn write_head(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"customer\":");
        out.extend_from_slice(&self.customer);
        out.extend_from_slice(b",\"orders\":[");
    }

    fn write_middle(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"],\"stats\":");
        out.extend_from_slice(&self.stats);
        out.extend_from_slice(b",\"journal\":[");
    }

    /// Up to `limit` elements of `part` after `after` (an order id, an entry number), each
    /// with its JSON: the customer's orders, and its journal entries up to the export's own.
    fn read(
        &self,
        store: &Store,
        part: Part,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>> {
        Ok(match part {
            Part::Orders => store
                .orders(&OrderQuery {
                    scope: OrderScope::Customer(self.customer_id),
                    since: None,
                    until: None,
                    after,
                    limit,
                })?
                .iter()
                .map(|order| (order.id, order.to_json_bytes()))
                .collect(),
            Part::Journal => store
                .journal(&JournalFilter {
                    after,
                    kind: Some(Kind::Customer),
                    id: Some(self.customer_id),
                    limit,
                    ..JournalFilter::default()
                })?
                .iter()
                .filter(|entry| entry.seq <= self.seq)
                .map(|entry| (entry.seq, entry.to_json().to_string().into_bytes()))
                .collect(),
        })
    }
}

impl Layout {
    /// The elements of `places` as they are now, ascending (those still there).
    fn reread(&self, store: &Store, part: Part, places: &[Place]) -> Result<Vec<(u64, Vec<u8>)>> {
        match part {
            // Orders are read by id: one added meanwhile is not in the layout.
            Part::Orders => {
                let mut found = Vec::with_capacity(places.len());
                for place in places {
                    if let Some(order) = store
                        .order_shared(place.id)?
                        .filter(|order| order.customer_id == self.customer_id)
                    {
                        found.push((order.id, order.to_json_bytes()));
                    }
                }
                Ok(found)
            }
            // Entries never change and later ones number higher.
            Part::Journal => {
                let after = places.first().map_or(0, |p| p.id.saturating_sub(1));
                self.read(store, part, after, places.len())
            }
        }
    }
}

/// Where a streamed export stands.
#[derive(Clone, Copy)]
enum Step {
    Head,
    /// The next place of an array to fill, and whether an element was written in it yet.
    Elements {
        part: Part,
        next: usize,
        wrote_any: bool,
    },
    Done,
}

/// A large export, produced in pieces.
struct Export {
    layout: Layout,
    step: Step,
}

impl Source for Export {
    fn next_piece(&mut self, store: &Store, _proto: u8, out: &mut Vec<u8>) -> Result<bool> {
        let start = out.len();
        while out.len() - start < PIECE_BYTES {
            match self.step {
                Step::Head => {
                    let _ = write!(out, "${}\r\n", self.layout.length());
                    self.layout.write_head(out);
                    self.step = Step::Elements {
                        part: Part::Orders,
                        next: 0,
                        wrote_any: false,
                    };
                }
                Step::Elements {
                    part,
                    next,
                    wrote_any,
                } => {
                    let places = self.layout.places(part);
                    if next >= places.len() {
                        if part == Part::Orders {
                            self.layout.write_middle(out);
                            self.step = Step::Elements {
                                part: Part::Journal,
                                next: 0,
                                wrote_any: false,
                            };
                        } else {
                            out.extend_from_slice(b"]}\r\n");
                            self.step = Step::Done;
                        }
                        continue;
                    }
                    let chunk = &places[next..places.len().min(next + CHUNK_ITEMS)];
                    let found = self.layout.reread(store, part, chunk)?;
                    let wrote_any = fill(out, chunk, &found, wrote_any);
                    self.step = Step::Elements {
                        part,
                        next: next + chunk.len(),
                        wrote_any,
                    };
                }
                Step::Done => return Ok(false),
            }
        }
        Ok(!matches!(self.step, Step::Done))
    }
}

/// Writes `places` from the elements `found` now: each in its place, padded with spaces to
/// the bytes it was given; one no longer there, or that no longer fits, leaves its place as
/// spaces (JSON whitespace). Returns whether an element has been written in the array yet.
fn fill(
    out: &mut Vec<u8>,
    places: &[Place],
    found: &[(u64, Vec<u8>)],
    mut wrote_any: bool,
) -> bool {
    let mut found = found.iter().peekable();
    for place in places {
        while found.next_if(|(id, _)| *id < place.id).is_some() {}
        let budget = place.bytes as usize;
        let before = out.len();
        if let Some((_, json)) = found.next_if(|(id, _)| *id == place.id) {
            if json.len() + usize::from(wrote_any) <= budget {
                if wrote_any {
                    out.push(b',');
                }
                out.extend_from_slice(json);
                wrote_any = true;
            }
        }
        let used = out.len() - before;
        out.resize(out.len() + (budget - used), b' ');
    }
    wrote_any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places(elements: &[(u64, &str)]) -> Vec<Place> {
        elements
            .iter()
            .enumerate()
            .map(|(i, (id, json))| Place {
                id: *id,
                bytes: (json.len() + usize::from(i > 0)) as u32,
            })
            .collect()
    }

    /// Guards against a streamed export whose stated length or JSON breaks when its orders
    /// change between its layout and its pieces: whatever is gone or grew, the array keeps
    /// its bytes and stays valid JSON.
    #[test]
    fn an_array_keeps_its_length_and_stays_json_whatever_changed() {
        let laid_out = [(1, r#"{"a":1}"#), (2, r#"{"a":22}"#), (3, r#"{"a":3}"#)];
        let layout = places(&laid_out);
        let budget: usize = layout.iter().map(|p| p.bytes as usize).sum();
        let owned = |items: &[(u64, &str)]| -> Vec<(u64, Vec<u8>)> {
            items
                .iter()
                .map(|(id, json)| (*id, json.as_bytes().to_vec()))
                .collect()
        };
        type Found = Vec<(u64, Vec<u8>)>;
        let cases: Vec<(Found, Vec<u64>)> = vec![
            (owned(&laid_out), vec![1, 22, 3]),
            (owned(&[(2, r#"{"a":22}"#), (3, r#"{"a":3}"#)]), vec![22, 3]),
            (owned(&[(1, r#"{"a":1}"#), (3, r#"{"a":3}"#)]), vec![1, 3]),
            (owned(&[]), vec![]),
            // Grew past its place: left out rather than overflowing.
            (owned(&[(1, r#"{"a":1000}"#), (2, r#"{"a":2}"#)]), vec![2]),
        ];
        for (found, expected) in cases {
            let mut out = b"[".to_vec();
            let wrote_any = fill(&mut out, &layout, &found, false);
            out.extend_from_slice(b"]");
            assert_eq!(out.len(), budget + 2, "{}", String::from_utf8_lossy(&out));
            let parsed: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
            let values: Vec<u64> = parsed.iter().map(|v| v["a"].as_u64().unwrap()).collect();
            assert_eq!(values, expected);
            assert_eq!(wrote_any, !expected.is_empty());
        }
    }
}
