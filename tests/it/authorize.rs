//! The authorization endpoint: request validation (no open redirects), login, consent,
//! organisations, CSRF and browser binding, and `iss` in every response (RFC 9207).

use nyckel::admin::clients::CreateClient;

use crate::helpers::authorize::{
    CHALLENGE, auth_url, client_redirect, count, grant_of_code, login_redirect, org_of_code,
    signed_in, signed_in_third_party,
};
use crate::helpers::browser::{Browser, query};
use crate::helpers::{REDIRECT_URI, TestApp};

const UNKNOWN_CLIENT: &str = "is not registered with this sign-in service";
const BAD_REDIRECT: &str = "an address it has not registered";

#[tokio::test]
async fn unknown_client_or_bad_redirect_uri_shows_a_page_and_never_redirects() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let b = app.browser();

    for url in [
        auth_url(&app, "", &[]),
        auth_url(&app, "no-such-client", &[]),
        format!("{}&client_id={client_id}", auth_url(&app, &client_id, &[])),
    ] {
        let page = b.get(&url).await;
        assert_eq!(page.status, 400, "{url}");
        assert!(page.location.is_none(), "no redirect for {url}");
        assert!(page.body.contains(UNKNOWN_CLIENT), "{url}: {}", page.body);
    }

    for bad in [
        "",
        "https://app.example/cb/",
        "https://APP.example/cb",
        "https://app.example/CB",
        "https://app.example/cb?x=1",
        "https://evil@app.example/cb",
        "https://user:pw@app.example/cb",
        "https://evil.example/cb",
        "https://app.example.evil.example/cb",
        "https://app.example/cb/../cb",
        "http://app.example/cb",
        "https://app.example:8443/cb",
    ] {
        let page = b
            .get(&auth_url(&app, &client_id, &[("redirect_uri", bad)]))
            .await;
        assert_eq!(page.status, 400, "{bad:?}");
        assert!(page.location.is_none(), "no redirect for {bad:?}");
        assert!(page.body.contains(BAD_REDIRECT), "{bad:?}: {}", page.body);
    }
    // A repeated redirect_uri is not trusted either.
    let url = format!(
        "{}&redirect_uri=https%3A%2F%2Fevil.example%2F",
        auth_url(&app, &client_id, &[])
    );
    let page = b.get(&url).await;
    assert_eq!(page.status, 400);
    assert!(page.location.is_none());
    assert_eq!(count(&app, "auth_requests").await, 0, "nothing stored");
}

#[tokio::test]
async fn protocol_errors_redirect_to_the_client_with_iss_and_state() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let b = app.browser();

    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", "code id_token")],
            "unsupported_response_type",
        ),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("request", "eyJ.x.y")], "request_not_supported"),
        (
            vec![("request_uri", "https://app.example/r")],
            "request_uri_not_supported",
        ),
        (vec![("response_mode", "fragment")], "invalid_request"),
        (vec![("response_mode", "form_post")], "invalid_request"),
        (
            vec![
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (
            vec![
                ("code_challenge", "short"),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
        ),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("prompt", "bogus")], "invalid_request"),
        (vec![("max_age", "-1")], "invalid_request"),
        (vec![("max_age", "soon")], "invalid_request"),
        (vec![("scope", "admin everything")], "invalid_scope"),
        (vec![("scope", "")], "invalid_scope"),
    ];
    for (extra, error) in cases {
        let page = b.get(&auth_url(&app, &client_id, &extra)).await;
        let q = client_redirect(&page);
        assert_eq!(q.get("error").map(String::as_str), Some(error), "{extra:?}");
        assert_eq!(q.get("iss"), Some(&app.issuer), "{extra:?}");
        assert_eq!(
            q.get("state").map(String::as_str),
            Some("st-123"),
            "{extra:?}"
        );
        assert!(!q.contains_key("code"));
    }

    // Repeated parameters (RFC 6749 3.1).
    let url = format!("{}&scope=openid", auth_url(&app, &client_id, &[]));
    let q = client_redirect(&b.get(&url).await);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["iss"], app.issuer);

    // A client without the authorization code grant.
    let (machine, _) = app
        .create_client(CreateClient {
            name: "Machine".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        })
        .await;
    let q = client_redirect(&b.get(&auth_url(&app, &machine, &[])).await);
    assert_eq!(q["error"], "unauthorized_client");
    assert_eq!(q["iss"], app.issuer);
}

