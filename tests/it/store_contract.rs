//! Store contract tests (STYLE.md 2.5), consume-once statements: each is driven directly
//! against the database the suite runs on (SQLite, or PostgreSQL when
//! `NYCKEL_TEST_POSTGRES_URL` is set). Used twice, the second use is refused; used by many
//! tasks at once (each on its own pooled connection, as several nodes would), exactly one
//! wins. The row operations of the other store files are tested in `rows`.

use std::time::Duration;

use nyckel::store::{self, Db};

use crate::helpers::db;

mod rows;

/// How many tasks race for one row.
const RACERS: usize = 6;
const NOW: i64 = 1_000_000;

/// A fresh database (a copy of the suite's migrated template), and what keeps it: its
/// folder and, on PostgreSQL, the guard that drops it when the test ends.
async fn open() -> ((tempfile::TempDir, db::Prepared), Db) {
    let dir = tempfile::tempdir().expect("dir");
    let prepared = db::prepare(dir.path()).await;
    let db = Db::connect_url(
        &prepared.url,
        RACERS as u32 + 2,
        Duration::from_secs(10),
        "full",
    )
    .await
    .expect("connect");
    ((dir, prepared), db)
}

/// A person, a confidential client and a grant to the client: what codes and refresh tokens
/// refer to.
async fn grant(db: &Db) -> (String, String, String) {
    let user = nyckel::crypto::random_id();
    let user_email = format!("{user}@example.org");
    let new = store::users::NewUser {
        id: &user,
        email: &user_email,
        name: None,
        phone: None,
        password_hash: None,
    };
    store::users::insert(db, &new, NOW).await.expect("user");
    let client = client(&nyckel::crypto::random_id());
    store::clients::insert(db, &client, NOW)
        .await
        .expect("client");
    let row = store::grants::GrantRow {
        id: nyckel::crypto::random_id(),
        client_id: client.id.clone(),
        user_id: Some(user.clone()),
        sid: Some("sid-1".into()),
        scope: "openid".into(),
        organisation_id: None,
        auth_time: Some(NOW),
        amr: "[\"pwd\"]".into(),
        acr: "1".into(),
        created_at: NOW,
        expires_at: NOW + 3600,
        revoked_at: None,
    };
    let mut tx = db.begin().await.expect("tx");
    store::grants::insert(&mut tx, &row).await.expect("grant");
    tx.commit().await.expect("commit");
    (user, client.id, row.id)
}

/// A confidential client with defaults.
fn client(id: &str) -> store::clients::Client {
    store::clients::Client {
        id: id.into(),
        name: format!("Client {id}"),
        secret_hash: Some("hash".into()),
        public: false,
        first_party: false,
        redirect_uris: vec!["https://rp.example/cb".into()],
        post_logout_redirect_uris: vec![],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        id_token_alg: "RS256".into(),
        require_organisation: false,
        organisations: vec![],
        owner_organisation_id: None,
        visible_roles: None,
        admin_api: false,
        require_pkce: false,
        require_two_factors: false,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        frontchannel_logout_uri: None,
        frontchannel_logout_session_required: false,
        created_at: NOW,
    }
}

