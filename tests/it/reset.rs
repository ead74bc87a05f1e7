//! Password reset by a key mailed to the person (SECURITY.md section 4, 6.3.7, 7.4.3): the
//! link's page changes nothing until the form is posted, a refused password leaves the key
//! usable, a reset ends every session and refresh token and logs nobody in, a key works once
//! and only while new and unexpired, and no key ever reaches the server's log.

use nyckel::store;

use crate::flows::authorize_url;
use crate::helpers::browser::{Browser, query};
use crate::helpers::process::ServerProcess;
use crate::helpers::token::{Auth, redeem, refresh};
use crate::helpers::{PASSWORD, TestApp, db};

const NEW_PASSWORD: &str = "hjortronsylt på fjället 7";

async fn user(app: &TestApp, email: &str) -> store::users::User {
    store::users::find_by_email(&app.state.db, email)
        .await
        .expect("query")
        .expect("user")
}

/// Sends `email` a reset key (as an administrator of `org` would) and returns the link.
async fn reset_link(app: &TestApp, email: &str, org: Option<&str>) -> String {
    let u = user(app, email).await;
    nyckel::auth::reset::send_reset_key(&app.state, &u, org)
        .await
        .expect("reset key sent");
    let mails = app.mails_to(email).await;
    let last = mails
        .iter()
        .rev()
        .find(|m| m.text.contains("/reset/"))
        .expect("a reset mail");
    last.link("/reset/")
}

/// The path of a link on the test server.
fn path(link: &str) -> String {
    url::Url::parse(link).expect("url").path().to_string()
}

async fn key_used(app: &TestApp, link: &str) -> Option<i64> {
    let key = path(link).trim_start_matches("/reset/").to_string();
    let (used,): (Option<i64>,) =
        sqlx::query_as("select used_at from login_keys where key_hash = $1")
            .bind(nyckel::crypto::sha256_b64(&key))
            .fetch_one(app.state.db.pool())
            .await
            .expect("the key row");
    used
}

