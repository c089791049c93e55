//! A walk over sled's entries with the staged writes laid over them (`staging.rs`): a staged
//! value replaces sled's for its key, a staged removal hides it, and the result is in key
//! order from either end.

use super::Bytes;
use std::collections::VecDeque;

/// One stored entry, as sled yields it.
pub(super) type Stored = sled::Result<(Bytes, Bytes)>;

/// sled's walk merged with a snapshot of the staged writes in the same bounds.
pub(super) struct Merged<I> {
    staged: VecDeque<(Bytes, Option<Bytes>)>,
    stored: I,
    /// Taken from the front of `stored` and not yielded yet.
    front: Option<Stored>,
    /// Taken from the back of `stored` and not yielded yet.
    back: Option<Stored>,
}

impl<I: DoubleEndedIterator<Item = Stored>> Merged<I> {
    pub fn new(staged: Vec<(Bytes, Option<Bytes>)>, stored: I) -> Merged<I> {
        Merged {
            staged: staged.into(),
            stored,
            front: None,
            back: None,
        }
    }
}

/// Which side comes next from one end.
enum Next {
    Stored,
    Staged { replaces_stored: bool },
    Done,
}

fn choose(staged: Option<&Bytes>, stored: Option<&Stored>, from_front: bool) -> Next {
    let stored_key = match stored {
        // An error goes out as soon as it is met.
        Some(Err(_)) => return Next::Stored,
        Some(Ok((key, _))) => Some(key),
        None => None,
    };
    match (staged, stored_key) {
        (None, None) => Next::Done,
        (None, Some(_)) => Next::Stored,
        (Some(_), None) => Next::Staged {
            replaces_stored: false,
        },
        (Some(staged), Some(stored)) if staged == stored => Next::Staged {
            replaces_stored: true,
        },
        (Some(staged), Some(stored)) => {
            if (staged < stored) == from_front {
                Next::Staged {
                    replaces_stored: false,
                }
            } else {
                Next::Stored
            }
        }
    }
}

impl<I: DoubleEndedIterator<Item = Stored>> Iterator for Merged<I> {
    type Item = Stored;

    fn next(&mut self) -> Option<Stored> {
        loop {
            if self.front.is_none() {
                // The front of what is left of sled's walk: the entry taken from its back
                // once the walk itself is used up.
                self.front = self.stored.next().or_else(|| self.back.take());
            }
            match choose(
                self.staged.front().map(|(key, _)| key),
                self.front.as_ref(),
                true,
            ) {
                Next::Done => return None,
                Next::Stored => return self.front.take(),
                Next::Staged { replaces_stored } => {
                    if replaces_stored {
                        self.front = None;
                    }
                    if let Some((key, Some(value))) = self.staged.pop_front() {
                        return Some(Ok((key, value)));
                    }
                }
            }
        }
    }
}

impl<I: DoubleEndedIterator<Item = Stored>> DoubleEndedIterator for Merged<I> {
    fn next_back(&mut self) -> Option<Stored> {
        loop {
            if self.back.is_none() {
                self.back = self.stored.next_back().or_else(|| self.front.take());
            }
            match choose(
                self.staged.back().map(|(key, _)| key),
                self.back.as_ref(),
                false,
            ) {
                Next::Done => return None,
                Next::Stored => return self.back.take(),
                Next::Staged { replaces_stored } => {
                    if replaces_stored {
                        self.back = None;
                    }
                    if let Some((key, Some(value))) = self.staged.pop_back() {
                        return Some(Ok((key, value)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;

    fn bytes(n: u8) -> Bytes {
        Bytes::from(&[n][..])
    }

    #[test]
    fn a_merge_from_both_ends_equals_the_overlaid_map() {
        for seed in 0..300 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut stored = BTreeMap::new();
            let mut staged = BTreeMap::new();
            for _ in 0..rng.gen_range(0..12) {
                stored.insert(rng.gen_range(0..16u8), rng.gen::<u8>());
            }
            for _ in 0..rng.gen_range(0..12) {
                let value = rng.gen_bool(0.6).then(|| rng.gen::<u8>());
                staged.insert(rng.gen_range(0..16u8), value);
            }
            let mut expected = stored.clone();
            for (key, value) in &staged {
                match value {
                    Some(value) => expected.insert(*key, *value),
                    None => expected.remove(key),
                };
            }
            let stored_walk: Vec<Stored> = stored
                .iter()
                .map(|(k, v)| Ok((bytes(*k), bytes(*v))))
                .collect();
            let staged_list = staged
                .iter()
                .map(|(k, v)| (bytes(*k), v.map(bytes)))
                .collect();
            let mut merged = Merged::new(staged_list, stored_walk.into_iter());
            // Take from random ends, as a reverse or two-ended walk does.
            let mut front = Vec::new();
            let mut back = Vec::new();
            loop {
                let from_front = rng.gen_bool(0.5);
                let item = if from_front {
                    merged.next()
                } else {
                    merged.next_back()
                };
                let Some(item) = item else { break };
                let (key, value) = item.unwrap();
                let pair = (key[0], value[0]);
                if from_front {
                    front.push(pair);
                } else {
                    back.push(pair);
                }
            }
            back.reverse();
            front.extend(back);
            let expected: Vec<(u8, u8)> = expected.into_iter().collect();
            assert_eq!(front, expected, "seed {seed}");
        }
    }
}
