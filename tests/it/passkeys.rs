//! Passkeys with real WebAuthn ceremonies: a software authenticator (webauthn-authenticator-rs
//! `SoftPasskey`, reporting user verification) registers from the account page after a fresh
//! login, and logs in (email first, and discoverable) over real HTTP; an authorization code
//! flow then reports `amr` ["hwk","mfa"] and the two-factor `acr`. Refusals: a stale login, a
//! wrong origin, a replayed challenge, a challenge from another browser, a removed credential,
//! an expired challenge, a disabled account, another person's passkey id; challenges are
//! distinct and at least 128 bits.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

use crate::helpers::browser::{Browser, Page};
use crate::helpers::flows::authorize_url;
use crate::helpers::pages::redeem_at_client;
use crate::helpers::token::decode;
use crate::helpers::{PASSWORD, TestApp};

const ANNA: &str = "anna@example.org";
const BOB: &str = "bob@example.org";

pub type Authenticator = WebauthnAuthenticator<SoftPasskey>;

/// A software passkey that performs user verification.
pub fn authenticator() -> Authenticator {
    WebauthnAuthenticator::new(SoftPasskey::new(true))
}

/// A JSON answer.
pub struct Answer {
    pub status: StatusCode,
    pub json: Value,
    pub set_cookie: bool,
}

/// POSTs `{"csrf": csrf}` as JSON to `path`.
pub async fn post_csrf(b: &Browser, path: &str, csrf: &str) -> Answer {
    post_json(b, path, &json!({ "csrf": csrf })).await
}

pub async fn post_json(b: &Browser, path: &str, body: &Value) -> Answer {
    let res = b
        .client
        .post(format!("{}{path}", b.issuer))
        .header("accept-language", "en")
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = res.status();
    let set_cookie = res.headers().get("set-cookie").is_some();
    let json = res.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        json,
        set_cookie,
    }
}

/// The session's CSRF token from the passkeys page.
async fn account_csrf(b: &Browser) -> String {
    b.open("/account/passkeys")
        .await
        .csrf("/account/passkeys/start")
}

/// Posts a passkey page's form (`remove`, `rename`) for passkey `id` with the session's
/// `csrf` and `more` fields.
async fn on_passkey(
    b: &Browser,
    id: &str,
    action: &str,
    csrf: &str,
    more: &[(&str, &str)],
) -> Page {
    let mut fields = vec![("csrf", csrf)];
    fields.extend_from_slice(more);
    b.post(&format!("/account/passkeys/{id}/{action}"), &fields)
        .await
}

pub fn origin(app: &TestApp) -> Url {
    Url::parse(&app.issuer).expect("issuer URL")
}

/// A registration: the start answer's options (for the user handle) and the finish answer.
pub struct Registered {
    pub user_handle: String,
    pub finish: Answer,
}

/// Registers a passkey named `name` from the account page of `b` with `auth` at `at`.
pub async fn register(b: &Browser, auth: &mut Authenticator, at: Url, name: &str) -> Registered {
    let csrf = account_csrf(b).await;
    let (start, finish) = enrol(b, auth, at, "/account/passkeys", &csrf, name).await;
    Registered {
        user_handle: start.json["options"]["publicKey"]["user"]["id"]
            .as_str()
            .expect("user handle")
            .to_string(),
        finish,
    }
}

/// A registration ceremony at `{base}/start` and `{base}/finish` with the form token `csrf`
/// (user verification required): the start and the finish answers.
pub async fn enrol(
    b: &Browser,
    auth: &mut Authenticator,
    at: Url,
    base: &str,
    csrf: &str,
    name: &str,
) -> (Answer, Answer) {
    let start = post_csrf(b, &format!("{base}/start"), csrf).await;
    assert_eq!(start.status, 200, "{}", start.json);
    let options = &start.json["options"];
    let verification = &options["publicKey"]["authenticatorSelection"]["userVerification"];
    assert_eq!(verification, "required");
    let options: CreationChallengeResponse =
        serde_json::from_value(options.clone()).expect("creation options");
    let credential = auth
        .do_registration(at, options)
        .expect("the authenticator registers");
    let challenge_id = &start.json["challenge_id"];
    let body = json!({ "csrf": csrf, "challenge_id": challenge_id, "credential": credential, "name": name });
    let finish = post_json(b, &format!("{base}/finish"), &body).await;
    (start, finish)
}

