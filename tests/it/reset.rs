//! Password reset by a key mailed to the person (SECURITY.md section 4, 6.3.7, 7.4.3): the
//! link's page changes nothing until the form is posted, a refused password leaves the key
//! usable, a reset ends every session and refresh token and logs nobody in, a key works once
//! and only while new and unexpired, and no key ever reaches the server's log.

use nyckel::store;

use crate::helpers::browser::{Browser, Page, query};
use crate::helpers::flows::authorize_url;
use crate::helpers::ops::Install;
use crate::helpers::pages::{fresh_login, path_of, redeem_at_client};
use crate::helpers::process::ServerProcess;
use crate::helpers::token::{Auth, refresh};
use crate::helpers::{PASSWORD, TestApp};

const ANNA: &str = "anna@example.org";
const NEW_PASSWORD: &str = "hjortronsylt på fjället 7";

/// Sends `email` a reset key (as an administrator of `org` would) and returns the link.
async fn reset_link(app: &TestApp, email: &str, org: Option<&str>) -> String {
    let u = app.account(email).await;
    nyckel::auth::reset::send_reset_key(&app.state, &u, org)
        .await
        .expect("reset key sent");
    app.reset_link(email).await
}

/// Chooses `password` twice on the reset page of `b`; the answer must have `status`.
async fn choose(b: &Browser, page: &Page, password: &str, status: u16) -> Page {
    b.set_password(page, password).await.expect_status(status)
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_ends_every_session_and_logs_nobody_in() {
    let app = TestApp::spawn().await;
    app.create_user_with(ANNA, Some("Anna"), PASSWORD).await;
    let org = app.create_org("IFK Göteborg", "ifk").await;
    app.add_member(&org, ANNA, &["member"]).await;
    let (client_id, secret) = app.web_client().await;
    let signed_in = app.browser();
    let start = authorize_url(&app.issuer, &client_id, "openid email", "st", None, &[]);
    let done = signed_in.authorize_and_login(&start, ANNA, PASSWORD).await;
    let tokens = redeem_at_client(&app, &signed_in, done, (&client_id, &secret)).await;
    let refresh_token = tokens.str("refresh_token").to_string();
    assert!(signed_in.signed_in_as(ANNA).await);

    let link = reset_link(&app, ANNA, Some("IFK Göteborg")).await;
    assert!(link.starts_with(&app.url("/reset/")), "{link}");
    let mail = app.mails_to(ANNA).await.pop().expect("mail");
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
    assert_eq!(b.get(&link).await.status, 200);
    let page = b.open(&link).await;
    page.assert_shows(ANNA);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(csp.contains("frame-ancestors 'none'"));
    let unused = app.key_used(&link).await;
    assert_eq!(unused, None, "GET does not consume the key");

    // A weak password is refused with the reason, and the key still works.
    choose(&b, &page, "kort", 400)
        .await
        .assert_shows("at least 15 characters");
    let typo = [("password", NEW_PASSWORD), ("confirm", "hjortronsylt")];
    let typo = b.submit(&page, "/reset", &typo).await;
    typo.assert_says(400, "not the same");
    // Without the browser's CSRF cookie: refused, nothing changes.
    let f = page.form("/reset").expect("form");
    let (key, csrf) = (f["key"].as_str(), f["csrf"].as_str());
    let form = [
        ("key", key),
        ("csrf", csrf),
        ("password", NEW_PASSWORD),
        ("confirm", NEW_PASSWORD),
    ];
    let foreign = app.http().post(app.url("/reset")).form(&form).send();
    assert_eq!(foreign.await.expect("POST").status(), 403);
    assert_eq!(app.key_used(&link).await, None);
    assert_eq!(b.get(&link).await.status, 200);

    let done = choose(&b, &page, NEW_PASSWORD, 200).await;
    assert!(done.body.contains("href=\"/login\""));
    assert_eq!(done.headers["cache-control"], "no-store");
    assert!(!done.touches_session(), "a reset logs nobody in");
    assert!(app.key_used(&link).await.is_some());

    // Every session and refresh token from before is dead.
    signed_in
        .get("/")
        .await
        .assert_shows("You are not signed in.");
    let res = refresh(&app, Auth::Basic(&client_id, &secret), &refresh_token).await;
    assert_eq!(res.error(), "invalid_grant");
    // The old password is gone, the new one works.
    let refused = fresh_login(&app, &client_id, ANNA, PASSWORD).await;
    assert!(refused.is_none(), "the old password no longer works");
    let ok = fresh_login(&app, &client_id, ANNA, NEW_PASSWORD).await;
    assert!(query(&ok.expect("code"))["code"].len() > 20);

    // The key works once.
    let again = choose(&b, &page, NEW_PASSWORD, 410).await;
    again.assert_shows("This link no longer works");
    assert_eq!(b.get(&link).await.status, 410);

    // The person is told, without any secret; the events are recorded.
    let notice = app
        .mails_to(ANNA)
        .await
        .into_iter()
        .find(|m| m.subject == "Ditt lösenord har ändrats")
        .expect("the password-changed notice");
    assert!(notice.text.contains("du har loggats ut överallt"));
    assert!(!notice.text.contains("https://") && !notice.text.contains(NEW_PASSWORD));
    let kinds = app
        .count(
            "select count(*) from audit_events where kind in ('reset.key_sent', 'password.reset')",
        )
        .await;
    assert_eq!(kinds, 2);
}

#[tokio::test]
async fn only_the_newest_key_works_and_keys_expire() {
    let app = TestApp::spawn().await;
    app.create_user("bo@example.org").await;
    app.set_locale("bo@example.org", "en").await;
    let first = reset_link(&app, "bo@example.org", None).await;
    app.advance(1);
    let second = reset_link(&app, "bo@example.org", None).await;
    assert_ne!(first, second);
    let mail = app.mails_to("bo@example.org").await.pop().expect("mail");
    assert_eq!(mail.subject, "Choose a new password");

    let b = app.browser();
    let stale = b.get(&first).await;
    assert_eq!(stale.status, 410, "a newer key replaced this one");
    assert!(!stale.body.contains("bo@example.org"));
    let page = b.open(&second).await;

    // Unknown and malformed keys get the same page.
    for bogus in [
        "/reset/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/reset/x",
    ] {
        b.get(bogus)
            .await
            .assert_says(410, "This link no longer works");
    }

    app.advance(app.state.config.admin.reset_ttl);
    assert_eq!(b.get(&second).await.status, 410, "expired");
    choose(&b, &page, NEW_PASSWORD, 410).await;
    let unchanged = app.password_is("bo@example.org", PASSWORD).await;
    assert!(unchanged, "the password did not change");

    // Upkeep removes expired keys.
    nyckel::upkeep::purge_expired(&app.state).await;
    assert_eq!(app.count("select count(*) from login_keys").await, 0);
}

#[tokio::test]
async fn reset_and_setup_keys_never_appear_in_the_server_log() {
    let scratch = Install::new().await;
    let (d, url) = (scratch.path(), scratch.url().to_string());
    let server = ServerProcess::spawn(d, &url, "127.0.0.1:0", "https://localhost:8443", &[]);
    let base = format!("https://localhost:{}", server.addr.port());
    let b = Browser::at(server.addr, &base);

    // A setup link from the CLI, used through the running server.
    let (ok, out, err) = crate::cli::nyckel(d, &url, &["admin", "setup-link", "--json"], None);
    assert!(ok, "{err}");
    let setup: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let setup_link = setup["link"].as_str().expect("link").to_string();
    let setup_page = b.get(&path_of(&setup_link)).await.expect_status(200);
    let weak = b
        .set_up(&setup_page, "root@example.org", "Root", "kort")
        .await;
    assert_eq!(weak.status, 400);
    let done = b
        .set_up(&setup_page, "root@example.org", "Root", NEW_PASSWORD)
        .await;
    done.expect_status(200);

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
    let page = b.get(&path_of(&reset)).await.expect_status(200);
    choose(&b, &page, "kort", 400).await;
    choose(&b, &page, PASSWORD, 200).await;
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
        let key = path_of(link).rsplit('/').next().expect("key").to_string();
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
