//! The cluster end to end (PROTOCOL.md, "Cluster: high availability on etcd"): a real
//! 3-member etcd and 3 `crm-server` nodes on free loopback ports, driven by an independent
//! Redis client (and redis-py's Sentinel support): reads on every node, `READONLY` on
//! followers, failover under writers with every acknowledged write kept, a paused leader,
//! etcd losing members and quorum, joining and restarted nodes, what etcd's disks hold, and
//! the start-up refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crm_tests::cluster::{folder_contains, EtcdCluster};
use crm_tests::nodes::{connect, CrmCluster, LEASE_TTL};
use redis::Value;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Nil => "nil".into(),
        other => format!("{other:?}"),
    }
}

fn query(con: &mut redis::Connection, words: &[&str]) -> redis::RedisResult<Value> {
    crm_tests::send_words(con, words)
}

fn error_code(result: redis::RedisResult<Value>) -> String {
    match result {
        Err(e) => e.code().unwrap_or("?").to_string(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// `AUDIT.HEAD`, the counts and `STATS.CUSTOMERS` of node `i`: what must be equal everywhere.
fn fingerprint(cluster: &CrmCluster, i: usize) -> (String, String, String) {
    let mut con = cluster.connect(i);
    let head = text(&query(&mut con, &["AUDIT.HEAD"]).unwrap());
    let info: String = redis::cmd("INFO").query(&mut con).unwrap();
    let counts = info
        .lines()
        .filter(|l| {
            l.starts_with("customers:") || l.starts_with("products:") || l.starts_with("orders:")
        })
        .collect::<Vec<_>>()
        .join(",");
    let stats = format!(
        "{:?}",
        query(&mut con, &["STATS.CUSTOMERS", "LIMIT", "100000"]).unwrap()
    );
    (head, counts, stats)
}

fn followers_of(cluster: &CrmCluster, leader: usize) -> Vec<usize> {
    (0..cluster.nodes.len()).filter(|&i| i != leader).collect()
}

#[test]
fn writes_on_the_leader_are_read_on_every_follower_and_a_write_on_a_follower_is_readonly() {
    let etcd = EtcdCluster::start();
    let cluster = CrmCluster::start(&etcd, 3);
    let leader = cluster.wait_leader(Duration::from_secs(30));
    let mut con = cluster.connect(leader);
    let product = text(
        &query(
            &mut con,
            &[
                "PRODUCT.ADD",
                "NAME",
                "Lamp",
                "PRICE",
                "12.50",
                "STOCK",
                "10",
            ],
        )
        .unwrap(),
    );
    // A custom field declared on the leader travels with its group: followers show it,
    // take it in queries (indexed: from their own rows in memory) and refuse to change it.
    query(
        &mut con,
        &[
            "SCHEMA.FIELD.ADD",
            "customer",
            "tier",
            "TYPE",
            "integer",
            "INDEXED",
        ],
    )
    .unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        let id = text(
            &query(
                &mut con,
                &[
                    "CUSTOMER.ADD",
                    "NAME",
                    &format!("Ada {i}"),
                    "EMAIL",
                    &format!("ada{i}@example.com"),
                    "tier",
                    &i.to_string(),
                ],
            )
            .unwrap(),
        );
        ids.push(id);
    }
    query(
        &mut con,
        &[
            "ORDER.ADD",
            "CUSTOMER",
            &ids[0],
            "PRODUCT",
            &product,
            "QUANTITY",
            "2",
        ],
    )
    .unwrap();
    // A field indexed after its values were written: each follower builds the index after
    // applying the group that turns it on.
    query(
        &mut con,
        &["SCHEMA.FIELD.ADD", "customer", "rank", "TYPE", "integer"],
    )
    .unwrap();
    for (i, id) in ids.iter().enumerate().step_by(2) {
        let rank = (i % 3).to_string();
        query(&mut con, &["CUSTOMER.UPDATE", id, "rank", &rank]).unwrap();
    }
    query(&mut con, &["SCHEMA.FIELD.INDEX", "customer", "rank", "ON"]).unwrap();
    let ranked = ["CUSTOMER.QUERY", "WHERE", "rank", "=", "1", "LIMIT", "50"];
    let expected_ranked = format!("{:?}", query(&mut con, &ranked).unwrap());
    assert!(
        expected_ranked.contains("ada4@example.com"),
        "{expected_ranked}"
    );
    let schema = format!(
        "{:?}",
        query(&mut con, &["SCHEMA.LIST", "customer"]).unwrap()
    );
    cluster.wait_converged(Duration::from_secs(30));
    let expected = text(&query(&mut con, &["CUSTOMER.GET", &ids[7]]).unwrap());
    assert!(
        expected.contains(r#""fields":{"tier":7,"rank":null}"#),
        "{expected}"
    );
    let top_tiers = [
        "CUSTOMER.QUERY",
        "WHERE",
        "tier",
        ">=",
        "15",
        "SORT",
        "tier",
        "DESC",
    ];
    let expected_top = format!("{:?}", query(&mut con, &top_tiers).unwrap());
    assert!(expected_top.contains("ada19@example.com"), "{expected_top}");
    let leader_print = fingerprint(&cluster, leader);
    for f in followers_of(&cluster, leader) {
        let mut follower = cluster.connect(f);
        assert_eq!(
            text(&query(&mut follower, &["CUSTOMER.GET", &ids[7]]).unwrap()),
            expected
        );
        assert_eq!(
            format!("{:?}", query(&mut follower, &ranked).unwrap()),
            expected_ranked
        );
        // Built just after the group is applied: a moment after the node caught up.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let listed = format!(
                "{:?}",
                query(&mut follower, &["SCHEMA.LIST", "customer"]).unwrap()
            );
            if listed == schema {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "node {f}'s index of rank is not built: {listed}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let found = query(
            &mut follower,
            &["CUSTOMER.FIND", "EMAIL", "ada3@example.com"],
        )
        .unwrap();
        assert!(format!("{found:?}").contains("ada3@example.com"));
        assert_eq!(
            format!("{:?}", query(&mut follower, &top_tiers).unwrap()),
            expected_top
        );
        assert_eq!(
            fingerprint(&cluster, f),
            leader_print,
            "node {f} differs from the leader"
        );
        // Every write, valid or not in its values, is READONLY and changes nothing.
        let writes: Vec<Vec<&str>> = vec![
            vec!["CUSTOMER.ADD", "NAME", "Eve", "EMAIL", "eve@example.com"],
            vec!["SCHEMA.FIELD.ADD", "customer", "region", "TYPE", "text"],
            vec!["CUSTOMER.ADD", "NAME", "Eve", "EMAIL", "not-an-email"],
            vec!["CUSTOMER.UPDATE", &ids[1], "NAME", "Changed"],
            vec!["CUSTOMER.DEL", &ids[2]],
            vec!["CUSTOMER.UPSERT", "EMAIL", "ada1@example.com", "NAME", "X"],
            vec!["CUSTOMER.MERGE", &ids[3], &ids[4]],
            vec!["CUSTOMER.UNMERGE", &ids[4]],
            vec!["CUSTOMER.REVEAL", &ids[5]],
            vec!["CUSTOMER.EXPORT", &ids[5]],
            vec!["CUSTOMER.FORGET", &ids[6]],
            vec!["PRODUCT.ADD", "NAME", "Desk", "PRICE", "1.00"],
            vec!["PRODUCT.UPDATE", &product, "PRICE", "2.00"],
            vec![
                "ORDER.ADD",
                "CUSTOMER",
                &ids[0],
                "PRODUCT",
                &product,
                "QUANTITY",
                "1",
            ],
            vec!["ORDER.DEL", "1"],
            vec!["USER.ADD", "bob", "bob-password-1", "ROLE", "reader"],
            vec!["USER.PASSWD", "admin", "another-password-1"],
            vec!["USER.MASK", "admin", "ON"],
            vec!["USER.DEL", "admin"],
            vec!["BACKUP"],
        ];
        for write in &writes {
            assert_eq!(
                error_code(query(&mut follower, write)),
                "READONLY",
                "{write:?} on node {f}"
            );
        }
        assert_eq!(
            fingerprint(&cluster, f),
            leader_print,
            "a refused write changed node {f}"
        );
        // The replica's side of the Redis shapes.
        let role: Vec<Value> = redis::cmd("ROLE").query(&mut follower).unwrap();
        assert_eq!(text(&role[0]), "slave");
        assert_eq!(text(&role[1]), "127.0.0.1");
        assert_eq!(role[2], Value::Int(i64::from(cluster.nodes[leader].port)));
        assert_eq!(text(&role[3]), "connected");
        let hello = format!("{:?}", query(&mut follower, &["HELLO", "2"]).unwrap());
        assert!(hello.contains("replica"), "{hello}");
        assert_eq!(cluster.info_field(f, "role").as_deref(), Some("slave"));
        assert_eq!(
            cluster.info_field(f, "master_link_status").as_deref(),
            Some("up")
        );
        assert_eq!(
            cluster.info_field(f, "master_port"),
            Some(cluster.nodes[leader].port.to_string())
        );
    }
    // The leader's side, and Sentinel's.
    let role: Vec<Value> = redis::cmd("ROLE").query(&mut con).unwrap();
    assert_eq!(text(&role[0]), "master");
    match &role[2] {
        Value::Array(replicas) => assert_eq!(replicas.len(), 2, "{role:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        cluster.info_field(leader, "connected_slaves").as_deref(),
        Some("2")
    );
    let info: String = redis::cmd("INFO").query(&mut con).unwrap();
    assert!(info.contains("durability:cluster"), "{info}");
    for i in 0..3 {
        let mut any = cluster.connect(i);
        let addr: Vec<String> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg("crm-test")
            .query(&mut any)
            .unwrap();
        assert_eq!(
            addr,
            vec![
                "127.0.0.1".to_string(),
                cluster.nodes[leader].port.to_string()
            ]
        );
        let unknown: Value = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg("other")
            .query(&mut any)
            .unwrap();
        assert_eq!(unknown, Value::Nil);
        assert_eq!(
            error_code(query(&mut any, &["SENTINEL", "MASTER", "other"])),
            "ERR"
        );
        let masters: Vec<std::collections::HashMap<String, String>> = redis::cmd("SENTINEL")
            .arg("MASTERS")
            .query(&mut any)
            .unwrap();
        assert_eq!(masters.len(), 1);
        assert_eq!(masters[0]["name"], "crm-test");
        assert_eq!(masters[0]["flags"], "master");
        assert_eq!(masters[0]["num-slaves"], "2");
        assert_eq!(masters[0]["num-other-sentinels"], "2");
        assert_eq!(masters[0]["quorum"], "2");
        assert_eq!(masters[0]["runid"].len(), 40);
        let replicas: Vec<std::collections::HashMap<String, String>> = redis::cmd("SENTINEL")
            .arg("REPLICAS")
            .arg("crm-test")
            .query(&mut any)
            .unwrap();
        assert_eq!(replicas.len(), 2);
        assert!(replicas
            .iter()
            .all(|r| r["flags"] == "slave" && r["master-link-status"] == "ok"));
        let sentinels: Vec<std::collections::HashMap<String, String>> = redis::cmd("SENTINEL")
            .arg("SENTINELS")
            .arg("crm-test")
            .query(&mut any)
            .unwrap();
        assert_eq!(sentinels.len(), 2);
        assert!(sentinels.iter().all(|s| s["flags"] == "sentinel"));
    }
}

/// Writers that remember every write acknowledged to them, whichever node leads.
struct Writers {
    acknowledged: Arc<Mutex<BTreeSet<String>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Writers {
    fn start(ports: Vec<u16>, count: usize) -> Writers {
        let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..count)
            .map(|w| {
                let (acknowledged, stop, ports) =
                    (acknowledged.clone(), stop.clone(), ports.clone());
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    let mut con: Option<(u16, redis::Connection)> = None;
                    while !stop.load(Ordering::Relaxed) {
                        if con.is_none() {
                            // Find the leader the way a client would: ask any node.
                            for &port in &ports {
                                if let Ok(mut c) = connect(port) {
                                    let addr: redis::RedisResult<Vec<String>> =
                                        redis::cmd("SENTINEL")
                                            .arg("GET-MASTER-ADDR-BY-NAME")
                                            .arg("crm-test")
                                            .query(&mut c);
                                    if let Ok(addr) = addr {
                                        if let Some(p) = addr.get(1).and_then(|p| p.parse().ok()) {
                                            if let Ok(c) = connect(p) {
                                                con = Some((p, c));
                                                break;
                                            }
                                        }
                                    }
                                }
                            }
                            if con.is_none() {
                                std::thread::sleep(Duration::from_millis(100));
                                continue;
                            }
                        }
                        let email = format!("w{w}-{n}@example.com");
                        let (_, c) = con.as_mut().unwrap();
                        match query(c, &["CUSTOMER.ADD", "NAME", "Writer", "EMAIL", &email]) {
                            Ok(_) => {
                                acknowledged.lock().unwrap().insert(email);
                                n += 1;
                            }
                            Err(e) => {
                                // READONLY / CLUSTERDOWN: not applied; TRYAGAIN: unknown;
                                // I/O: unknown. None of these is counted as acknowledged.
                                if e.code() == Some("TRYAGAIN") || e.is_io_error() {
                                    n += 1; // never reuse an email whose outcome is unknown
                                }
                                con = None;
                                std::thread::sleep(Duration::from_millis(50));
                            }
                        }
                    }
                })
            })
            .collect();
        Writers {
            acknowledged,
            stop,
            threads,
        }
    }

    fn acknowledged(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    fn finish(self) -> BTreeSet<String> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        Arc::try_unwrap(self.acknowledged)
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// Every acknowledged email, found on node `i`.
fn assert_all_present(cluster: &CrmCluster, i: usize, emails: &BTreeSet<String>) {
    let mut con = cluster.connect(i);
    for email in emails {
        let found = query(&mut con, &["CUSTOMER.FIND", "EMAIL", email]).unwrap();
        assert!(
            matches!(&found, Value::Array(items) if items.len() == 1),
            "acknowledged {email} missing on node {i}: {found:?}"
        );
    }
}

#[test]
fn killing_the_leader_under_eight_writers_loses_no_acknowledged_write() {
    let etcd = EtcdCluster::start();
    let mut cluster = CrmCluster::start(&etcd, 3);
    let ports: Vec<u16> = cluster.nodes.iter().map(|n| n.port).collect();
    let writers = Writers::start(ports, 8);
    for round in 0..3 {
        let leader = cluster.wait_leader(Duration::from_secs(30));
        let before = writers.acknowledged();
        let deadline = Instant::now() + Duration::from_secs(30);
        while writers.acknowledged() < before + 20 {
            assert!(
                Instant::now() < deadline,
                "round {round}: writes do not go on"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // A client listening on Sentinel's channel at a follower hears the switch.
        let listener = followers_of(&cluster, leader)[0];
        let mut subscriber = cluster.connect(listener);
        redis::cmd("SUBSCRIBE")
            .arg("+switch-master")
            .exec(&mut subscriber)
            .unwrap();
        cluster.kill(leader);
        let killed = Instant::now();
        let new_leader = cluster.wait_leader(Duration::from_secs(60));
        let took = killed.elapsed();
        assert_ne!(new_leader, leader);
        let message: Vec<Value> = subscriber
            .recv_response()
            .map(|v| match v {
                Value::Array(items) | Value::Push { data: items, .. } => items,
                other => vec![other],
            })
            .unwrap();
        assert_eq!(text(&message[0]), "message");
        assert_eq!(
            text(&message[2]),
            format!(
                "crm-test 127.0.0.1 {} 127.0.0.1 {}",
                cluster.nodes[leader].port, cluster.nodes[new_leader].port
            )
        );
        eprintln!(
            "round {round}: node {new_leader} leads {took:?} after the kill of node {leader}"
        );
        cluster.launch(leader);
    }
    let before = writers.acknowledged();
    let deadline = Instant::now() + Duration::from_secs(30);
    while writers.acknowledged() < before + 20 {
        assert!(
            Instant::now() < deadline,
            "writes do not go on after the last round"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let acknowledged = writers.finish();
    cluster.wait_converged(Duration::from_secs(60));
    let print = fingerprint(&cluster, 0);
    for i in 0..3 {
        assert_all_present(&cluster, i, &acknowledged);
        assert_eq!(
            fingerprint(&cluster, i),
            print,
            "node {i} differs from node 0"
        );
    }
}

#[test]
fn a_leader_paused_past_its_lease_acknowledges_nothing_and_comes_back_as_a_follower() {
    let etcd = EtcdCluster::start();
    let cluster = CrmCluster::start(&etcd, 3);
    let leader = cluster.wait_leader(Duration::from_secs(30));
    // A write sent to the leader just before it is paused: whatever it answers after the
    // pause must be true of the log.
    let mut paused_con = cluster.connect(leader);
    cluster.signal(leader, "STOP");
    let pending = std::thread::spawn(move || {
        query(
            &mut paused_con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                "Paused",
                "EMAIL",
                "paused@example.com",
            ],
        )
        .map(|v| text(&v))
        .map_err(|e| e.code().unwrap_or("io").to_string())
    });
    std::thread::sleep(Duration::from_secs(LEASE_TTL * 2 + 1));
    let others: Vec<usize> = followers_of(&cluster, leader);
    let new_leader = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(&i) = others
                .iter()
                .find(|&&i| cluster.role(i).as_deref() == Some("master"))
            {
                break i;
            }
            assert!(
                Instant::now() < deadline,
                "no new leader while the old one is paused"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let mut con = cluster.connect(new_leader);
    let deadline = Instant::now() + Duration::from_secs(30);
    // Each attempt has an email of its own: one answered TRYAGAIN may be in the log.
    for attempt in 0.. {
        let email = format!("new{attempt}@example.com");
        match query(&mut con, &["CUSTOMER.ADD", "NAME", "New", "EMAIL", &email]) {
            Ok(_) => break,
            Err(e) => assert!(
                Instant::now() < deadline,
                "the new leader takes no writes: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.signal(leader, "CONT");
    let outcome = pending.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.role(leader).as_deref() != Some("slave") {
        assert!(
            Instant::now() < deadline,
            "the resumed node is not a follower"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.wait_converged(Duration::from_secs(30));
    let mut old = cluster.connect(leader);
    assert_eq!(
        error_code(query(
            &mut old,
            &["CUSTOMER.ADD", "NAME", "Old", "EMAIL", "old@example.com"]
        )),
        "READONLY"
    );
    let found = query(&mut con, &["CUSTOMER.FIND", "EMAIL", "paused@example.com"]).unwrap();
    let in_log = matches!(&found, Value::Array(items) if items.len() == 1);
    match outcome.as_ref().map_err(String::as_str) {
        Ok(_) => assert!(in_log, "acknowledged while paused but not in the log"),
        Err("READONLY" | "CLUSTERDOWN") => assert!(!in_log, "refused but in the log"),
        Err(_) => {} // TRYAGAIN or a lost connection: either is true.
    }
    for i in 0..3 {
        assert_eq!(fingerprint(&cluster, i), fingerprint(&cluster, new_leader));
    }
}

/// Adds a customer named `name` on whichever node takes it, as a client following the leader
/// would: every node is tried in turn until one acknowledges (a failover may move the leader
/// while etcd loses or regains members). Each attempt has an email of its own, since one whose
/// outcome was unknown (`TRYAGAIN`) may be in the log. Panics after `within` with each node's
/// last answer and the logs; returns the node that acknowledged.
fn write_on_the_leader(cluster: &CrmCluster, name: &str, within: Duration, what: &str) -> usize {
    let deadline = Instant::now() + within;
    let mut last = vec![String::from("not tried"); cluster.nodes.len()];
    for attempt in 0.. {
        let email = format!("{name}{attempt}@example.com");
        let words = ["CUSTOMER.ADD", "NAME", name, "EMAIL", &email];
        for (i, answer) in last.iter_mut().enumerate() {
            match connect(cluster.nodes[i].port).and_then(|mut con| query(&mut con, &words)) {
                Ok(_) => return i,
                Err(e) => *answer = e.to_string(),
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {last:?}\n{}",
            (0..cluster.nodes.len())
                .map(|i| cluster.log(i))
                .collect::<Vec<_>>()
                .join("\n----\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    unreachable!("attempts are unbounded")
}

#[test]
fn etcd_losing_a_member_then_its_quorum_then_recovering() {
    let mut etcd = EtcdCluster::start();
    let cluster = CrmCluster::start(&etcd, 3);
    let leader = cluster.wait_leader(Duration::from_secs(30));
    let mut con = cluster.connect(leader);
    query(
        &mut con,
        &["CUSTOMER.ADD", "NAME", "A", "EMAIL", "a@example.com"],
    )
    .unwrap();
    // One member down: writes go on (on a new leader if the old one lost its lease meanwhile).
    etcd.kill(2);
    let leader = write_on_the_leader(
        &cluster,
        "B",
        Duration::from_secs(30),
        "writes stopped with one etcd member down",
    );
    // Quorum lost: CLUSTERDOWN on every node, reads go on.
    etcd.stop(1);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut con = cluster.connect(leader);
        match query(
            &mut con,
            &["CUSTOMER.ADD", "NAME", "C", "EMAIL", "c@example.com"],
        ) {
            Err(e) if e.code() == Some("CLUSTERDOWN") => break,
            Err(e) if e.code() == Some("TRYAGAIN") => {}
            Err(e) if e.is_io_error() || e.is_timeout() => {}
            other => assert!(
                Instant::now() < deadline,
                "no CLUSTERDOWN without a quorum: {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for i in 0..3 {
        let mut con = cluster.connect(i);
        let found = query(&mut con, &["CUSTOMER.FIND", "EMAIL", "a@example.com"]).unwrap();
        assert!(
            matches!(&found, Value::Array(items) if items.len() == 1),
            "node {i}: {found:?}"
        );
        let refused = query(
            &mut con,
            &["CUSTOMER.ADD", "NAME", "D", "EMAIL", "d@example.com"],
        );
        assert!(
            matches!(
                refused.as_ref().map_err(|e| e.code()),
                Err(Some("CLUSTERDOWN" | "TRYAGAIN"))
            ),
            "node {i}: {refused:?}"
        );
    }
    // Quorum back: writes resume by themselves (the leader may have changed: the old one's
    // lease could not be kept without a quorum).
    etcd.cont(1);
    write_on_the_leader(
        &cluster,
        "E",
        Duration::from_secs(60),
        "writes did not resume with the quorum back",
    );
    cluster.wait_converged(Duration::from_secs(30));
}

#[test]
fn a_node_joining_empty_under_load_and_a_node_restarted_after_downtime_catch_up() {
    let etcd = EtcdCluster::start();
    let mut cluster = CrmCluster::start(&etcd, 2);
    let leader = cluster.wait_leader(Duration::from_secs(30));
    let follower = 1 - leader;
    cluster.kill(follower);
    let ports: Vec<u16> = vec![cluster.nodes[leader].port];
    let writers = Writers::start(ports, 4);
    std::thread::sleep(Duration::from_secs(2));
    // A third node joins empty while the writers write.
    cluster.nodes.push(crm_tests::nodes::CrmNode::new("n3"));
    cluster.launch(2);
    cluster.wait_synced(2, Duration::from_secs(60));
    // The follower comes back on its own folder after missing writes.
    cluster.launch(follower);
    std::thread::sleep(Duration::from_secs(1));
    let acknowledged = writers.finish();
    assert!(!acknowledged.is_empty());
    cluster.wait_converged(Duration::from_secs(60));
    // A clean stop (SIGTERM) and a start again on the joiner's folder.
    cluster.signal(2, "TERM");
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.is_running(2) {
        assert!(Instant::now() < deadline, "node 3 did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    cluster.launch(2);
    cluster.wait_converged(Duration::from_secs(60));
    let print = fingerprint(&cluster, leader);
    for i in 0..3 {
        assert_all_present(&cluster, i, &acknowledged);
        assert_eq!(
            fingerprint(&cluster, i),
            print,
            "node {i} differs from the leader"
        );
    }
}

#[test]
fn redis_py_sentinel_writes_across_a_failover_with_its_own_retry() {
    let etcd = EtcdCluster::start();
    let mut cluster = CrmCluster::start(&etcd, 3);
    let leader = cluster.wait_leader(Duration::from_secs(30));
    let ports: Vec<String> = cluster.nodes.iter().map(|n| n.port.to_string()).collect();
    let script = r#"
import sys, time, redis
from redis.sentinel import Sentinel
ports = [int(p) for p in sys.argv[1].split(",")]
auth = dict(username="admin", password=sys.argv[2])
sentinel = Sentinel([("127.0.0.1", p) for p in ports], sentinel_kwargs=auth, socket_timeout=5, **auth)
master = sentinel.master_for("crm-test", socket_timeout=5, **auth)
replica = sentinel.slave_for("crm-test", socket_timeout=5, **auth)
phase = sys.argv[3]
done = 0
deadline = time.time() + 60
while done < 10 and time.time() < deadline:
    try:
        master.execute_command("CUSTOMER.ADD", "NAME", "Py", "EMAIL", f"py-{phase}-{done}@example.com")
        done += 1
    except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, redis.ResponseError) as e:
        sentinel = Sentinel([("127.0.0.1", p) for p in ports], sentinel_kwargs=auth, socket_timeout=5, **auth)
        master = sentinel.master_for("crm-test", socket_timeout=5, **auth)
        time.sleep(0.3)
print(done, sentinel.discover_master("crm-test")[1])
print(replica.execute_command("PING"))
"#;
    let run = |phase: &str| {
        let output = std::process::Command::new("python3")
            .args([
                "-c",
                script,
                &ports.join(","),
                crm_tests::ADMIN_PASSWORD,
                phase,
            ])
            .output()
            .expect("python3 with redis-py (pip install redis)");
        assert!(
            output.status.success(),
            "redis-py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = run("before");
    assert!(
        first.starts_with(&format!("10 {}", cluster.nodes[leader].port)),
        "{first}"
    );
    cluster.kill(leader);
    let second = run("after");
    let new_leader = cluster.wait_leader(Duration::from_secs(30));
    assert!(
        second.starts_with(&format!("10 {}", cluster.nodes[new_leader].port)),
        "{second}"
    );
    let mut con = cluster.connect(new_leader);
    for phase in ["before", "after"] {
        for n in 0..10 {
            let found = query(
                &mut con,
                &[
                    "CUSTOMER.FIND",
                    "EMAIL",
                    &format!("py-{phase}-{n}@example.com"),
                ],
            )
            .unwrap();
            assert!(
                matches!(&found, Value::Array(items) if items.len() == 1),
                "py-{phase}-{n}"
            );
        }
    }
}

#[test]
fn etcd_data_folders_hold_none_of_the_written_names_emails_or_phones() {
    let etcd = EtcdCluster::start();
    let cluster = CrmCluster::start(&etcd, 3);
    let leader = cluster.wait_leader(Duration::from_secs(30));
    let mut con = cluster.connect(leader);
    for i in 0..50 {
        query(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                &format!("Zebediah Quixote{i}"),
                "EMAIL",
                &format!("zebediah.quixote{i}@secret-domain.example"),
                "PHONE",
                &format!("+4477009{i:05}"),
                "ADDRESS",
                &format!("{i} Xylophone Crescent"),
            ],
        )
        .unwrap();
    }
    cluster.wait_converged(Duration::from_secs(30));
    // Let etcd write what it writes (its WAL is synced per request already).
    std::thread::sleep(Duration::from_millis(500));
    for needle in [
        "Zebediah",
        "Quixote",
        "secret-domain",
        "+4477009",
        "Xylophone",
    ] {
        for dir in etcd.data_dirs() {
            assert!(
                !folder_contains(&dir, needle.as_bytes()),
                "{needle} found in {}",
                dir.display()
            );
        }
    }
    // The scan does find what is plain there: the cluster's key names.
    assert!(etcd
        .data_dirs()
        .iter()
        .any(|d| folder_contains(d, b"/crm/crm-test/log/")));
}

/// Runs `serve` for node `i` with some options replaced; expects exit 1 with one error line
/// (the last on stderr) containing `expected`.
fn refused(cluster: &CrmCluster, i: usize, overrides: &[(&str, &str)], expected: &str) {
    let output = cluster
        .command_with(i, overrides)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{overrides:?}: {stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("crm-server: "), "{stderr}");
    assert!(last.contains(expected), "expected {expected:?} in {last:?}");
}

fn listing(dir: &std::path::Path) -> Vec<(String, u64, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(listing(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            out.push((
                path.display().to_string(),
                bytes.len() as u64,
                blake3::hash(&bytes).as_bytes().to_vec(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn bad_configuration_is_refused_with_one_clear_line_and_changes_nothing() {
    let etcd = EtcdCluster::start();
    let mut cluster = CrmCluster::start(&etcd, 1);
    cluster.kill(0);
    let before = listing(&cluster.data_dir(0));
    refused(
        &cluster,
        0,
        &[("--cluster-name", "other-cluster")],
        "belongs to cluster",
    );
    refused(&cluster, 0, &[("--node", "bad name!")], "--node");
    refused(&cluster, 0, &[("--cluster-name", "")], "--cluster-name");
    refused(&cluster, 0, &[("--lease-ttl", "1")], "--lease-ttl");
    refused(&cluster, 0, &[("--lease-ttl", "61")], "--lease-ttl");
    refused(&cluster, 0, &[("--log-retain", "59")], "--log-retain");
    refused(&cluster, 0, &[("--durability", "periodic")], "--durability");
    let unreachable = format!("http://127.0.0.1:{}", crm_tests::free_port());
    refused(
        &cluster,
        0,
        &[("--cluster", &unreachable)],
        "etcd cannot be reached",
    );
    assert_eq!(
        listing(&cluster.data_dir(0)),
        before,
        "a refused start changed the folder"
    );
    // A store made with another key, and one with the cluster's key that never belonged to it.
    let other_key = crm_tests::TestServer::start();
    let mut other_key = other_key;
    other_key.signal_and_wait("TERM");
    let other_dir = other_key.data_dir();
    let other_before = listing(&other_dir);
    let (other_data, other_keyfile) = (
        other_dir.display().to_string(),
        other_key.dir.path().join("key").display().to_string(),
    );
    refused(
        &cluster,
        0,
        &[
            ("--data", &other_data),
            ("--key-file", &other_keyfile),
            ("--node", "n9"),
        ],
        "same key",
    );
    assert_eq!(listing(&other_dir), other_before);
    let lone_dir = cluster.dir.path().join("lone");
    let port = crm_tests::free_port();
    let mut lone = std::process::Command::new(crm_tests::server_binary())
        .arg("serve")
        .arg("--data")
        .arg(&lone_dir)
        .arg("--key-file")
        .arg(cluster.key_file())
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !crm_tests::ping(port) {
        assert!(
            Instant::now() < deadline,
            "the standalone server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::process::Command::new("kill")
        .arg(lone.id().to_string())
        .status()
        .unwrap();
    assert!(lone.wait().unwrap().success());
    let lone_before = listing(&lone_dir);
    let lone_data = lone_dir.display().to_string();
    refused(
        &cluster,
        0,
        &[("--data", &lone_data), ("--node", "n9")],
        "never belonged",
    );
    assert_eq!(listing(&lone_dir), lone_before);
    // The node comes back on its own folder after all that; an empty folder with its name
    // is refused while it lives.
    cluster.launch(0);
    cluster.wait_leader(Duration::from_secs(30));
    let twin = cluster.dir.path().join("twin");
    let (twin_data, twin_listen) = (
        twin.display().to_string(),
        format!("127.0.0.1:{}", crm_tests::free_port()),
    );
    refused(
        &cluster,
        0,
        &[("--data", &twin_data), ("--listen", &twin_listen)],
        "another live node is named",
    );
    assert!(
        !twin.exists() || listing(&twin).is_empty(),
        "the refused twin wrote files: {:?}",
        listing(&twin)
    );
}

#[test]
fn a_backup_taken_on_the_leader_restored_serves_as_the_first_node_of_a_new_cluster() {
    let etcd = EtcdCluster::start();
    let cluster = CrmCluster::start(&etcd, 2);
    let leader = cluster.wait_leader(Duration::from_secs(30));
    let mut con = cluster.connect(leader);
    for i in 0..5 {
        query(
            &mut con,
            &[
                "CUSTOMER.ADD",
                "NAME",
                "Kept",
                "EMAIL",
                &format!("kept{i}@example.com"),
            ],
        )
        .unwrap();
    }
    let backup = text(&query(&mut con, &["BACKUP", "cluster-copy"]).unwrap());
    assert!(backup.contains("cluster-copy"), "{backup}");
    let file = cluster
        .dir
        .path()
        .join("backups")
        .join("cluster-copy.crmbak");
    assert!(file.exists(), "no backup at {}", file.display());
    let restored = cluster.dir.path().join("restored");
    let status = std::process::Command::new(crm_tests::server_binary())
        .arg("restore")
        .arg(&file)
        .arg("--data")
        .arg(&restored)
        .arg("--key-file")
        .arg(cluster.key_file())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let port = crm_tests::free_port();
    let (data, listen) = (restored.display().to_string(), format!("127.0.0.1:{port}"));
    let mut node = cluster
        .command_with(
            0,
            &[
                ("--data", &data),
                ("--listen", &listen),
                ("--cluster-name", "crm-restored"),
                ("--node", "r1"),
            ],
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut restored_con = loop {
        if let Ok(mut c) = connect(port) {
            if query(
                &mut c,
                &["CUSTOMER.ADD", "NAME", "New", "EMAIL", "new@example.com"],
            )
            .is_ok()
            {
                break c;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the restored node takes no writes"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    for i in 0..5 {
        let found = query(
            &mut restored_con,
            &["CUSTOMER.FIND", "EMAIL", &format!("kept{i}@example.com")],
        )
        .unwrap();
        assert!(matches!(&found, Value::Array(items) if items.len() == 1));
    }
    let found = query(
        &mut restored_con,
        &["CUSTOMER.FIND", "EMAIL", "new@example.com"],
    )
    .unwrap();
    assert!(
        matches!(&found, Value::Array(items) if items.len() == 1),
        "the first write of the new cluster is lost"
    );
    let _ = node.kill();
    let _ = node.wait();
}
