//! OpenID Connect Back-Channel Logout 1.0 (issue 17): when a session ends, every client that
//! had tokens in it and registered a `backchannel_logout_uri` gets one logout token, posted
//! by the outbox loop to a real HTTP receiver on loopback. Checked here: the token as a
//! strict receiver checks it (signature against the published JWKS with the `openidconnect`
//! crate's JWK code, `typ`, the claims, no `nonce`); every way a session ends by someone's
//! act tells the apps (sign-out, "end session" by an admin, the person ending their other
//! sessions, a password set by an admin, erasure, the operator's reset of second factors);
//! expiry tells nobody; a receiver that fails gets the same `jti` again after the backoff;
//! a receiver down for a minute gets its token once back; a node that dies mid-post (its
//! task dropped with the claim held, the database state a kill leaves) leaves the token to
//! another node once the claim lapses; what organisation admins may register; the admin
//! UI lists the deliveries; the operator's commands. A new login in a browser that has a
//! session: another person's ends the earlier person's session everywhere, the same
//! person's keeps the `sid`, so that a later sign-out still reaches the apps of both logins.

use nyckel::admin::clients::CreateClient;
use nyckel::mail::delivery::deliver_due;
use serde_json::{Value, json};

use crate::helpers::admin::World;
use crate::helpers::api_fixtures::fresh_session;
use crate::helpers::authorize::{auth_url, client_redirect, grant_of_code};
use crate::helpers::backchannel::Receiver;
use crate::helpers::browser::Browser;
use crate::helpers::login::audit;
use crate::helpers::token::verify_with_jwks;
use crate::helpers::{PASSWORD, REDIRECT_URI, TestApp};

/// A first-party client redirecting to the test URI that is told at `receiver`.
async fn told_client(app: &TestApp, receiver: Option<&Receiver>, alg: &str) -> String {
    app.create_client(CreateClient {
        name: format!("App {alg}"),
        redirect_uris: vec![REDIRECT_URI.into()],
        first_party: true,
        id_token_alg: Some(alg.into()),
        backchannel_logout_uri: receiver.map(|r| r.url.clone()),
        ..Default::default()
    })
    .await
    .0
}

/// Runs a pass of the outbox loop. The server's own loop, woken by the end of a session, may
/// have delivered first; passes on a node run one at a time, so when this returns every
/// message that was due has been tried once, by one of them.
async fn deliver(app: &TestApp) {
    deliver_due(&app.state).await.expect("delivery pass");
}

/// Checks a logout token as a strict receiver does, for `client_id`; returns its claims.
async fn verified(app: &TestApp, token: &str, client_id: &str, alg: &str) -> Value {
    let (header, claims) = verify_with_jwks(app, token).await;
    assert_eq!(header["typ"], "logout+jwt", "{header}");
    assert_eq!(header["alg"], alg, "{header}");
    assert_eq!(claims["iss"], app.issuer.as_str(), "{claims}");
    assert_eq!(claims["aud"], client_id, "{claims}");
    let now = app.state.now();
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert!(iat <= now && exp > now && exp - iat <= 120, "{claims}");
    assert!(
        claims["jti"].as_str().is_some_and(|j| j.len() >= 16),
        "{claims}"
    );
    assert_eq!(
        claims["events"],
        json!({ "http://schemas.openid.net/event/backchannel-logout": {} })
    );
    assert!(claims.get("nonce").is_none(), "never a nonce: {claims}");
    claims
}

/// A grant of `client_id` made in the session `sid` of `user_id` (what a code issued in that
/// session leaves).
async fn grant_in(app: &TestApp, client_id: &str, user_id: &str, sid: &str) {
    let now = app.state.now();
    let grant = nyckel::store::grants::GrantRow {
        id: nyckel::crypto::random_id(),
        client_id: client_id.into(),
        user_id: Some(user_id.into()),
        sid: Some(sid.into()),
        scope: "openid".into(),
        organisation_id: None,
        auth_time: Some(now),
        amr: r#"["pwd"]"#.into(),
        acr: "urn:nyckel:acr:1fa".into(),
        created_at: now,
        expires_at: now + 3600,
        revoked_at: None,
    };
    let mut tx = app.state.db.begin().await.expect("begin");
    nyckel::store::grants::insert(&mut tx, &grant)
        .await
        .expect("grant");
    tx.commit().await.expect("commit");
}

