//! The password login page: rendering, language, CSRF, sessions (fixation, timeouts) and
//! exact password verification.

use std::time::{Duration, Instant};

use nyckel::auth::session::{self, acr};
use nyckel::http::cookies::SESSION_COOKIE;

use crate::helpers::authorize::count;
use crate::helpers::browser::{Browser, Page};
use crate::helpers::login::{anna, audit, params, pending_for};
use crate::helpers::{PASSWORD, TestApp};

/// The session cookie value set by a successful login response.
fn session_cookie_of(res: &Page) -> String {
    let set = res
        .set_cookie(SESSION_COOKIE)
        .unwrap_or_else(|| panic!("no session cookie set: {res:?}"));
    let value = set
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_string())
        .expect("cookie value");
    assert!(!value.is_empty());
    value
}

/// Every `href`/`src` attribute value in `html`.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\"", "action=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            out.push(rest[..rest.find('"').unwrap_or(rest.len())].to_string());
        }
    }
    out
}

#[tokio::test]
async fn login_page_for_a_request_is_accessible_and_self_contained() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let browser = Browser::new(&app);
    let mut p = params(&client_id);
    p.login_hint = Some("anna@example.org".into());
    let id = pending_for(&app, &browser, p).await;

    let page = browser.get(&format!("/login?req={id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let b = &page.body;
    assert!(b.contains("<html lang=\"en\">"), "{b}");
    assert!(b.contains("Sign in"));
    assert!(b.contains("to continue to <strong>Web app</strong>"), "{b}");
    assert!(b.contains("<form method=\"post\" action=\"/login\">"));
    assert!(b.contains("<label for=\"email\">Email address</label>"));
    assert!(b.contains("<label for=\"password\">Password</label>"));
    assert!(
        b.contains("type=\"email\" id=\"email\" name=\"email\" value=\"anna@example.org\""),
        "{b}"
    );
    assert!(b.contains("autocomplete=\"username\""));
    assert!(b.contains(
        "type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\""
    ));
    assert!(b.contains("<button type=\"submit\">"));
    assert!(
        !b.to_lowercase().contains("onpaste"),
        "paste must be allowed"
    );
    // One script, from this server (passkeys); nothing inline.
    assert_eq!(
        b.matches("<script").count(),
        b.matches("<script src=\"/static/passkey.js\" defer></script>")
            .count(),
        "only the self-hosted script"
    );
    let fields = page.login_form();
    assert_eq!(fields.get("req"), Some(&id));
    assert!(fields.get("csrf").is_some_and(|c| c.len() >= 43));
    for r in references(b) {
        assert!(
            r.starts_with('/') || r.starts_with('#'),
            "external reference {r}"
        );
    }
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("form-action 'self' https://app.example"),
        "{csp}"
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn plain_login_page_sets_a_double_submit_cookie() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let page = browser.get("/login").await;
    assert_eq!(page.status, 200);
    let fields = page.login_form();
    assert!(!fields.contains_key("req"));
    let csrf = fields.get("csrf").expect("csrf field").clone();
    let set = page.set_cookie("__Host-nyckel_csrf").expect("csrf cookie");
    assert!(
        set.starts_with(&format!("__Host-nyckel_csrf={csrf};")),
        "{set}"
    );
    assert!(set.contains("Secure") && set.contains("HttpOnly") && set.contains("SameSite=Lax"));
    assert!(
        page.header("content-security-policy")
            .is_some_and(|c| c.contains("frame-ancestors 'none'"))
    );
    // A second visit reuses the token (several tabs keep working).
    let again = browser.get("/login").await;
    assert_eq!(again.login_form().get("csrf"), Some(&csrf));
    assert!(again.set_cookie("__Host-nyckel_csrf").is_none());
}

#[tokio::test]
async fn login_page_speaks_swedish_from_accept_language_and_ui_locales() {
    let app = TestApp::spawn().await;
    let browser = Browser::new(&app);
    let page = browser.get_in("/login", "sv-SE,sv;q=0.9,en;q=0.5").await;
    assert!(page.body.contains("<html lang=\"sv\">"), "{}", page.body);
    assert!(
        page.body
            .contains("<label for=\"email\">E-postadress</label>")
    );
    assert!(
        page.body
            .contains("<label for=\"password\">Lösenord</label>")
    );

    let (client_id, _) = app.web_client().await;
    let mut p = params(&client_id);
    p.ui_locales = Some("sv en".into());
    let id = pending_for(&app, &browser, p).await;
    let page = browser.get(&format!("/login?req={id}")).await;
    assert!(page.body.contains("<html lang=\"sv\">"), "{}", page.body);
    assert!(
        page.body
            .contains("för att fortsätta till <strong>Web app</strong>")
    );

    let english = browser.get("/login").await;
    assert!(english.body.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn unknown_expired_or_foreign_requests_get_a_helpful_page() {
    let app = TestApp::spawn().await;
    let (client_id, _) = app.web_client().await;
    let owner = Browser::new(&app);
    let id = pending_for(&app, &owner, params(&client_id)).await;
    let expired_text = "This sign-in attempt has expired";

    let unknown = owner.get("/login?req=no-such-request").await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains(expired_text), "{}", unknown.body);

    let other = Browser::new(&app);
    let foreign = other.get(&format!("/login?req={id}")).await;
    assert_eq!(foreign.status, 400);
    assert!(foreign.body.contains(expired_text));
    assert!(
        !foreign.body.contains("name=\"csrf\""),
        "no token for another browser"
    );

    assert_eq!(owner.get(&format!("/login?req={id}")).await.status, 200);
    app.advance(1801);
    let late = owner.get(&format!("/login?req={id}")).await;
    assert_eq!(late.status, 400);
    assert!(late.body.contains(expired_text));
}

#[tokio::test]
async fn successful_login_sets_a_host_session_cookie_and_continues_with_303() {
    let (app, user, browser) = anna().await;
    let (client_id, _) = app.web_client().await;
    let id = pending_for(&app, &browser, params(&client_id)).await;

    let res = browser
        .login_at(&format!("/login?req={id}"), "Anna@Example.org ", PASSWORD)
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(
        res.header("location"),
        Some(format!("/authorize/continue?req={id}").as_str())
    );
    let set = res.set_cookie(SESSION_COOKIE).expect("session cookie");
    assert!(set.starts_with("__Host-nyckel_session="));
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    assert!(
        !set.contains("Max-Age") && !set.contains("Expires"),
        "browser-session cookie: {set}"
    );
    assert!(!set.contains("Domain"), "{set}");
    assert!(!res.body.contains(PASSWORD));

    let cookie = session_cookie_of(&res);
    assert!(cookie.len() >= 43);
    let s = session::load(
        &app.state.db,
        &app.state.config.session,
        &cookie,
        app.state.now(),
    )
    .await
    .expect("load")
    .expect("live session");
    assert_eq!(s.user_id, user);
    assert_eq!(s.amr, vec!["pwd".to_string()]);
    assert_eq!(s.acr, acr::SINGLE_FACTOR);
    assert_eq!(s.auth_time, app.state.now());

    let events = audit(&app, "login.success").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0.as_deref(), Some(user.as_str()));
    assert_eq!(events[0].1.as_deref(), Some("127.0.0.1"));
    assert!(events[0].2.contains(&s.sid));
    assert!(!events[0].2.contains(PASSWORD));
}

#[tokio::test]
async fn plain_login_goes_home() {
    let (_app, _, browser) = anna().await;
    let res = browser.login("anna@example.org", PASSWORD).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(res.header("location"), Some("/"));
    assert!(browser.cookie(SESSION_COOKIE).is_some());
}

#[tokio::test]
async fn every_login_gets_a_new_session_and_the_old_cookie_stops_working() {
    let (app, _, browser) = anna().await;
    let cfg = &app.state.config.session;

    // A value planted before login (fixation attempt) is not adopted.
    browser.add_cookie(
        SESSION_COOKIE,
        "planted-by-an-attacker-aaaaaaaaaaaaaaaaaaaaaaa",
    );
    let first = browser.login("anna@example.org", PASSWORD).await;
    assert_eq!(first.status, 303);
    let a = session_cookie_of(&first);
    assert_ne!(a, "planted-by-an-attacker-aaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(browser.cookie(SESSION_COOKIE).as_deref(), Some(a.as_str()));
    assert!(
        session::load(&app.state.db, cfg, &a, app.state.now())
            .await
            .expect("load")
            .is_some()
    );

    // Logging in again (re-authentication) replaces the session.
    let second = browser.login("anna@example.org", PASSWORD).await;
    assert_eq!(second.status, 303);
    let b = session_cookie_of(&second);
    assert_ne!(a, b);
    assert!(
        session::load(&app.state.db, cfg, &a, app.state.now())
            .await
            .expect("load")
            .is_none()
    );
    let s = session::load(&app.state.db, cfg, &b, app.state.now())
        .await
        .expect("load");
    assert!(s.is_some());
    assert_eq!(
        count(&app, "sessions").await,
        1,
        "the previous session ended"
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let (app, user, browser) = anna().await;
    let wrong = "mossa under granarna 77";

    let known = browser.login("anna@example.org", wrong).await;
    let unknown = browser.login("bert@example.org", wrong).await;
    assert_eq!(known.status, 200);
    assert_eq!(known.status, unknown.status);
    assert!(
        known
            .body
            .contains("The email address or password is not correct.")
    );
    assert_eq!(
        known.body.replace("anna@example.org", "EMAIL"),
        unknown.body.replace("bert@example.org", "EMAIL"),
        "the pages must not differ"
    );
    // The email is kept, the password never comes back.
    assert!(known.body.contains("value=\"anna@example.org\""));
    for res in [&known, &unknown] {
        assert!(!res.body.contains(wrong));
        assert!(res.set_cookie(SESSION_COOKIE).is_none());
        assert!(!res.body.contains("value=\"mossa"));
    }
    assert_eq!(count(&app, "sessions").await, 0);

    let failures = audit(&app, "login.failure").await;
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].0.as_deref(), Some(user.as_str()));
    assert_eq!(failures[1].0, None);
    let unknown_key = nyckel::auth::throttle::account_key("bert@example.org");
    assert!(failures[1].2.contains(&unknown_key), "{}", failures[1].2);
    for (_, _, detail) in &failures {
        assert!(
            !detail.contains(wrong) && !detail.contains("mossa"),
            "{detail}"
        );
        assert!(
            !detail.contains("bert@example.org"),
            "the account key is hashed: {detail}"
        );
    }
}

#[tokio::test]
async fn disabled_account_fails_like_a_wrong_password() {
    let app = TestApp::spawn().await;
    let user = app.create_user("anna@example.org").await;
    sqlx::query("update users set disabled = 1 where id = $1")
        .bind(&user)
        .execute(app.state.db.pool())
        .await
        .expect("disable");
    let browser = Browser::new(&app);
    let res = browser.login("anna@example.org", PASSWORD).await;
    let unknown = browser.login("bert@example.org", PASSWORD).await;
    assert_eq!(res.status, 200);
    assert!(res.set_cookie(SESSION_COOKIE).is_none());
    assert_eq!(
        res.body.replace("anna@example.org", "EMAIL"),
        unknown.body.replace("bert@example.org", "EMAIL")
    );
    assert_eq!(count(&app, "sessions").await, 0);
}

#[tokio::test]
async fn login_post_without_or_with_a_wrong_csrf_token_is_refused() {
    let (app, _, browser) = anna().await;
    let (client_id, _) = app.web_client().await;
    let csrf = browser.get("/login").await.login_form()["csrf"].clone();
    let creds = [("email", "anna@example.org"), ("password", PASSWORD)];
    let expect_refused = |res: Page| {
        assert_eq!(res.status, 403, "{}", res.body);
        assert!(
            res.body
                .contains("This form has expired or was sent from another page")
        );
        assert!(res.set_cookie(SESSION_COOKIE).is_none());
        assert!(!res.body.contains(PASSWORD));
    };

    // Plain form: missing token, wrong token, and a token without its cookie (another site).
    expect_refused(browser.post("/login", &creds).await);
    let wrong = "x".repeat(43);
    expect_refused(
        browser
            .post("/login", &login_fields("", &wrong, PASSWORD))
            .await,
    );
    let cross_site = Browser::new(&app);
    expect_refused(
        cross_site
            .post("/login", &login_fields("", &csrf, PASSWORD))
            .await,
    );

    // A pending request: wrong token; the right token from a browser without the binding.
    let id = pending_for(&app, &browser, params(&client_id)).await;
    let page = browser.get(&format!("/login?req={id}")).await;
    let req_csrf = page.login_form()["csrf"].clone();
    expect_refused(
        browser
            .post("/login", &login_fields(&id, &csrf, PASSWORD))
            .await,
    );
    expect_refused(
        cross_site
            .post("/login", &login_fields(&id, &req_csrf, PASSWORD))
            .await,
    );

    // Nothing changed: no session, no counters, no audit events.
    assert_eq!(count(&app, "sessions").await, 0);
    assert_eq!(count(&app, "login_throttle").await, 0);
    assert!(audit(&app, "login.failure").await.is_empty());
    assert!(audit(&app, "login.success").await.is_empty());

    // The same browser with the right token logs in.
    let ok = browser
        .post("/login", &login_fields(&id, &req_csrf, PASSWORD))
        .await;
    assert_eq!(ok.status, 303);
}

/// The login form's fields for anna@example.org: the pending request `req` (none when
/// empty), the CSRF token and the password.
fn login_fields<'a>(req: &'a str, csrf: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("csrf", csrf),
        ("email", "anna@example.org"),
        ("password", password),
    ];
    if !req.is_empty() {
        fields.push(("req", req));
    }
    fields
}

