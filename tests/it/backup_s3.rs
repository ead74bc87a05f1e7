//! The S3 backup destination against a real S3-compatible server on loopback (moto, see
//! helpers/s3_server.rs, with its IAM checks on, so every request's SigV4 signature is
//! recomputed by botocore): put, get, overwrite, delete, missing keys, listings over many
//! pages, virtual-hosted and path-style addressing, wrong credentials, and servers that are
//! down or never answer.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use nyckel::backup::destination::{Destination, DestinationError};
use nyckel::backup::s3::{S3Destination, S3Settings};

use crate::helpers::s3_server::{BUCKET, S3Server};

fn dest(settings: S3Settings) -> S3Destination {
    S3Destination::new(settings).expect("valid S3 settings")
}

/// The text of an `Io` error, failing on success or `NotFound`.
fn io_error<T: std::fmt::Debug>(result: Result<T, DestinationError>) -> String {
    match result {
        Err(DestinationError::Io(text)) => text,
        other => panic!("expected an Io error, got {other:?}"),
    }
}

#[tokio::test]
async fn s3_put_get_overwrite_and_delete() {
    let Some(server) = S3Server::start() else {
        return;
    };
    eprintln!("moto answered {:?} after it was started", server.startup);
    let s3 = dest(server.settings("offsite", "/nyckel/prod/"));
    assert_eq!(s3.name(), "offsite");

    // Binary data of every byte value, then an overwrite, then an empty object.
    let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let key = "2025-01-01T020000Z/db.tar.zst.age";
    s3.put(key, Bytes::from(data.clone())).await.expect("put");
    assert_eq!(s3.get(key).await.expect("get"), data);
    s3.put(key, Bytes::from_static(b"second"))
        .await
        .expect("overwrite");
    assert_eq!(s3.get(key).await.expect("get"), &b"second"[..]);
    s3.put("empty", Bytes::new()).await.expect("put empty");
    assert!(s3.get("empty").await.expect("get empty").is_empty());

    // Keys that need encoding (moto checks the signature over the encoded path).
    let odd = ["odd/a b+c=d&e%f~g", "odd/åäö ☺", "odd/(1)!*'$,;:@"];
    for (i, key) in odd.iter().enumerate() {
        s3.put(key, Bytes::from(vec![i as u8; 3]))
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e}"));
    }
    for (i, key) in odd.iter().enumerate() {
        assert_eq!(s3.get(key).await.expect("get odd"), vec![i as u8; 3]);
    }
    let listed: BTreeSet<String> = s3.list("odd/").await.expect("list").into_iter().collect();
    assert_eq!(listed, odd.iter().map(|k| k.to_string()).collect());

    // Everything is under the prefix in the bucket.
    let whole_bucket = dest(server.settings("whole-bucket", ""));
    let all = whole_bucket.list("").await.expect("list bucket");
    assert!(all.contains(&format!("nyckel/prod/{key}")), "{all:?}");
    assert!(all.iter().all(|k| k.starts_with("nyckel/prod/")), "{all:?}");
    assert_eq!(
        whole_bucket
            .get(&format!("nyckel/prod/{key}"))
            .await
            .expect("get"),
        &b"second"[..]
    );

    // A missing key is NotFound, naming the destination and the key.
    match s3.get("2024-12-31T020000Z/db.tar.zst.age").await {
        Err(DestinationError::NotFound(what)) => {
            let text = DestinationError::NotFound(what).to_string();
            assert!(text.contains("offsite"), "{text}");
            assert!(text.contains("2024-12-31T020000Z/db.tar.zst.age"), "{text}");
            assert!(text.ends_with("not found"), "{text}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }

    // Delete; then it is gone; deleting again (a missing key) is fine.
    s3.delete(key).await.expect("delete");
    assert!(matches!(
        s3.get(key).await,
        Err(DestinationError::NotFound(_))
    ));
    s3.delete(key).await.expect("delete a missing key");
    assert!(!s3.list("").await.expect("list").contains(&key.to_string()));

    // A bucket that does not exist is an error, not NotFound.
    let mut settings = server.settings("no-bucket", "");
    settings.bucket = "no-such-bucket".into();
    let missing = dest(settings);
    let text = io_error(missing.get("a").await);
    assert!(text.contains("NoSuchBucket"), "{text}");
    let text = io_error(missing.put("a", Bytes::from_static(b"x")).await);
    assert!(
        text.contains("no-such-bucket") && text.contains("put \"a\""),
        "{text}"
    );

    // Keys outside the contract are refused before any request.
    let text = io_error(s3.put("../escape", Bytes::from_static(b"x")).await);
    assert!(text.contains("segment"), "{text}");
}

#[tokio::test]
async fn s3_list_follows_continuation_tokens() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let s3 = dest(server.settings("offsite", "p")).with_page_size(7);
    let mut expected = BTreeSet::new();
    for month in ["2024/12", "2025/01"] {
        for day in 1..=20 {
            let key = format!("{month}/{day:02}.age");
            s3.put(&key, Bytes::from(key.clone().into_bytes()))
                .await
                .expect("put");
            expected.insert(key);
        }
    }
    // Neighbours that must not be listed: another prefix, and a sibling whose name merely
    // starts with the prefix's name.
    let whole_bucket = dest(server.settings("whole-bucket", ""));
    for key in ["other/1", "p-sibling/2025/01/01.age", "p2025"] {
        whole_bucket
            .put(key, Bytes::from_static(b"x"))
            .await
            .expect("put neighbour");
    }

    let all: BTreeSet<String> = s3.list("").await.expect("list").into_iter().collect();
    assert_eq!(all, expected);
    // 40 keys at 7 a page: 6 requests.
    let log = server.log_when(|log| log.matches("max-keys=7").count() >= 6);
    assert_eq!(log.matches("max-keys=7").count(), 6, "{log}");

    let january: BTreeSet<String> = s3
        .list("2025/01/")
        .await
        .expect("list")
        .into_iter()
        .collect();
    assert_eq!(january.len(), 20);
    assert!(january.iter().all(|k| k.starts_with("2025/01/")));
    let mut teens = s3.list("2025/01/1").await.expect("list");
    teens.sort();
    assert_eq!(
        teens,
        (10..=19)
            .map(|d| format!("2025/01/{d}.age"))
            .collect::<Vec<_>>()
    );
    assert!(s3.list("2023/").await.expect("list").is_empty());
}

#[tokio::test]
async fn s3_list_of_more_than_1000_keys_with_the_default_page_size() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let s3 = Arc::new(dest(server.settings("offsite", "many")));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    const N: usize = 1003;
    const WORKERS: usize = 8;
    for worker in 0..WORKERS {
        let s3 = s3.clone();
        tasks.spawn(async move {
            for i in (worker..N).step_by(WORKERS) {
                s3.put(&format!("k/{i:05}"), Bytes::from_static(b"x"))
                    .await
                    .expect("put");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("put task");
    }
    eprintln!("{N} puts to moto took {:?}", started.elapsed());
    let listed: BTreeSet<String> = s3.list("k/").await.expect("list").into_iter().collect();
    assert_eq!(listed.len(), N);
    assert_eq!(
        listed,
        (0..N).map(|i| format!("k/{i:05}")).collect::<BTreeSet<_>>()
    );
    // Two pages: 1000, then 3, following the continuation token.
    let log = server.log_when(|log| log.contains("continuation-token="));
    assert_eq!(
        log.matches("continuation-token=").count(),
        1,
        "{}",
        log.lines()
            .filter(|l| l.contains("list-type"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn s3_virtual_hosted_addressing() {
    let Some(server) = S3Server::start() else {
        return;
    };
    // `nyckel-test.localhost` does not resolve here; connect to moto's address instead.
    let mut settings = server.settings("vhost", "vh");
    settings.path_style = false;
    settings.endpoint = format!("http://localhost:{}", server.port);
    let s3 = S3Destination::with_address(settings, ([127, 0, 0, 1], server.port).into())
        .expect("valid settings");
    s3.put("a/b", Bytes::from_static(b"virtual"))
        .await
        .expect("put");
    assert_eq!(s3.get("a/b").await.expect("get"), &b"virtual"[..]);
    assert_eq!(s3.list("").await.expect("list"), ["a/b"]);
    // The same object, path-style, in the same bucket.
    let path_style = dest(server.settings("path", ""));
    assert_eq!(
        path_style.get("vh/a/b").await.expect("get"),
        &b"virtual"[..]
    );
    // The virtual-hosted requests named the bucket in the host, not the path.
    let get_path_style = format!("\"GET /{BUCKET}/vh/a/b HTTP/1.1\"");
    let log = server.log_when(|log| log.contains(&get_path_style));
    assert!(log.contains("\"PUT /vh/a/b HTTP/1.1\""), "{log}");
    assert!(log.contains(&get_path_style), "{log}");
    s3.delete("a/b").await.expect("delete");
    assert!(matches!(
        path_style.get("vh/a/b").await,
        Err(DestinationError::NotFound(_))
    ));
}

#[tokio::test]
async fn s3_wrong_credentials_are_refused_with_a_clear_error() {
    let Some(server) = S3Server::start() else {
        return;
    };
    let good = dest(server.settings("offsite", ""));
    good.put("kept", Bytes::from_static(b"x"))
        .await
        .expect("put");

    // An access key id moto does not know.
    let mut settings = server.settings("offsite", "");
    settings.access_key_id = "AKIANOSUCHKEY0000000".into();
    let unknown = dest(settings);
    let text = io_error(unknown.put("planted", Bytes::from_static(b"x")).await);
    assert!(
        text.starts_with("S3 destination \"offsite\" (bucket \"nyckel-test\" at 127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("put \"planted\""), "{text}");
    assert!(
        text.contains("403") && text.contains("InvalidAccessKeyId"),
        "{text}"
    );
    assert!(text.contains("check the access key"), "{text}");
    assert!(!text.contains("AKIANOSUCHKEY0000000"), "{text}");
    assert!(!text.contains(&server.secret_access_key), "{text}");

    // The right id with a wrong secret: the signature does not match.
    let mut settings = server.settings("offsite", "");
    settings.secret_access_key = "not-the-secret-not-the-secret-0000000000".into();
    let wrong = dest(settings);
    for text in [
        io_error(wrong.get("kept").await),
        io_error(wrong.put("planted", Bytes::from_static(b"x")).await),
        io_error(wrong.list("").await),
        io_error(wrong.delete("kept").await),
    ] {
        assert!(
            text.contains("403") && text.contains("SignatureDoesNotMatch"),
            "{text}"
        );
        assert!(!text.contains("not-the-secret"), "{text}");
        assert!(!text.contains(&server.access_key_id), "{text}");
        assert!(!text.contains("Signature="), "{text}");
    }
    // Nothing was planted or deleted.
    assert_eq!(good.list("").await.expect("list"), ["kept"]);
}

/// Settings for a server on loopback that is not moto.
fn settings_for(port: u16, timeout: Duration) -> S3Settings {
    S3Settings {
        name: "offsite".into(),
        endpoint: format!("http://127.0.0.1:{port}"),
        region: "us-east-1".into(),
        bucket: "nyckel-test".into(),
        prefix: String::new(),
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        path_style: true,
        timeout,
    }
}

#[tokio::test]
async fn s3_server_down_or_silent_fails_within_the_timeout() {
    // Down: the port is bound (so no other test's server takes it) but nothing listens.
    let reserved = tokio::net::TcpSocket::new_v4().expect("socket");
    reserved.bind(([127, 0, 0, 1], 0).into()).expect("bind");
    let port = reserved.local_addr().expect("addr").port();
    let down = dest(settings_for(port, Duration::from_secs(3)));
    let started = Instant::now();
    let text = io_error(down.put("a", Bytes::from_static(b"x")).await);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(
        text.contains("put \"a\"") && text.contains("could not connect"),
        "{text}"
    );
    assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
    drop(reserved);

    // Silent: accepts connections, never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let silent = dest(settings_for(port, Duration::from_secs(2)));
    let started = Instant::now();
    let text = io_error(silent.get("a").await);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(20),
        "{took:?}"
    );
    assert!(
        text.contains("get \"a\"") && text.contains("timed out"),
        "{text}"
    );
    let text = io_error(silent.list("").await);
    assert!(
        text.contains("list \"\"") && text.contains("timed out"),
        "{text}"
    );
    holder.abort();
}
