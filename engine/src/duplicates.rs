//! `CUSTOMER.DUPLICATES`: pairs of customers that are probably one person.
//!
//! The contract's score (thousandths): `phone` 600 when both have one and they are equal;
//! `name` = round half up of 300 × |A∩B| / |A∪B| over the two sets of name words; `email` 300
//! when the local parts are equal, else 200 when they are one edit apart. Comparing every pair
//! of 100,000 customers is 5·10⁹ comparisons, so candidates come from **blocking**: only
//! customers that share a block are compared, where the blocks are
//!
//! - an equal phone (what `phone` needs),
//! - an equal email local part, or an equal *deletion variant* of it (the local part with one
//!   character removed, or whole): two strings one edit apart always share one — a substitution
//!   shares the variant without that position, an insertion or deletion makes one string a
//!   variant of the other — so these blocks find every pair `email` scores,
//! - a shared name word — needed only when `MIN` is at most 0.3, since `name` alone scores at
//!   most 300 and any pair above that has a phone or an email block in common.
//!
//! Every candidate pair is then scored on the decrypted records (in this process only, like
//! every read). The answer is deterministic: pairs sort by score, then ids.
//!
//! Memory does not grow with the number of candidates: no list of pairs is built. Each
//! customer gathers the later members of its blocks (a list of at most one index per
//! customer; [`SharedBlocks`] lays the blocks out so that this needs no search), scores them,
//! and offers those scoring at least `MIN` to a bounded ranking of the best `LIMIT`
//! ([`best`]); so a search holds the profiles, their block entries, and per worker thread one
//! such list and one ranking.
//!
//! One file (325 lines of code, the rest its tests): the blocks, the score and the bounded
//! best-pairs heap are one pass whose memory bound depends on all three together.

mod best;

use crate::error::{Error, Kind, Result};
use crate::model::Customer;
use crate::store::Store;
use crate::values::name_words;
use best::{Best, Reasons, Scored};
use rayon::prelude::*;
use std::collections::BTreeSet;

/// The most candidate pairs one search scores (counted with repeats, one per shared block):
/// what bounds its time, as `MIN` can ask for every pair of customers sharing a first name.
const MAX_CANDIDATE_PAIRS: u64 = 20_000_000;

/// How many customers a worker compares between two polls of the cancel flag.
const CANCEL_POLL: usize = 1024;

/// One scored pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicatePair {
    /// The smaller id.
    pub a: u64,
    pub b: u64,
    /// In thousandths, at most 1000.
    pub score: u32,
    /// `phone`, `name`, `email`: those that scored, in that order.
    pub reasons: Vec<&'static str>,
}

impl DuplicatePair {
    /// The wire object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "a": self.a,
            "b": self.b,
            "score": f64::from(self.score) / 1000.0,
            "reasons": self.reasons,
        })
    }
}

/// What one customer brings to the comparison.
struct Profile {
    id: u64,
    phone: Option<String>,
    words: BTreeSet<String>,
    local: Vec<char>,
}

fn local_part(email: &str) -> &str {
    email.rsplit_once('@').map_or(email, |(local, _)| local)
}

fn profile(customer: &Customer) -> Profile {
    Profile {
        id: customer.id,
        phone: customer.phone.clone(),
        words: name_words(&customer.name).into_iter().collect(),
        local: local_part(&customer.email).chars().collect(),
    }
}

/// Whether two strings are exactly one edit (insert, delete or substitute) apart.
fn one_edit_apart(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => short.iter().zip(long).filter(|(x, y)| x != y).count() == 1,
        1 => {
            let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
            short[prefix..] == long[prefix + 1..]
        }
        _ => false,
    }
}

/// The score of a pair, and its reasons.
fn score(a: &Profile, b: &Profile) -> (u32, Reasons) {
    let mut total = 0u32;
    let mut reasons = Reasons::default();
    if a.phone.is_some() && a.phone == b.phone {
        total += 600;
        reasons.add(Reasons::PHONE);
    }
    if !a.words.is_empty() && !b.words.is_empty() {
        let shared = a.words.intersection(&b.words).count() as u32;
        let union = (a.words.len() + b.words.len()) as u32 - shared;
        // round(300·i/u) half up, in integers: floor((600·i + u) / 2u).
        let name = (600 * shared + union) / (2 * union);
        if name > 0 {
            total += name;
            reasons.add(Reasons::NAME);
        }
    }
    if a.local == b.local {
        total += 300;
        reasons.add(Reasons::EMAIL);
    } else if one_edit_apart(&a.local, &b.local) {
        total += 200;
        reasons.add(Reasons::EMAIL);
    }
    (total.min(1000), reasons)
}