/// A new session of `user_id` with a grant of `client_id` in it; returns its `sid`.
async fn session_at(app: &TestApp, client_id: &str, user_id: &str) -> String {
    let sid = fresh_session(app, user_id).await;
    grant_in(app, client_id, user_id, &sid).await;
    sid
}

/// The `sid` claims of the tokens `receiver` got, checked for `client_id`.
async fn sids_told(app: &TestApp, receiver: &Receiver, client_id: &str) -> Vec<String> {
    let mut sids = Vec::new();
    for token in receiver.tokens() {
        let claims = verified(app, &token, client_id, "RS256").await;
        sids.push(claims["sid"].as_str().expect("sid").to_string());
    }
    sids.sort();
    sids
}

#[tokio::test]
async fn signing_out_tells_each_app_of_the_session_once_with_a_token_a_strict_receiver_accepts() {
    let app = TestApp::spawn().await;
    let (rs, ed) = (Receiver::start().await, Receiver::start().await);
    let rs_client = told_client(&app, Some(&rs), "RS256").await;
    let ed_client = told_client(&app, Some(&ed), "EdDSA").await;
    let silent = told_client(&app, None, "ES256").await;
    let user = app.create_user("bc-anna@example.org").await;
    let (b, session) = Browser::signed_in(&app, &user).await;
    // Codes at all three apps (the RS256 app twice) in this session, through /authorize.
    for client in [&rs_client, &rs_client, &ed_client, &silent] {
        let q = client_redirect(&b.get(&auth_url(&app, client, &[])).await);
        assert!(q.contains_key("code"), "{q:?}");
    }
    // Another session of the same person at the RS256 app: it stays, and is not told.
    let other = fresh_session(&app, &user).await;
    grant_in(&app, &rs_client, &user, &other).await;

    let home = b.get("/").await;
    let out = b.submit(&home, "/logout", &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    deliver(&app).await;

    let rs_tokens = rs.tokens();
    assert_eq!(rs_tokens.len(), 1, "one token per app and session");
    let claims = verified(&app, &rs_tokens[0], &rs_client, "RS256").await;
    assert_eq!(claims["sid"], session.sid.as_str());
    assert_eq!(claims["sub"], user.as_str());
    let ed_tokens = ed.tokens();
    assert_eq!(ed_tokens.len(), 1);
    let claims = verified(&app, &ed_tokens[0], &ed_client, "EdDSA").await;
    assert_eq!(claims["sid"], session.sid.as_str());

    // Nothing more to send; the other session still lives.
    deliver(&app).await;
    assert_eq!((rs.tokens().len(), ed.tokens().len()), (1, 1));
    let live = nyckel::store::sessions::find_by_sid(&app.state.db, &other)
        .await
        .expect("db");
    assert!(live.is_some(), "the other session was not ended");
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_jti_again_after_the_backoff_and_the_failure_shows() {
    let app = TestApp::spawn().await;
    let rp = Receiver::start().await;
    let client = told_client(&app, Some(&rp), "RS256").await;
    let user = app.create_user("bc-retry@example.org").await;
    let sid = session_at(&app, &client, &user).await;
    rp.answer(503);

    let caller = nyckel::admin::Caller::operator();
    nyckel::admin::sessions::end_any(&app.state, &caller, &sid)
        .await
        .expect("ended");
    // The session ended at once, whatever the receiver does; the token waits in the outbox.
    deliver(&app).await;
    assert_eq!(rp.tokens().len(), 1, "one attempt");
    let deliveries = nyckel::admin::clients::logout_deliveries(&app.state, &caller, &client)
        .await
        .expect("deliveries");
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, 1);
    assert_eq!(
        deliveries[0].last_error.as_deref(),
        Some("127.0.0.1: HTTP 503"),
        "the receiver's host and status, nothing of the token"
    );
    // Not due again before the backoff (30 s).
    deliver(&app).await;
    assert_eq!(rp.tokens().len(), 1, "no retry before the backoff");

    rp.answer(200);
    app.advance(31);
    deliver(&app).await;
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 2, "the failed post and the retry");
    let first = verified(&app, &tokens[0], &client, "RS256").await;
    let again = verified(&app, &tokens[1], &client, "RS256").await;
    assert_eq!(first["jti"], again["jti"], "a retry is the same logout");
    assert!(again["iat"].as_i64() > first["iat"].as_i64(), "signed anew");
    let deliveries = nyckel::admin::clients::logout_deliveries(&app.state, &caller, &client)
        .await
        .expect("deliveries");
    assert_eq!(
        deliveries[0].state,
        nyckel::admin::clients::DeliveryState::Delivered
    );
}

