//! Store contract tests of the row operations (STYLE.md 2.5): each store file's reads and
//! writes once, on the suite's database, checking what they answer and what they change.

use nyckel::store::{self, Db};

use super::{NOW, client, grant, open};

async fn org(db: &Db, id: &str, slug: &str) -> store::orgs::Organisation {
    let org = store::orgs::Organisation {
        id: id.into(),
        slug: slug.into(),
        name: format!("Org {slug}"),
        default_locale: "sv".into(),
        created_at: NOW,
        updated_at: NOW,
    };
    store::orgs::insert(db, &org).await.expect("org");
    org
}

#[tokio::test]
async fn users_are_found_by_id_email_and_verified_phone_and_changed_in_place() {
    use store::users::{self, EMAIL_UNIQUE};
    let (_dir, db) = open().await;
    let (id, _, _) = grant(&db).await;
    let email = format!("{id}@example.org");
    let found = users::find_by_email(&db, &format!(" {} ", email.to_uppercase())).await;
    assert_eq!(found.expect("find").expect("by email").id, id);
    let other = users::NewUser {
        id: "other",
        email: &email.to_uppercase(),
        name: None,
        phone: None,
        password_hash: None,
    };
    let taken = users::insert(&db, &other, NOW).await.expect_err("taken");
    assert!(store::is_unique_violation(&taken, EMAIL_UNIQUE), "{taken}");

    users::set_password(&db, &id, "$argon2id$x", true, NOW)
        .await
        .expect("password");
    users::set_email_verified(&db, &id, NOW)
        .await
        .expect("verified");
    users::set_phone(&db, &id, Some("+46700000000"), true, NOW)
        .await
        .expect("phone");
    users::set_profile(&db, &id, Some("Ann"), Some("en"), NOW + 1)
        .await
        .expect("profile");
    assert!(!users::any_superadmin(&db).await.expect("any"));
    users::set_superadmin(&db, &id, true, NOW)
        .await
        .expect("superadmin");
    assert!(users::any_superadmin(&db).await.expect("any"));
    let u = users::find(&db, &id).await.expect("find").expect("present");
    assert_eq!(
        (
            u.password_hash.as_deref(),
            u.must_change_password,
            u.email_verified,
            u.superadmin
        ),
        (Some("$argon2id$x"), 1, 1, 1)
    );
    assert_eq!(
        (u.name.as_deref(), u.locale.as_deref(), u.updated_at),
        (Some("Ann"), Some("en"), NOW),
        "the last change (superadmin) set updated_at"
    );
    assert_eq!(u.verified_phone(), Some("+46700000000"));
    let by_phone = users::find_by_verified_phone(&db, "+46700000000")
        .await
        .expect("phone");
    assert_eq!(by_phone.len(), 1);

    users::set_password_hash(&db, &id, "$argon2id$y", NOW)
        .await
        .expect("rehash");
    users::set_email(&db, &id, " New@Example.org ", NOW)
        .await
        .expect("email");
    let mut tx = db.begin().await.expect("tx");
    let u = users::find_by_email_in(&mut tx, "new@example.org")
        .await
        .expect("find");
    let u = u.expect("by the new email");
    assert_eq!(
        (u.email.as_str(), u.password_hash.as_deref()),
        ("New@Example.org", Some("$argon2id$y"))
    );
    assert!(users::find_in(&mut tx, &id).await.expect("find").is_some());
    tx.commit().await.expect("commit");
    db.close().await;
}