/// The blocking keys of a profile (see the module comment), hashed: a collision between two
/// keys only adds a candidate pair, and every candidate is scored exactly, so hashing can
/// never lose or invent a pair — it saves building millions of strings.
fn blocks(profile: &Profile, with_names: bool) -> Vec<u64> {
    let mut keys = Vec::with_capacity(profile.local.len() + 4);
    if let Some(phone) = &profile.phone {
        keys.push(block_key(b'p', phone.chars()));
    }
    keys.push(block_key(b'e', profile.local.iter().copied()));
    for skip in 0..profile.local.len() {
        let variant = profile
            .local
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, c)| *c);
        keys.push(block_key(b'e', variant));
    }
    if with_names {
        for word in &profile.words {
            keys.push(block_key(b'n', word.chars()));
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// FNV-1a over a tag and the characters.
fn block_key(tag: u8, chars: impl Iterator<Item = char>) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ u64::from(tag);
    hash = hash.wrapping_mul(PRIME);
    for c in chars {
        for byte in u32::from(c).to_be_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

impl Store {
    /// Every pair scoring at least `min` thousandths, score descending, then `a`, then `b`; at
    /// most `limit`.
    pub fn duplicates(&self, min: u32, limit: usize) -> Result<Vec<DuplicatePair>> {
        let profiles: Vec<Profile> = self.par_fold(
            Kind::Customer,
            Vec::new,
            |all, customer: Customer| all.push(profile(&customer)),
            |all, mut part| all.append(&mut part),
        )?;
        find_pairs(profiles, min, limit, &|| self.check_cancelled())
    }
}

/// The blocking search over the profiles (`cancelled` is polled between stages and every
/// [`CANCEL_POLL`] customers).
fn find_pairs(
    mut profiles: Vec<Profile>,
    min: u32,
    limit: usize,
    cancelled: &(dyn Fn() -> Result<()> + Sync),
) -> Result<Vec<DuplicatePair>> {
    profiles.sort_by_key(|p| p.id);
    let with_names = min <= 300;
    // (block, profile) for every block of every profile, sorted: each block's members are
    // then one run, in profile order.
    let mut entries: Vec<(u64, u32)> = profiles
        .par_iter()
        .enumerate()
        .flat_map_iter(|(index, profile)| {
            blocks(profile, with_names)
                .into_iter()
                .map(move |key| (key, index as u32))
        })
        .collect();
    cancelled()?;
    entries.par_sort_unstable();
    cancelled()?;
    // Name words are common (a first name can be in thousands of records), so a low `MIN`
    // can ask for billions of pairs: refused before any is scored, so that one request cannot
    // take the server's CPU for minutes.
    let pair_count: u64 = entries
        .chunk_by(|x, y| x.0 == y.0)
        .map(|run| (run.len() as u64) * (run.len() as u64 - 1) / 2)
        .sum();
    if pair_count > MAX_CANDIDATE_PAIRS {
        return Err(Error::invalid(
            "min",
            format!(
                "{:.3} would compare {pair_count} candidate pairs, more than {MAX_CANDIDATE_PAIRS}: raise MIN",
                f64::from(min) / 1000.0
            ),
        ));
    }
    let shared = SharedBlocks::of(entries);
    cancelled()?;
    let best = shared
        .later
        .par_chunk_by(|x, y| x.0 == y.0)
        .try_fold(
            || (Best::new(limit), Vec::new(), 0usize),
            |(mut best, mut others, mut done), places| {
                done += 1;
                if done % CANCEL_POLL == 0 {
                    cancelled()?;
                }
                let first = places[0].0 as usize;
                shared.later_than(places, &mut others);
                for &other in &others {
                    if let Some(pair) = scored_pair(&profiles[first], &profiles[other], min) {
                        best.offer(pair);
                    }
                }
                Ok((best, others, done))
            },
        )
        .map(|partial: Result<(Best, Vec<usize>, usize)>| partial.map(|(best, ..)| best))
        .try_reduce(
            || Best::new(limit),
            |mut best, other| {
                best.absorb(other);
                Ok(best)
            },
        )?;
    Ok(best
        .into_ranked()
        .into_iter()
        .map(|pair| DuplicatePair {
            a: pair.a,
            b: pair.b,
            score: pair.score,
            reasons: pair.reasons.names(),
        })
        .collect())
}

/// The blocks that can make a pair (two members or more), arranged so that each profile finds
/// the later members of its blocks without a search: 12 bytes a membership, none for the
/// blocks of one member (most email variants).
struct SharedBlocks {
    /// The members of every shared block, block after block, each block's in profile order.
    members: Vec<u32>,
    /// For each membership (profile, start, end): the members after it in its block are
    /// `members[start..end]`. Sorted by profile, so each profile's are one run.
    later: Vec<(u32, u32, u32)>,
}

impl SharedBlocks {
    /// From the sorted (block, profile) entries, which it consumes.
    fn of(entries: Vec<(u64, u32)>) -> SharedBlocks {
        let mut members = Vec::new();
        let mut later = Vec::new();
        for run in entries.chunk_by(|x, y| x.0 == y.0) {
            if run.len() < 2 {
                continue;
            }
            let start = members.len() as u32;
            let end = start + run.len() as u32;
            for (offset, &(_, profile)) in run.iter().enumerate() {
                members.push(profile);
                later.push((profile, start + offset as u32 + 1, end));
            }
        }
        drop(entries);
        later.par_sort_unstable();
        SharedBlocks { members, later }
    }

    /// Fills `others` with the profiles after the one whose memberships are `places` that
    /// share a block with it, each once, in order: every candidate pair is then met once, from
    /// its first profile.
    fn later_than(&self, places: &[(u32, u32, u32)], others: &mut Vec<usize>) {
        others.clear();
        for &(_, start, end) in places {
            let block = &self.members[start as usize..end as usize];
            others.extend(block.iter().map(|&member| member as usize));
        }
        others.sort_unstable();
        others.dedup();
    }
}

/// The pair if it scores at least `min`.
fn scored_pair(a: &Profile, b: &Profile, min: u32) -> Option<Scored> {
    let (score, reasons) = score(a, b);
    (score >= min).then(|| Scored {
        a: a.id.min(b.id),
        b: a.id.max(b.id),
        score,
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: u64, name: &str, email: &str, phone: Option<&str>) -> Profile {
        profile(&Customer {
            id,
            name: name.into(),
            email: email.into(),
            phone: phone.map(str::to_string),
            address: None,
            created_at: 0,
            custom: Default::default(),
        })
    }

    #[test]
    fn scores_follow_the_contract() {
        let score = |a: &Profile, b: &Profile| {
            let (total, reasons) = score(a, b);
            (total, reasons.names())
        };
        let ada = p(1, "Ada Lovelace", "ada@x.io", Some("+15550001"));
        // Equal phone, same words, equal local part: capped at 1000.
        let twin = p(2, "ada LOVELACE", "ada@y.io", Some("+15550001"));
        assert_eq!(score(&ada, &twin), (1000, vec!["phone", "name", "email"]));
        // One word of three in the union: round(100) = 100; one edit apart: 200.
        let near = p(3, "Ada King", "adaa@z.io", None);
        assert_eq!(score(&ada, &near), (300, vec!["name", "email"]));
        // One word of two in the union: 300·1/2 = 150.
        let half = p(4, "Lovelace", "zzz@z.io", None);
        assert_eq!(score(&ada, &half), (150, vec!["name"]));
        // 300·1/7 = 42.857 → 43.
        let many = p(5, "ada b c d e f g", "qqq@q.io", None);
        let ada_only = p(6, "Ada", "www@q.io", None);
        assert_eq!(score(&many, &ada_only).0, 43);
        // 300·1/8 = 37.5: the half rounds up.
        let five = p(7, "ada b c d e", "kkk@q.io", None);
        let four = p(8, "ada f g h", "mmm@q.io", None);
        assert_eq!(score(&five, &four), (38, vec!["name"]));
        assert!(one_edit_apart(&['a', 'b'], &['a', 'c']));
        assert!(one_edit_apart(&['a', 'b'], &['a', 'b', 'c']));
        assert!(one_edit_apart(&['b'], &['a', 'b']));
        assert!(!one_edit_apart(&['a', 'b'], &['b', 'a']));
        assert!(!one_edit_apart(&['a'], &['a']));
    }

    #[test]
    fn blocks_share_a_key_for_every_one_edit_pair() {
        for (a, b) in [
            ("john", "jon"),
            ("john", "johm"),
            ("john", "johnn"),
            ("j", ""),
        ] {
            let x = p(1, "X", &format!("{a}@e.io"), None);
            let y = p(2, "Y", &format!("{b}@e.io"), None);
            let bx: BTreeSet<u64> = blocks(&x, false).into_iter().collect();
            assert!(blocks(&y, false).iter().any(|k| bx.contains(k)), "{a} {b}");
        }
    }

    /// The reference, as the search was before the bounded ranking: every pair compared,
    /// every match collected, sorted, then cut at `limit`.
    fn all_pairs(profiles: &[Profile], min: u32, limit: usize) -> Vec<DuplicatePair> {
        let mut pairs = Vec::new();
        for (i, a) in profiles.iter().enumerate() {
            for b in &profiles[i + 1..] {
                let (score, reasons) = score(a, b);
                if score >= min {
                    pairs.push(DuplicatePair {
                        a: a.id.min(b.id),
                        b: a.id.max(b.id),
                        score,
                        reasons: reasons.names(),
                    });
                }
            }
        }
        pairs.sort_by(|x, y| {
            y.score
                .cmp(&x.score)
                .then(x.a.cmp(&y.a))
                .then(x.b.cmp(&y.b))
        });
        pairs.truncate(limit);
        pairs
    }

    /// Profiles with ids in no particular order (a permutation of 1..=1009), so that the
    /// search's own order (by id) differs from the order they come in.
    fn profiles_of(people: &[(String, String, Option<String>)]) -> Vec<Profile> {
        people
            .iter()
            .enumerate()
            .map(|(i, (name, local, phone))| {
                let id = (i as u64 * 389) % 1009 + 1;
                p(id, name, &format!("{local}@x.io"), phone.as_deref())
            })
            .collect()
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Small alphabets make collisions (equal phones, shared words, local parts one edit
        /// apart) common, so the blocking is really exercised.
        #[test]
        fn blocking_finds_exactly_what_comparing_every_pair_finds(
            people in proptest::collection::vec(
                ("[ab]{0,3}( [ab]{1,2}){0,2}", "[abc]{0,4}", proptest::option::of("[12]{1,2}")),
                0..24,
            ),
            min in prop_oneof![Just(100u32), Just(200), Just(300), Just(301), Just(500), 100u32..=1000],
            limit in 1usize..40,
        ) {
            let profiles = profiles_of(&people);
            let expected = all_pairs(&profiles, min, limit);
            let found = find_pairs(profiles, min, limit, &|| Ok(())).unwrap();
            prop_assert_eq!(found, expected);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        // Guards against the bounded ranking of the best LIMIT pairs (kept per worker thread
        // and merged) answering differently from collecting every pair and cutting: many
        // customers, many tied scores, limits from one to more than match.
        #[test]
        fn the_bounded_ranking_answers_what_collecting_every_pair_answers(
            people in proptest::collection::vec(
                ("[abc]{1,2}( [abc]{1,2}){0,2}", "[ab]{1,3}", proptest::option::of("[12]")),
                200..400,
            ),
            min in prop_oneof![Just(100u32), Just(150), Just(300), Just(600)],
            limit in prop_oneof![Just(1usize), 2usize..100, Just(5_000), Just(usize::MAX)],
        ) {
            let profiles = profiles_of(&people);
            let expected = all_pairs(&profiles, min, limit);
            let found = find_pairs(profiles, min, limit, &|| Ok(())).unwrap();
            prop_assert_eq!(found, expected);
        }
    }
}