#[tokio::test]
async fn public_clients_must_use_s256_pkce() {
    let app = TestApp::spawn().await;
    let (public_id, _) = app
        .create_client(CreateClient {
            name: "Phone app".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            public: true,
            ..Default::default()
        })
        .await;
    let b = app.browser();
    let without = [("code_challenge", ""), ("code_challenge_method", "")];
    let q = client_redirect(&b.get(&auth_url(&app, &public_id, &without)).await);
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("PKCE"));
    assert_eq!(q["iss"], app.issuer);

    let plain = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "plain"),
    ];
    let q = client_redirect(&b.get(&auth_url(&app, &public_id, &plain)).await);
    assert_eq!(q["error"], "invalid_request");

    let s256 = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    login_redirect(&b.get(&auth_url(&app, &public_id, &s256)).await);
}

/// Issue 14, defect 4 (SECURITY.md 10.4.6, RFC 9700 2.1.1): PKCE with S256 is required of
/// confidential clients too, unless the client was registered with the documented opt-out.
#[tokio::test]
async fn confidential_clients_must_use_s256_pkce_by_default() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let b = app.browser();
    let without = [("code_challenge", ""), ("code_challenge_method", "")];
    let q = client_redirect(&b.get(&auth_url(&app, &client_id, &without)).await);
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("PKCE"), "{q:?}");
    assert_eq!(q["iss"], app.issuer);
    let s256 = [
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    login_redirect(&b.get(&auth_url(&app, &client_id, &s256)).await);

    // The documented opt-out, for a confidential legacy app only.
    let (legacy, _) = app
        .create_client(CreateClient {
            name: "Legacy app".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            allow_no_pkce: true,
            ..Default::default()
        })
        .await;
    login_redirect(&b.get(&auth_url(&app, &legacy, &without)).await);
    let refused = nyckel::admin::clients::create(
        &app.state.db,
        CreateClient {
            name: "Public legacy".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            public: true,
            allow_no_pkce: true,
            ..Default::default()
        },
        app.state.now(),
    )
    .await;
    assert!(refused.is_err(), "a public client cannot opt out of PKCE");
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let b = app.browser();
    let page = b
        .get(&auth_url(&app, &client_id, &[("prompt", "none")]))
        .await;
    let q = client_redirect(&page);
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["iss"], app.issuer);
    assert_eq!(q["state"], "st-123");
    let no_session = page
        .set_cookies()
        .iter()
        .all(|c| !c.contains("nyckel_session"));
    assert!(no_session, "no session cookie");
    assert_eq!(count(&app, "sessions").await, 0);
    assert_eq!(
        count(&app, "auth_requests").await,
        0,
        "the answered request is gone"
    );
}

#[tokio::test]
async fn without_a_session_the_browser_goes_to_login_with_a_bound_pending_request() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let b = Browser::new(&app);
    let page = b.get(&auth_url(&app, &client_id, &[])).await;
    let req = login_redirect(&page);
    let cookie = page
        .set_cookie("__Host-nyckel_txn")
        .expect("binding cookie set");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax")
    );
    assert_eq!(count(&app, "auth_requests").await, 1);

    // Coming back without having logged in: still the login page.
    login_redirect(&b.get(&format!("/authorize/continue?req={req}")).await);

    // After logging in (the login page would create the session), continue issues a code.
    let user = app.create_user("anna@example.org").await;
    b.insert_session(&app, &user).await;
    let q = client_redirect(&b.get(&format!("/authorize/continue?req={req}")).await);
    assert!(q.contains_key("code"));
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], app.issuer);

    // The request was answered: continuing it again gives a page, not a second code.
    let again = b.get(&format!("/authorize/continue?req={req}")).await;
    assert_eq!(again.status, 400);
    assert_eq!(count(&app, "auth_codes").await, 1);
}

