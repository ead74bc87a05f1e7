//! The first administrator's way in (SECURITY.md 6.3.2: no default accounts): `nyckel admin
//! setup-link` prints a one-time, short-lived link; its page makes an account a superadmin,
//! who then signs in normally. Driven through the real binary and over HTTP.

use nyckel::auth::password::Verdict;
use nyckel::store;

use crate::cli::nyckel;
use crate::helpers::{PASSWORD, TestApp};

const ROOT_PASSWORD: &str = "molnbär och lingon i korgen";

/// Runs `nyckel admin setup-link [args]` against the app's database, with a configuration
/// file naming its issuer; returns (success, stdout, stderr).
fn setup_link(app: &TestApp, dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let config = dir.join("nyckel.toml");
    std::fs::write(&config, format!("issuer = \"{}\"\n", app.issuer)).expect("config");
    let config = config.to_str().expect("utf8").to_string();
    let mut all = vec!["admin", "setup-link", "--config", config.as_str()];
    all.extend_from_slice(args);
    nyckel(dir, &app.state.config.database_url(), &all, None)
}

async fn superadmin(app: &TestApp, email: &str) -> Option<(i64, i64)> {
    store::users::find_by_email(&app.state.db, email)
        .await
        .expect("query")
        .map(|u| (u.superadmin, u.email_verified))
}

/// A setup link made through the library (no email fixed).
async fn library_link(app: &TestApp) -> nyckel::auth::setup::SetupLink {
    let (db, config) = (&app.state.db, &app.state.config);
    nyckel::auth::setup::create_link(db, config, None, app.state.now())
        .await
        .expect("link")
}

#[tokio::test]
async fn the_cli_link_makes_a_superadmin_who_then_signs_in() {
    let app = TestApp::spawn_password_only_admins("the new superadmin signs in with the password the link set; the second step has its own tests").await;
    let dir = tempfile::tempdir().expect("dir");
    let (ok, out, err) = setup_link(&app, dir.path(), &["--json"]);
    assert!(ok, "{err}");
    assert!(!err.contains("warning"), "no superadmin yet: {err}");
    let printed: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let link = printed["link"].as_str().expect("link").to_string();
    assert!(link.starts_with(&app.url("/setup/")), "{link}");
    let ttl = app.state.config.admin.setup_link_ttl;
    let expires = printed["expires_at"].as_i64().expect("expires_at");
    assert!(
        (expires - app.state.now() - ttl).abs() < 120,
        "valid setup_link_ttl"
    );

    let b = app.browser();
    let page = b.open(&link).await;
    assert!(page.body.contains("name=\"email\""));
    assert_eq!(page.headers["cache-control"], "no-store");
    // Looking at the page twice changes nothing; a refused form keeps the key.
    assert_eq!(b.get(&link).await.status, 200);
    let weak = b.set_up(&page, "rut@example.org", "Rut Root", "kort").await;
    weak.assert_says(400, "at least 15 characters");
    let bad = b
        .set_up(&page, "not-an-email", "Rut Root", ROOT_PASSWORD)
        .await;
    bad.assert_says(400, "valid email address");
    assert!(superadmin(&app, "rut@example.org").await.is_none());

    let done = b
        .set_up(&page, "rut@example.org", "Rut Root", ROOT_PASSWORD)
        .await;
    done.assert_says(200, "href=\"/login?next=/admin\"");
    assert_eq!(
        superadmin(&app, "rut@example.org").await,
        Some((1, 0)),
        "a superadmin; the email is not verified by this"
    );
    let again = b
        .set_up(&page, "eve@example.org", "Rut Root", ROOT_PASSWORD)
        .await;
    assert_eq!(again.status, 410, "the link works once");
    assert!(superadmin(&app, "eve@example.org").await.is_none());

    // The new administrator signs in with the password they chose.
    let logged_in = b
        .login_at("/login?next=/admin", "rut@example.org", ROOT_PASSWORD)
        .await;
    logged_in.expect_status(303);
    assert!(b.signed_in_as("rut@example.org").await);
    let events = app.audit_count("admin.setup").await;
    assert_eq!(events, 1);

    // With a superadmin in place the command still works, warns, and can fix the email:
    // the link then makes exactly that (existing) account a superadmin.
    app.create_user("bo@example.org").await;
    let (ok, out, err) = setup_link(&app, dir.path(), &["--email", "bo@example.org"]);
    assert!(ok, "{err}");
    assert!(err.contains("warning"), "{err}");
    let link = out
        .split_whitespace()
        .find(|w| w.contains("/setup/"))
        .expect("the link is printed")
        .to_string();
    let page = b.get(&link).await;
    assert!(page.body.contains("value=\"bo@example.org\""));
    assert!(page.body.contains("readonly"));
    let done = b
        .set_up(&page, "eve@example.org", "Rut Root", ROOT_PASSWORD)
        .await;
    done.expect_status(200);
    let eve = superadmin(&app, "eve@example.org").await;
    assert!(eve.is_none(), "the fixed email wins");
    assert_eq!(superadmin(&app, "bo@example.org").await, Some((1, 0)));
    let old = app
        .browser()
        .authorize_and_login("/login", "bo@example.org", PASSWORD)
        .await;
    assert!(
        old.body.contains("not correct"),
        "bo's password was replaced"
    );
}

#[tokio::test]
async fn an_expired_setup_link_changes_nothing() {
    let app = TestApp::spawn().await;
    let link = library_link(&app).await;
    assert!(!link.superadmins_exist);
    assert!(
        !format!("{link:?}").contains(&link.url),
        "Debug hides the link"
    );
    let b = app.browser();
    let page = b.open(&link.url).await;
    app.advance(app.state.config.admin.setup_link_ttl);
    b.get(&link.url).await.assert_says(410, "setup-link");
    let late = b
        .set_up(&page, "late@example.org", "Late", ROOT_PASSWORD)
        .await;
    assert_eq!(late.status, 410);
    assert!(superadmin(&app, "late@example.org").await.is_none());
    assert!(
        !store::users::any_superadmin(&app.state.db)
            .await
            .expect("query")
    );
}

#[tokio::test]
async fn a_link_without_an_email_cannot_take_over_an_existing_account() {
    let app = TestApp::spawn().await;
    let victim = app.create_user("victim@example.org").await;
    let link = library_link(&app).await;
    let b = app.browser();
    let page = b.open(&link.url).await;
    let refused = b
        .set_up(&page, "VICTIM@example.org", "Mallory", ROOT_PASSWORD)
        .await;
    refused.assert_says(400, "setup-link --email");
    let user = app.account_by_id(&victim).await;
    assert_eq!(user.superadmin, 0, "not made superadmin");
    let verdict = app.password_verdict("victim@example.org", PASSWORD).await;
    assert!(
        verdict == Verdict::Match,
        "the victim's password is unchanged"
    );
    // The key still works for a new account.
    b.open(&link.url).await;
}
