//! Support for the login tests: pending authorization requests bound to a browser (their
//! binding cookie put in its jar) and the audit events a login writes.

use nyckel::oidc::pending::{self, AuthParams};

use crate::helpers::browser::Browser;
use crate::helpers::{REDIRECT_URI, TestApp};

/// A fresh app where anna@example.org has an account (with [`crate::helpers::PASSWORD`]),
/// and a new browser; returns `(app, her id, browser)`.
pub async fn anna() -> (TestApp, String, Browser) {
    let app = TestApp::spawn().await;
    let user = app.create_user("anna@example.org").await;
    let browser = Browser::new(&app);
    (app, user, browser)
}

/// Authorization parameters of the test web client.
pub fn params(client_id: &str) -> AuthParams {
    AuthParams {
        client_id: client_id.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: "openid".into(),
        state: Some("st".into()),
        nonce: Some("n".into()),
        code_challenge: None,
        force_login: false,
        force_consent: false,
        no_prompt: false,
        max_age: None,
        login_hint: None,
        ui_locales: None,
        organization: None,
        acr_values: vec![],
        hint_sub: None,
    }
}

/// Stores a pending request for `browser` (its binding cookie goes into the jar); returns
/// the request id.
pub async fn pending_for(app: &TestApp, browser: &Browser, params: AuthParams) -> String {
    let binding = browser.cookie(pending::BINDING_COOKIE);
    let (p, cookie) = pending::create(
        &app.state.db,
        params,
        binding.as_deref(),
        1800,
        app.state.now(),
    )
    .await
    .expect("pending request");
    browser.add_cookie(pending::BINDING_COOKIE, &cookie);
    p.id
}

/// Audit events of `kind`: (user_id, ip, detail).
pub async fn audit(app: &TestApp, kind: &str) -> Vec<(Option<String>, Option<String>, String)> {
    sqlx::query_as("select user_id, ip, detail from audit_events where kind = $1 order by at")
        .bind(kind)
        .fetch_all(app.state.db.pool())
        .await
        .expect("audit events")
}