#[tokio::test]
async fn a_signed_in_person_gets_a_code_stored_only_as_a_hash() {
    let (app, client_id, user, b, session) = signed_in("bo@example.org").await;
    let url = auth_url(
        &app,
        &client_id,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    let page = b.get(&url).await;
    let loc = page.location.clone().expect("location");
    let q = client_redirect(&page);
    let code = &q["code"];
    assert!(code.len() >= 43, "a 256-bit code");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], app.issuer);
    assert!(loc.starts_with("https://app.example/cb?code="));

    let grant = grant_of_code(&app, code).await;
    assert_eq!(grant.client_id, client_id);
    assert_eq!(grant.user_id.as_deref(), Some(user.as_str()));
    assert_eq!(grant.sid.as_deref(), Some(session.sid.as_str()));
    assert_eq!(grant.scope, "openid email");
    assert_eq!(grant.auth_time, Some(session.auth_time));
    assert_eq!(grant.organisation_id, None);
    assert!(grant.revoked_at.is_none());

    let (redirect_uri, nonce, challenge, ttl): (String, Option<String>, Option<String>, i64) = sqlx::query_as(
        "select redirect_uri, nonce, code_challenge, expires_at - created_at from auth_codes where code_hash = $1",
    )
    .bind(nyckel::crypto::sha256_b64(code))
    .fetch_one(app.state.db.pool())
    .await
    .expect("code row");
    assert_eq!(redirect_uri, REDIRECT_URI);
    assert_eq!(nonce.as_deref(), Some("n-456"));
    assert_eq!(challenge.as_deref(), Some(CHALLENGE));
    assert_eq!(ttl, app.state.config.tokens.code_ttl);
    let raw: i64 = sqlx::query_scalar("select count(*) from auth_codes where code_hash = $1")
        .bind(code)
        .fetch_one(app.state.db.pool())
        .await
        .expect("count");
    assert_eq!(raw, 0, "the code itself is never stored");
    assert_eq!(count(&app, "auth_requests").await, 0);
}