#[tokio::test]
async fn every_way_a_session_is_ended_by_someone_tells_the_apps_and_expiry_tells_nobody() {
    let app = TestApp::spawn_with(|c| {
        c.admin.allow_set_password = true;
        crate::helpers::password_only_admins(c, "this test is about what ending sessions sends");
    })
    .await;
    let w = World::with(app).await;
    let app = &w.app;
    let rp = Receiver::start().await;
    let client = told_client(app, Some(&rp), "RS256").await;
    let member = &w.member_a;
    let mut expected = Vec::new();

    // An org admin ends one of the member's sessions through the admin API.
    let sid = session_at(app, &client, &member.id).await;
    let api = w.api(&w.admin_a).await;
    let path = format!("/orgs/club-a/members/{}/sessions/{sid}", member.id);
    api.delete(&path).await.expect(204);
    expected.push(sid);

    // The person ends their other sessions from the account page.
    let b = w.browser(member).await;
    let sid = session_at(app, &client, &member.id).await;
    let page = b.get("/account").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let done = b.submit(&page, "/account/sessions/end-others", &[]).await;
    assert!(done.status.as_u16() < 400, "{}", done.body);
    expected.push(sid);

    // A superadmin sets the person's password: every session ends.
    let sid = session_at(app, &client, &member.id).await;
    let api = w.api(&w.superadmin).await;
    let body = json!({ "password": "a brand new password 42" });
    api.put(&format!("/users/{}/password", member.id), &body)
        .await
        .expect(204);
    expected.push(sid);

    // The operator resets the person's second factors: every session ends.
    let sid = session_at(app, &client, &member.id).await;
    nyckel::auth::factors::settings::reset(&app.state, &member.email)
        .await
        .expect("reset");
    expected.push(sid);

    // The account is erased: its sessions end, and the apps are told before the grants go.
    let sid = session_at(app, &client, &member.id).await;
    let user = nyckel::store::users::find(&app.state.db, &member.id)
        .await
        .expect("db")
        .expect("user");
    nyckel::auth::own_data::erase_account(
        &app.state,
        &user,
        nyckel::store::erasure::ErasedBy::Other("cli"),
    )
    .await
    .expect("erased");
    expected.push(sid);

    deliver(app).await;
    expected.sort();
    assert_eq!(sids_told(app, &rp, &client).await, expected);

    // A session that expires tells nobody (docs/claims.md): not a logout event.
    let other = &w.member_b;
    let sid = session_at(app, &client, &other.id).await;
    app.advance(86_400 * 2);
    nyckel::upkeep::purge_expired(&app.state).await;
    let gone = nyckel::store::sessions::find_by_sid(&app.state.db, &sid)
        .await
        .expect("db");
    assert!(gone.is_none(), "the expired session was removed");
    deliver(app).await;
    assert_eq!(rp.tokens().len(), expected.len(), "expiry sent nothing");
}

