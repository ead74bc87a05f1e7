//! Step-up (issue 5): `acr_values=urn:nyckel:acr:2fa` with a one-factor session leads to a
//! second factor on top of it (new session, combined `amr`, `acr` 2fa), never to a code from
//! the weaker session; `prompt=none` answers `interaction_required`; an organisation that
//! requires two factors steps up sessions made before; `max_age` still forces a new login
//! (both factors); discovery lists the supported `acr` values.

use serde_json::json;

use crate::helpers::browser::query;
use crate::helpers::two_factor::*;
use crate::helpers::{PASSWORD, TestApp};

const ANNA: &str = "anna@example.org";
const ANNA_PHONE: &str = "+46701234567";

/// An app with the default rules, Anna (with a verified number) and the web client.
async fn anna_and_client() -> (TestApp, (String, String)) {
    let app = app().await;
    app.create_user_with_phone(ANNA, ANNA_PHONE).await;
    let client = app.web_client().await;
    (app, client)
}

#[tokio::test]
async fn acr_values_step_up_a_one_factor_session() {
    let (app, client) = anna_and_client().await;

    let doc: serde_json::Value = app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(doc["acr_values_supported"], json!([ACR_1FA, ACR_2FA]));

    let b = app.browser();
    let login = password(&b, "/login", ANNA, PASSWORD).await;
    assert!(sets_cookie(&login, SESSION_COOKIE));
    assert_eq!(newest_session(&app, ANNA).await.1, ACR_1FA);

    // One factor is enough when the client accepts 1fa first; unknown values are ignored.
    let flow = Flow::start(
        &app,
        &client,
        &[("acr_values", &format!("urn:other {ACR_1FA} {ACR_2FA}"))],
    )
    .await;
    let at_client = b.get(&flow.url).await;
    let claims = flow.finish(&app, &at_client).await;
    assert_eq!(claims["acr"], ACR_1FA);

    // 2fa asked for: the second step first, and no code.
    let flow = Flow::start(&app, &client, &[("acr_values", ACR_2FA)]).await;
    let first = b.get(&flow.url).await;
    assert_eq!(first.status, 303);
    assert_eq!(first.location.as_deref(), Some("/login/second"));
    assert!(sets_cookie(&first, STEP_COOKIE));
    let (old_sid, old_hash): (String, String) = sqlx::query_as("select sid, id_hash from sessions")
        .fetch_one(app.state.db.pool())
        .await
        .expect("the old session");
    let done = sms_step(&app, &b, ANNA_PHONE).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(sets_cookie(&done, SESSION_COOKIE), "a new session cookie");
    let claims = flow.finish(&app, &b.follow(done).await).await;
    assert_eq!(claims["acr"], ACR_2FA);
    assert_eq!(claims["amr"], json!(["pwd", "sms", "mfa"]));
    // The session was replaced (a new cookie value, the old row gone) and goes on under its
    // sid, so that sign-out still reaches the apps of the one-factor login (docs/claims.md).
    assert_eq!(
        claims["sid"], old_sid,
        "the same person's session keeps its sid"
    );
    let (new_hash,): (String,) = sqlx::query_as("select id_hash from sessions")
        .fetch_one(app.state.db.pool())
        .await
        .expect("the new session");
    assert_ne!(new_hash, old_hash, "a new session cookie value");
    assert_eq!(session_count(&app, ANNA).await, 1);

    // The two-factor session serves 2fa requests without asking again.
    let flow = Flow::start(&app, &client, &[("acr_values", ACR_2FA)]).await;
    let page = b.get(&flow.url).await;
    let claims = flow.finish(&app, &page).await;
    assert_eq!(claims["acr"], ACR_2FA);
}

#[tokio::test]
async fn prompt_none_with_acr_2fa_and_a_one_factor_session_is_interaction_required() {
    let (app, client) = anna_and_client().await;
    let b = app.browser();
    password(&b, "/login", ANNA, PASSWORD).await;

    let flow = Flow::start(
        &app,
        &client,
        &[("acr_values", ACR_2FA), ("prompt", "none")],
    )
    .await;
    let answer = b.get(&flow.url).await;
    assert_eq!(answer.status, 303);
    let loc = answer.location.clone().expect("to the client");
    assert!(loc.starts_with("https://app.example/cb"), "{loc}");
    let q = query(&loc);
    assert_eq!(q["error"], "interaction_required");
    assert!(!q.contains_key("code"));
    assert!(!sets_cookie(&answer, STEP_COOKIE));
}

#[tokio::test]
async fn an_organisation_requirement_steps_up_sessions_made_before_it() {
    let (app, client) = anna_and_client().await;
    let ifk = app.create_org("IFK", "ifk").await;
    app.add_member("ifk", ANNA, &["member"]).await;
    let b = app.browser();
    password(&b, "/login", ANNA, PASSWORD).await;
    org_requires(&app, &ifk).await;

    let flow = Flow::start(&app, &client, &[("organization", "ifk")]).await;
    let first = b.get(&flow.url).await;
    assert_eq!(first.location.as_deref(), Some("/login/second"));
    let at_client = through(&app, &b, first, ANNA, Some(ANNA_PHONE)).await;
    let claims = flow.finish(&app, &at_client).await;
    assert_eq!(claims["acr"], ACR_2FA);
    assert_eq!(claims["org_id"], ifk);
}

#[tokio::test]
async fn max_age_still_forces_a_new_login_with_both_factors() {
    let app = app().await;
    person_requiring_two(&app, ANNA, ANNA_PHONE).await;
    let client = app.web_client().await;
    let b = app.browser();

    let flow = Flow::start(&app, &client, &[]).await;
    let at_client = through(&app, &b, b.get(&flow.url).await, ANNA, Some(ANNA_PHONE)).await;
    let first = flow.finish(&app, &at_client).await;
    assert_eq!(first["acr"], ACR_2FA);
    let t1 = first["auth_time"].as_i64().expect("auth_time");

    app.advance(120);
    let flow = Flow::start(&app, &client, &[("max_age", "60")]).await;
    let page = b.follow(b.get(&flow.url).await).await;
    assert!(page.has_form("/login"), "max_age forces a login");
    let at_client = through(&app, &b, page, ANNA, Some(ANNA_PHONE)).await;
    let second = flow.finish(&app, &at_client).await;
    assert_eq!(second["acr"], ACR_2FA);
    assert_eq!(second["amr"], json!(["pwd", "sms", "mfa"]));
    let t2 = second["auth_time"].as_i64().expect("auth_time");
    assert!(t2 >= t1 + 120, "{t1} {t2}");

    // Within max_age: no login, the same auth_time.
    let flow = Flow::start(&app, &client, &[("max_age", "600")]).await;
    let page = b.get(&flow.url).await;
    let third = flow.finish(&app, &page).await;
    assert_eq!(third["auth_time"].as_i64(), Some(t2));
}
