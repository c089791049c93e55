//! The `+switch-master` publish hook in process: what the cluster code publishes reaches RESP2
//! and RESP3 subscribers, by channel and by pattern, in Redis's message shapes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crm_engine::{KeySource, MasterKey, Options, Store};
use crm_server::state::{Config, Shared};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PASSWORD: &str = "switch-master-test";

async fn expect(stream: &mut TcpStream, expected: &str) {
    let mut got = vec![0u8; expected.len()];
    tokio::time::timeout(Duration::from_secs(30), stream.read_exact(&mut got))
        .await
        .expect("the reply came")
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

async fn logged_in(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream
        .write_all(format!("AUTH admin {PASSWORD}\r\n").as_bytes())
        .await
        .unwrap();
    expect(&mut stream, "+OK\r\n").await;
    stream
}

#[tokio::test]
async fn a_published_switch_reaches_resp2_and_resp3_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        &KeySource::Key(MasterKey::generate()),
        &Options::default(),
    )
    .unwrap();
    crm_server::auth::bootstrap_admin(&store, Some(PASSWORD.to_string().into())).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        backup_dir: dir.path().join("backups"),
        listen: format!("127.0.0.1:{port}"),
        durability: crm_engine::Durability::Sync,
        max_connections: 16,
        idle_timeout: None,
        auth_timeout: None,
        backup_min_free_bytes: 0,
    };
    let shared = Arc::new(Shared::new(store, config));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crm_server::server::run(shared.clone(), listener, async {
        let _ = stopped.await;
    }));

    // Nobody listens yet.
    assert_eq!(
        shared.publish_switch_master("crm 127.0.0.1 1 127.0.0.1 2"),
        0
    );

    let mut resp2 = logged_in(port).await;
    resp2
        .write_all(b"SUBSCRIBE +switch-master\r\nPSUBSCRIBE +switch-* nomatch*\r\n")
        .await
        .unwrap();
    expect(
        &mut resp2,
        "*3\r\n$9\r\nsubscribe\r\n$14\r\n+switch-master\r\n:1\r\n\
         *3\r\n$10\r\npsubscribe\r\n$9\r\n+switch-*\r\n:2\r\n\
         *3\r\n$10\r\npsubscribe\r\n$8\r\nnomatch*\r\n:3\r\n",
    )
    .await;
    let mut resp3 = logged_in(port).await;
    resp3.write_all(b"HELLO 3\r\n").await.unwrap();
    let mut hello = [0u8; 1];
    let mut seen = Vec::new();
    while !seen.ends_with(b"crm_protocol\r\n:3\r\n") {
        resp3.read_exact(&mut hello).await.unwrap();
        seen.push(hello[0]);
    }
    resp3.write_all(b"PSUBSCRIBE *\r\n").await.unwrap();
    expect(&mut resp3, ">3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n").await;

    let text = "crm 10.0.0.1 7379 10.0.0.2 7379";
    assert_eq!(shared.publish_switch_master(text), 2);
    expect(
        &mut resp2,
        "*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$31\r\ncrm 10.0.0.1 7379 10.0.0.2 7379\r\n\
         *4\r\n$8\r\npmessage\r\n$9\r\n+switch-*\r\n$14\r\n+switch-master\r\n$31\r\ncrm 10.0.0.1 7379 10.0.0.2 7379\r\n",
    )
    .await;
    expect(
        &mut resp3,
        ">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$14\r\n+switch-master\r\n$31\r\ncrm 10.0.0.1 7379 10.0.0.2 7379\r\n",
    )
    .await;
    // A RESP3 subscriber goes on running commands between messages.
    resp3.write_all(b"PING\r\n").await.unwrap();
    expect(&mut resp3, "+PONG\r\n").await;

    // Unsubscribed, a connection hears nothing more.
    resp2
        .write_all(b"UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\n")
        .await
        .unwrap();
    expect(
        &mut resp2,
        "*3\r\n$11\r\nunsubscribe\r\n$14\r\n+switch-master\r\n:2\r\n\
         *3\r\n$12\r\npunsubscribe\r\n$9\r\n+switch-*\r\n:1\r\n\
         *3\r\n$12\r\npunsubscribe\r\n$8\r\nnomatch*\r\n:0\r\n",
    )
    .await;
    assert_eq!(shared.publish_switch_master(text), 1);

    let _ = stop.send(());
    drop((resp2, resp3));
    server.await.unwrap();
}