#[tokio::test]
async fn passwords_are_verified_exactly_as_typed() {
    let app = TestApp::spawn().await;
    let long: String = "Lingonris-och-Hjortron-Pa-Fjallet-"
        .chars()
        .cycle()
        .take(100)
        .collect();
    assert_eq!(long.chars().count(), 100);
    app.create_user_with("anna@example.org", None, &long).await;
    let browser = Browser::new(&app);

    let truncated: String = long.chars().take(72).collect();
    let res = browser.login("anna@example.org", &truncated).await;
    assert_eq!(res.status, 200, "first 72 characters are not the password");
    assert!(res.set_cookie(SESSION_COOKIE).is_none());

    let flipped: String = long
        .chars()
        .map(|c| {
            if c.is_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    let res = browser.login("anna@example.org", &flipped).await;
    assert_eq!(res.status, 200, "case matters");
    assert!(res.set_cookie(SESSION_COOKIE).is_none());

    let res = browser.login("anna@example.org", &long).await;
    assert_eq!(res.status, 303);
}

#[tokio::test]
async fn composed_and_decomposed_accents_both_log_in() {
    let app = TestApp::spawn().await;
    let composed = "sm\u{00f6}rg\u{00e5}sbord med s\u{00e4}ll";
    let decomposed = "smo\u{0308}rga\u{030a}sbord med sa\u{0308}ll";
    assert_ne!(composed, decomposed);
    app.create_user_with("anna@example.org", None, composed)
        .await;
    let browser = Browser::new(&app);
    assert_eq!(
        browser.login("anna@example.org", decomposed).await.status,
        303
    );
    assert_eq!(
        browser.login("anna@example.org", composed).await.status,
        303
    );
}

#[tokio::test]
async fn oversized_passwords_are_refused_before_hashing() {
    let (app, _, browser) = anna().await;
    let csrf = browser.get("/login").await.login_form()["csrf"].clone();

    // A 1 MB body: refused by the body limit, quickly, without touching the login logic.
    let huge = "a".repeat(1024 * 1024);
    let started = Instant::now();
    let res = browser
        .post("/login", &login_fields("", &csrf, &huge))
        .await;
    assert!(res.status == 413 || res.status == 400, "{}", res.status);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        audit(&app, "login.failure").await.is_empty(),
        "the login logic never ran"
    );

    // Within the body limit but over max_length * 4 bytes: the generic answer, no hash.
    let long = "b".repeat(app.state.config.password.max_length * 4 + 1);
    let res = browser
        .post("/login", &login_fields("", &csrf, &long))
        .await;
    assert_eq!(res.status, 200);
    assert!(
        res.body
            .contains("The email address or password is not correct.")
    );
    assert!(!res.body.contains(&long));
    let failures = audit(&app, "login.failure").await;
    assert_eq!(failures.len(), 1);
    assert!(failures[0].2.contains("too_long"), "{}", failures[0].2);
}

#[tokio::test]
async fn a_weaker_stored_hash_is_upgraded_at_login() {
    let app = TestApp::spawn_with(|c| c.password.argon2_iterations = 3).await;
    let user = app.create_user("anna@example.org").await;
    // Store the hash as an older installation with the default (weaker) parameters made it.
    let old = nyckel::auth::password::Hasher::new(&nyckel::config::PasswordConfig::default());
    let weak = old
        .hash(&nyckel::auth::password::Password::new(PASSWORD.into()))
        .await
        .expect("hash");
    assert!(weak.contains("t=2"));
    nyckel::store::users::set_password_hash(&app.state.db, &user, &weak, app.state.now())
        .await
        .expect("store");

    let browser = Browser::new(&app);
    assert_eq!(
        browser.login("anna@example.org", PASSWORD).await.status,
        303
    );
    let stored = nyckel::store::users::find(&app.state.db, &user)
        .await
        .expect("find")
        .and_then(|u| u.password_hash)
        .expect("hash");
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=3,p=1$"),
        "{stored}"
    );
    assert_ne!(stored, weak);
    assert_eq!(
        browser.login("anna@example.org", PASSWORD).await.status,
        303
    );
}

