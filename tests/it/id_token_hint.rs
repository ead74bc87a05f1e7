//! `id_token_hint` at `/authorize` (OIDC Core 3.1.2.1): the hint names the person the client
//! expects. The same person signed in: the request goes through, also with `prompt=none`;
//! someone else signed in: `login_required` under `prompt=none`, else a new login prefilled
//! with the hinted person's address; nobody signed in: the login is prefilled. A hint that is
//! not one of our ID tokens for this client is `invalid_request`, and nothing is stored.

use crate::helpers::authorize::{
    auth_url, client_redirect, count, id_token, login_redirect, signed_in,
};
use crate::helpers::browser::{Browser, Page};
use crate::helpers::{PASSWORD, TestApp};

fn email_value(email: &str) -> String {
    format!(r#"name="email" value="{email}""#)
}

/// Starts an interactive request with `extra` (the hint, ...) in `b`: it must lead to the
/// login page, which is returned with the pending request's id.
async fn login_page(
    b: &Browser,
    app: &TestApp,
    client_id: &str,
    extra: &[(&str, &str)],
) -> (String, Page) {
    let req = login_redirect(&b.get(&auth_url(app, client_id, extra)).await);
    let login = b.get(&format!("/login?req={req}")).await;
    assert_eq!(login.status, 200, "{}", login.body);
    (req, login)
}

#[tokio::test]
async fn the_hinted_person_signed_in_gets_a_code_even_with_prompt_none_and_an_expired_hint() {
    let (app, client_id, user, b, session) = signed_in("hint-same@example.org").await;
    for exp in [3600, -86_400] {
        let hint = id_token(&app, &client_id, &user, &session.sid, exp);
        let extra = [("prompt", "none"), ("id_token_hint", hint.as_str())];
        let q = client_redirect(&b.get(&auth_url(&app, &client_id, &extra)).await);
        assert!(q.contains_key("code"), "exp {exp}: {q:?}");
        let q = client_redirect(
            &b.get(&auth_url(
                &app,
                &client_id,
                &[("id_token_hint", hint.as_str())],
            ))
            .await,
        );
        assert!(q.contains_key("code"), "exp {exp}, interactive: {q:?}");
    }
}

#[tokio::test]
async fn another_person_signed_in_is_login_required_or_a_new_login_for_the_hinted_one() {
    let (app, client_id, _anna, b, session) = signed_in("hint-anna@example.org").await;
    let bo = app.create_user("hint-bo@example.org").await;
    let hint = id_token(&app, &client_id, &bo, &session.sid, 3600);
    let codes = count(&app, "auth_codes").await;

    // prompt=none: the client hears login_required, and no code exists.
    let extra = [("prompt", "none"), ("id_token_hint", hint.as_str())];
    let q = client_redirect(&b.get(&auth_url(&app, &client_id, &extra)).await);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("login_required"),
        "{q:?}"
    );
    assert_eq!(q.get("state").map(String::as_str), Some("st-123"));
    assert_eq!(count(&app, "auth_codes").await, codes);

    // Interactive: the login page, prefilled with the hinted person's address.
    let (req, login) = login_page(&b, &app, &client_id, &[("id_token_hint", hint.as_str())]).await;
    assert!(
        login.body.contains(&email_value("hint-bo@example.org")),
        "{}",
        login.body
    );
    assert_eq!(count(&app, "auth_codes").await, codes);

    // Logging in there as the hinted person goes through.
    let done = b
        .follow(
            b.login_at(
                &format!("/login?req={req}"),
                "hint-bo@example.org",
                PASSWORD,
            )
            .await,
        )
        .await;
    let q = client_redirect(&done);
    assert!(q.contains_key("code"), "{q:?}");
}

#[tokio::test]
async fn logging_in_as_someone_else_than_the_hint_is_login_required_for_the_client() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let anna = app.create_user("hint-anna2@example.org").await;
    app.create_user("hint-bo2@example.org").await;
    let hint = id_token(&app, &client_id, &anna, "no-session", -60);
    let b = Browser::new(&app);
    // Nobody is signed in: the login starts with the hinted person's address.
    let (req, login) = login_page(&b, &app, &client_id, &[("id_token_hint", hint.as_str())]).await;
    assert!(
        login.body.contains(&email_value("hint-anna2@example.org")),
        "{}",
        login.body
    );
    // login_hint wins over the hint's person when both are sent.
    let both = [
        ("id_token_hint", hint.as_str()),
        ("login_hint", "typed@example.org"),
    ];
    let (_, login) = login_page(&b, &app, &client_id, &both).await;
    assert!(
        login.body.contains(&email_value("typed@example.org")),
        "{}",
        login.body
    );

    // Someone else logs in during the request: the client is told, no code is issued.
    let codes = count(&app, "auth_codes").await;
    let done = b
        .follow(
            b.login_at(
                &format!("/login?req={req}"),
                "hint-bo2@example.org",
                PASSWORD,
            )
            .await,
        )
        .await;
    let q = client_redirect(&done);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("login_required"),
        "{q:?}"
    );
    assert_eq!(count(&app, "auth_codes").await, codes);
}

#[tokio::test]
async fn a_hint_that_is_not_our_id_token_for_this_client_is_invalid_request() {
    let (app, client_id, user, b, session) = signed_in("hint-bad@example.org").await;
    let (other_client, _) = app
        .create_client(nyckel::admin::clients::CreateClient {
            name: "Other".into(),
            redirect_uris: vec![crate::helpers::REDIRECT_URI.into()],
            ..Default::default()
        })
        .await;
    let for_other = id_token(&app, &other_client, &user, &session.sid, 3600);
    let good = id_token(&app, &client_id, &user, &session.sid, 3600);
    let (head, rest) = good.split_once('.').expect("a JWS");
    let (payload, _) = rest.split_once('.').expect("a JWS");
    let unsigned = format!("{head}.{payload}.AAAA");
    let pending = count(&app, "auth_requests").await;
    for (hint, why) in [
        ("not-a-jwt", "garbage"),
        (for_other.as_str(), "another client's token"),
        (unsigned.as_str(), "a wrong signature"),
    ] {
        for prompt in ["none", ""] {
            let extra = [("prompt", prompt), ("id_token_hint", hint)];
            let q = client_redirect(&b.get(&auth_url(&app, &client_id, &extra)).await);
            assert_eq!(
                q.get("error").map(String::as_str),
                Some("invalid_request"),
                "{why}: {q:?}"
            );
        }
    }
    assert_eq!(count(&app, "auth_requests").await, pending);
}
