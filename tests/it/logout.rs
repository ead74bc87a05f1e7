//! RP-Initiated Logout and the home page: a valid `id_token_hint` for the current session
//! logs out at once; anything else asks first; only registered redirect URIs are followed.

use nyckel::http::cookies::SESSION_COOKIE;

use crate::helpers::authorize::{
    auth_url, client_redirect, count, grant_of_code, id_token, signed_in,
};
use crate::helpers::browser::{Browser, Page};
use crate::helpers::login::anna;
use crate::helpers::{POST_LOGOUT_URI, TestApp};

fn logout_url(params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse("https://placeholder/logout").expect("url");
    url.query_pairs_mut().extend_pairs(params);
    format!("/logout?{}", url.query().unwrap_or(""))
}

async fn signed_in_home(b: &Browser) -> Page {
    let page = b.get("/").await;
    assert_eq!(page.status, 200);
    page
}

/// Asserts the logout request with `params` gets an error page, not a redirect.
async fn refused(b: &Browser, params: &[(&str, &str)], why: &str) {
    let page = b.get(&logout_url(params)).await;
    assert_eq!(page.status, 400, "{why}");
    assert!(page.location.is_none(), "{why}");
}

fn is_signed_in(home: &Page) -> bool {
    home.has_form("/logout") && home.body.contains("You are signed in as")
}

#[tokio::test]
async fn a_valid_hint_logs_out_at_once_and_redirects_with_state() {
    let (app, user, b) = anna().await;
    let (client_id, _) = app.web_client().await;
    let (session, cookie) = b.insert_session_with_cookie(&app, &user).await;
    let q = client_redirect(&b.get(&auth_url(&app, &client_id, &[])).await);
    let grant = grant_of_code(&app, &q["code"]).await;

    // An expired hint is fine (it identifies; it does not authorise).
    let hint = id_token(&app, &client_id, &user, &session.sid, -3600);
    let page = b
        .get(&logout_url(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "bye-1"),
        ]))
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("{POST_LOGOUT_URI}?state=bye-1").as_str())
    );
    let cleared = page
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("__Host-nyckel_session=;") && c.contains("Max-Age=0"));
    assert!(cleared, "session cookie cleared");
    assert_eq!(count(&app, "sessions").await, 0);
    let grant = nyckel::store::grants::find(&app.state.db, &grant.id)
        .await
        .expect("query")
        .expect("grant");
    assert!(
        grant.revoked_at.is_some(),
        "the session's grants are revoked"
    );

    // The session ended on the server: a browser that kept the old cookie is logged out too.
    let stale = Browser::new(&app);
    stale.add_cookie(SESSION_COOKIE, &cookie);
    let q = client_redirect(
        &stale
            .get(&auth_url(&app, &client_id, &[("prompt", "none")]))
            .await,
    );
    assert_eq!(q["error"], "login_required");
}

#[tokio::test]
async fn after_logout_prompt_none_gives_login_required() {
    let (app, client_id, user, b, session) = signed_in("bo@example.org").await;
    let hint = id_token(&app, &client_id, &user, &session.sid, 3600);
    let page = b.get(&logout_url(&[("id_token_hint", &hint)])).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("You are signed out"));
    let q = client_redirect(
        &b.get(&auth_url(&app, &client_id, &[("prompt", "none")]))
            .await,
    );
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["iss"], app.issuer);
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_is_an_error_page() {
    let (app, client_id, user, b, session) = signed_in("cilla@example.org").await;
    let hint = id_token(&app, &client_id, &user, &session.sid, 3600);
    for bad in [
        "https://evil.example/",
        "https://app.example/logged-out/",
        "https://app.example/logged-out?x=1",
        "https://app.example/cb",
    ] {
        refused(
            &b,
            &[("id_token_hint", &hint), ("post_logout_redirect_uri", bad)],
            bad,
        )
        .await;
        // Without a hint but with client_id: same.
        refused(
            &b,
            &[("client_id", &client_id), ("post_logout_redirect_uri", bad)],
            bad,
        )
        .await;
    }
    // A redirect URI without any client is refused too.
    refused(
        &b,
        &[("post_logout_redirect_uri", POST_LOGOUT_URI)],
        "no client",
    )
    .await;
    assert!(is_signed_in(&signed_in_home(&b).await), "still signed in");
}