#[tokio::test]
async fn post_to_authorize_works_like_get_and_keeps_an_existing_query() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app
        .create_client(CreateClient {
            name: "Query app".into(),
            redirect_uris: vec!["https://app.example/cb?tenant=7".into()],
            first_party: true,
            ..Default::default()
        })
        .await;
    let user = app.create_user("cilla@example.org").await;
    let (b, _) = Browser::signed_in(&app, &user).await;
    let page = b
        .post(
            "/authorize",
            &[
                ("response_type", "code"),
                ("client_id", &client_id),
                ("redirect_uri", "https://app.example/cb?tenant=7"),
                ("scope", "openid"),
                ("state", "a b&c"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let loc = page.location.expect("location");
    assert!(
        loc.starts_with("https://app.example/cb?tenant=7&code="),
        "{loc}"
    );
    let q = query(&loc);
    assert_eq!(q["tenant"], "7");
    assert_eq!(q["state"], "a b&c", "state comes back unmodified");
    assert_eq!(q["iss"], app.issuer);
}

#[tokio::test]
async fn prompt_login_and_max_age_send_a_signed_in_person_to_login() {
    let (app, client_id, user, b, _) = signed_in("dan@example.org").await;
    app.advance(5);

    for extra in [
        [("prompt", "login")],
        [("max_age", "0")],
        [("prompt", "select_account")],
    ] {
        let req = login_redirect(&b.get(&auth_url(&app, &client_id, &extra)).await);
        // The old session does not satisfy the request.
        login_redirect(&b.get(&format!("/authorize/continue?req={req}")).await);
    }

    // max_age: fine while young enough, login once exceeded.
    client_redirect(
        &b.get(&auth_url(&app, &client_id, &[("max_age", "60")]))
            .await,
    )
    .get("code")
    .expect("young session is fine");
    app.advance(60);
    let req = login_redirect(
        &b.get(&auth_url(&app, &client_id, &[("max_age", "60")]))
            .await,
    );
    // prompt=none with an exceeded max_age cannot log in.
    let q = client_redirect(
        &b.get(&auth_url(
            &app,
            &client_id,
            &[("max_age", "60"), ("prompt", "none")],
        ))
        .await,
    );
    assert_eq!(q["error"], "login_required");

    // A fresh login satisfies the waiting request.
    app.advance(1);
    let session = b.insert_session(&app, &user).await;
    let q = client_redirect(&b.get(&format!("/authorize/continue?req={req}")).await);
    let grant = grant_of_code(&app, &q["code"]).await;
    assert_eq!(grant.auth_time, Some(session.auth_time));
}

#[tokio::test]
async fn consent_is_asked_denied_allowed_remembered_and_asked_again_on_prompt_consent() {
    let (app, client_id, _, b, _) = signed_in_third_party("eva@example.org").await;
    let url = auth_url(&app, &client_id, &[("scope", "openid email orgs")]);

    // The consent page, with the client's name and what each scope means.
    let page = b.get(&url).await;
    assert_eq!(page.status, 200, "{:?}", page.location);
    assert!(page.has_form("/consent"));
    assert!(page.body.contains("Third Party App"));
    assert!(page.body.contains("See your email address"));
    assert!(page.body.contains("See your organisations and roles"));
    assert!(page.body.contains("name=\"decision\" value=\"allow\""));
    assert!(page.body.contains("eva@example.org"));
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        page.headers["strict-transport-security"]
            .to_str()
            .expect("ascii")
            .contains("max-age=")
    );
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.headers.get("access-control-allow-origin").is_none());

    // Deny: access_denied with iss and state, nothing remembered.
    let denied = b.submit(&page, "/consent", &[("decision", "deny")]).await;
    let q = client_redirect(&denied);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["iss"], app.issuer);
    assert_eq!(q["state"], "st-123");
    assert_eq!(count(&app, "consents").await, 0);
    assert_eq!(count(&app, "auth_codes").await, 0);

    // prompt=none now: consent_required.
    let q = client_redirect(
        &b.get(&auth_url(&app, &client_id, &[("prompt", "none")]))
            .await,
    );
    assert_eq!(q["error"], "consent_required");
    assert_eq!(q["iss"], app.issuer);

    // Allow: a code.
    let page = b.get(&url).await;
    let allowed = b.submit(&page, "/consent", &[("decision", "allow")]).await;
    let q = client_redirect(&allowed);
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], app.issuer);
    assert_eq!(
        grant_of_code(&app, &q["code"]).await.scope,
        "openid email orgs"
    );

    // Submitting the same form again does not issue a second code.
    let again = b.submit(&page, "/consent", &[("decision", "allow")]).await;
    assert_ne!(again.status, 303);
    assert_eq!(count(&app, "auth_codes").await, 1);

    // Remembered: no question next time (also for fewer scopes, and with prompt=none).
    client_redirect(&b.get(&url).await)
        .get("code")
        .expect("code without asking");
    let q = client_redirect(
        &b.get(&auth_url(&app, &client_id, &[("prompt", "none")]))
            .await,
    );
    assert!(q.contains_key("code"), "{q:?}");

    // More scopes than consented, or prompt=consent: asked again.
    let page = b
        .get(&auth_url(
            &app,
            &client_id,
            &[("scope", "openid email phone")],
        ))
        .await;
    assert!(page.has_form("/consent"));
    let page = b
        .get(&auth_url(&app, &client_id, &[("prompt", "consent")]))
        .await;
    assert!(page.has_form("/consent"));
}

#[tokio::test]
async fn first_party_clients_skip_consent_unless_prompt_consent() {
    let (app, client_id, _, b, _) = signed_in("fia@example.org").await;
    client_redirect(&b.get(&auth_url(&app, &client_id, &[])).await)
        .get("code")
        .expect("no consent for first-party");
    let page = b
        .get(&auth_url(&app, &client_id, &[("prompt", "consent")]))
        .await;
    assert!(page.has_form("/consent"));
}