#[tokio::test]
async fn org_admins_register_https_receivers_only_and_the_admin_page_lists_deliveries() {
    let w = World::new().await;
    let api = w.api(&w.admin_a).await;
    let new = |uri: &str| {
        json!({
            "name": "Club app",
            "redirect_uris": [REDIRECT_URI],
            "backchannel_logout_uri": uri,
            "backchannel_logout_session_required": true,
        })
    };
    let created = api
        .post(
            "/orgs/club-a/clients",
            &new("https://club.example/oidc/backchannel"),
        )
        .await;
    created.expect(201);
    let client = created.str("client_id").to_string();
    assert_eq!(
        created.json["backchannel_logout_uri"],
        "https://club.example/oidc/backchannel"
    );
    assert_eq!(created.json["backchannel_logout_session_required"], true);
    let discovery = w.app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["backchannel_logout_supported"], true);
    assert_eq!(discovery["backchannel_logout_session_supported"], true);

    // Not https, a fragment, or the server's own loopback (for an org admin): refused, and
    // nothing changes.
    let path = format!("/clients/{client}");
    for (uri, status) in [
        ("http://club.example/backchannel", 400),
        ("https://club.example/backchannel#x", 400),
        ("not a uri", 400),
        ("http://127.0.0.1:9/backchannel", 403),
        ("https://localhost/backchannel", 403),
        ("https://[::1]/backchannel", 403),
        // The unspecified address reaches this machine too; link-local is the metadata
        // service's (issue 18: both were accepted before).
        ("https://0.0.0.0/backchannel", 403),
        ("https://[::ffff:7f00:1]/backchannel", 403),
        ("https://169.254.169.254/latest/meta-data", 403),
    ] {
        let body = json!({ "backchannel_logout_uri": uri });
        let res = api.patch(&path, &body).await;
        assert_eq!(res.status, status, "{uri}: {}", res.text);
    }
    let shown = api.get(&path).await;
    assert_eq!(
        shown.json["backchannel_logout_uri"],
        "https://club.example/oidc/backchannel"
    );
    // A superadmin may point an installation's test app at loopback; `null` stops it.
    let sup = w.api(&w.superadmin).await;
    let body = json!({ "backchannel_logout_uri": "http://127.0.0.1:9/backchannel" });
    sup.patch(&path, &body).await.expect(200);

    // The admin page shows the setting and the failed delivery (port 9: nothing listens).
    let sid = session_at(&w.app, &client, &w.member_a.id).await;
    let caller = nyckel::admin::Caller::operator();
    nyckel::admin::sessions::end_any(&w.app.state, &caller, &sid)
        .await
        .expect("ended");
    deliver(&w.app).await;
    let b = w.browser(&w.admin_a).await;
    let page = b.get(&format!("/admin/orgs/club-a/clients/{client}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(r#"value="http://127.0.0.1:9/backchannel""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(r#"id="logout-deliveries""#),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("127.0.0.1: could not connect"),
        "{}",
        page.body
    );

    let body = json!({ "backchannel_logout_uri": null });
    let res = sup.patch(&path, &body).await;
    res.expect(200);
    assert_eq!(res.json["backchannel_logout_uri"], Value::Null);
}

#[tokio::test]
async fn the_operator_sets_shows_and_removes_a_back_channel_uri_from_the_command_line() {
    let cli = crate::helpers::ops::Install::new().await;
    let created = cli.json(&[
        "client",
        "create",
        "--name",
        "Club site",
        "--redirect-uri",
        REDIRECT_URI,
        "--backchannel-logout-uri",
        "http://127.0.0.1:8081/oidc/backchannel",
        "--backchannel-logout-session-required",
    ]);
    let id = created["client_id"].as_str().expect("id").to_string();
    assert_eq!(
        created["backchannel_logout_uri"],
        "http://127.0.0.1:8081/oidc/backchannel"
    );
    assert_eq!(created["backchannel_logout_session_required"], true);
    let shown = cli.ok(&["client", "show", &id]);
    assert!(
        shown.contains("backchannel_logout_uri:    http://127.0.0.1:8081/oidc/backchannel"),
        "{shown}"
    );

    // A URI that is not https (nor loopback) is refused, naming it; nothing changes.
    let refused = cli.fails(&[
        "client",
        "update",
        &id,
        "--backchannel-logout-uri",
        "http://club.example/backchannel",
    ]);
    assert!(
        refused.contains("backchannel_logout_uri http://club.example/backchannel"),
        "{refused}"
    );
    let updated = cli.json(&[
        "client",
        "update",
        &id,
        "--no-backchannel-logout",
        "--backchannel-logout-session-required",
        "false",
    ]);
    assert_eq!(updated["backchannel_logout_uri"], Value::Null);
    assert_eq!(updated["backchannel_logout_session_required"], false);
    let log = cli.json(&["audit", "list", "--kind", "admin.client_updated"]);
    assert!(log.to_string().contains("backchannel_logout_uri"), "{log}");
}