/// Logs in at the web client through the browser and exchanges the code; returns the
/// refresh token.
async fn log_in_at_client(app: &TestApp, b: &Browser, client: (&str, &str), email: &str) -> String {
    let start = authorize_url(&app.issuer, client.0, "openid email", "st", None, &[]);
    let done = b.authorize_and_login(&start, email, PASSWORD).await;
    let code = query(&done.location.expect("redirected to the client"))["code"].clone();
    let res = redeem(
        app,
        Auth::Basic(client.0, client.1),
        &code,
        Some(crate::helpers::authorize::VERIFIER),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.str("refresh_token").to_string()
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_ends_every_session_and_logs_nobody_in() {
    let app = TestApp::spawn().await;
    app.create_user_with("anna@example.org", Some("Anna"), PASSWORD)
        .await;
    let org = app.create_org("IFK Göteborg", "ifk").await;
    app.add_member(&org, "anna@example.org", &["member"]).await;
    let (client_id, secret) = app.web_client().await;
    let signed_in = app.browser();
    let refresh_token =
        log_in_at_client(&app, &signed_in, (&client_id, &secret), "anna@example.org").await;
    assert!(signed_in.get("/").await.body.contains("anna@example.org"));

    let link = reset_link(&app, "anna@example.org", Some("IFK Göteborg")).await;
    assert!(
        link.starts_with(&format!("{}/reset/", app.issuer)),
        "{link}"
    );
    let mail = app.mails_to("anna@example.org").await.pop().expect("mail");
    assert_eq!(
        mail.subject, "Välj ett nytt lösenord",
        "Swedish: the organisation's default"
    );
    assert!(mail.text.contains("En administratör i IFK Göteborg"));
    assert!(
        mail.text
            .contains("Länken fungerar i 30 minuter och bara en gång.")
    );

    // Scanners: HEAD and repeated GETs show the form and change nothing.
    let b = app.browser();
    let head = b.client.head(&link).send().await.expect("HEAD");
    assert_eq!(head.status(), 200);
    assert_eq!(b.get(&path(&link)).await.status, 200);
    let page = b.get(&path(&link)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("anna@example.org"));
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(
        key_used(&app, &link).await,
        None,
        "GET does not consume the key"
    );

    // A weak password is refused with the reason, and the key still works.
    let weak = b
        .submit(
            &page,
            "/reset",
            &[("password", "kort"), ("confirm", "kort")],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert!(
        weak.body.contains("at least 15 characters"),
        "{}",
        weak.body
    );
    let typo = b
        .submit(
            &page,
            "/reset",
            &[("password", NEW_PASSWORD), ("confirm", "hjortronsylt")],
        )
        .await;
    assert_eq!(typo.status, 400);
    assert!(typo.body.contains("not the same"));
    // Without the browser's CSRF cookie: refused, nothing changes.
    let fields = page.form("/reset").expect("form");
    let foreign = app
        .http()
        .post(app.url("/reset"))
        .form(&[
            ("key", fields["key"].as_str()),
            ("csrf", fields["csrf"].as_str()),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(foreign.status(), 403);
    assert_eq!(key_used(&app, &link).await, None);
    assert_eq!(b.get(&path(&link)).await.status, 200);

    let done = b
        .submit(
            &page,
            "/reset",
            &[("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("href=\"/login\""));
    assert_eq!(done.headers["cache-control"], "no-store");
    let cookies: Vec<_> = done.headers.get_all("set-cookie").iter().collect();
    assert!(
        cookies
            .iter()
            .all(|c| !c.to_str().unwrap_or("").contains("nyckel_session")),
        "a reset logs nobody in"
    );
    assert!(key_used(&app, &link).await.is_some());

    // Every session and refresh token from before is dead.
    assert!(
        signed_in
            .get("/")
            .await
            .body
            .contains("You are not signed in.")
    );
    let res = refresh(&app, Auth::Basic(&client_id, &secret), &refresh_token).await;
    assert_eq!(res.error(), "invalid_grant");
    // The old password is gone, the new one works.
    let fresh = app.browser();
    let start = authorize_url(&app.issuer, &client_id, "openid", "s2", None, &[]);
    let refused = fresh
        .authorize_and_login(&start, "anna@example.org", PASSWORD)
        .await;
    assert!(
        refused.location.is_none(),
        "the old password no longer works"
    );
    let ok = app
        .browser()
        .authorize_and_login(&start, "anna@example.org", NEW_PASSWORD)
        .await;
    assert!(query(&ok.location.expect("code"))["code"].len() > 20);

    // The key works once.
    let again = b
        .submit(
            &page,
            "/reset",
            &[("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("This link no longer works"));
    assert_eq!(b.get(&path(&link)).await.status, 410);

    // The person is told, without any secret; the events are recorded.
    let notice = app
        .mails_to("anna@example.org")
        .await
        .into_iter()
        .find(|m| m.subject == "Ditt lösenord har ändrats")
        .expect("the password-changed notice");
    assert!(notice.text.contains("du har loggats ut överallt"));
    assert!(!notice.text.contains("https://") && !notice.text.contains(NEW_PASSWORD));
    let kinds: Vec<(String,)> = sqlx::query_as(
        "select kind from audit_events where kind in ('reset.key_sent', 'password.reset') order by at, kind",
    )
    .fetch_all(app.state.db.pool())
    .await
    .expect("audit");
    assert_eq!(kinds.len(), 2, "{kinds:?}");
}

#[tokio::test]
async fn only_the_newest_key_works_and_keys_expire() {
    let app = TestApp::spawn().await;
    app.create_user("bo@example.org").await;
    sqlx::query("update users set locale = 'en' where email = 'bo@example.org'")
        .execute(app.state.db.writer())
        .await
        .expect("locale");
    let first = reset_link(&app, "bo@example.org", None).await;
    app.advance(1);
    let second = reset_link(&app, "bo@example.org", None).await;
    assert_ne!(first, second);
    let mail = app.mails_to("bo@example.org").await.pop().expect("mail");
    assert_eq!(mail.subject, "Choose a new password");

    let b = app.browser();
    let stale = b.get(&path(&first)).await;
    assert_eq!(stale.status, 410, "a newer key replaced this one");
    assert!(!stale.body.contains("bo@example.org"));
    let page = b.get(&path(&second)).await;
    assert_eq!(page.status, 200);

    // Unknown and malformed keys get the same page.
    for bogus in [
        "/reset/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/reset/x",
    ] {
        let res = b.get(bogus).await;
        assert_eq!(res.status, 410);
        assert!(res.body.contains("This link no longer works"));
    }

    app.advance(app.state.config.admin.reset_ttl);
    assert_eq!(b.get(&path(&second)).await.status, 410, "expired");
    let late = b
        .submit(
            &page,
            "/reset",
            &[("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(late.status, 410);
    let u = user(&app, "bo@example.org").await;
    let verdict = app
        .state
        .hasher
        .verify(
            &nyckel::auth::password::Password::new(PASSWORD.into()),
            u.password_hash.as_deref(),
        )
        .await
        .expect("verify");
    assert_ne!(
        verdict,
        nyckel::auth::password::Verdict::Mismatch,
        "the password did not change"
    );

    // Upkeep removes expired keys.
    nyckel::upkeep::purge_expired(&app.state).await;
    let (left,): (i64,) = sqlx::query_as("select count(*) from login_keys")
        .fetch_one(app.state.db.pool())
        .await
        .expect("count");
    assert_eq!(left, 0);
}

#[tokio::test]
async fn reset_and_setup_keys_never_appear_in_the_server_log() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let url_db = db::prepare(d).await;
    let url = url_db.url.clone();
    let server = ServerProcess::spawn(d, &url, "127.0.0.1:0", "https://localhost:8443", &[]);
    let base = format!("https://localhost:{}", server.addr.port());
    let b = Browser::at(server.addr, &base);

    // A setup link from the CLI, used through the running server.
    let (ok, out, err) = crate::cli::nyckel(d, &url, &["admin", "setup-link", "--json"], None);
    assert!(ok, "{err}");
    let setup: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let setup_link = setup["link"].as_str().expect("link").to_string();
    let setup_page = b.get(&path(&setup_link)).await;
    assert_eq!(setup_page.status, 200);
    let weak = b
        .submit(
            &setup_page,
            "/setup",
            &[
                ("email", "root@example.org"),
                ("name", "Root"),
                ("password", "kort"),
                ("confirm", "kort"),
            ],
        )
        .await;
    assert_eq!(weak.status, 400);
    let done = b
        .submit(
            &setup_page,
            "/setup",
            &[
                ("email", "root@example.org"),
                ("name", "Root"),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);

    // A reset key, sent by this process (as an admin action would) into the same database.
    let config = nyckel::config::Config {
        issuer: Some(base.clone()),
        data_dir: d.join("data"),
        keys_dir: d.join("keys"),
        database: nyckel::config::DatabaseConfig {
            url: Some(url.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    let state = nyckel::state::AppState::build(config).await.expect("state");
    let root = store::users::find_by_email(&state.db, "root@example.org")
        .await
        .expect("query")
        .expect("root exists");
    nyckel::auth::reset::send_reset_key(&state, &root, None)
        .await
        .expect("sent");
    // This process or the server's delivery loop (same database, same folder) delivers it.
    let reset = wait_for_mail(&state, "/reset/").await;
    let page = b.get(&path(&reset)).await;
    assert_eq!(page.status, 200);
    let weak = b
        .submit(
            &page,
            "/reset",
            &[("password", "kort"), ("confirm", "kort")],
        )
        .await;
    assert_eq!(weak.status, 400);
    let done = b
        .submit(
            &page,
            "/reset",
            &[("password", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    state.db.close().await;

    let logs = server.output();
    assert!(
        logs.contains("/reset/{key}") && logs.contains("/setup/{key}"),
        "the requests were logged (by route):\n{logs}"
    );
    assert!(
        logs.contains("DEVELOPMENT SETUP"),
        "the file outbox is announced"
    );
    for link in [&setup_link, &reset] {
        let key = path(link).rsplit('/').next().expect("key").to_string();
        assert_eq!(key.len(), 43);
        assert!(!logs.contains(&key), "a key appears in the server log");
        assert!(
            !err.contains(&key),
            "a key appears on the CLI's standard error"
        );
    }
    for secret in [NEW_PASSWORD, PASSWORD] {
        assert!(
            !logs.contains(secret),
            "a password appears in the server log"
        );
    }
}

/// Runs delivery passes until a message with a `path` link is in the outbox folder (another
/// process may have claimed it and be writing it); returns the link.
async fn wait_for_mail(state: &nyckel::state::AppState, path: &str) -> String {
    let dir = nyckel::mail::outbox_dir(&state.config);
    for _ in 0..200 {
        nyckel::mail::deliver_due(state)
            .await
            .expect("delivery pass");
        if let Some(m) = crate::mail_outbox::read_dir(&dir)
            .into_iter()
            .find(|m| m.text.contains(path))
        {
            return m.link(path);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no message with a {path} link was delivered");
}