/// The login page's passkey form fields (csrf, and req when continuing a request).
fn passkey_fields(page: &Page) -> serde_json::Map<String, Value> {
    page.form("/login/passkey/start")
        .expect("the passkey form")
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// Starts a passkey login from `page` (email first when `email` is given).
async fn start_login(b: &Browser, page: &Page, email: Option<&str>) -> Answer {
    let mut body = passkey_fields(page);
    if let Some(e) = email {
        body.insert("email".into(), json!(e));
    }
    post_json(b, "/login/passkey/start", &Value::Object(body)).await
}

/// A discoverable credential the test plays: `(credential id, user handle)`.
pub type Key<'a> = Option<(&'a str, &'a str)>;

/// The authenticator's answer to a started login's options; for a discoverable login the
/// test plays the authenticator's part of finding its credential (`cred_id`) and returning
/// the user handle (which is not signed).
pub fn sign_in(
    auth: &mut Authenticator,
    at: Url,
    started: &Answer,
    discoverable: Key<'_>,
) -> Value {
    let mut options = started.json["options"].clone();
    if let Some((cred_id, _)) = discoverable {
        options["publicKey"]["allowCredentials"] = json!([{ "type": "public-key", "id": cred_id }]);
    }
    let options: RequestChallengeResponse =
        serde_json::from_value(options).expect("request options");
    let cred = auth
        .do_authentication(at, options)
        .expect("the authenticator signs");
    let mut cred = serde_json::to_value(cred).expect("JSON");
    if let Some((_, handle)) = discoverable {
        cred["response"]["userHandle"] = json!(handle);
    }
    cred
}

/// Finishes the login `started` from `page` with the authenticator's answer `cred`.
async fn finish_login(b: &Browser, page: &Page, started: &Answer, cred: &Value) -> Answer {
    finish_challenge(b, page, &started.json["challenge_id"], cred).await
}

/// Finishes a login from `page` naming `challenge_id`, with `cred`.
async fn finish_challenge(b: &Browser, page: &Page, challenge_id: &Value, cred: &Value) -> Answer {
    let mut body = passkey_fields(page);
    body.insert("challenge_id".into(), challenge_id.clone());
    body.insert("credential".into(), cred.clone());
    post_json(b, "/login/passkey/finish", &Value::Object(body)).await
}

/// A whole passkey login from the login `page` of `b`: start (email first when `email` is
/// given), the authenticator's answer at `at` (`key`: discoverable), finish.
async fn passkey_login(
    b: &Browser,
    page: &Page,
    auth: &mut Authenticator,
    at: Url,
    email: Option<&str>,
    key: Key<'_>,
) -> Answer {
    let started = start_login(b, page, email).await;
    let cred = sign_in(auth, at, &started, key);
    finish_login(b, page, &started, &cred).await
}

/// The id and credential id of the person's only passkey.
async fn stored(app: &TestApp, user_id: &str) -> Vec<(String, String)> {
    nyckel::store::passkeys::list_for_user(&app.state.db, user_id)
        .await
        .expect("query")
        .into_iter()
        .map(|p| (p.id, p.credential_id))
        .collect()
}

async fn audit_count(app: &TestApp, kind: &str, method: Option<&str>) -> i64 {
    let rows: Vec<(String,)> = sqlx::query_as("select detail from audit_events where kind = $1")
        .bind(kind)
        .fetch_all(app.state.db.pool())
        .await
        .expect("audit query");
    rows.iter()
        .filter(|(d,)| {
            method.is_none_or(|m| {
                serde_json::from_str::<Value>(d).is_ok_and(|v| v["method"] == json!(m))
            })
        })
        .count() as i64
}

/// Anna with a registered passkey: the app, her id, her authenticator, the user handle.
async fn anna_with_passkey() -> (TestApp, String, Authenticator, String) {
    let app = TestApp::spawn().await;
    let anna = app.create_user(ANNA).await;
    let b = app.browser();
    b.log_in(ANNA).await;
    let mut auth = authenticator();
    let reg = register(&b, &mut auth, origin(&app), "Laptop").await;
    assert_eq!(reg.finish.status, 200, "{}", reg.finish.json);
    (app, anna, auth, reg.user_handle)
}

#[tokio::test]
async fn a_passkey_is_registered_after_a_fresh_login_and_listed_renamed_and_removed() {
    let app = TestApp::spawn().await;
    let anna = app.create_user(ANNA).await;
    let b = app.browser();

    // Not signed in: the page sends the browser to the login page.
    let page = b.get("/account/passkeys").await;
    page.assert_redirect("/login?next=/account/passkeys");

    b.log_in(ANNA).await;
    let page = b.get("/account/passkeys").await;
    page.assert_shows("You have no passkeys yet.");
    assert!(
        page.body
            .contains("<script src=\"/static/passkey.js\" defer></script>")
    );
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("CSP");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    let mut auth = authenticator();
    let reg = register(&b, &mut auth, origin(&app), "Min laptop").await;
    assert_eq!(reg.finish.status, 200, "{}", reg.finish.json);
    assert_eq!(reg.finish.json["redirect"], "/account/passkeys");
    let keys = stored(&app, &anna).await;
    assert_eq!(keys.len(), 1);
    let (id, _) = keys[0].clone();
    let page = b.get("/account/passkeys").await;
    page.assert_shows("Min laptop");
    assert!(page.body.contains("Never"), "not used yet");
    assert_eq!(audit_count(&app, "passkey.added", None).await, 1);
    let mail = app.mails_to(ANNA).await;
    // The person has no language set: the installation's default (Swedish).
    assert!(
        mail.iter()
            .any(|m| m.subject == "En passkey har lagts till på ditt konto"
                && m.text.contains("Min laptop")),
        "a notice about the new passkey"
    );

    // The same authenticator cannot be registered twice (it is excluded, and refused).
    let csrf = account_csrf(&b).await;
    let start = post_csrf(&b, "/account/passkeys/start", &csrf).await;
    let excluded = start.json["options"]["publicKey"]["excludeCredentials"]
        .as_array()
        .expect("exclude list")
        .len();
    assert_eq!(excluded, 1);

    // Rename: the session's CSRF token is needed.
    let renamed = on_passkey(&b, &id, "rename", "wrong", &[("name", "Stulen")]).await;
    assert_eq!(renamed.status, 403);
    let renamed = on_passkey(&b, &id, "rename", &csrf, &[("name", "  Jobbdatorn  ")]).await;
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    let page = b.get("/account/passkeys").await;
    assert!(page.body.contains("Jobbdatorn") && !page.body.contains("Min laptop"));
    assert_eq!(audit_count(&app, "passkey.renamed", None).await, 1);

    // Remove.
    let removed = on_passkey(&b, &id, "remove", &csrf, &[]).await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    assert!(stored(&app, &anna).await.is_empty());
    assert_eq!(audit_count(&app, "passkey.removed", None).await, 1);
    let mail = app.mails_to(ANNA).await;
    assert!(
        mail.iter()
            .any(|m| m.subject == "En passkey har tagits bort från ditt konto"),
        "a notice about the removal"
    );
    // Removing it again: nothing there.
    let again = on_passkey(&b, &id, "remove", &csrf, &[]).await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn adding_and_removing_need_a_fresh_login() {
    let (app, anna, mut auth, _) = anna_with_passkey().await;
    // Anna's own browser, logged in long ago.
    let b = app.browser();
    b.log_in(ANNA).await;
    let csrf = account_csrf(&b).await;
    app.advance(app.state.config.login.fresh_login + 1);
    let start = post_csrf(&b, "/account/passkeys/start", &csrf).await;
    assert_eq!(start.status, 401, "{}", start.json);
    assert_eq!(start.json["redirect"], "/login?next=/account/passkeys");
    let (id, _) = stored(&app, &anna).await[0].clone();
    let removed = on_passkey(&b, &id, "remove", &csrf, &[]).await;
    removed.assert_redirect("/login?next=/account/passkeys");
    assert_eq!(stored(&app, &anna).await.len(), 1, "nothing removed");

    // A registration started while fresh cannot be finished once the login went stale.
    b.log_in(ANNA).await;
    let csrf = account_csrf(&b).await;
    let start = post_csrf(&b, "/account/passkeys/start", &csrf).await;
    assert_eq!(start.status, 200);
    let options: CreationChallengeResponse =
        serde_json::from_value(start.json["options"].clone()).expect("options");
    let mut other = authenticator();
    let credential = other
        .do_registration(origin(&app), options)
        .expect("registers");
    app.advance(app.state.config.login.fresh_login + 1);
    let finish = post_json(
        &b,
        "/account/passkeys/finish",
        &json!({ "csrf": csrf, "challenge_id": start.json["challenge_id"], "credential": credential }),
    )
    .await;
    assert_eq!(finish.status, 401);
    assert_eq!(stored(&app, &anna).await.len(), 1, "nothing added");
    // Without the CSRF token: refused.
    b.log_in(ANNA).await;
    let start = post_csrf(&b, "/account/passkeys/start", "nope").await;
    assert_eq!(start.status, 403);
    let _ = &mut auth;
}

#[tokio::test]
async fn a_passkey_logs_in_email_first_through_an_authorization_code_flow_with_two_factors() {
    let (app, anna, mut auth, _) = anna_with_passkey().await;
    let (client_id, secret) = app.web_client().await;
    let b = app.browser();
    let start = authorize_url(&app.issuer, &client_id, "openid email", "st", None, &[]);
    let login = b.follow(b.get(&start).await).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.body.contains("autocomplete=\"username webauthn\""));
    assert!(login.body.contains("Use a passkey"));
    let fields = passkey_fields(&login);
    assert!(
        fields.contains_key("req"),
        "the pending request travels along"
    );

    let started = start_login(&b, &login, Some(ANNA)).await;
    assert_eq!(started.status, 200, "{}", started.json);
    let allowed = started.json["options"]["publicKey"]["allowCredentials"].clone();
    assert_eq!(allowed.as_array().map(Vec::len), Some(1));
    assert_eq!(
        started.json["options"]["publicKey"]["userVerification"],
        "required"
    );
    let cred = sign_in(&mut auth, origin(&app), &started, None);
    let done = finish_login(&b, &login, &started, &cred).await;
    assert_eq!(done.status, 200, "{}", done.json);
    assert!(done.set_cookie, "a new session cookie");
    let redirect = done.json["redirect"]
        .as_str()
        .expect("redirect")
        .to_string();
    assert!(
        redirect.starts_with("/authorize/continue?req="),
        "{redirect}"
    );

    let page = b.get(&redirect).await;
    let res = redeem_at_client(&app, &b, page, (&client_id, &secret)).await;
    let claims = decode(res.str("id_token")).1;
    assert_eq!(claims["amr"], json!(["hwk", "mfa"]));
    assert_eq!(claims["acr"], "urn:nyckel:acr:2fa");
    assert_eq!(claims["sub"], anna.as_str());

    // The use was recorded.
    let page = b.get("/account/passkeys").await;
    assert!(!page.body.contains("Never"), "{}", page.body);
    assert_eq!(audit_count(&app, "login.success", Some("hwk")).await, 1);
}

#[tokio::test]
async fn a_discoverable_passkey_logs_in_on_the_plain_login_page() {
    let (app, anna, mut auth, handle) = anna_with_passkey().await;
    let (_, cred_id) = stored(&app, &anna).await[0].clone();
    let b = app.browser();
    let login = b.get("/login?next=/account/passkeys").await;
    let started = start_login(&b, &login, None).await;
    assert_eq!(started.status, 200, "{}", started.json);
    assert_eq!(started.json["options"]["mediation"], "conditional");
    let cred = sign_in(&mut auth, origin(&app), &started, Some((&cred_id, &handle)));
    let done = finish_login(&b, &login, &started, &cred).await;
    assert_eq!(done.status, 200, "{}", done.json);
    assert_eq!(done.json["redirect"], "/account/passkeys");
    let page = b.get("/account/passkeys").await;
    assert_eq!(page.status, 200);
    let sessions: Vec<(String, String)> =
        sqlx::query_as("select amr, acr from sessions where user_id = $1")
            .bind(&anna)
            .fetch_all(app.state.db.pool())
            .await
            .expect("sessions");
    let passkey_sessions: Vec<_> = sessions
        .iter()
        .filter(|(amr, _)| amr.contains("hwk"))
        .collect();
    assert_eq!(passkey_sessions.len(), 1, "{sessions:?}");
    assert_eq!(passkey_sessions[0].0, r#"["hwk","mfa"]"#);
    assert_eq!(passkey_sessions[0].1, "urn:nyckel:acr:2fa");

    // A user handle that is not the credential owner's is refused.
    let started = start_login(&b, &login, None).await;
    let bob = app.create_user(BOB).await;
    let wrong = nyckel::crypto::b64(nyckel::auth::passkeys::user_handle(&bob).as_bytes());
    let cred = sign_in(&mut auth, origin(&app), &started, Some((&cred_id, &wrong)));
    let done = finish_login(&b, &login, &started, &cred).await;
    assert_eq!(done.status, 400, "{}", done.json);
}

#[tokio::test]
async fn an_unknown_email_gets_options_of_the_same_shape() {
    let (app, _, _, _) = anna_with_passkey().await;
    app.create_user(BOB).await;
    let b = app.browser();
    let login = b.get("/login").await;
    let known = start_login(&b, &login, Some(ANNA)).await;
    let without = start_login(&b, &login, Some(BOB)).await;
    let unknown = start_login(&b, &login, Some("nobody@example.org")).await;
    let again = start_login(&b, &login, Some("nobody@example.org")).await;
    let shape = |a: &Answer| {
        let pk = a.json["options"]["publicKey"]
            .as_object()
            .expect("publicKey");
        let mut keys: Vec<String> = pk.keys().cloned().collect();
        keys.sort();
        // Every entry is `{type, id}` (a fake list may be empty, as for an account without
        // passkeys: the generator mimics how many passkeys people have).
        let entries_alike = a.json["options"]["publicKey"]["allowCredentials"]
            .as_array()
            .expect("allow list")
            .iter()
            .all(|e| {
                let mut k: Vec<&String> = e.as_object().expect("entry").keys().collect();
                k.sort();
                k == ["id", "type"] && e["type"] == "public-key"
            });
        (
            a.status,
            keys,
            entries_alike,
            a.json.as_object().map(|o| o.len()),
        )
    };
    assert_eq!(known.status, 200);
    assert_eq!(shape(&known), shape(&without));
    assert_eq!(shape(&known), shape(&unknown));
    // The fake list is stable for the address.
    assert_eq!(
        unknown.json["options"]["publicKey"]["allowCredentials"],
        again.json["options"]["publicKey"]["allowCredentials"]
    );
}

#[tokio::test]
async fn refusals_change_nothing_and_use_the_challenge_up() {
    let (app, anna, mut auth, handle) = anna_with_passkey().await;
    let (id, cred_id) = stored(&app, &anna).await[0].clone();
    let sessions = || app.sessions_of(&anna);
    let b = app.browser();
    let login = b.get("/login").await;

    // Wrong origin: the authenticator runs on another origin.
    let evil = Url::parse(&app.issuer.replace("://localhost", "://evil.localhost")).expect("url");
    let before = sessions().await;
    let done = passkey_login(&b, &login, &mut auth, evil.clone(), Some(ANNA), None).await;
    assert_eq!(done.status, 400, "{}", done.json);
    assert_eq!(
        done.json["error"],
        "That passkey could not sign you in. Try again, or sign in another way."
    );
    assert!(!done.set_cookie);
    assert_eq!(sessions().await, before);

    // Registration from another origin is refused too.
    let a = app.browser();
    a.log_in(ANNA).await;
    let mut other = authenticator();
    let reg = register(&a, &mut other, evil, "Evil").await;
    assert_eq!(reg.finish.status, 400, "{}", reg.finish.json);
    assert_eq!(stored(&app, &anna).await.len(), 1);

    // Replay: the same finish twice; the second is refused.
    let before = sessions().await;
    let started = start_login(&b, &login, Some(ANNA)).await;
    let cred = sign_in(&mut auth, origin(&app), &started, None);
    let first = finish_login(&b, &login, &started, &cred).await;
    assert_eq!(first.status, 200, "{}", first.json);
    let second = finish_login(&b, &login, &started, &cred).await;
    assert_eq!(second.status, 400, "{}", second.json);
    assert!(!second.set_cookie);
    assert_eq!(sessions().await, before + 1);

    // A challenge issued to another browser cannot be finished here.
    let other_browser = app.browser();
    let other_login = other_browser.get("/login").await;
    let started = start_login(&other_browser, &other_login, Some(ANNA)).await;
    let cred = sign_in(&mut auth, origin(&app), &started, None);
    let c = app.browser();
    let c_login = c.get("/login").await;
    let stolen = finish_login(&c, &c_login, &started, &cred).await;
    assert_eq!(stolen.status, 400, "{}", stolen.json);
    // ...and it still works in its own browser (a refusal elsewhere does not burn it).
    let own = finish_login(&other_browser, &other_login, &started, &cred).await;
    assert_eq!(own.status, 200, "{}", own.json);

    // Without the login form's CSRF token: 403.
    let started = start_login(&b, &login, Some(ANNA)).await;
    let mut body = passkey_fields(&login);
    body.insert("csrf".into(), json!("wrong"));
    body.insert("challenge_id".into(), started.json["challenge_id"].clone());
    body.insert("credential".into(), json!({}));
    let forged = post_json(&b, "/login/passkey/finish", &Value::Object(body)).await;
    assert_eq!(forged.status, 403);

    // An expired challenge.
    let started = start_login(&b, &login, Some(ANNA)).await;
    let cred = sign_in(&mut auth, origin(&app), &started, None);
    app.advance(app.state.config.passkeys.challenge_ttl + 1);
    let late = finish_login(&b, &login, &started, &cred).await;
    assert_eq!(late.status, 400, "{}", late.json);

    // Spent challenges are deleted by the cleanup job.
    nyckel::upkeep::purge_expired(&app.state).await;
    let left: i64 = sqlx::query_scalar(
        "select count(*) from webauthn_challenges where used_at is not null or expires_at <= $1",
    )
    .bind(app.state.now())
    .fetch_one(app.state.db.pool())
    .await
    .expect("count");
    assert_eq!(left, 0);

    // A disabled account is refused.
    let key = Some((cred_id.as_str(), handle.as_str()));
    app.set_disabled(ANNA, true).await;
    let refused = passkey_login(&b, &login, &mut auth, origin(&app), None, key).await;
    assert_eq!(refused.status, 400, "{}", refused.json);
    app.set_disabled(ANNA, false).await;

    // A removed credential is refused.
    let csrf = account_csrf(&a).await;
    let removed = on_passkey(&a, &id, "remove", &csrf, &[]).await;
    assert_eq!(removed.status, 303);
    let gone = passkey_login(&b, &login, &mut auth, origin(&app), None, key).await;
    assert_eq!(gone.status, 400, "{}", gone.json);
    assert!(!gone.set_cookie);

    // Each refusal was recorded with its reason (the 403 changed nothing and is not a try).
    let rows: Vec<(String,)> =
        sqlx::query_as("select detail from audit_events where kind = 'login.failure'")
            .fetch_all(app.state.db.pool())
            .await
            .expect("audit");
    let mut reasons: Vec<String> = rows
        .iter()
        .map(|(d,)| {
            let v: Value = serde_json::from_str(d).expect("detail");
            assert_eq!(v["method"], "hwk");
            v["reason"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "disabled",
            "invalid",
            "unknown_challenge",
            "unknown_challenge",
            "unknown_challenge",
            "unknown_credential"
        ]
    );
}

#[tokio::test]
async fn another_persons_passkey_cannot_be_renamed_or_removed() {
    let (app, anna, _, _) = anna_with_passkey().await;
    let (id, _) = stored(&app, &anna).await[0].clone();
    app.create_user(BOB).await;
    let b = app.browser();
    b.log_in(BOB).await;
    let csrf = account_csrf(&b).await;
    let removed = on_passkey(&b, &id, "remove", &csrf, &[]).await;
    assert_eq!(removed.status, 404);
    let renamed = on_passkey(&b, &id, "rename", &csrf, &[("name", "Mine now")]).await;
    assert_eq!(renamed.status, 404);
    let page = b.get("/account/passkeys").await;
    assert!(page.body.contains("You have no passkeys yet."));
    let left = nyckel::store::passkeys::list_for_user(&app.state.db, &anna)
        .await
        .expect("query");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].name, "Laptop");
}

#[tokio::test]
async fn challenges_are_distinct_and_long() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    let login = b.get("/login").await;
    let mut ids = HashSet::new();
    let mut challenges = HashSet::new();
    for _ in 0..1000 {
        let started = start_login(&b, &login, None).await;
        assert_eq!(started.status, 200);
        let id = started.json["challenge_id"]
            .as_str()
            .expect("id")
            .to_string();
        let raw = nyckel::crypto::b64_decode(&id).expect("base64url");
        assert!(raw.len() >= 16, "{id}");
        let challenge = started.json["options"]["publicKey"]["challenge"]
            .as_str()
            .expect("challenge")
            .to_string();
        assert!(nyckel::crypto::b64_decode(&challenge).expect("b64").len() >= 16);
        ids.insert(id);
        challenges.insert(challenge);
    }
    assert_eq!(ids.len(), 1000);
    assert_eq!(challenges.len(), 1000);
}

