//! The log's epochs: how long one lasts, and every node's destruction of the keys of epochs
//! the log no longer holds.
//!
//! # Why epochs
//!
//! Deleting an entry from etcd does not erase it: etcd keeps old revisions until a compaction,
//! freed pages in its database file, every request in its write-ahead log and snapshots. So
//! the log is sealed in epochs, each under a random key of its own (the engine's
//! `replica/epochs.rs` keeps them), and once the log holds no entry of an epoch every node
//! destroys that epoch's key: whatever etcd's disks still hold of it then opens with no key
//! anyone has. That is how `FORGET` holds in a cluster (PROTOCOL.md, "The log does not grow
//! without bound").
//!
//! # How long an epoch lasts
//!
//! The leader starts a new epoch once the current one is [`Pace::rotate_after`] old: an eighth
//! of `--log-retain`, at most 7.5 minutes; also when the log is idle (the new epoch's entry is
//! then the log's last, so the epoch before can be trimmed), and at once after a takeover when
//! it cannot tell how old the current one is. What follows an epoch's last entry: it becomes
//! older than `--log-retain` (meanwhile every live node has applied it, made it durable and
//! published so, every half lease TTL, far less than the retention), the leader deletes it
//! (it looks every [`Pace::every`]), and every node notices the log's new first entry and
//! destroys the key (as often). So, while etcd answers and the nodes keep up, an epoch's key
//! is gone at most `--log-retain` plus [`Pace::epoch`] after the epoch's first entry, and so
//! after any `FORGET` the epoch carried: a quarter of `--log-retain` (15 minutes at most),
//! plus twice `--lease-ttl` for the new epoch's entry to wait behind a write group and be sent
//! (SECURITY.md states it).
//!
//! # Destroying keys
//!
//! Every node, the leader included, reads the log's first entry every [`Pace::every`]: the
//! epoch it is sealed under (readable without any key) is the oldest the log holds, since the
//! epochs of entries only grow with their numbers (a leader seals under the epoch its takeover
//! found at the log's head, or a later one it started). The keys of every epoch before it are
//! destroyed (zeros in place, fsynced). A node that still needed one of them had fallen out of
//! the log anyway: the entries it would have opened are gone.

use crate::error::Result;
use crate::etcd::{Client, Range};
use crate::keys::Keys;
use crate::seam::Sealer;
use std::sync::Arc;
use std::time::Duration;

/// The longest the leader goes on with one epoch, whatever `--log-retain` is.
pub const LONGEST_ROTATION: Duration = Duration::from_secs(450);
/// The longest between two looks at the log (a new epoch due, entries to trim, epochs gone).
const LONGEST_LOOK: Duration = Duration::from_secs(30);
/// The shortest (only a test's short retention comes near it).
const SHORTEST_LOOK: Duration = Duration::from_millis(50);

/// The pace of epochs and trimming for one `--log-retain` and `--lease-ttl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// How long the log keeps an entry at least (`--log-retain`).
    pub retain: Duration,
    /// The leader starts a new epoch once the current one is this old: an eighth of
    /// `--log-retain`, at most [`LONGEST_ROTATION`].
    pub rotate_after: Duration,
    /// How often the leader looks for a new epoch due and entries to trim, and every node for
    /// epochs gone from the log: a fifth of `rotate_after`, 50 ms to 30 s.
    pub every: Duration,
    /// How long past `--log-retain` an epoch's key outlives the epoch's first entry at most
    /// (see the module): twice `rotate_after`, plus twice the lease TTL.
    pub epoch: Duration,
}

impl Pace {
    /// The pace for `--log-retain` `retain` and `--lease-ttl` `lease_ttl`.
    pub fn new(retain: Duration, lease_ttl: Duration) -> Pace {
        let rotate_after = LONGEST_ROTATION.min(retain / 8);
        Pace {
            retain,
            rotate_after,
            every: (rotate_after / 5).clamp(SHORTEST_LOOK, LONGEST_LOOK),
            epoch: rotate_after * 2 + lease_ttl * 2,
        }
    }
}

