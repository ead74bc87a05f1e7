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
    let url = db::prepare(dir.path()).await.url;
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
