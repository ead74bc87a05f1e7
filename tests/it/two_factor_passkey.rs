//! A passkey as the second factor (issue 5): after a password, the second step offers the
//! person's passkey; a real WebAuthn ceremony (software authenticator) finishes it with `amr`
//! `["pwd","hwk","mfa"]` and `acr` 2fa in the ID token. A refused ceremony counts against the
//! step and gives no session; the ceremony needs the step's CSRF token. An admin with no
//! second factor can add a first passkey in the step and gets in with it; the operator's
//! reset removes passkeys too.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::browser::Browser;
use crate::helpers::two_factor::*;
use crate::helpers::{PASSWORD, TestApp};
use crate::passkeys::{
    Answer, authenticator, enrol, origin, post_csrf, post_json, register, sign_in,
};

const ANNA: &str = "anna@example.org";
const BO: &str = "bo@example.org";

/// The CSRF token of the browser's second-step page, which must offer `form`.
async fn step_csrf(b: &Browser, form: &str) -> String {
    b.open("/login/second").await.csrf(form)
}

/// The body finishing a ceremony: the step's `csrf`, the `started` challenge, `cred`.
fn finishing(csrf: &str, started: &Answer, cred: &Value) -> Value {
    let challenge_id = &started.json["challenge_id"];
    json!({ "csrf": csrf, "challenge_id": challenge_id, "credential": cred })
}

async fn failures(app: &TestApp, method: &str) -> usize {
    let rows: Vec<(String,)> =
        sqlx::query_as("select detail from audit_events where kind = 'login.failure'")
            .fetch_all(app.state.db.pool())
            .await
            .expect("audit events");
    rows.iter()
        .filter(|(d,)| {
            serde_json::from_str::<Value>(d).is_ok_and(|v| {
                v["method"] == json!(method) && v["reason"] == json!("wrong_second_factor")
            })
        })
        .count()
}

#[tokio::test]
async fn a_passkey_is_the_second_factor_after_a_password() {
    let app = app().await;
    app.create_user(ANNA).await;
    let ifk = app.create_org("IFK", "ifk").await;
    app.add_member("ifk", ANNA, &["member"]).await;
    // Anna adds a passkey while IFK does not yet require two factors.
    let setup = app.browser();
    setup.log_in(ANNA).await;
    let mut auth = authenticator();
    let reg = register(&setup, &mut auth, origin(&app), "Telefon").await;
    assert_eq!(reg.finish.status, 200, "{}", reg.finish.json);
    org_requires(&app, &ifk).await;
    app.advance(1);
    let client = app.web_client().await;

    // The password alone: the second step, offering the passkey (no enrolment).
    let (flow, b, req, after) = flow_with_password(&app, &client, ANNA).await;
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    assert!(!sets_cookie(&after, SESSION_COOKIE));
    let page = b.get("/login/second").await;
    page.assert_form("/login/second/passkey/start");
    assert!(!page.has_form("/login/second/passkey/enrol/start"));
    assert!(!page.has_form("/login/second/enrol"));
    let csrf = step_csrf(&b, "/login/second/passkey/start").await;

    // Without the step's CSRF token: refused, nothing started.
    let forged = post_csrf(&b, "/login/second/passkey/start", "x").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Another browser (no step cookie) with the token: the step is not theirs.
    let other = app.browser();
    let stolen = post_csrf(&other, "/login/second/passkey/start", &csrf).await;
    assert_eq!(stolen.status, StatusCode::BAD_REQUEST, "{}", stolen.json);

    // A ceremony with the wrong origin: refused, counted against the step, no session.
    let start = post_csrf(&b, "/login/second/passkey/start", &csrf).await;
    assert_eq!(start.status, 200, "{}", start.json);
    let evil = app.issuer.replace("://localhost", "://evil.localhost");
    let evil = webauthn_rs::prelude::Url::parse(&evil).expect("URL");
    let cred = sign_in(&mut auth, evil, &start, None);
    let refused = finishing(&csrf, &start, &cred);
    let refused = post_json(&b, "/login/second/passkey/finish", &refused).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.json);
    assert!(!refused.set_cookie);
    assert_eq!(failures(&app, "hwk").await, 1);
    assert_eq!(session_count(&app, ANNA).await, 1, "only the setup session");

    // The right ceremony: the session, and on to the app.
    let start = post_csrf(&b, "/login/second/passkey/start", &csrf).await;
    assert_eq!(start.status, 200, "{}", start.json);
    let cred = sign_in(&mut auth, origin(&app), &start, None);
    let body = finishing(&csrf, &start, &cred);
    let done = post_json(&b, "/login/second/passkey/finish", &body).await;
    assert_eq!(done.status, 200, "{}", done.json);
    assert!(done.set_cookie);
    assert_eq!(
        done.json["redirect"],
        json!(format!("/authorize/continue?req={req}"))
    );
    let at_client = b
        .follow(
            b.get(done.json["redirect"].as_str().expect("redirect"))
                .await,
        )
        .await;
    let claims = flow.finish(&app, &at_client).await;
    assert_two_factors(&app, ANNA, &claims, &["pwd", "hwk", "mfa"]).await;

    // The same answer again: the step is used up.
    let again = post_json(&b, "/login/second/passkey/finish", &body).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.json.get("redirect").is_none(), "{}", again.json);
}