#[tokio::test]
async fn session_ends_after_the_idle_timeout() {
    let (app, _, browser) = anna().await;
    let cookie = session_cookie_of(&browser.login("anna@example.org", PASSWORD).await);
    let cfg = &app.state.config.session;
    let load = |now| session::load(&app.state.db, cfg, &cookie, now);

    app.advance(cfg.idle_timeout - 1);
    assert!(
        load(app.state.now()).await.expect("load").is_some(),
        "still within the idle timeout"
    );
    app.advance(cfg.idle_timeout + 1);
    assert!(
        load(app.state.now()).await.expect("load").is_none(),
        "idle too long"
    );
    // Gone for good, not just hidden.
    assert_eq!(count(&app, "sessions").await, 0);
}

#[tokio::test]
async fn session_ends_at_the_absolute_timeout_despite_activity() {
    let (app, _, browser) = anna().await;
    let cookie = session_cookie_of(&browser.login("anna@example.org", PASSWORD).await);
    let cfg = app.state.config.session.clone();
    let step = cfg.idle_timeout - 1;
    let mut elapsed = 0;
    loop {
        app.advance(step);
        elapsed += step;
        let live = session::load(&app.state.db, &cfg, &cookie, app.state.now())
            .await
            .expect("load")
            .is_some();
        if elapsed < cfg.absolute_timeout {
            assert!(live, "active session alive after {elapsed} s");
        } else {
            assert!(!live, "absolute timeout passed after {elapsed} s");
            break;
        }
    }
}
