//! Helpers for the authorization and logout tests: authorization URLs, the client's view
//! of a redirect, and database look-ups.

use nyckel::admin::clients::CreateClient;
use nyckel::auth::session::Session;
use nyckel::keys::jws::Alg;

use crate::helpers::browser::{Browser, Page, query};
use crate::helpers::{POST_LOGOUT_URI, REDIRECT_URI, TestApp};

/// An authorization URL for `client_id` with sensible defaults (`code`, the test redirect
/// URI, `openid email`, a state, a nonce and the PKCE challenge [`CHALLENGE`] of
/// [`VERIFIER`]); `extra` adds or replaces parameters, and an empty value removes one.
pub fn auth_url(app: &TestApp, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid email"),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push((k.to_string(), v.to_string()));
        }
    }
    let mut url = url::Url::parse(&app.url("/authorize")).expect("url");
    url.query_pairs_mut().extend_pairs(&params);
    url.to_string()
}

/// The S256 challenge of [`VERIFIER`] (RFC 7636 appendix B).
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The PKCE verifier of [`CHALLENGE`] (RFC 7636 appendix B), for the token exchange.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A confidential client that is not first-party (so people are asked for consent).
pub async fn third_party_client(app: &TestApp) -> String {
    app.create_client(CreateClient {
        name: "Third Party App".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
        ..Default::default()
    })
    .await
    .0
}

/// A fresh app with one client, and a browser in which a new person is signed in through a
/// session row inserted directly ([`Browser::insert_session`]): `(app, client_id, the
/// person's id, browser, session)`.
pub type SignedIn = (TestApp, String, String, Browser, Session);

/// [`SignedIn`] at the test web client ([`TestApp::web_client`], first-party: no consent).
pub async fn signed_in(email: &str) -> SignedIn {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    signed_in_at(app, client_id, email).await
}

/// [`SignedIn`] at a [`third_party_client`] (people are asked for consent).
pub async fn signed_in_third_party(email: &str) -> SignedIn {
    let app = TestApp::spawn().await;
    let client_id = third_party_client(&app).await;
    signed_in_at(app, client_id, email).await
}

async fn signed_in_at(app: TestApp, client_id: String, email: &str) -> SignedIn {
    let user = app.create_user(email).await;
    let (b, session) = Browser::signed_in(&app, &user).await;
    (app, client_id, user, b, session)
}

/// The query of a redirect to the client, after checking it goes to the registered URI.
pub fn client_redirect(page: &Page) -> std::collections::HashMap<String, String> {
    assert_eq!(page.status, 303, "expected a redirect, got:\n{}", page.body);
    let loc = page.location.as_deref().expect("location");
    assert!(
        loc.starts_with(&format!("{REDIRECT_URI}?")),
        "redirect to the registered URI, got {loc}"
    );
    query(loc)
}

/// Asserts a redirect to the login page with a pending request; returns its id.
pub fn login_redirect(page: &Page) -> String {
    assert_eq!(
        page.status, 303,
        "expected a redirect to login, got:\n{}",
        page.body
    );
    let loc = page.location.as_deref().expect("location");
    let id = loc
        .strip_prefix("/login?req=")
        .unwrap_or_else(|| panic!("expected /login?req=..., got {loc}"));
    assert!(!id.is_empty());
    id.to_string()
}

/// Counts the rows of a table.
pub async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(&format!("select count(*) from {table}"))
        .fetch_one(app.state.db.pool())
        .await
        .expect("count")
}

/// The grant behind a code.
pub async fn grant_of_code(app: &TestApp, code: &str) -> nyckel::store::grants::GrantRow {
    let hash = nyckel::crypto::sha256_b64(code);
    let (grant_id,): (String,) =
        sqlx::query_as("select grant_id from auth_codes where code_hash = $1")
            .bind(&hash)
            .fetch_one(app.state.db.pool())
            .await
            .expect("code row exists");
    nyckel::store::grants::find(&app.state.db, &grant_id)
        .await
        .expect("query")
        .expect("grant exists")
}

/// The active organisation of the grant behind the code in a redirect's query.
pub async fn org_of_code(
    app: &TestApp,
    query: &std::collections::HashMap<String, String>,
) -> Option<String> {
    grant_of_code(app, &query["code"]).await.organisation_id
}

/// An ID token of ours, as a client would hold it, for use as `id_token_hint`.
pub fn id_token(app: &TestApp, client_id: &str, sub: &str, sid: &str, exp_offset: i64) -> String {
    let now = app.state.now();
    let claims = serde_json::json!({
        "iss": app.issuer,
        "sub": sub,
        "aud": client_id,
        "sid": sid,
        "iat": now - 60,
        "exp": now + exp_offset,
    });
    app.state
        .keys
        .signing_key(Alg::Rs256, now)
        .expect("signing key")
        .sign("JWT", &claims)
        .expect("signed")
}