/// Runs `attempt` in `RACERS` tasks at once and answers how many of them won.
async fn race<F, Fut>(attempt: F) -> usize
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let tasks: Vec<_> = (0..RACERS).map(|_| tokio::spawn(attempt())).collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.expect("task"));
    }
    wins
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_taken_once_and_reuse_names_the_grant() {
    use store::codes::{CodeRow, Taken, insert, take};
    let (_dir, db) = open().await;
    let (_, client_id, grant_id) = grant(&db).await;
    let code = |hash: &str, expires_at: i64| CodeRow {
        code_hash: hash.into(),
        grant_id: grant_id.clone(),
        client_id: client_id.clone(),
        redirect_uri: "https://rp.example/cb".into(),
        nonce: Some("n".into()),
        code_challenge: None,
        created_at: NOW,
        expires_at,
    };
    let mut tx = db.begin().await.expect("tx");
    for (hash, expires_at) in [("c1", NOW + 60), ("c2", NOW + 60), ("old", NOW)] {
        insert(&mut tx, &code(hash, expires_at))
            .await
            .expect("code");
    }
    tx.commit().await.expect("commit");

    let mut tx = db.begin().await.expect("tx");
    let first = take(&mut tx, "c1", NOW).await.expect("take");
    assert!(matches!(&first, Taken::Fresh(row) if row.nonce.as_deref() == Some("n")));
    let again = take(&mut tx, "c1", NOW).await.expect("take");
    assert!(
        matches!(&again, Taken::Reused { grant_id: g, client_id: c } if *g == grant_id && *c == client_id),
        "{again:?}"
    );
    assert!(matches!(
        take(&mut tx, "old", NOW).await.expect("take"),
        Taken::Invalid
    ));
    assert!(matches!(
        take(&mut tx, "nope", NOW).await.expect("take"),
        Taken::Invalid
    ));
    tx.commit().await.expect("commit");

    let wins = race(|| {
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.expect("tx");
            let taken = take(&mut tx, "c2", NOW).await.expect("take");
            tx.commit().await.expect("commit");
            matches!(taken, Taken::Fresh(_))
        }
    })
    .await;
    assert_eq!(wins, 1, "one of the racers redeems the code");
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_are_taken_once() {
    use store::refresh_tokens::{Taken, find, insert, lookup, take};
    let (_dir, db) = open().await;
    let (_, _, grant_id) = grant(&db).await;
    let mut tx = db.begin().await.expect("tx");
    for (hash, expires_at) in [("r1", NOW + 60), ("r2", NOW + 60), ("old", NOW)] {
        insert(&mut tx, hash, &grant_id, NOW, expires_at)
            .await
            .expect("token");
    }
    tx.commit().await.expect("commit");
    let found = find(&db, "r1").await.expect("find").expect("present");
    assert_eq!(
        (found.0.as_str(), found.1, found.2),
        (grant_id.as_str(), NOW + 60, None)
    );
    let looked = lookup(&db, "r1").await.expect("lookup").expect("present");
    assert_eq!(
        (looked.grant.id.as_str(), looked.user_disabled),
        (grant_id.as_str(), Some(0))
    );

    let mut tx = db.begin().await.expect("tx");
    assert!(
        matches!(take(&mut tx, "r1", NOW).await.expect("take"), Taken::Fresh { grant_id: g } if g == grant_id)
    );
    assert!(
        matches!(take(&mut tx, "r1", NOW).await.expect("take"), Taken::Reused { grant_id: g } if g == grant_id)
    );
    assert!(matches!(
        take(&mut tx, "old", NOW).await.expect("take"),
        Taken::Invalid
    ));
    tx.commit().await.expect("commit");
    assert_eq!(
        find(&db, "r1").await.expect("find").expect("kept").2,
        Some(NOW)
    );

    let wins = race(|| {
        let db = db.clone();
        async move {
            let mut tx = db.begin().await.expect("tx");
            let taken = take(&mut tx, "r2", NOW).await.expect("take");
            tx.commit().await.expect("commit");
            matches!(taken, Taken::Fresh { .. })
        }
    })
    .await;
    assert_eq!(wins, 1, "one of the racers rotates the token");
    assert_eq!(
        store::refresh_tokens::delete_expired(&db, NOW)
            .await
            .expect("purge"),
        1
    );
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_keys_are_consumed_once_and_guesses_are_capped() {
    use store::login_keys::{
        NewKey, consume, find_usable, guess, has_usable_code, insert, replace,
    };
    let (_dir, db) = open().await;
    let (user, _, _) = grant(&db).await;
    let key = |hash: &'static str, expires_at: i64| NewKey {
        key_hash: hash,
        purpose: "login",
        user_id: None,
        email: Some("a@example.org"),
        channel: "email",
        binding_hash: Some("browser"),
        code_hash: Some("code"),
        expires_at,
        ..NewKey::default()
    };
    insert(&db, &key("k1", NOW + 60), NOW).await.expect("key");
    insert(&db, &key("k1", NOW + 60), NOW)
        .await
        .expect("the same key again changes nothing");
    insert(&db, &key("k2", NOW + 60), NOW + 1)
        .await
        .expect("key");
    insert(&db, &key("old", NOW), NOW).await.expect("key");

    // Reading changes nothing; the wrong purpose and an expired key are refused.
    assert!(
        find_usable(&db, "k1", "login", NOW)
            .await
            .expect("find")
            .is_some()
    );
    assert!(
        find_usable(&db, "k1", "login", NOW)
            .await
            .expect("find")
            .is_some()
    );
    assert!(
        consume(&db, "k1", "reset", NOW)
            .await
            .expect("consume")
            .is_none()
    );
    assert!(
        consume(&db, "old", "login", NOW)
            .await
            .expect("consume")
            .is_none()
    );
    let used = consume(&db, "k1", "login", NOW).await.expect("consume");
    assert_eq!(
        used.expect("first use").email.as_deref(),
        Some("a@example.org")
    );
    assert!(
        consume(&db, "k1", "login", NOW)
            .await
            .expect("consume")
            .is_none()
    );
    assert!(
        find_usable(&db, "k1", "login", NOW)
            .await
            .expect("find")
            .is_none()
    );

    // Guesses count on the newest usable key with a code (k2), up to the cap, even at once.
    assert!(
        has_usable_code(&db, "browser", "login", NOW, 3)
            .await
            .expect("has")
    );
    let wins = race(|| {
        let db = db.clone();
        async move {
            let guessed = guess(&db, "browser", "login", NOW, 3).await.expect("guess");
            guessed.is_some_and(|k| k.key_hash == "k2")
        }
    })
    .await;
    assert_eq!(wins, 3, "three guesses of {RACERS} are counted");
    assert!(
        !has_usable_code(&db, "browser", "login", NOW, 3)
            .await
            .expect("has")
    );

    // Concurrent uses of one key: one wins.
    insert(&db, &key("k3", NOW + 60), NOW).await.expect("key");
    let wins = race(|| {
        let db = db.clone();
        async move {
            consume(&db, "k3", "login", NOW)
                .await
                .expect("consume")
                .is_some()
        }
    })
    .await;
    assert_eq!(wins, 1, "one of the racers uses the key");

    // Replacing drops the person's other unused keys of the purpose; purging drops expired.
    let mine = |hash: &'static str| NewKey {
        user_id: Some(&user),
        ..key(hash, NOW + 60)
    };
    insert(&db, &mine("m1"), NOW).await.expect("key");
    assert_eq!(replace(&db, &mine("m2"), NOW).await.expect("replace"), 1);
    assert_eq!(
        replace(&db, &mine("m2"), NOW).await.expect("replace again"),
        0
    );
    assert!(
        find_usable(&db, "m1", "login", NOW)
            .await
            .expect("find")
            .is_none()
    );
    let dropped = store::login_keys::delete_unused_sent_by(&db, &user, "email").await;
    assert_eq!(dropped.expect("delete"), 1);
    assert_eq!(
        store::login_keys::delete_expired(&db, NOW)
            .await
            .expect("purge"),
        1
    );
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_steps_end_once_and_die_after_failures() {
    use store::login_steps::{StepRow, consume, delete, fail, find_live, insert};
    let (_dir, db) = open().await;
    let (user, _, _) = grant(&db).await;
    let step = |hash: &str| StepRow {
        id_hash: hash.into(),
        user_id: user.clone(),
        first_amr: "[\"pwd\"]".into(),
        request_id: None,
        next: Some("/account".into()),
        ip: Some("127.0.0.1".into()),
        user_agent: None,
        replaces: None,
        step_up: 0,
        created_at: NOW,
        expires_at: NOW + 60,
        failures: 0,
    };
    for hash in ["s1", "s2", "s3", "s4"] {
        insert(&db, &step(hash)).await.expect("step");
    }
    assert!(find_live(&db, "s1", NOW, 3).await.expect("find").is_some());
    assert!(
        find_live(&db, "s1", NOW + 60, 3)
            .await
            .expect("find")
            .is_none(),
        "expired"
    );
    let ended = consume(&db, "s1", NOW, 3).await.expect("consume");
    assert_eq!(ended.expect("first").next.as_deref(), Some("/account"));
    assert!(consume(&db, "s1", NOW, 3).await.expect("consume").is_none());
    assert_eq!(
        fail(&db, "s1").await.expect("fail"),
        None,
        "a used step counts nothing"
    );

    assert_eq!(fail(&db, "s2").await.expect("fail"), Some(1));
    assert_eq!(fail(&db, "s2").await.expect("fail"), Some(2));
    assert!(find_live(&db, "s2", NOW, 2).await.expect("find").is_none());
    assert!(consume(&db, "s2", NOW, 2).await.expect("consume").is_none());

    let wins = race(|| {
        let db = db.clone();
        async move { consume(&db, "s3", NOW, 3).await.expect("consume").is_some() }
    })
    .await;
    assert_eq!(wins, 1, "one of the racers ends the step");

    delete(&db, "s4").await.expect("delete");
    assert!(find_live(&db, "s4", NOW, 3).await.expect("find").is_none());
    assert_eq!(
        store::login_steps::delete_for_user(&db, &user)
            .await
            .expect("delete"),
        3
    );
    assert_eq!(
        store::login_steps::delete_expired(&db, NOW + 60)
            .await
            .expect("purge"),
        0
    );
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webauthn_challenges_are_consumed_once_by_their_binding() {
    use store::webauthn_challenges::{AUTHENTICATE, ChallengeRow, REGISTER, consume, insert};
    let (_dir, db) = open().await;
    let challenge = |id: &str| ChallengeRow {
        id: id.into(),
        purpose: AUTHENTICATE.into(),
        user_id: None,
        binding: "browser".into(),
        state: "{}".into(),
        created_at: NOW,
        expires_at: NOW + 60,
    };
    for id in ["w1", "w2"] {
        insert(&db, &challenge(id)).await.expect("challenge");
    }
    assert!(
        consume(&db, "w1", AUTHENTICATE, "other", NOW)
            .await
            .expect("consume")
            .is_none()
    );
    assert!(
        consume(&db, "w1", REGISTER, "browser", NOW)
            .await
            .expect("consume")
            .is_none()
    );
    assert!(
        consume(&db, "w1", AUTHENTICATE, "browser", NOW + 60)
            .await
            .expect("c")
            .is_none()
    );
    let first = consume(&db, "w1", AUTHENTICATE, "browser", NOW)
        .await
        .expect("consume");
    assert_eq!(first.expect("first use").state, "{}");
    assert!(
        consume(&db, "w1", AUTHENTICATE, "browser", NOW)
            .await
            .expect("c")
            .is_none()
    );

    let wins = race(|| {
        let db = db.clone();
        async move {
            let won = consume(&db, "w2", AUTHENTICATE, "browser", NOW).await;
            won.expect("consume").is_some()
        }
    })
    .await;
    assert_eq!(wins, 1, "one of the racers finishes the ceremony");
    let spent = store::webauthn_challenges::delete_spent(&db, NOW).await;
    assert_eq!(spent.expect("purge"), 2);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_are_accepted_once() {
    use store::invitations::{NewInvitation, accept, find, find_open, insert, list, revoke};
    let (_dir, db) = open().await;
    let (user, _, _) = grant(&db).await;
    let org = store::orgs::Organisation {
        id: "org-1".into(),
        slug: "club".into(),
        name: "Club".into(),
        default_locale: "sv".into(),
        created_at: NOW,
        updated_at: NOW,
    };
    store::orgs::insert(&db, &org).await.expect("org");
    let roles = vec!["member".to_string()];
    let invite = |id: &'static str, key_hash: &'static str, email: &'static str| NewInvitation {
        id,
        key_hash,
        organisation_id: "org-1",
        email,
        roles: &roles,
        invited_by: None,
        expires_at: NOW + 60,
    };
    insert(&db, &invite("i1", "h1", "a@example.org"), NOW)
        .await
        .expect("invite");
    insert(&db, &invite("i2", "h2", "A@example.org "), NOW)
        .await
        .expect("invite again");
    assert!(
        find_open(&db, "h1", NOW).await.expect("find").is_none(),
        "only the newest link"
    );
    assert!(
        find(&db, "i1")
            .await
            .expect("find")
            .expect("kept")
            .revoked_at
            .is_some()
    );

    let mut tx = db.begin().await.expect("tx");
    let accepted = accept(&mut tx, "h2", &user, NOW).await.expect("accept");
    assert_eq!(
        accepted.expect("first").accepted_by.as_deref(),
        Some(user.as_str())
    );
    assert!(
        accept(&mut tx, "h2", &user, NOW)
            .await
            .expect("accept")
            .is_none()
    );
    tx.commit().await.expect("commit");

    insert(&db, &invite("i3", "h3", "b@example.org"), NOW)
        .await
        .expect("invite");
    let wins = race(|| {
        let (db, user) = (db.clone(), user.clone());
        async move {
            let mut tx = db.begin().await.expect("tx");
            let won = accept(&mut tx, "h3", &user, NOW).await.expect("accept");
            tx.commit().await.expect("commit");
            won.is_some()
        }
    })
    .await;
    assert_eq!(wins, 1, "one of the racers accepts the invitation");

    insert(&db, &invite("i4", "h4", "c@example.org"), NOW)
        .await
        .expect("invite");
    assert!(revoke(&db, "org-1", "i4", NOW).await.expect("revoke"));
    assert!(!revoke(&db, "org-1", "i4", NOW).await.expect("revoke twice"));
    assert_eq!(list(&db, "org-1", None, 10).await.expect("list").len(), 4);
    let ended = store::invitations::delete_ended(&db, NOW + 1)
        .await
        .expect("purge");
    assert_eq!(ended, 4);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_requests_leases_and_outbox_claims_go_to_one_taker() {
    use store::auth_requests::{AuthRequestRow, find, insert, take};
    use store::outbox::{NewMessage, claim_due, insert_once, mark_failed, mark_sent, status};
    let (_dir, db) = open().await;
    let (_, client_id, _) = grant(&db).await;
    let request = AuthRequestRow {
        id: "req-1".into(),
        binding_hash: "browser".into(),
        csrf: "csrf".into(),
        client_id,
        params: "{}".into(),
        created_at: NOW,
        expires_at: NOW + 60,
    };
    insert(&db, &request).await.expect("request");
    assert!(find(&db, "req-1", NOW).await.expect("find").is_some());
    assert!(
        find(&db, "req-1", NOW + 60).await.expect("find").is_none(),
        "expired"
    );
    assert!(take(&db, "req-1").await.expect("take"));
    assert!(!take(&db, "req-1").await.expect("take twice"));

    let wins = race(|| {
        let db = db.clone();
        async move {
            store::leases::acquire(&db, "job", "node", NOW, 60)
                .await
                .expect("lease")
        }
    })
    .await;
    assert_eq!(wins, 1, "one node gets the lease");
    assert!(
        store::leases::acquire(&db, "job", "n2", NOW + 60, 60)
            .await
            .expect("lapsed")
    );

    for id in ["m1", "m2", "m3"] {
        let m = NewMessage {
            id,
            channel: "email",
            recipient: "a@example.org",
            payload: "sealed",
        };
        assert!(insert_once(&db, &m, NOW).await.expect("enqueue"));
        assert!(!insert_once(&db, &m, NOW).await.expect("enqueue again"));
    }
    let claims = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    race(|| {
        let (db, claims) = (db.clone(), claims.clone());
        async move {
            let claimed = claim_due(&db, NOW, 30, 5, 2).await.expect("claim");
            let mut claims = claims.lock().expect("lock");
            claims.extend(claimed.into_iter().map(|c| c.id));
            false
        }
    })
    .await;
    let mut claims = claims.lock().expect("lock").clone();
    claims.sort();
    assert_eq!(claims, ["m1", "m2", "m3"], "every message claimed once");
    assert!(
        claim_due(&db, NOW + 29, 30, 5, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    mark_sent(&db, "m1", NOW).await.expect("sent");
    mark_failed(&db, "m2", "refused", NOW + 100)
        .await
        .expect("failed");
    let m2 = status(&db, "m2").await.expect("status").expect("row");
    assert_eq!(
        (m2.attempts, m2.last_error.as_deref()),
        (1, Some("refused"))
    );
    let due: Vec<String> = claim_due(&db, NOW + 30, 30, 5, 10)
        .await
        .expect("claim")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        due,
        ["m3"],
        "the lapsed claim is due again, the failed one later"
    );
    db.close().await;
}

/// Senders on several nodes claim from one outbox at the same moment, many rows each:
/// every claim succeeds (no lock conflict surfaces as an error) and no row is claimed
/// twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_of_many_messages_all_succeed_and_never_share_a_row() {
    use store::outbox::{NewMessage, claim_due, insert};
    let (_dir, db) = open().await;
    const MESSAGES: usize = 120;
    let ids: Vec<String> = (0..MESSAGES).map(|i| format!("m{i:03}")).collect();
    for id in &ids {
        let m = NewMessage {
            id,
            channel: "email",
            recipient: "a@example.org",
            payload: "sealed",
        };
        insert(&db, &m, NOW).await.expect("enqueue");
    }
    let claims = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let failures = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    // Rounds until one claims nothing (bounded: each round claims at least one row while any
    // is left, unless claims fail, which the assert below reports).
    for _round in 0..MESSAGES {
        let before = claims.lock().expect("lock").len();
        race(|| {
            let (db, claims, failures) = (db.clone(), claims.clone(), failures.clone());
            async move {
                match claim_due(&db, NOW, 30, 5, 4).await {
                    Ok(claimed) => claims
                        .lock()
                        .expect("lock")
                        .extend(claimed.into_iter().map(|c| c.id)),
                    Err(e) => failures.lock().expect("lock").push(e.to_string()),
                }
                false
            }
        })
        .await;
        if claims.lock().expect("lock").len() == before {
            break;
        }
    }
    let failures = failures.lock().expect("lock").clone();
    assert!(failures.is_empty(), "claims failed: {failures:?}");
    let mut claims = claims.lock().expect("lock").clone();
    claims.sort();
    assert_eq!(claims, ids, "every message claimed exactly once");
    db.close().await;
}
