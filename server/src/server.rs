//! The accept loop: a connection cap, one task per connection, and a clean shutdown.

use crate::connection;
use crate::state::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// Accepts connections until `shutdown` resolves, then waits for the connections to finish
/// the commands they are running and returns.
pub async fn run(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(shared.config.max_connections));
    let (stop_sender, stop_receiver) = watch::channel(false);
    let mut connections = JoinSet::new();
    let purger = tokio::spawn(purge_expired_merges(shared.clone()));
    let sweeper = tokio::spawn(sweep_dropped_fields(shared.clone()));
    let announcer = tokio::spawn(crate::cluster::announce::switch_master(shared.clone()));
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (mut stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection refused: max number of clients reached");
            // The refusal fits in the socket's buffer; a client that never reads still cannot
            // keep this task for more than a second.
            connections.spawn(async move {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
                    let _ = stream
                        .write_all(b"-ERR max number of clients reached\r\n")
                        .await;
                    let _ = stream.shutdown().await;
                })
                .await;
            });
            continue;
        };
        let accepted = tokio::time::Instant::now();
        let id = shared.next_connection_id.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        let stop = stop_receiver.clone();
        connections.spawn(async move {
            shared.connected_clients.fetch_add(1, Ordering::Relaxed);
            tracing::info!(connection = id, %peer, "connection opened");
            connection::serve(shared.clone(), stream, stop, id, peer.ip(), accepted).await;
            shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
            tracing::info!(connection = id, "connection closed");
            drop(permit);
        });
        // Reap finished connection tasks so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    purger.abort();
    sweeper.abort();
    announcer.abort();
    shared.shutting_down.store(true, Ordering::Relaxed);
    tracing::info!("shutting down: no new connections; finishing commands in flight");
    let _ = stop_sender.send(true);
    while connections.join_next().await.is_some() {}
}

/// Drops merges past their 30 days once an hour (the store also does at open), so that the
/// merged-away customers' keys do not outlive the promise.
async fn purge_expired_merges(shared: Arc<Shared>) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    every_hour.tick().await;
    loop {
        every_hour.tick().await;
        // In a cluster the purge is a write: the leader's, carried to the others by the log.
        if shared.cluster.as_ref().is_some_and(|c| !c.is_leader()) {
            continue;
        }
        let store = shared.store.clone();
        match tokio::task::spawn_blocking(move || store.purge_expired_merges()).await {
            Ok(Ok(true)) => tracing::info!("purged the merges older than 30 days"),
            Ok(Ok(false)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "purging expired merges failed"),
            Err(error) => tracing::warn!(%error, "purging expired merges failed"),
        }
    }
}

/// Takes dropped custom fields' values out of the records (`SCHEMA.FIELD.DROP`), a page at a
/// time with a pause between pages so that it never crowds out the clients' writes; looks
/// for a dropped field once a second when none is being swept (a restart resumes the sweep).
async fn sweep_dropped_fields(shared: Arc<Shared>) {
    loop {
        let pause = if shared.cluster.as_ref().is_some_and(|c| !c.is_leader()) {
            std::time::Duration::from_secs(1)
        } else {
            let store = shared.store.clone();
            match tokio::task::spawn_blocking(move || store.sweep_dropped_fields()).await {
                Ok(Ok(crm_engine::SweepStep::Swept)) => std::time::Duration::from_millis(10),
                Ok(Ok(crm_engine::SweepStep::Finished)) => {
                    tracing::info!("a dropped custom field's values are all removed");
                    std::time::Duration::from_millis(10)
                }
                Ok(Ok(crm_engine::SweepStep::Idle)) => std::time::Duration::from_secs(1),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "sweeping a dropped custom field failed");
                    std::time::Duration::from_secs(5)
                }
                Err(error) => {
                    tracing::warn!(%error, "sweeping a dropped custom field failed");
                    std::time::Duration::from_secs(5)
                }
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// Takes over SIGINT and SIGTERM at once, and returns what resolves on either. At once, not
/// when first polled: the accept loop may answer a client before it polls the shutdown, and a
/// TERM sent once the server answered would otherwise find the default action and kill it
/// without closing the store (seen: 4 starts in 40 under load).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        );
        async move {
            match streams {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