#[tokio::test]
async fn a_receiver_down_for_a_minute_gets_its_token_once_it_is_back() {
    let app = TestApp::spawn().await;
    // A port nothing listens on, until the receiver comes back on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let client = app
        .create_client(CreateClient {
            name: "Sometimes down".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            backchannel_logout_uri: Some(format!("http://127.0.0.1:{port}/backchannel")),
            ..Default::default()
        })
        .await
        .0;
    let user = app.create_user("bc-down@example.org").await;
    let sid = session_at(&app, &client, &user).await;
    let caller = nyckel::admin::Caller::operator();
    nyckel::admin::sessions::end_any(&app.state, &caller, &sid)
        .await
        .expect("ended");

    // Tried at once, after 30 s and after another 60 s: nobody answers for a minute and a half.
    for wait in [0, 30, 60] {
        app.advance(wait);
        deliver(&app).await;
    }
    let deliveries = nyckel::admin::clients::logout_deliveries(&app.state, &caller, &client)
        .await
        .expect("deliveries");
    assert_eq!(deliveries[0].attempts, 3, "{deliveries:?}");
    let error = deliveries[0].last_error.as_deref().unwrap_or_default();
    assert!(error.starts_with("127.0.0.1: could not connect"), "{error}");

    // The receiver is back; the next attempt (120 s later) delivers, once.
    let rp = crate::helpers::backchannel::Receiver::start_on(port).await;
    app.advance(119);
    deliver(&app).await;
    assert!(rp.tokens().is_empty(), "not before the backoff");
    app.advance(1);
    deliver(&app).await;
    assert_eq!(sids_told(&app, &rp, &client).await, [sid]);
    app.advance(3600);
    deliver(&app).await;
    assert_eq!(rp.tokens().len(), 1, "delivered once");
}

