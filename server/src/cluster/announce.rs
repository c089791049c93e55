//! Sentinel's `+switch-master` message, published on every node when it learns that a new
//! leader took over, so clients that listen (Jedis, Lettuce, go-redis) switch without polling.

use super::host_port;
use crate::state::Shared;
use std::sync::Arc;

/// Follows the node's view until the server stops; publishes
/// `NAME old-host old-port new-host new-port` at each change of leader.
pub async fn switch_master(shared: Arc<Shared>) {
    let Some(cluster) = shared.cluster.as_ref() else {
        return;
    };
    let mut view = cluster.subscribe();
    let mut last = view.borrow().leader.clone().map(|l| (l.node, l.advertise));
    // The leader before the current one, for the message's old address.
    let mut previous = view.borrow().last_leader.clone().map(|l| l.advertise);
    while view.changed().await.is_ok() {
        let now = view.borrow().leader.clone().map(|l| (l.node, l.advertise));
        if now == last {
            continue;
        }
        if let Some((_, new_address)) = &now {
            let old = last
                .as_ref()
                .map(|(_, address)| address.clone())
                .or_else(|| previous.clone())
                .unwrap_or_default();
            if old != *new_address {
                let (old_host, old_port) = host_port(&old);
                let (new_host, new_port) = host_port(new_address);
                let text = format!(
                    "{} {old_host} {old_port} {new_host} {new_port}",
                    cluster.name
                );
                let listeners = shared.publish_switch_master(&text);
                tracing::info!(listeners, "+switch-master {text}");
            }
            previous = Some(new_address.clone());
        }
        last = now;
    }
}
