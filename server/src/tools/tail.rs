//! `crm-server tail --connect ADDR --user U [--from SEQ] [--once]`: follows the change feed and
//! prints one JSON line per change, flushed at once — a pipe into other tools.
//!
//! A follower runs under a supervisor for days, and its server restarts meanwhile: when the
//! server goes away (`BUSY` as it shuts down, the connection refused, reset or closed), `tail`
//! says so on stderr, logs in again with a growing pause between tries, and goes on after the
//! last entry it printed, so nothing is printed twice or skipped. `--once` exits instead, as
//! the first version did. A refused login is not retried: a wrong password stays wrong.

use super::remote::Login;
use anyhow::Context;
use crm_server::client::{Client, ClientError};
use std::io::Write;
use std::time::Duration;

/// How long one `XREAD` waits before the follower checks that the feed did not go back.
const WAIT: Duration = Duration::from_secs(5);

/// The first pause before logging in again; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// Follows the feed from after entry `from` (`None`: from now); `once`: exit when the server
/// goes away instead of waiting for it.
pub fn tail(login: &Login, from: Option<u64>, once: bool) -> anyhow::Result<()> {
    let mut client = connect(login)?;
    let mut after = match from {
        Some(seq) => seq,
        None => client
            .last_feed_entry()
            .context("reading the change feed")?
            .map_or(0, |e| e.seq),
    };
    loop {
        let error = match follow(&mut client, &mut after) {
            Ok(never) => match never {},
            Err(error) => error,
        };
        if once || !server_went_away(&error) {
            return Err(error);
        }
        eprintln!(
            "crm-server tail: lost the server at {} ({}); logging in again, then reading on after entry {after}",
            login.address,
            super::one_line(&error)
        );
        client = reconnect(login)?;
        eprintln!(
            "crm-server tail: logged in again to {}; reading on after entry {after}",
            login.address
        );
    }
}

fn connect(login: &Login) -> anyhow::Result<Client> {
    let mut client = login.connect()?;
    client.set_timeout(Some(WAIT + Duration::from_secs(30)))?;
    Ok(client)
}

/// Logs in again, pausing longer after each failed try, until the server answers; an error
/// that a retry cannot mend (a refused login) ends it.
fn reconnect(login: &Login) -> anyhow::Result<Client> {
    let mut pause = FIRST_PAUSE;
    loop {
        std::thread::sleep(pause);
        match connect(login) {
            Ok(client) => return Ok(client),
            Err(error) if server_went_away(&error) => {
                pause = (pause * 2).min(MAX_PAUSE);
            }
            Err(error) => return Err(error),
        }
    }
}

/// Prints the changes after `after` as they come, moving `after` past each one printed; returns
/// only with the error that stopped it.
fn follow(client: &mut Client, after: &mut u64) -> anyhow::Result<std::convert::Infallible> {
    let stdout = std::io::stdout();
    loop {
        let changes = client
            .read_feed(*after, Some(WAIT))
            .context("reading the change feed")?;
        if changes.is_empty() {
            // A feed whose last entry is below ours was restored from an older backup: the
            // contract says to read it again from the start.
            let last = client
                .last_feed_entry()
                .context("reading the change feed")?
                .map_or(0, |e| e.seq);
            if last < *after {
                eprintln!("crm-server tail: the feed went back to {last} (a restore?); reading again from 0");
                *after = 0;
            }
            continue;
        }
        let mut out = stdout.lock();
        for change in &changes {
            writeln!(out, "{}", change.to_json())?;
            *after = (*after).max(change.seq);
        }
        out.flush()?;
    }
}

/// Whether the error is the server going away (it may come back): the connection failed or
/// closed, or the server answered `BUSY` (shutting down, or still starting).
fn server_went_away(error: &anyhow::Error) -> bool {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ClientError>())
        .is_some_and(|client_error| match client_error {
            ClientError::Io(_) => true,
            ClientError::Server { code, .. } => code == "BUSY",
            ClientError::Protocol(_) => false,
        })
}
