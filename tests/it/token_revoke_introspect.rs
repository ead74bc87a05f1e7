//! Revocation (RFC 7009) and introspection (RFC 7662): only the caller's tokens, confidential
//! callers only for introspection, and `{"active": false}` for everything else.

use crate::helpers::TestApp;
use crate::helpers::token::{
    Auth, active, confidential_client, introspect, post_form, public_client, public_tokens, redeem,
    refresh, web_client_code,
};

/// A code exchange at a new web client; returns `(client, secret, sub, access, refresh)`.
async fn login(app: &TestApp, email: &str) -> (String, String, String, String, String) {
    let (id, secret, sub, code) = web_client_code(app, email).await;
    let res = redeem(app, Auth::Basic(&id, &secret), &code, None).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let at = res.str("access_token").to_string();
    let rt = res.str("refresh_token").to_string();
    (id, secret, sub, at, rt)
}

#[tokio::test]
async fn introspection_describes_live_access_and_refresh_tokens() {
    let app = TestApp::spawn().await;
    let (id, secret, sub, at, rt) = login(&app, "ua@example.org").await;
    let res = introspect(&app, Auth::Basic(&id, &secret), &at).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.assert_no_store();
    assert_eq!(res.json["active"], true);
    assert_eq!(res.str("scope"), "openid email profile");
    assert_eq!(res.str("client_id"), id);
    assert_eq!(res.str("sub"), sub);
    assert_eq!(res.str("iss"), app.issuer);
    assert_eq!(res.str("aud"), id);
    assert_eq!(res.str("token_type"), "Bearer");
    assert!(res.json["exp"].is_i64() && res.json["iat"].is_i64() && res.json["jti"].is_string());

    let res = introspect(&app, Auth::Post(&id, &secret), &rt).await;
    assert_eq!(res.json["active"], true, "{}", res.json);
    assert_eq!(res.str("token_type"), "refresh_token");
    assert_eq!(res.str("sub"), sub);
    assert_eq!(res.str("client_id"), id);
    assert!(res.json["exp"].is_i64());

    let res = introspect(&app, Auth::Basic(&id, &secret), "garbage").await;
    assert_eq!(res.json, serde_json::json!({ "active": false }));
}

#[tokio::test]
async fn introspection_hides_other_clients_tokens_and_refuses_public_clients() {
    let app = TestApp::spawn().await;
    let (_, _, _, at, rt) = login(&app, "va@example.org").await;
    let (other, other_secret) = confidential_client(&app, &["client_credentials"]).await;
    for t in [&at, &rt] {
        let res = introspect(&app, Auth::Basic(&other, &other_secret), t).await;
        assert_eq!(res.status, 200);
        assert_eq!(res.json, serde_json::json!({ "active": false }));
    }
    let public = public_client(&app, "RS256").await;
    let res = introspect(&app, Auth::Public(&public), &at).await;
    res.expect_error(401, "invalid_client");
    let res = introspect(&app, Auth::None, &at).await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_the_grant() {
    let app = TestApp::spawn().await;
    let (id, secret, _, at, rt) = login(&app, "wa@example.org").await;
    let res = post_form(
        &app,
        "/revoke",
        Auth::Basic(&id, &secret),
        &[("token", &rt), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(res.status, 200);
    res.assert_no_store();
    let res = refresh(&app, Auth::Basic(&id, &secret), &rt).await;
    assert_eq!(res.error(), "invalid_grant");
    assert!(
        !active(&app, Auth::Basic(&id, &secret), &at).await,
        "access tokens of the grant die with it"
    );
}

#[tokio::test]
async fn revoking_an_access_token_kills_only_that_token() {
    let app = TestApp::spawn().await;
    let (id, secret, _, at, rt) = login(&app, "xa@example.org").await;
    let res = post_form(&app, "/revoke", Auth::Post(&id, &secret), &[("token", &at)]).await;
    assert_eq!(res.status, 200);
    assert!(!active(&app, Auth::Basic(&id, &secret), &at).await);
    let res = refresh(&app, Auth::Basic(&id, &secret), &rt).await;
    assert_eq!(
        res.status, 200,
        "the refresh token is untouched: {}",
        res.json
    );
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_tokens_and_unknown_tokens_get_200() {
    let app = TestApp::spawn().await;
    let (id, secret, _, at, rt) = login(&app, "ya@example.org").await;
    let (other, other_secret) = app.web_client().await;
    for t in [&at, &rt, &"unknown-token".to_string()] {
        let res = post_form(
            &app,
            "/revoke",
            Auth::Basic(&other, &other_secret),
            &[("token", t)],
        )
        .await;
        assert_eq!(res.status, 200);
    }
    for t in [&at, &rt] {
        assert!(active(&app, Auth::Basic(&id, &secret), t).await);
    }
    // Revocation needs client authentication.
    let res = post_form(
        &app,
        "/revoke",
        Auth::Basic(&id, "wrong"),
        &[("token", &rt)],
    )
    .await;
    assert_eq!(res.status, 401);
    let res = post_form(&app, "/revoke", Auth::Basic(&id, &secret), &[]).await;
    assert_eq!(res.error(), "invalid_request", "token is required");
}

#[tokio::test]
async fn a_public_client_revokes_its_refresh_token_with_its_client_id() {
    let app = TestApp::spawn().await;
    let (id, _, res) = public_tokens(&app, "RS256", "za@example.org").await;
    let rt = res.str("refresh_token").to_string();
    let res = post_form(&app, "/revoke", Auth::Public(&id), &[("token", &rt)]).await;
    assert_eq!(res.status, 200);
    let res = refresh(&app, Auth::Public(&id), &rt).await;
    assert_eq!(res.error(), "invalid_grant");
}
