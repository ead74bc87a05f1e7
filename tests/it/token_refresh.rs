//! The refresh_token grant: rotation, reuse detection revoking the family (10.4.5),
//! absolute (10.4.8) and idle expiry (O5), scope narrowing but never widening, client binding,
//! and a disabled account (7.4.2).

use crate::helpers::TestApp;
use crate::helpers::token::{
    Auth, CodeSpec, active, decode, issue_code, public_tokens, redeem, refresh, refresh_with,
    web_client_tokens,
};

/// Logs `email` in at a new web client and returns `(client_id, secret, refresh_token)`.
async fn logged_in(app: &TestApp, email: &str, scope: &'static str) -> (String, String, String) {
    let (id, secret, _, res) = web_client_tokens(app, email, scope).await;
    let r = res.str("refresh_token").to_string();
    (id, secret, r)
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let (id, secret, r1) = logged_in(&app, "la@example.org", "openid email").await;

    let res = refresh(&app, Auth::Basic(&id, &secret), &r1).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.assert_no_store();
    assert!(res.json.get("id_token").is_none(), "no ID token on refresh");
    assert_eq!(res.str("scope"), "openid email");
    let r2 = res.str("refresh_token").to_string();
    assert_ne!(r1, r2, "rotated");
    let a2 = res.str("access_token").to_string();
    let (header, claims) = decode(&a2);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["scope"], "openid email");

    // R1 again: reuse. Error, and R2 (and the access token from it) die too.
    let res = refresh(&app, Auth::Basic(&id, &secret), &r1).await;
    res.expect_error(400, "invalid_grant");
    let res = refresh(&app, Auth::Basic(&id, &secret), &r2).await;
    assert_eq!(
        res.error(),
        "invalid_grant",
        "R2 is dead after R1 was reused"
    );
    assert!(!active(&app, Auth::Basic(&id, &secret), &a2).await);
}

#[tokio::test]
async fn refresh_family_ends_at_the_absolute_lifetime_however_often_it_is_used() {
    let app = TestApp::spawn_with(|c| {
        c.tokens.refresh_idle_ttl = 1000;
        c.tokens.refresh_absolute_ttl = 2500;
    })
    .await;
    let (id, secret, mut r) = logged_in(&app, "ma@example.org", "openid").await;
    for _ in 0..2 {
        app.advance(900);
        let res = refresh(&app, Auth::Basic(&id, &secret), &r).await;
        assert_eq!(res.status, 200, "{}", res.json);
        r = res.str("refresh_token").to_string();
    }
    // 1800 s in; the newest token's idle expiry (2800) lies past the absolute end (2500).
    app.advance(800);
    let res = refresh(&app, Auth::Basic(&id, &secret), &r).await;
    res.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn an_idle_refresh_token_expires() {
    let app = TestApp::spawn().await;
    let (id, secret, r) = logged_in(&app, "na@example.org", "openid").await;
    app.advance(app.state.config.tokens.refresh_idle_ttl + 1);
    let res = refresh(&app, Auth::Basic(&id, &secret), &r).await;
    res.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn scope_may_narrow_on_refresh_but_never_widen() {
    let app = TestApp::spawn().await;
    let (id, secret, r) = logged_in(&app, "ol@example.org", "openid email").await;
    let wider = [("scope", "openid email phone")];
    let res = refresh_with(&app, Auth::Basic(&id, &secret), &r, &wider).await;
    res.expect_error(400, "invalid_scope");
    // The refused request did not consume the token; narrowing works.
    let narrower = [("scope", "openid")];
    let res = refresh_with(&app, Auth::Basic(&id, &secret), &r, &narrower).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert_eq!(res.str("scope"), "openid");
    let (_, claims) = decode(res.str("access_token"));
    assert_eq!(claims["scope"], "openid");
    // The family keeps the original grant: the next refresh may ask for all of it again.
    let r2 = res.str("refresh_token").to_string();
    let res = refresh(&app, Auth::Basic(&id, &secret), &r2).await;
    assert_eq!(res.str("scope"), "openid email");
}

#[tokio::test]
async fn another_client_cannot_use_a_refresh_token_nor_burn_it() {
    let app = TestApp::spawn().await;
    let (id, secret, r) = logged_in(&app, "pa@example.org", "openid").await;
    let (other, other_secret) = app.web_client().await;
    let res = refresh(&app, Auth::Basic(&other, &other_secret), &r).await;
    assert_eq!(res.error(), "invalid_grant");
    let res = refresh(&app, Auth::Basic(&id, &secret), &r).await;
    assert_eq!(
        res.status, 200,
        "the owner's token still works: {}",
        res.json
    );
    let res = refresh(&app, Auth::Basic(&id, "wrong"), &r).await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn public_clients_refresh_with_their_client_id() {
    let app = TestApp::spawn().await;
    let (id, _, res) = public_tokens(&app, "RS256", "qu@example.org").await;
    let r = res.str("refresh_token").to_string();
    let res = refresh(&app, Auth::Public(&id), &r).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let res = refresh(&app, Auth::None, res.str("refresh_token")).await;
    assert_eq!(res.status, 401, "some client identification is required");
}

#[tokio::test]
async fn a_disabled_account_cannot_refresh() {
    let app = TestApp::spawn().await;
    let (id, secret, r) = logged_in(&app, "ro@example.org", "openid").await;
    sqlx::query("update users set disabled = 1 where email = $1")
        .bind("ro@example.org")
        .execute(app.state.db.pool())
        .await
        .expect("disable");
    let res = refresh(&app, Auth::Basic(&id, &secret), &r).await;
    res.expect_error(400, "invalid_grant");
}

/// Issue 14, defect 5: a used refresh token (or code) presented by another, authenticated
/// client is refused as invalid, and does not count as reuse: only the owning client's
/// presentation may revoke the owner's grant.
#[tokio::test]
async fn another_clients_presentation_of_a_used_token_revokes_nothing() {
    let app = TestApp::spawn().await;
    let (id, secret, r1) = logged_in(&app, "owner@example.org", "openid email").await;
    let res = refresh(&app, Auth::Basic(&id, &secret), &r1).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let r2 = res.str("refresh_token").to_string();
    let a2 = res.str("access_token").to_string();

    // Another confidential client got hold of the used R1.
    let (other, other_secret) = app.web_client().await;
    let res = refresh(&app, Auth::Basic(&other, &other_secret), &r1).await;
    res.expect_error(400, "invalid_grant");
    assert!(
        active(&app, Auth::Basic(&id, &secret), &a2).await,
        "the owner's access token lives on"
    );
    let res = refresh(&app, Auth::Basic(&id, &secret), &r2).await;
    assert_eq!(res.status, 200, "the owner's family lives on: {}", res.json);

    // The same for a used code.
    let sub = app.create_user("coder@example.org").await;
    let (code, _) = issue_code(&app, CodeSpec::new(&id, &sub)).await;
    let first = redeem(&app, Auth::Basic(&id, &secret), &code, None).await;
    assert_eq!(first.status, 200, "{}", first.json);
    let access = first.str("access_token").to_string();
    let res = redeem(&app, Auth::Basic(&other, &other_secret), &code, None).await;
    assert_eq!(res.error(), "invalid_grant");
    assert!(
        active(&app, Auth::Basic(&id, &secret), &access).await,
        "another client's replay of a used code revokes nothing"
    );
}
