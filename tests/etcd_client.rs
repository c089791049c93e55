//! The thin etcd client (`crm-cluster`'s `etcd/`) against a real 3-member etcd: keys and
//! transactions, compaction, watches, leases, login with token renewal, and the failures the
//! cluster must ride out: a killed member, a frozen (SIGSTOPped) member, a lost quorum.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crm_cluster::etcd::{
    Client, ClientOptions, Cmp, Compare, Credentials, EventKind, LeaseState, Op, Range, Txn,
};
use crm_cluster::Error;
use crm_tests::cluster::EtcdCluster;
use std::time::{Duration, Instant};

fn options(etcd: &EtcdCluster) -> ClientOptions {
    ClientOptions::for_lease_ttl(etcd.endpoints(), Duration::from_secs(2))
}

async fn client(etcd: &EtcdCluster) -> Client {
    Client::connect(options(etcd)).await.unwrap()
}

/// Retries `attempt` until it succeeds (60 s at most): for the moments etcd itself needs after
/// a member comes and goes.
async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crm_cluster::Result<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) if Instant::now() < deadline => {
                eprintln!("{what}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_transactions_compaction_and_watches() {
    let etcd = EtcdCluster::start();
    let client = client(&etcd).await;

    let first = client.put("/t/a", "1", 0).await.unwrap();
    client.put("/t/b", "2", 0).await.unwrap();
    client.put("/u/c", "3", 0).await.unwrap();
    assert!(client.contact().is_fresh(Duration::from_secs(5)));
    let all = client.range(Range::prefix("/t/")).await.unwrap();
    assert_eq!(all.kvs.len(), 2);
    assert_eq!(all.kvs[0].value, b"1");
    let last = client
        .range(Range::prefix("/t/").descending().limit(1).keys_only())
        .await
        .unwrap();
    assert_eq!(last.kvs[0].key, b"/t/b");
    assert!(last.kvs[0].value.is_empty());
    assert!(last.more);
    assert_eq!(last.count, 2);

    // A create-if-absent transaction: the first wins, the second reads the winner.
    let claim = |value: &'static str| {
        Txn::new()
            .when([Compare::create_revision("/t/leader", Cmp::Equal, 0)])
            .then([Op::put("/t/leader", value)])
            .otherwise([Op::get("/t/leader")])
    };
    let won = client.txn(claim("x")).await.unwrap();
    assert!(won.succeeded);
    let lost = client.txn(claim("y")).await.unwrap();
    assert!(!lost.succeeded);
    let holder = &lost.get(0).unwrap().kvs[0];
    assert_eq!(holder.value, b"x");
    assert_eq!(holder.create_revision, won.revision);

    // Watch from the first put's revision: every later change arrives, in order.
    let mut watcher = client
        .watch("/t/", crm_cluster::etcd::prefix_end(b"/t/"), first)
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let batch = watcher.next().await.unwrap();
        seen.extend(batch.events.into_iter().map(|e| (e.kind, e.kv.key)));
    }
    assert_eq!(seen[0], (EventKind::Put, b"/t/a".to_vec()));
    assert_eq!(seen[2], (EventKind::Put, b"/t/leader".to_vec()));
    let (_, deleted) = client.delete_range("/t/a", "").await.unwrap();
    assert_eq!(deleted, 1);
    let batch = watcher.next().await.unwrap();
    assert_eq!(batch.events[0].kind, EventKind::Delete);

    // Compaction: old revisions can no longer be read or watched, and say so.
    let now = client.put("/t/z", "9", 0).await.unwrap();
    client.compact(now).await.unwrap();
    match client.range(Range::key("/t/a").at_revision(first)).await {
        Err(Error::Compacted { .. }) => {}
        other => panic!("expected Compacted, got {other:?}"),
    }
    let mut old = client
        .watch("/t/", crm_cluster::etcd::prefix_end(b"/t/"), first)
        .await;
    let outcome = match old.as_mut() {
        Ok(watcher) => watcher.next().await.map(|_| ()),
        Err(e) => Err(Error::NotSent(e.to_string())),
    };
    match outcome {
        Err(Error::Compacted { compact_revision }) => assert_eq!(compact_revision, now),
        other => panic!("expected Compacted, got {other:?}"),
    }

    let status = client.status().await.unwrap();
    assert!(status.version.starts_with("3."), "{status:?}");
    assert!(status.db_size > 0);
    assert_ne!(status.leader, 0);
    let members = client.members().await.unwrap();
    assert_eq!(members.len(), 3);
    assert_eq!(crm_cluster::etcd::majority(&members), 2);
    assert!(members
        .iter()
        .any(|m| m.client_urls == [etcd.endpoints()[0].clone()]));

    // A client whose first endpoint is a follower member moves its calls to the raft
    // leader's member, and stays there.
    let leader_url = members
        .iter()
        .find(|m| m.id == status.leader)
        .map(|m| m.client_urls[0].clone())
        .unwrap();
    let mut followers_first = etcd.endpoints();
    followers_first.sort_by_key(|url| *url == leader_url);
    let moving = Client::connect(ClientOptions::for_lease_ttl(
        followers_first,
        Duration::from_secs(2),
    ))
    .await
    .unwrap();
    assert_ne!(moving.status().await.unwrap().endpoint, leader_url);
    assert!(moving.move_to_raft_leader().await.unwrap());
    let on_leader = moving.status().await.unwrap();
    assert_eq!(on_leader.endpoint, leader_url);
    assert_eq!(on_leader.member, on_leader.leader, "{on_leader:?}");
    assert!(!moving.move_to_raft_leader().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_keep_keys_alive_and_their_end_removes_them() {
    let etcd = EtcdCluster::start();
    let client = client(&etcd).await;
    let lease = client.grant(Duration::from_secs(2)).await.unwrap();
    client.put("/lease/kept", "v", lease.id).await.unwrap();
    let keeper = client.keep_alive(lease);
    // Well past the TTL the key is still there, renewed by the keeper.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(client.get("/lease/kept").await.unwrap().is_some());
    assert!(keeper.state().is_alive());

    // Revoked: the key goes at once, and the keeper learns the lease is gone.
    let mut state = keeper.subscribe();
    client.revoke(lease.id).await.unwrap();
    assert!(client.get("/lease/kept").await.unwrap().is_none());
    let expired = tokio::time::timeout(
        Duration::from_secs(30),
        state.wait_for(|s| *s == LeaseState::Expired),
    )
    .await;
    assert!(matches!(expired, Ok(Ok(_))));

    // Not renewed: the key goes by itself.
    let short = client.grant(Duration::from_secs(2)).await.unwrap();
    client.put("/lease/dropped", "v", short.id).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get("/lease/dropped").await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "the unrenewed lease never ran out"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_member_costs_nothing_and_a_frozen_one_is_left() {
    let mut etcd = EtcdCluster::start();
    let client = client(&etcd).await;
    client.put("/k", "0", 0).await.unwrap();

    // Killed: the client is on member 0; every call still succeeds on the others (a request
    // that could not connect was never sent, so it is retried at once).
    etcd.kill(0);
    for i in 0..20 {
        let value = format!("{i}");
        eventually("put with a member killed", || {
            client.put("/k", value.clone(), 0)
        })
        .await;
        assert_eq!(
            client.get("/k").await.unwrap().unwrap().value,
            value.as_bytes()
        );
    }
    etcd.restart(0);

    // Frozen: calls to it time out; reads move on to the next member by themselves, a write
    // reports an unknown outcome at worst, and the next call goes elsewhere.
    let client = self::client(&etcd).await;
    client.put("/k", "before", 0).await.unwrap();
    etcd.stop(0);
    let read = client.get("/k").await.unwrap();
    assert_eq!(read.unwrap().value, b"before");
    match client.put("/k", "during", 0).await {
        Ok(_) | Err(Error::Unknown(_)) => {}
        Err(e) => panic!("a put beside a frozen member failed: {e}"),
    }
    eventually("put with a member frozen", || client.put("/k", "after", 0)).await;
    let mut watcher = eventually("watch with a member frozen", || client.watch("/k", "", 0)).await;
    client.put("/k", "watched", 0).await.unwrap();
    let batch = tokio::time::timeout(Duration::from_secs(30), watcher.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.events[0].kv.value, b"watched");
    etcd.cont(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_writes_fail_without_success_and_contact_goes_stale() {
    let etcd = EtcdCluster::start();
    let client = client(&etcd).await;
    client.put("/q", "0", 0).await.unwrap();
    etcd.stop(1);
    etcd.stop(2);
    // Member 0 alone: a write either never reaches a quorum (not sent, no leader) or its answer
    // never comes; it is never a success. Tried for longer than a lease TTL.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        match client.put("/q", "1", 0).await {
            Ok(_) => panic!("a write succeeded without a quorum"),
            Err(Error::NotSent(_) | Error::Unknown(_)) => {}
            Err(e) => panic!("unexpected error class: {e}"),
        }
    }
    assert!(!client.contact().is_fresh(Duration::from_millis(1500)));
    // A serializable read still answers from the member alone.
    let stale = client.range(Range::key("/q").serializable()).await.unwrap();
    assert_eq!(stale.kvs.len(), 1);
    etcd.cont(1);
    etcd.cont(2);
    eventually("put after the quorum is back", || client.put("/q", "2", 0)).await;
    assert!(client.contact().is_fresh(Duration::from_secs(5)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_user_and_password_and_token_renewal() {
    // Tokens expire after 1 s idle, so the renewal path runs.
    let etcd = EtcdCluster::start_with(3, &["--auth-token-ttl", "1"]);
    let endpoints = etcd.endpoints_arg();
    for args in [
        vec!["user", "add", "root", "--new-user-password", "root-pw"],
        vec!["user", "add", "crm", "--new-user-password", "crm-pw"],
        vec!["role", "add", "crm"],
        vec![
            "role",
            "grant-permission",
            "crm",
            "readwrite",
            "/crm/",
            "--prefix=true",
        ],
        vec!["user", "grant-role", "crm", "crm"],
        vec!["auth", "enable"],
    ] {
        let status = std::process::Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .args(&args)
            .output()
            .expect("etcdctl (apt-get install etcd-client)");
        // Before `auth enable` no login is needed (and etcd refuses one).
        assert!(
            status.status.success(),
            "etcdctl {args:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
    let mut options = options(&etcd);
    options.credentials = Some(Credentials {
        user: "crm".into(),
        password: "crm-pw".to_string().into(),
    });
    let client = Client::connect(options.clone()).await.unwrap();
    client.put("/crm/x", "1", 0).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The token has expired: the call logs in again by itself.
    assert_eq!(client.get("/crm/x").await.unwrap().unwrap().value, b"1");
    // Outside its permission: refused, not retried.
    assert!(matches!(
        client.put("/other", "1", 0).await,
        Err(Error::Refused(_))
    ));
    // A wrong password is refused at connect.
    options.credentials = Some(Credentials {
        user: "crm".into(),
        password: "wrong".to_string().into(),
    });
    let refused = Client::connect(options).await.unwrap_err();
    assert!(matches!(refused, Error::Refused(_)), "{refused}");
    assert!(!refused.to_string().contains("wrong"));
    // Without credentials, etcd refuses.
    let anonymous = Client::connect(self::options(&etcd)).await.unwrap();
    assert!(matches!(
        anonymous.get("/crm/x").await,
        Err(Error::Refused(_))
    ));
}
