//! `crm-server tail --connect ADDR --user U [--from SEQ]`: follows the change feed and prints
//! one JSON line per change, flushed at once — a pipe into other tools.

use super::remote::login;
use super::secrets::Secrets;
use anyhow::Context;
use std::io::Write;
use std::time::Duration;

/// How long one `XREAD` waits before the follower checks that the feed did not go back.
const WAIT: Duration = Duration::from_secs(5);

/// Follows the feed from after entry `from` (`None`: from now).
pub fn tail(address: &str, user: &str, from: Option<u64>, secrets: &Secrets) -> anyhow::Result<()> {
    let mut client = login(address, user, secrets)?;
    client.set_timeout(Some(WAIT + Duration::from_secs(30)))?;
    let mut after = match from {
        Some(seq) => seq,
        None => client
            .last_feed_entry()
            .context("reading the change feed")?
            .map_or(0, |e| e.seq),
    };
    let stdout = std::io::stdout();
    loop {
        let changes = client
            .read_feed(after, Some(WAIT))
            .context("reading the change feed")?;
        if changes.is_empty() {
            // A feed whose last entry is below ours was restored from an older backup: the
            // contract says to read it again from the start.
            let last = client.last_feed_entry()?.map_or(0, |e| e.seq);
            if last < after {
                eprintln!("crm-server tail: the feed went back to {last} (a restore?); reading again from 0");
                after = 0;
            }
            continue;
        }
        let mut out = stdout.lock();
        for change in &changes {
            writeln!(out, "{}", change.to_json())?;
            after = after.max(change.seq);
        }
        out.flush()?;
    }
}