#[tokio::test]
async fn a_node_that_dies_while_posting_leaves_the_token_to_another_node() {
    let app = TestApp::spawn().await;
    // This test runs two more nodes on the same database and clock; the server's own
    // delivery loop stays out of the way.
    let _paused = app.state.mailer.pause().await;
    let node =
        || nyckel::state::AppState::build_with_clock(app.state.config.clone(), app.clock.clone());
    let (node_a, node_b) = (node().await.expect("node A"), node().await.expect("node B"));
    let rp = Receiver::start().await;
    let client = told_client(&app, Some(&rp), "RS256").await;
    let user = app.create_user("bc-node@example.org").await;
    let sid = session_at(&app, &client, &user).await;
    let caller = nyckel::admin::Caller::operator();
    nyckel::admin::sessions::end_any(&node_a, &caller, &sid)
        .await
        .expect("ended");

    // Node A claims the token and posts it; the receiver takes it and does not answer, and
    // node A dies before it does: the claim stays, with no outcome recorded.
    rp.answer(crate::helpers::backchannel::HANG);
    let posting = tokio::spawn(async move { deliver_due(&node_a).await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while rp.tokens().is_empty() {
        assert!(std::time::Instant::now() < deadline, "node A never posted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    posting.abort();
    assert!(
        posting.await.is_err_and(|e| e.is_cancelled()),
        "node A died mid-post"
    );
    let first = verified(&app, &rp.tokens()[0], &client, "RS256").await;

    // Node B leaves it while node A's claim lasts, and takes it once the claim lapses.
    rp.answer(200);
    deliver_due(&node_b).await.expect("pass");
    assert_eq!(rp.tokens().len(), 1, "not while node A's claim lasts");
    app.advance(nyckel::mail::delivery::LEASE);
    deliver_due(&node_b).await.expect("pass");
    let tokens = rp.tokens();
    assert_eq!(tokens.len(), 2, "delivered by node B");
    let again = verified(&app, &tokens[1], &client, "RS256").await;
    assert_eq!(first["jti"], again["jti"], "the same logout");
    assert_eq!(again["sid"], sid.as_str());
    let deliveries = nyckel::admin::clients::logout_deliveries(&app.state, &caller, &client)
        .await
        .expect("deliveries");
    assert_eq!(
        (deliveries[0].state, deliveries[0].attempts),
        (nyckel::admin::clients::DeliveryState::Delivered, 2)
    );
}

/// Logs `email` in at `client` through the login page in `b` (or by single sign-on when the
/// browser's session is that person's); returns the code's grant's `sid` and the code.
async fn code_at(app: &TestApp, b: &Browser, client: &str, email: &str) -> (String, String) {
    let page = b
        .authorize_and_login(&auth_url(app, client, &[]), email, PASSWORD)
        .await;
    let code = client_redirect(&page)["code"].clone();
    let sid = grant_of_code(app, &code)
        .await
        .sid
        .expect("a grant of a login has a sid");
    (sid, code)
}

#[tokio::test]
async fn another_person_signing_in_on_the_same_browser_ends_the_earlier_persons_session_everywhere()
{
    let app = TestApp::spawn().await;
    let rx = Receiver::start().await;
    let client = told_client(&app, Some(&rx), "RS256").await;
    let anna = app.create_user("handover-anna@example.org").await;
    app.create_user("handover-bo@example.org").await;
    let b = Browser::new(&app);
    let (anna_sid, anna_code) = code_at(&app, &b, &client, "handover-anna@example.org").await;

    // Bo signs in on the club-house computer without Anna having signed out.
    let page = b.login("handover-bo@example.org", PASSWORD).await;
    assert!(page.status.is_redirection(), "{}", page.body);
    deliver(&app).await;

    assert_eq!(sids_told(&app, &rx, &client).await, vec![anna_sid.clone()]);
    let grant = grant_of_code(&app, &anna_code).await;
    assert!(grant.revoked_at.is_some(), "Anna's tokens are revoked");
    let logouts = audit(&app, "logout").await;
    assert_eq!(logouts.len(), 1, "{logouts:?}");
    assert_eq!(logouts[0].0.as_deref(), Some(anna.as_str()));
    assert!(logouts[0].2.contains("another_login"), "{logouts:?}");
    // Bo's own session is new, and its codes are Bo's.
    let (bo_sid, _) = code_at(&app, &b, &client, "handover-bo@example.org").await;
    assert_ne!(bo_sid, anna_sid);
}

#[tokio::test]
async fn the_same_person_signing_in_again_keeps_the_sid_so_sign_out_reaches_both_logins_apps() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start().await;
    let client = told_client(&app, Some(&rx), "RS256").await;
    app.create_user("again-anna@example.org").await;
    let b = Browser::new(&app);
    let (first_sid, first_code) = code_at(&app, &b, &client, "again-anna@example.org").await;
    let before = b
        .cookie(nyckel::http::cookies::SESSION_COOKIE)
        .expect("cookie");

    let page = b.login("again-anna@example.org", PASSWORD).await;
    assert!(page.status.is_redirection(), "{}", page.body);
    let after = b
        .cookie(nyckel::http::cookies::SESSION_COOKIE)
        .expect("cookie");
    assert_ne!(before, after, "a new cookie value at every login");
    let (second_sid, second_code) = code_at(&app, &b, &client, "again-anna@example.org").await;
    assert_eq!(second_sid, first_sid, "the session goes on under its sid");
    deliver(&app).await;
    assert!(
        rx.tokens().is_empty(),
        "a login of the same person tells nobody"
    );
    assert!(audit(&app, "logout").await.is_empty());

    let home = b.get("/").await;
    let out = b.submit(&home, "/logout", &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    deliver(&app).await;
    assert_eq!(sids_told(&app, &rx, &client).await, vec![first_sid]);
    for code in [first_code, second_code] {
        let grant = grant_of_code(&app, &code).await;
        assert!(
            grant.revoked_at.is_some(),
            "both logins' tokens end at sign-out"
        );
    }
}
