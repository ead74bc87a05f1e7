//! Shared helpers of the two-factor and step-up tests: an app with the default two-factor
//! rules, fixtures (verified phones, organisation requirements), the second step driven like
//! a person would, and a relying party (`openidconnect`) that finishes the code flow and
//! returns the ID token's claims.

use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
};
use serde_json::Value;

use nyckel::store;

use crate::helpers::browser::{Browser, Page, query};
use crate::helpers::{PASSWORD, TestApp};
use crate::rp::{payload, rp_client};

pub const ACR_1FA: &str = "urn:nyckel:acr:1fa";
pub const ACR_2FA: &str = "urn:nyckel:acr:2fa";
pub const STEP_COOKIE: &str = "__Host-nyckel_step";
pub const SESSION_COOKIE: &str = "__Host-nyckel_session";

/// An app with the default rules (administrators always use two factors).
pub async fn app() -> TestApp {
    TestApp::spawn().await
}

/// The id of the account `email`.
pub async fn user_id(app: &TestApp, email: &str) -> String {
    app.account(email).await.id
}

/// Gives `email` a verified phone number.
pub async fn verify_phone(app: &TestApp, email: &str, phone: &str) {
    app.verify_phone(email, phone).await;
}

/// Creates `email` with the verified number `phone` and their own setting "two factors"
/// on; returns the account's id.
pub async fn person_requiring_two(app: &TestApp, email: &str, phone: &str) -> String {
    let id = app.create_user_with_phone(email, phone).await;
    store::factors::set_user_requires(&app.state.db, &id, true, app.state.now())
        .await
        .expect("own setting");
    id
}

/// Makes `org` require two factors of its members.
pub async fn org_requires(app: &TestApp, org: &str) {
    assert!(
        store::factors::set_org_requires(&app.state.db, org, true, app.state.now())
            .await
            .expect("set")
    );
}

/// The `Set-Cookie` headers of a response that set (not clear) cookie `name`.
pub fn sets_cookie(page: &Page, name: &str) -> bool {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with(&format!("{name}=")) && !v.contains("Max-Age=0"))
}

/// Logs in on the plain login form (optionally at `path`, e.g. with `next`).
pub async fn password(b: &Browser, path: &str, email: &str, password: &str) -> Page {
    b.login_at(path, email, password).await
}

/// On the second-step page: sends the SMS code and types what arrived at `phone`.
pub async fn sms_step(app: &TestApp, b: &Browser, phone: &str) -> Page {
    let sent = b.fill_at("/login/second", "/login/second/send", &[]).await;
    let sent = sent.expect_status(200);
    let code = app.sms_code(phone).await;
    b.type_code(&sent, "/login/second/code", &code).await
}

/// The code of the newest SMS with a code to `phone`.
pub async fn last_code(app: &TestApp, phone: &str) -> String {
    app.sms_code(phone).await
}

/// The person's newest session's `(amr, acr)`.
pub async fn newest_session(app: &TestApp, email: &str) -> (Vec<String>, String) {
    let id = user_id(app, email).await;
    let (amr, acr): (String, String) = sqlx::query_as(
        "select amr, acr from sessions where user_id = $1 order by created_at desc, sid limit 1",
    )
    .bind(&id)
    .fetch_one(app.state.db.pool())
    .await
    .expect("a session");
    (serde_json::from_str(&amr).expect("amr"), acr)
}

/// Asserts the person's newest session: `amr` and the two-factor `acr`.
pub async fn assert_two_factor_session(app: &TestApp, email: &str, amr: &[&str]) {
    let amr = amr.iter().map(|m| m.to_string()).collect();
    assert_eq!(newest_session(app, email).await, (amr, ACR_2FA.to_string()));
}

/// Asserts a login of two factors: the ID token's `claims` and `email`'s newest session
/// both say `amr` and the two-factor `acr`.
pub async fn assert_two_factors(app: &TestApp, email: &str, claims: &Value, amr: &[&str]) {
    assert_eq!(claims["amr"], serde_json::json!(amr));
    assert_eq!(claims["acr"], ACR_2FA);
    assert_two_factor_session(app, email, amr).await;
}

/// How many sessions `email` has.
pub async fn session_count(app: &TestApp, email: &str) -> i64 {
    app.sessions_of(&user_id(app, email).await).await
}

/// A code flow as a relying party: start it with `extra` parameters, let `drive` act as the
/// person (from the first page the browser is sent to), then exchange the code and verify the
/// ID token. Returns the ID token's claims.
pub struct Flow {
    pub url: String,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    state: CsrfToken,
    client_id: String,
    secret: String,
}

impl Flow {
    pub async fn start(app: &TestApp, client: &(String, String), extra: &[(&str, &str)]) -> Flow {
        let (rp, _) = rp_client(app, &client.0, Some(&client.1)).await;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = rp
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("orgs".into()))
            .set_pkce_challenge(challenge);
        for (k, v) in extra {
            req = req.add_extra_param(*k, *v);
        }
        let (url, state, nonce) = req.url();
        Flow {
            url: url.to_string(),
            nonce,
            verifier,
            state,
            client_id: client.0.clone(),
            secret: client.1.clone(),
        }
    }

    /// The redirect to the client, as the final page: the ID token's claims.
    pub async fn finish(self, app: &TestApp, at_client: &Page) -> Value {
        let loc = at_client
            .location
            .clone()
            .unwrap_or_else(|| panic!("no redirect to the client: {}", at_client.body));
        let q = query(&loc);
        assert_eq!(q["state"], *self.state.secret());
        let code = q
            .get("code")
            .unwrap_or_else(|| panic!("no code in {loc}"))
            .clone();
        let (rp, http) = rp_client(app, &self.client_id, Some(&self.secret)).await;
        let token = rp
            .exchange_code(AuthorizationCode::new(code))
            .expect("token endpoint")
            .set_pkce_verifier(self.verifier)
            .request_async(&http)
            .await
            .expect("code exchange");
        let id_token = token.id_token().expect("an ID token");
        id_token
            .claims(&rp.id_token_verifier(), &self.nonce)
            .expect("the ID token verifies");
        payload(&id_token.to_string())
    }
}

/// A code flow of `client` started in a new browser, and `email`'s password typed on the
/// login page it leads to: the flow, the browser, the pending request's id and the answer.
pub async fn flow_with_password(
    app: &TestApp,
    client: &(String, String),
    email: &str,
) -> (Flow, Browser, String, Page) {
    let flow = Flow::start(app, client, &[]).await;
    let b = app.browser();
    let login = b.follow(b.get(&flow.url).await).await;
    let req = login.form("/login").expect("the login form")["req"].clone();
    let after = b.submit_login(&login, email, PASSWORD).await;
    (flow, b, req, after)
}

/// Follows the browser from `page` through login (password), the second step (SMS to
/// `phone`, if any is asked) and consent, to the redirect leaving the server.
pub async fn through(
    app: &TestApp,
    b: &Browser,
    page: Page,
    email: &str,
    phone: Option<&str>,
) -> Page {
    let mut page = b.follow(page).await;
    for _ in 0..6 {
        if page.has_form("/login") {
            let done = b
                .submit(&page, "/login", &[("email", email), ("password", PASSWORD)])
                .await;
            page = b.follow(done).await;
        } else if page.has_form("/login/second/send") {
            let phone = phone.expect("a second factor was asked for");
            let done = sms_step(app, b, phone).await;
            page = b.follow(done).await;
        } else if page.has_form("/consent") {
            let done = b.submit(&page, "/consent", &[("decision", "allow")]).await;
            page = b.follow(done).await;
        } else {
            return page;
        }
    }
    page
}