#[tokio::test]
async fn an_admin_without_a_second_factor_adds_a_passkey_in_the_step() {
    let app = app().await;
    let bo = app.create_user(BO).await;
    app.create_org("IFK", "ifk").await;
    app.add_member("ifk", BO, &["admin"]).await;

    let b = app.browser();
    let after = password(&b, "/login", BO, PASSWORD).await;
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    let page = b.get("/login/second").await;
    assert!(page.body.contains("You administer IFK"), "{}", page.body);
    assert!(page.has_form("/login/second/enrol"));
    assert!(page.has_form("/login/second/passkey/enrol/start"));
    assert!(!page.has_form("/login/second/passkey/start"));
    let csrf = step_csrf(&b, "/login/second/passkey/enrol/start").await;

    let mut auth = authenticator();
    let base = "/login/second/passkey/enrol";
    let (_, done) = enrol(&b, &mut auth, origin(&app), base, &csrf, "Nyckelring").await;
    assert_eq!(done.status, 200, "{}", done.json);
    assert_eq!(done.json["redirect"], json!("/"));
    assert!(b.get("/").await.body.contains(BO), "signed in");
    assert_two_factor_session(&app, BO, &["pwd", "hwk", "mfa"]).await;
    let stored = nyckel::store::passkeys::list_for_user(&app.state.db, &bo)
        .await
        .expect("query");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].name, "Nyckelring");
    assert!(
        app.mails_to(BO)
            .await
            .iter()
            .any(|m| m.text.contains("Nyckelring")),
        "the person is told a passkey was added"
    );

    // Next login: the passkey is the second factor; no enrolment is offered any more.
    let c = app.browser();
    password(&c, "/login", BO, PASSWORD).await;
    let page = c.get("/login/second").await;
    page.assert_form("/login/second/passkey/start");
    assert!(!page.has_form("/login/second/passkey/enrol/start"));
    let csrf = step_csrf(&c, "/login/second/passkey/start").await;
    let refused = post_csrf(&c, "/login/second/passkey/enrol/start", &csrf).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.json);

    // The operator's recovery removes the passkey.
    let reset = nyckel::auth::factors::settings::reset(&app.state, BO)
        .await
        .expect("reset")
        .expect("the account");
    assert_eq!(reset.passkeys, 1);
    assert!(
        nyckel::store::passkeys::list_for_user(&app.state.db, &bo)
            .await
            .expect("query")
            .is_empty()
    );
    assert!(!b.get("/").await.body.contains(BO), "signed out");
}