#[tokio::test]
async fn consent_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let (app, client_id, _, b, _) = signed_in_third_party("gun@example.org").await;
    let page = b.get(&auth_url(&app, &client_id, &[])).await;
    let form = page.form("/consent").expect("consent form");
    let req = form["req"].clone();

    let missing = b
        .post("/consent", &[("req", &req), ("decision", "allow")])
        .await;
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("This form has expired"));
    let wrong = b
        .post(
            "/consent",
            &[
                ("req", &req),
                ("csrf", "not-the-token"),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(count(&app, "auth_codes").await, 0);
    assert_eq!(count(&app, "consents").await, 0);

    // The real form still works.
    let q = client_redirect(&b.submit(&page, "/consent", &[("decision", "allow")]).await);
    assert!(q.contains_key("code"));
}

#[tokio::test]
async fn a_pending_request_cannot_be_continued_in_another_browser() {
    let (app, client_id, user, a, _) = signed_in_third_party("hans@example.org").await;
    let (other, _) = Browser::signed_in(&app, &user).await;
    let page = a.get(&auth_url(&app, &client_id, &[])).await;
    let form = page.form("/consent").expect("consent form");

    // Browser B has the same person signed in, and even the form's tokens.
    let stolen = other
        .submit(&page, "/consent", &[("decision", "allow")])
        .await;
    assert_eq!(stolen.status, 403);
    assert!(stolen.location.is_none());
    let cont = other
        .get(&format!("/authorize/continue?req={}", form["req"]))
        .await;
    assert_eq!(cont.status, 403);
    assert_eq!(count(&app, "auth_codes").await, 0);

    // Browser A can still finish.
    let q = client_redirect(&a.submit(&page, "/consent", &[("decision", "allow")]).await);
    assert!(q.contains_key("code"));
}

#[tokio::test]
async fn a_restricted_client_refuses_non_members_with_a_clear_page() {
    let app = TestApp::spawn().await;
    let club = app.create_org("Club A", "club-a").await;
    let other = app.create_org("Club B", "club-b").await;
    let (client_id, _) = app
        .create_client(CreateClient {
            name: "Club A app".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            organisations: vec![club.clone()],
            first_party: true,
            ..Default::default()
        })
        .await;
    let user = app.create_user("ivar@example.org").await;
    app.add_member(&other, "ivar@example.org", &["member"])
        .await;
    let (b, _) = Browser::signed_in(&app, &user).await;

    let page = b.get(&auth_url(&app, &client_id, &[])).await;
    assert_eq!(page.status, 403);
    assert!(
        page.location.is_none(),
        "nothing about memberships goes to the client"
    );
    assert!(
        page.body
            .contains("not a member of an organisation that uses this app")
    );
    // Naming the other organisation does not help.
    let page = b
        .get(&auth_url(&app, &client_id, &[("organization", "club-b")]))
        .await;
    assert_eq!(page.status, 403);
    assert!(page.location.is_none());
    assert_eq!(count(&app, "auth_codes").await, 0);

    // Once a member of club A, the only candidate is used.
    app.add_member(&club, "ivar@example.org", &["coach"]).await;
    let q = client_redirect(&b.get(&auth_url(&app, &client_id, &[])).await);
    assert_eq!(org_of_code(&app, &q).await.as_deref(), Some(club.as_str()));
}

/// Clubs A and B, a client registered as `client` (for the test redirect URI, requiring an
/// organisation), and a person (`email`) with `roles` in A and in B, signed in in a new
/// browser; returns `(A's id, B's id, the client's id, the browser)`.
async fn in_two_clubs(
    app: &TestApp,
    email: &str,
    roles: [&str; 2],
    client: CreateClient,
) -> (String, String, String, Browser) {
    let a = app.create_org("Club A", "club-a").await;
    let b = app.create_org("Club B", "club-b").await;
    let (client_id, _) = app
        .create_client(CreateClient {
            redirect_uris: vec![REDIRECT_URI.into()],
            require_organisation: true,
            ..client
        })
        .await;
    let user = app.create_user(email).await;
    app.add_member(&a, email, &[roles[0]]).await;
    app.add_member(&b, email, &[roles[1]]).await;
    let (browser, _) = Browser::signed_in(app, &user).await;
    (a, b, client_id, browser)
}

#[tokio::test]
async fn a_member_of_two_organisations_picks_one_or_names_it() {
    let app = TestApp::spawn().await;
    let league = CreateClient {
        name: "League app".into(),
        first_party: true,
        ..Default::default()
    };
    let (a, b_org, client_id, b) =
        in_two_clubs(&app, "jon@example.org", ["member", "coach"], league).await;

    // The picker.
    let page = b.get(&auth_url(&app, &client_id, &[])).await;
    assert_eq!(page.status, 200, "{:?}", page.location);
    assert!(page.has_form("/select-org"));
    assert!(page.body.contains("Club A") && page.body.contains("Club B"));
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    let q = client_redirect(&b.submit(&page, "/select-org", &[("org", &b_org)]).await);
    assert_eq!(org_of_code(&app, &q).await.as_deref(), Some(b_org.as_str()));
    assert_eq!(q["iss"], app.issuer);

    // Picking an organisation the person is not in: refused.
    let page = b.get(&auth_url(&app, &client_id, &[])).await;
    let refused = b
        .submit(&page, "/select-org", &[("org", "no-such-org")])
        .await;
    assert_eq!(refused.status, 403);

    // Named by slug: used without asking.
    let q = client_redirect(
        &b.get(&auth_url(&app, &client_id, &[("organization", "club-a")]))
            .await,
    );
    assert_eq!(org_of_code(&app, &q).await.as_deref(), Some(a.as_str()));
    // Named by id, too.
    let q = client_redirect(
        &b.get(&auth_url(&app, &client_id, &[("organization", &b_org)]))
            .await,
    );
    assert_eq!(org_of_code(&app, &q).await.as_deref(), Some(b_org.as_str()));

    // prompt=none cannot show the picker.
    let q = client_redirect(
        &b.get(&auth_url(&app, &client_id, &[("prompt", "none")]))
            .await,
    );
    assert_eq!(q["error"], "interaction_required");
}

#[tokio::test]
async fn the_organisation_picked_carries_over_to_the_consent_page() {
    let app = TestApp::spawn().await;
    let outside = CreateClient {
        name: "Outside app".into(),
        ..Default::default()
    };
    let (a, _, client_id, b) =
        in_two_clubs(&app, "kim@example.org", ["member", "member"], outside).await;
    let page = b.get(&auth_url(&app, &client_id, &[])).await;
    let consent = b.submit(&page, "/select-org", &[("org", &a)]).await;
    assert!(consent.has_form("/consent"), "{}", consent.body);
    assert!(consent.body.contains("Club A"));
    let q = client_redirect(
        &b.submit(&consent, "/consent", &[("decision", "allow")])
            .await,
    );
    assert_eq!(org_of_code(&app, &q).await.as_deref(), Some(a.as_str()));
}

#[tokio::test]
async fn ui_locales_chooses_the_language_of_pages() {
    let (app, client_id, _, b, _) = signed_in_third_party("lisa@example.org").await;
    let page = b
        .get(&auth_url(&app, &client_id, &[("ui_locales", "sv")]))
        .await;
    assert!(page.body.contains("lang=\"sv\""));
    assert!(page.body.contains("Tillåt"));
}

#[tokio::test]
async fn head_requests_change_nothing() {
    // Link scanners send HEAD; with a session, a GET would issue a code.
    let (app, client_id, _, b, _) = signed_in("head@example.org").await;
    let url = auth_url(
        &app,
        &client_id,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    let res = b.client.head(&url).send().await.expect("HEAD");
    assert_eq!(res.status(), 405);
    assert_eq!(count(&app, "auth_codes").await, 0, "no code issued");
    assert_eq!(
        count(&app, "auth_requests").await,
        0,
        "no pending request stored"
    );
    let page = b.get(&url).await;
    assert!(
        client_redirect(&page).contains_key("code"),
        "GET still works"
    );
}
