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

use crate::error::{Error, Kind, Result};
use crate::model::Customer;
use crate::store::Store;
use crate::values::name_words;
use rayon::prelude::*;
use std::collections::BTreeSet;

/// The most candidate pairs one search builds (8 bytes each: 160 MB).
const MAX_CANDIDATE_PAIRS: u64 = 20_000_000;

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
fn score(a: &Profile, b: &Profile) -> (u32, Vec<&'static str>) {
    let mut total = 0u32;
    let mut reasons = Vec::new();
    if a.phone.is_some() && a.phone == b.phone {
        total += 600;
        reasons.push("phone");
    }
    if !a.words.is_empty() && !b.words.is_empty() {
        let shared = a.words.intersection(&b.words).count() as u32;
        let union = (a.words.len() + b.words.len()) as u32 - shared;
        // round(300·i/u) half up, in integers: floor((600·i + u) / 2u).
        let name = (600 * shared + union) / (2 * union);
        if name > 0 {
            total += name;
            reasons.push("name");
        }
    }
    if a.local == b.local {
        total += 300;
        reasons.push("email");
    } else if one_edit_apart(&a.local, &b.local) {
        total += 200;
        reasons.push("email");
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
        let customers: Vec<Customer> = self.par_fold(
            Kind::Customer,
            Vec::new,
            |all, customer| all.push(customer),
            |all, mut part| all.append(&mut part),
        )?;
        let profiles: Vec<Profile> = customers.iter().map(profile).collect();
        find_pairs(profiles, min, limit, &|| self.check_cancelled())
    }
}

/// The blocking search over the profiles (`cancelled` is polled between stages).
fn find_pairs(
    mut profiles: Vec<Profile>,
    min: u32,
    limit: usize,
    cancelled: &dyn Fn() -> Result<()>,
) -> Result<Vec<DuplicatePair>> {
    profiles.sort_by_key(|p| p.id);
    let with_names = min <= 300;
    // (block, profile) for every block of every profile, sorted: each block's members are
    // then one run.
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
    // can ask for billions of pairs: refused before any is built, so that one request cannot
    // take the server's memory.
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
    let mut candidates: Vec<(u32, u32)> = Vec::with_capacity(pair_count as usize);
    for (seen, run) in entries.chunk_by(|x, y| x.0 == y.0).enumerate() {
        if seen % 65_536 == 0 {
            cancelled()?;
        }
        for (i, &(_, first)) in run.iter().enumerate() {
            for &(_, second) in &run[i + 1..] {
                candidates.push((first.min(second), first.max(second)));
            }
        }
    }
    candidates.par_sort_unstable();
    candidates.dedup();
    cancelled()?;
    let pairs = candidates
        .par_iter()
        .filter_map(|&(x, y)| scored_pair(&profiles[x as usize], &profiles[y as usize], min))
        .collect();
    Ok(ranked(pairs, limit))
}

/// The pair if it scores at least `min`.
fn scored_pair(a: &Profile, b: &Profile, min: u32) -> Option<DuplicatePair> {
    let (score, reasons) = score(a, b);
    (score >= min).then(|| DuplicatePair {
        a: a.id.min(b.id),
        b: a.id.max(b.id),
        score,
        reasons,
    })
}

/// Score descending, then `a`, then `b`; at most `limit`.
fn ranked(mut pairs: Vec<DuplicatePair>, limit: usize) -> Vec<DuplicatePair> {
    pairs.sort_by(|x, y| {
        y.score
            .cmp(&x.score)
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    pairs.truncate(limit);
    pairs
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
        })
    }

    #[test]
    fn scores_follow_the_contract() {
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

    /// The reference: every pair compared.
    fn all_pairs(profiles: &[Profile], min: u32, limit: usize) -> Vec<DuplicatePair> {
        let mut pairs = Vec::new();
        for (i, a) in profiles.iter().enumerate() {
            for b in &profiles[i + 1..] {
                pairs.extend(scored_pair(a, b, min));
            }
        }
        ranked(pairs, limit)
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
            let profiles: Vec<Profile> = people
                .iter()
                .enumerate()
                .map(|(i, (name, local, phone))| {
                    p(i as u64 + 1, name, &format!("{local}@x.io"), phone.as_deref())
                })
                .collect();
            let expected = all_pairs(&profiles, min, limit);
            let found = find_pairs(profiles, min, limit, &|| Ok(())).unwrap();
            prop_assert_eq!(found, expected);
        }
    }
}