#[tokio::test]
async fn a_bad_hint_is_an_error_page_and_nothing_ends() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let (other_client, _) = app
        .create_client(nyckel::admin::clients::CreateClient {
            name: "Other".into(),
            redirect_uris: vec!["https://other.example/cb".into()],
            post_logout_redirect_uris: vec!["https://other.example/bye".into()],
            ..Default::default()
        })
        .await;
    let user = app.create_user("dan@example.org").await;
    let (b, session) = Browser::signed_in(&app, &user).await;
    let good = id_token(&app, &client_id, &user, &session.sid, 3600);
    let mut parts: Vec<&str> = good.split('.').collect();
    let forged_sig = "AAAA".repeat(20);
    parts[2] = &forged_sig;
    let forged = parts.join(".");
    let unsigned = format!(
        "{}.{}.",
        nyckel::crypto::b64(br#"{"alg":"none","typ":"JWT"}"#),
        good.split('.').nth(1).expect("payload")
    );
    for hint in [forged.as_str(), unsigned.as_str(), "not-a-token"] {
        refused(
            &b,
            &[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ],
            hint,
        )
        .await;
    }
    // A good hint for another client than client_id says.
    refused(
        &b,
        &[
            ("id_token_hint", &good),
            ("client_id", &other_client),
            ("post_logout_redirect_uri", "https://other.example/bye"),
        ],
        "a hint for another client",
    )
    .await;
    assert!(is_signed_in(&signed_in_home(&b).await));
    assert_eq!(count(&app, "sessions").await, 1);
}

#[tokio::test]
async fn without_a_hint_the_person_confirms_first() {
    let (app, client_id, _, b, _) = signed_in("eva@example.org").await;
    let page = b
        .get(&logout_url(&[
            ("client_id", &client_id),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
            ("state", "s-9"),
        ]))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.has_form("/logout"));
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    // Nothing ended yet.
    assert!(is_signed_in(&signed_in_home(&b).await));

    // A form without the session's token is refused.
    let forged = b.post("/logout", &[("csrf", "nope")]).await;
    assert_eq!(forged.status, 403);
    assert!(is_signed_in(&signed_in_home(&b).await));

    let done = b.submit(&page, "/logout", &[]).await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{POST_LOGOUT_URI}?state=s-9").as_str())
    );
    assert!(!is_signed_in(&signed_in_home(&b).await));
    assert_eq!(count(&app, "sessions").await, 0);
}

#[tokio::test]
async fn a_hint_for_another_session_asks_first() {
    let (app, client_id, user, b, _) = signed_in("fia@example.org").await;
    let hint = id_token(&app, &client_id, &user, "some-other-sid", 3600);
    let page = b
        .get(&logout_url(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ]))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.has_form("/logout"));
    assert!(is_signed_in(&signed_in_home(&b).await));
}

#[tokio::test]
async fn logging_out_without_a_session() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let b = Browser::new(&app);
    let page = b.get("/logout").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("You are signed out"));
    let page = b
        .get(&logout_url(&[
            ("client_id", &client_id),
            ("post_logout_redirect_uri", POST_LOGOUT_URI),
        ]))
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.as_deref(), Some(POST_LOGOUT_URI));
}

#[tokio::test]
async fn the_home_page_shows_who_is_signed_in_and_signs_out() {
    let app = TestApp::spawn().await;
    let b = Browser::new(&app);
    let page = b.get("/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("You are not signed in."));
    assert!(page.body.contains("href=\"/login\""));
    assert!(!page.has_form("/logout"));

    let user = app.create_user("gun@example.org").await;
    b.insert_session(&app, &user).await;
    let page = signed_in_home(&b).await;
    assert!(is_signed_in(&page));
    assert!(page.body.contains("gun@example.org"));
    let out = b.submit(&page, "/logout", &[]).await;
    assert_eq!(out.status, 200);
    assert!(out.body.contains("You are signed out"));
    assert!(!is_signed_in(&b.get("/").await));
}