/// The number of the log's first entry (`None`: the log is empty).
pub async fn first_number(client: &Client, keys: &Keys) -> Result<Option<u64>> {
    let first = client
        .range(
            Range::between(keys.log(), keys.log_end())
                .limit(1)
                .keys_only(),
        )
        .await?;
    Ok(first.kvs.first().and_then(|kv| keys.entry_number(&kv.key)))
}

/// The log's first entry: its number and the epoch it is sealed under (`None`: the log is
/// empty). `known`: the first entry as last read, whose value is not read again.
pub async fn first_entry(
    client: &Client,
    keys: &Keys,
    sealer: &dyn Sealer,
    known: Option<(u64, u64)>,
) -> Result<Option<(u64, u64)>> {
    let Some(number) = first_number(client, keys).await? else {
        return Ok(None);
    };
    if let Some(known) = known.filter(|(n, _)| *n == number) {
        return Ok(Some(known));
    }
    // Trimmed meanwhile: the next look sees the new first entry.
    let Some(kv) = client.get(keys.entry(number)).await? else {
        return Ok(known);
    };
    Ok(Some((number, sealer.epoch_of_entry(number, &kv.value)?)))
}

/// Every node, for as long as it runs: destroys the keys of the epochs before the log's
/// first entry's (see the module's "Destroying keys").
pub async fn destroy_trimmed(client: Client, keys: Keys, sealer: Arc<dyn Sealer>, every: Duration) {
    let mut known = None;
    let mut destroyed_before = 0;
    loop {
        tokio::time::sleep(every).await;
        match first_entry(&client, &keys, &*sealer, known).await {
            Ok(Some((number, epoch))) => {
                known = Some((number, epoch));
                if epoch <= destroyed_before {
                    continue;
                }
                let destroying = Arc::clone(&sealer);
                let done =
                    tokio::task::spawn_blocking(move || destroying.destroy_epochs_before(epoch))
                        .await;
                match done {
                    Ok(Ok(())) => {
                        destroyed_before = epoch;
                        tracing::info!(
                            "the log starts at entry {number}, in epoch {epoch}: the keys of earlier epochs are destroyed"
                        );
                    }
                    Ok(Err(e)) => {
                        tracing::error!("destroying the keys of epochs before {epoch}: {e}")
                    }
                    Err(e) => tracing::error!("destroying the keys of epochs before {epoch}: {e}"),
                }
            }
            Ok(None) => {}
            Err(e) => tracing::debug!("reading the log's first entry: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epochs_key_outlives_it_by_at_most_a_quarter_of_the_retention_and_twice_the_ttl() {
        let ttl = Duration::from_secs(5);
        let pace = Pace::new(Duration::from_secs(3_600), ttl);
        assert_eq!(pace.rotate_after, Duration::from_secs(450));
        assert_eq!(pace.every, Duration::from_secs(30));
        assert_eq!(pace.epoch, Duration::from_secs(910));
        let long_ttl = Duration::from_secs(60);
        let shortest = Pace::new(Duration::from_secs(60), long_ttl);
        assert_eq!(shortest.rotate_after, Duration::from_millis(7_500));
        assert_eq!(shortest.every, Duration::from_millis(1_500));
        assert_eq!(shortest.epoch, Duration::from_secs(135));
        let longest = Pace::new(Duration::from_secs(604_800), ttl);
        assert_eq!(longest.rotate_after, LONGEST_ROTATION);
        for (pace, ttl) in [(pace, ttl), (shortest, long_ttl), (longest, ttl)] {
            // The epoch's last entry: due, then written (waiting behind a group, then sent
            // for at most half the TTL); then, once old, a look trims it and a look on each
            // node destroys the key.
            let last_entry = pace.rotate_after + pace.every + ttl + ttl / 2;
            assert!(last_entry + pace.every * 2 <= pace.epoch, "{pace:?}");
            assert!(pace.epoch <= pace.retain / 4 + ttl * 2, "{pace:?}");
        }
        assert_eq!(
            Pace::new(Duration::from_millis(400), ttl).every,
            SHORTEST_LOOK
        );
    }
}