#[tokio::test]
async fn clients_keep_their_settings_and_organisation_restrictions() {
    use store::clients;
    let (_dir, db) = open().await;
    org(&db, "o1", "one").await;
    org(&db, "o2", "two").await;
    let mut c = client("c1");
    c.organisations = vec!["o1".into(), "o2".into()];
    c.owner_organisation_id = Some("o1".into());
    c.visible_roles = Some(vec!["coach".into()]);
    clients::insert(&db, &c, NOW).await.expect("insert");
    let found = clients::find(&db, "c1")
        .await
        .expect("find")
        .expect("present");
    let mut orgs = found.organisations.clone();
    orgs.sort();
    assert_eq!(orgs, ["o1", "o2"]);
    assert_eq!(
        (
            found.visible_roles.clone(),
            found.allows_grant("refresh_token")
        ),
        (Some(vec!["coach".to_string()]), true)
    );

    c.name = "Renamed".into();
    c.organisations = vec!["o2".into()];
    c.require_two_factors = true;
    clients::update(&db, &c, NOW).await.expect("update");
    clients::set_secret_hash(&db, "c1", "new-hash", NOW)
        .await
        .expect("secret");
    let owned = clients::list_owned(&db, Some("o1"), None, 10)
        .await
        .expect("list");
    assert_eq!(owned.len(), 1);
    let c1 = &owned[0];
    assert_eq!(
        (
            c1.name.as_str(),
            c1.organisations.clone(),
            c1.secret_hash.as_deref()
        ),
        ("Renamed", vec!["o2".to_string()], Some("new-hash"))
    );
    assert!(c1.require_two_factors);
    assert!(
        clients::list_owned(&db, None, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(clients::delete(&db, "c1").await.expect("delete"));
    assert!(!clients::delete(&db, "c1").await.expect("delete again"));
    db.close().await;
}

#[tokio::test]
async fn organisations_members_and_roles() {
    use store::orgs;
    let (_dir, db) = open().await;
    let (user, _, _) = grant(&db).await;
    let mut o = org(&db, "o1", "club").await;
    org(&db, "o2", "other").await;
    let dup = orgs::Organisation {
        id: "o3".into(),
        ..o.clone()
    };
    let taken = orgs::insert(&db, &dup).await.expect_err("slug taken");
    assert!(
        store::is_unique_violation(&taken, orgs::SLUG_UNIQUE),
        "{taken}"
    );
    assert_eq!(
        orgs::find_by_id_or_slug(&db, "club")
            .await
            .expect("find")
            .expect("by slug")
            .id,
        "o1"
    );

    let roles = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        orgs::add_member(&db, &user, "o1", &roles(&["admin"]), NOW)
            .await
            .expect("add"),
        ["admin"]
    );
    let merged = orgs::add_member(&db, &user, "o1", &roles(&["coach", "admin"]), NOW).await;
    assert_eq!(merged.expect("add"), ["admin", "coach"]);
    orgs::ensure_roles(&db, "o1", &roles(&["admin", "coach"]), NOW)
        .await
        .expect("ensure");
    orgs::put_role(&db, "o1", "coach", "Trains", NOW)
        .await
        .expect("put");
    let listed: Vec<(String, String)> = orgs::roles(&db, "o1")
        .await
        .expect("roles")
        .into_iter()
        .map(|r| (r.name, r.description))
        .collect();
    assert_eq!(
        listed,
        [
            ("admin".into(), "".into()),
            ("coach".into(), "Trains".into())
        ]
    );
    assert_eq!(orgs::count_admins(&db, "o1").await.expect("count"), 1);
    assert!(
        orgs::delete_role(&db, "o1", "coach", NOW)
            .await
            .expect("delete role")
    );
    let mut tx = db.begin().await.expect("tx");
    assert_eq!(
        orgs::roles_in(&mut tx, &user, "o1").await.expect("roles"),
        Some(roles(&["admin"]))
    );
    assert!(
        orgs::find_by_id_or_slug_in(&mut tx, "o2")
            .await
            .expect("find")
            .is_some()
    );
    tx.commit().await.expect("commit");

    assert_eq!(orgs::memberships_of(&db, &user).await.expect("of").len(), 1);
    let members = orgs::members(&db, "o1", Some("%example%"), None, 10)
        .await
        .expect("members");
    assert_eq!(members.len(), 1);
    assert!(
        orgs::member(&db, "o1", &user)
            .await
            .expect("member")
            .is_some()
    );
    assert!(
        orgs::set_roles(&db, "o1", &user, &roles(&["member"]), NOW)
            .await
            .expect("set")
    );
    assert!(
        !orgs::set_roles(&db, "o2", &user, &roles(&["member"]), NOW)
            .await
            .expect("set")
    );
    assert!(orgs::remove_member(&db, "o1", &user).await.expect("remove"));
    assert!(
        !orgs::remove_member(&db, "o1", &user)
            .await
            .expect("remove again")
    );

    o.name = "Club!".into();
    orgs::update(&db, &o, NOW).await.expect("update");
    let page = orgs::list(&db, None, Some("a"), 10).await.expect("list");
    assert_eq!(
        page.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        ["Club!", "Org other"]
    );
    let only = orgs::list(&db, Some(&["o2".to_string()]), None, 10)
        .await
        .expect("list");
    assert_eq!(only.len(), 1);
    assert!(orgs::delete(&db, "o1").await.expect("delete"));
    db.close().await;
}

#[tokio::test]
async fn sessions_passkeys_consents_and_grants_of_a_person() {
    use store::{consents, grants, passkeys, sessions};
    let (_dir, db) = open().await;
    let (user, client_id, grant_id) = grant(&db).await;
    let session = |hash: &str, sid: &str| sessions::SessionRow {
        id_hash: hash.into(),
        sid: sid.into(),
        user_id: user.clone(),
        csrf: "csrf".into(),
        auth_time: NOW,
        amr: "[\"pwd\"]".into(),
        acr: "1".into(),
        created_at: NOW,
        last_seen_at: NOW,
        expires_at: NOW + 60,
    };
    let origin = sessions::Origin {
        ip: Some("127.0.0.1"),
        user_agent: None,
    };
    for (hash, sid) in [("h1", "s1"), ("h2", "s2"), ("h3", "s3"), ("h4", "s4")] {
        sessions::insert(&db, &session(hash, sid), origin)
            .await
            .expect("session");
    }
    sessions::touch(&db, "h1", NOW + 5).await.expect("touch");
    assert_eq!(
        sessions::find(&db, "h1", NOW)
            .await
            .expect("find")
            .expect("live")
            .last_seen_at,
        NOW + 5
    );
    assert!(
        sessions::find(&db, "h1", NOW + 60)
            .await
            .expect("find")
            .is_none()
    );
    assert_eq!(
        sessions::find_by_sid(&db, "s1")
            .await
            .expect("find")
            .expect("by sid")
            .ip
            .as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        sessions::list_for_user(&db, &user, NOW)
            .await
            .expect("list")
            .len(),
        4
    );
    assert!(
        !sessions::delete_own(&db, "someone", "s2")
            .await
            .expect("not theirs")
    );
    assert!(sessions::delete_own(&db, &user, "s2").await.expect("own"));
    sessions::delete(&db, "h3").await.expect("delete");
    sessions::delete_by_sid(&db, "s4").await.expect("delete");
    assert_eq!(
        sessions::delete_for_user(&db, &user, Some("h1"))
            .await
            .expect("others"),
        Vec::<String>::new()
    );
    assert_eq!(
        sessions::delete_expired(&db, NOW + 60)
            .await
            .expect("purge"),
        1
    );

    let key = |id: &str, credential_id: &str| passkeys::PasskeyRow {
        id: id.into(),
        user_id: user.clone(),
        credential_id: credential_id.into(),
        name: "Phone".into(),
        credential: "{}".into(),
        created_at: NOW,
        last_used_at: None,
    };
    passkeys::insert(&db, &key("p1", "cred1"))
        .await
        .expect("passkey");
    passkeys::insert(&db, &key("p2", "cred2"))
        .await
        .expect("passkey");
    let again = passkeys::insert(&db, &key("p3", "cred1"))
        .await
        .expect_err("registered");
    assert!(
        store::is_unique_violation(&again, passkeys::CREDENTIAL_UNIQUE),
        "{again}"
    );
    assert!(
        passkeys::record_use(&db, "p1", "{\"n\":1}", NOW)
            .await
            .expect("use")
    );
    assert!(
        passkeys::rename(&db, &user, "p1", "Laptop")
            .await
            .expect("rename")
    );
    assert!(
        !passkeys::rename(&db, "someone", "p1", "X")
            .await
            .expect("not theirs")
    );
    let p1 = passkeys::find_by_credential(&db, "cred1")
        .await
        .expect("find")
        .expect("p1");
    assert_eq!(
        (p1.name.as_str(), p1.credential.as_str(), p1.last_used_at),
        ("Laptop", "{\"n\":1}", Some(NOW))
    );
    assert!(
        passkeys::find_for_user(&db, &user, "p2")
            .await
            .expect("find")
            .is_some()
    );
    assert_eq!(
        passkeys::list_for_user(&db, &user)
            .await
            .expect("list")
            .len(),
        2
    );
    assert_eq!(
        passkeys::delete(&db, &user, "p2")
            .await
            .expect("delete")
            .expect("p2")
            .id,
        "p2"
    );
    assert_eq!(
        passkeys::count_for_user(&db, &user).await.expect("count"),
        1
    );
    assert_eq!(
        passkeys::delete_for_user(&db, &user)
            .await
            .expect("delete all"),
        1
    );

    consents::upsert(&db, &user, &client_id, "openid", NOW)
        .await
        .expect("consent");
    consents::upsert(&db, &user, &client_id, "openid email", NOW)
        .await
        .expect("widen");
    assert_eq!(
        consents::find(&db, &user, &client_id)
            .await
            .expect("find")
            .as_deref(),
        Some("openid email")
    );
    assert_eq!(
        consents::list_for_user(&db, &user)
            .await
            .expect("list")
            .len(),
        1
    );

    let mut tx = db.begin().await.expect("tx");
    assert!(
        grants::find_in(&mut tx, &grant_id)
            .await
            .expect("find")
            .expect("grant")
            .is_live(NOW)
    );
    assert!(
        consents::delete_in(&mut tx, &user, &client_id)
            .await
            .expect("withdraw")
    );
    assert_eq!(
        grants::revoke_for_client_in(&mut tx, &user, &client_id, NOW)
            .await
            .expect("revoke"),
        1
    );
    tx.commit().await.expect("commit");
    assert!(
        !grants::find(&db, &grant_id)
            .await
            .expect("find")
            .expect("kept")
            .is_live(NOW)
    );
    assert_eq!(
        grants::revoke_by_sid(&db, "sid-1", NOW)
            .await
            .expect("by sid"),
        0,
        "already revoked"
    );
    assert_eq!(
        grants::revoke_for_user(&db, &user, None, NOW)
            .await
            .expect("for user"),
        0
    );
    grants::revoke(&db, &grant_id, NOW)
        .await
        .expect("revoke again");
    assert_eq!(
        grants::delete_expired(&db, NOW + 3600 + 86400)
            .await
            .expect("purge"),
        1
    );
    db.close().await;
}

#[tokio::test]
async fn counters_settings_and_records() {
    use store::{audit, backup_status, cluster, factors, message_sends, revoked, throttle};
    let (_dir, db) = open().await;
    let (user, _, _) = grant(&db).await;
    org(&db, "o1", "club").await;

    assert_eq!(
        throttle::record_failure(&db, "k", NOW, 60)
            .await
            .expect("fail"),
        1
    );
    assert_eq!(
        throttle::record_failure(&db, "k", NOW + 1, 60)
            .await
            .expect("fail"),
        2
    );
    throttle::forgive(&db, "k").await.expect("forgive");
    assert_eq!(
        throttle::get(&db, "k").await.expect("get"),
        throttle::Counter {
            failures: 1,
            last_failure_at: NOW + 1
        }
    );
    assert_eq!(
        throttle::record_failure(&db, "k", NOW + 100, 60)
            .await
            .expect("fail"),
        1,
        "reset"
    );
    throttle::clear(&db, "k").await.expect("clear");
    assert_eq!(throttle::get(&db, "k").await.expect("get").failures, 0);

    revoked::insert(&db, "jti", NOW + 10).await.expect("revoke");
    revoked::insert(&db, "jti", NOW + 10)
        .await
        .expect("revoke twice");
    assert!(revoked::contains(&db, "jti").await.expect("contains"));
    assert_eq!(
        revoked::delete_expired(&db, NOW + 10).await.expect("purge"),
        1
    );

    cluster::heartbeat(&db, "n1", "0.3.0", NOW, NOW)
        .await
        .expect("beat");
    cluster::heartbeat(&db, "n1", "0.3.1", NOW, NOW + 5)
        .await
        .expect("beat");
    assert_eq!(
        cluster::seen_since(&db, NOW + 5).await.expect("seen")[0].version,
        "0.3.1"
    );
    assert_eq!(
        cluster::forget_nodes(&db, NOW + 6).await.expect("forget"),
        1
    );
    cluster::set_finished_version(&db, "0.3.0", NOW)
        .await
        .expect("finish");
    cluster::set_finished_version(&db, "0.3.1", NOW)
        .await
        .expect("finish");
    assert_eq!(
        cluster::finished_version(&db)
            .await
            .expect("finished")
            .as_deref(),
        Some("0.3.1")
    );

    backup_status::record(&db, backup_status::OVERALL, NOW, true, Some("b1"))
        .await
        .expect("ok");
    backup_status::record(&db, backup_status::OVERALL, NOW + 1, false, None)
        .await
        .expect("failed");
    let all = backup_status::all(&db).await.expect("all");
    let overall = all
        .iter()
        .find(|s| s.destination == backup_status::OVERALL)
        .expect("overall");
    assert_eq!(
        (
            overall.last_ok,
            overall.last_success_at,
            overall.last_backup.as_deref()
        ),
        (0, Some(NOW), Some("b1"))
    );
    assert_eq!((overall.runs_ok, overall.runs_failed), (1, 1));
    assert_eq!(
        backup_status::last_run_at(&db).await.expect("last"),
        Some(NOW + 1)
    );

    assert!(!factors::user_requires(&db, &user).await.expect("user"));
    factors::set_user_requires(&db, &user, true, NOW)
        .await
        .expect("set");
    assert!(factors::user_requires(&db, &user).await.expect("user"));
    assert!(
        factors::set_org_requires(&db, "o1", true, NOW)
            .await
            .expect("set")
    );
    assert!(
        !factors::set_org_requires(&db, "none", true, NOW)
            .await
            .expect("no org")
    );
    assert!(factors::org_requires(&db, "o1").await.expect("org"));
    store::orgs::add_member(&db, &user, "o1", &["coach".to_string()], NOW)
        .await
        .expect("member");
    let policy = factors::memberships(&db, &user).await.expect("memberships");
    assert!(policy[0].requires_two_factors && policy[0].roles == ["coach"]);

    let send = |id: &'static str, sent: bool| message_sends::NewSend {
        id,
        channel: "sms",
        budget: "login",
        recipient_hash: "r",
        ip: Some("1.2.3.4"),
        person_hash: None,
        organisation_id: None,
        country: Some("46"),
        sent,
    };
    assert!(
        message_sends::record(&db, &send("d1", true), NOW)
            .await
            .expect("record")
    );
    assert!(
        message_sends::record(&db, &send("d1", false), NOW)
            .await
            .expect("recorded before")
    );
    assert!(
        !message_sends::record(&db, &send("d2", false), NOW + 1)
            .await
            .expect("refused")
    );
    assert_eq!(
        message_sends::decided(&db, "d2").await.expect("decided"),
        Some(false)
    );
    let scope = message_sends::Scope::Country("46");
    let window = message_sends::window(&db, "sms", Some("login"), scope, NOW - 1)
        .await
        .expect("window");
    assert_eq!(
        window,
        message_sends::Window {
            count: 1,
            oldest: Some(NOW)
        }
    );
    assert_eq!(
        message_sends::count_sent(&db, "sms", message_sends::Scope::All, NOW - 1)
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        message_sends::last_sent_to(&db, "sms", "login", "r")
            .await
            .expect("last"),
        Some(NOW)
    );
    assert_eq!(
        message_sends::delete_before(&db, NOW + 1)
            .await
            .expect("purge"),
        1
    );

    let event = |kind: &'static str| audit::Event {
        kind,
        user_id: Some(&user),
        organisation_id: Some("o1"),
        detail: serde_json::json!({"n": 1}),
        ..audit::Event::default()
    };
    audit::append(&db, &event("login.ok"), NOW)
        .await
        .expect("append");
    audit::append(&db, &event("login.failed"), NOW + 1)
        .await
        .expect("append");
    let filter = audit::Filter {
        organisation_id: Some("o1"),
        kind: Some("login.ok"),
        ..audit::Filter::default()
    };
    assert_eq!(
        audit::list(&db, &filter, None, 10)
            .await
            .expect("list")
            .len(),
        1
    );
    let recent = audit::recent_for_user(&db, &user, 10)
        .await
        .expect("recent");
    assert_eq!(
        recent.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        ["login.failed", "login.ok"]
    );
    db.close().await;
}
