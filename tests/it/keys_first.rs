//! Nodes starting together on a database without signing keys make one first key for each
//! algorithm between them, not one each (`store::keys::insert_first`): otherwise each node
//! would sign with a key the other does not know until its next reload.

use std::collections::HashMap;
use std::time::Duration;

use nyckel::keys::KeyRing;
use nyckel::keys::master::MasterKey;
use nyckel::store::Db;

use crate::helpers::db;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_make_one_first_key_per_algorithm() {
    let dir = tempfile::tempdir().expect("dir");
    let url_db = db::prepare(dir.path()).await;
    let url = url_db.url.clone();
    let master = || MasterKey::load(&dir.path().join("keys").join("master.key")).expect("key");
    let connect = || Db::connect_url(&url, 4, Duration::from_secs(5), "full");
    let (a, b) = (connect().await.expect("db"), connect().await.expect("db"));
    sqlx::query("delete from signing_keys")
        .execute(a.writer())
        .await
        .expect("empty the keys");

    let (ring_a, ring_b) = tokio::join!(
        KeyRing::open(a.clone(), master(), 86_400, 1_000),
        KeyRing::open(b.clone(), master(), 86_400, 1_000),
    );
    let (ring_a, ring_b) = (ring_a.expect("node a"), ring_b.expect("node b"));

    let rows: Vec<(String, String)> = sqlx::query_as("select alg, id from signing_keys")
        .fetch_all(a.pool())
        .await
        .expect("keys");
    let mut per_alg: HashMap<String, usize> = HashMap::new();
    for (alg, _) in &rows {
        *per_alg.entry(alg.clone()).or_default() += 1;
    }
    assert!(!per_alg.is_empty());
    assert!(
        per_alg.values().all(|n| *n == 1),
        "one first key per algorithm: {rows:?}"
    );
    // Both nodes publish the same keys.
    assert_eq!(ring_a.jwks(1_000), ring_b.jwks(1_000));
    a.close().await;
    b.close().await;
}

/// The check-and-insert of a first key raced by two nodes (two pools on one database, as two
/// processes would have) many times over: never an error, always exactly one first key. On
/// SQLite a deferred transaction that read the count could not take the write lock while
/// the other node wrote and failed at once with "database is locked" (issue 15, defect 5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_first_key_inserts_never_fail() {
    use nyckel::store::keys::{KeyRow, insert_first};
    let dir = tempfile::tempdir().expect("dir");
    let url_db = db::prepare(dir.path()).await;
    let url = url_db.url.clone();
    let connect = || Db::connect_url(&url, 4, Duration::from_secs(5), "full");
    let (a, b) = (connect().await.expect("db"), connect().await.expect("db"));
    let row = |id: String| KeyRow {
        id,
        alg: "test-race".into(),
        private_key: "sealed".into(),
        public_jwk: "{}".into(),
        created_at: 0,
        activates_at: 0,
    };
    for round in 0..100 {
        sqlx::query("delete from signing_keys where alg = 'test-race'")
            .execute(a.writer())
            .await
            .expect("empty");
        let (ka, kb) = (row(format!("a{round}")), row(format!("b{round}")));
        let (x, y) = tokio::join!(insert_first(&a, &ka), insert_first(&b, &kb));
        let (x, y) = (
            x.unwrap_or_else(|e| panic!("round {round}, node a: {e}")),
            y.unwrap_or_else(|e| panic!("round {round}, node b: {e}")),
        );
        assert!(x ^ y, "round {round}: exactly one inserted ({x}, {y})");
    }
    a.close().await;
    b.close().await;
}
