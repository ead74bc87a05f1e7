//! Userinfo (O23, 9.2.x): Bearer header only, scope claims, refusing ID tokens, tokens in the
//! URL, revoked and client tokens.

use crate::helpers::TestApp;
use crate::helpers::api::{Reply, fetch};
use crate::helpers::token::{
    Auth, bearer, confidential_client, post_form, token, userinfo, web_client_tokens,
};

/// A web client and a code exchange for a new person; returns `(client, secret, sub, response)`.
async fn tokens(app: &TestApp, scope: &'static str) -> (String, String, String, Reply) {
    web_client_tokens(app, "sa@example.org", scope).await
}

/// A fresh app, and its userinfo answer to the `token` (`access_token`, `id_token`) a new
/// person got for `scope`.
async fn presented(scope: &'static str, token: &str) -> (TestApp, Reply) {
    let app = TestApp::spawn().await;
    let (_, _, _, t) = tokens(&app, scope).await;
    let res = userinfo(&app, t.str(token)).await;
    (app, res)
}

#[tokio::test]
async fn userinfo_answers_get_and_post_with_the_scope_claims() {
    let app = TestApp::spawn().await;
    let (_, _, sub, t) = tokens(&app, "openid email").await;
    let at = t.str("access_token");
    let res = userinfo(&app, at).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.assert_no_store();
    assert_eq!(res.str("sub"), sub);
    assert_eq!(res.str("email"), "sa@example.org");
    assert_eq!(res.json["email_verified"], false);
    assert!(res.json.get("name").is_none(), "no profile scope, no name");

    let res = bearer(&app, reqwest::Method::POST, "/userinfo", at).await;
    assert_eq!(res.status, 200);
    res.assert_no_store();
    assert_eq!(res.str("sub"), sub);
}

#[tokio::test]
async fn an_id_token_is_not_an_access_token() {
    let (app, res) = presented("openid", "id_token").await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.headers["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    let res = userinfo(&app, "not.a.token").await;
    assert_eq!(res.status, 401);
    let res = fetch(&app, "/userinfo").await;
    assert_eq!(res.status, 401, "no token at all");
    assert!(res.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn a_token_in_the_query_string_is_refused() {
    let app = TestApp::spawn().await;
    let (_, _, _, t) = tokens(&app, "openid").await;
    let at = t.str("access_token");
    let res = fetch(&app, &format!("/userinfo?access_token={at}")).await;
    assert_eq!(res.status, 400);
    // Even alongside a valid header.
    let in_query = format!("/userinfo?access_token={at}");
    let res = bearer(&app, reqwest::Method::GET, &in_query, at).await;
    assert_eq!(res.status, 400);
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let (id, secret, _, t) = tokens(&app, "openid").await;
    let at = t.str("access_token");
    assert_eq!(userinfo(&app, at).await.status, 200);
    let res = post_form(&app, "/revoke", Auth::Basic(&id, &secret), &[("token", at)]).await;
    assert_eq!(res.status, 200);
    let res = userinfo(&app, at).await;
    res.expect_error(401, "invalid_token");

    let (_, _, _, res) = web_client_tokens(&app, "tu@example.org", "openid").await;
    let at = res.str("access_token");
    app.advance(app.state.config.tokens.access_token_ttl + 1);
    assert_eq!(userinfo(&app, at).await.status, 401, "expired");
}

#[tokio::test]
async fn a_client_credentials_token_has_no_userinfo() {
    let app = TestApp::spawn().await;
    let (id, secret) = confidential_client(&app, &["client_credentials"]).await;
    let res = token(
        &app,
        Auth::Basic(&id, &secret),
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await;
    let res = userinfo(&app, res.str("access_token")).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\""
    );
}

#[tokio::test]
async fn a_token_without_openid_gets_insufficient_scope() {
    let (_app, res) = presented("email", "access_token").await;
    assert_eq!(res.status, 403);
}