#[tokio::test]
async fn the_script_is_served_from_this_server() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    let js = b.get("/static/passkey.js").await;
    assert_eq!(js.status, 200);
    assert!(
        js.headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/javascript")
    );
    assert!(js.body.contains("navigator.credentials"));
    assert!(!js.body.contains("http://") && !js.body.contains("https://"));
}

#[tokio::test]
async fn failed_passkey_logins_count_against_the_address() {
    let app = TestApp::spawn_with(|c| c.throttle.ip_free_failures = 2).await;
    app.create_user(ANNA).await;
    let b = app.browser();
    let login = b.get("/login").await;
    let bogus = json!("no-such-challenge");
    for _ in 0..3 {
        let refused = finish_challenge(&b, &login, &bogus, &json!({})).await;
        assert_eq!(refused.status, 400, "{}", refused.json);
    }
    let held = finish_challenge(&b, &login, &bogus, &json!({})).await;
    assert_eq!(held.status, 429, "{}", held.json);
    assert_eq!(
        held.json["error"],
        "Too many attempts. Wait a little and try again."
    );
    assert_eq!(audit_count(&app, "login.throttled", Some("hwk")).await, 1);
    // The password form from the same address is held back too (one counter per address).
    let page = b.submit_login(&login, ANNA, PASSWORD).await;
    assert_eq!(page.status, 429);
}
