//! Self-service password recovery ("forgot password", SECURITY.md P2-P5): the same answer for
//! known and unknown addresses; a link works only in the browser that asked (another browser
//! gets 403 and does not burn it), once, until `admin.reset_ttl`, and only the newest; the
//! policy applies and a refused password leaves the key usable; a reset ends every session
//! and refresh token, tells the person by mail and SMS, and logs nobody in; SMS codes go to
//! verified numbers only and die after five wrong guesses; links are built from the issuer,
//! never the Host header. With `login.recovery_needs_both`, the email link alone cannot set
//! the password: it takes the link and an SMS code, from whichever side one starts.

use nyckel::auth::password::{Password, Verdict};
use nyckel::crypto::sha256_b64;
use nyckel::store;

use crate::flows::authorize_url;
use crate::helpers::browser::{Browser, Page, query};
use crate::helpers::token::{Auth, redeem, refresh};
use crate::helpers::{PASSWORD, TestApp, code_in};
use crate::mail_outbox::Mail;

const ANNA: &str = "anna@example.org";
const ANNA_PHONE: &str = "+46701234567";
const ANNA_TYPED_PHONE: &str = "070-123 45 67";
const NEW_PASSWORD: &str = "hjortronsylt på fjället 7";
const WRONG_CODE_EN: &str = "The code is wrong";

/// Asks for recovery on the forgot-password page of browser `b`.
async fn forgot(b: &Browser, identifier: &str) -> Page {
    let page = b.get("/forgot").await;
    assert_eq!(page.status, 200);
    b.submit(&page, "/forgot", &[("identifier", identifier)])
        .await
}

/// The newest mail to `email` with a reset link (after a delivery pass).
async fn reset_mail(app: &TestApp, email: &str) -> Mail {
    app.mails_to(email)
        .await
        .into_iter()
        .rev()
        .find(|m| m.text.contains("/reset/"))
        .expect("a reset mail")
}

fn path(link: &str) -> String {
    url::Url::parse(link).expect("url").path().to_string()
}

async fn user(app: &TestApp, email: &str) -> store::users::User {
    store::users::find_by_email(&app.state.db, email)
        .await
        .expect("query")
        .expect("user")
}

async fn verify_phone(app: &TestApp, email: &str, phone: &str) {
    let u = user(app, email).await;
    store::users::set_phone(&app.state.db, &u.id, Some(phone), true, app.state.now())
        .await
        .expect("phone set");
}

async fn key_used(app: &TestApp, link: &str) -> Option<i64> {
    let key = path(link).trim_start_matches("/reset/").to_string();
    let (used,): (Option<i64>,) =
        sqlx::query_as("select used_at from login_keys where key_hash = $1")
            .bind(sha256_b64(&key))
            .fetch_one(app.state.db.pool())
            .await
            .expect("the key row");
    used
}

/// Whether `email`'s password is now `password`.
async fn password_is(app: &TestApp, email: &str, password: &str) -> bool {
    let u = user(app, email).await;
    app.state
        .hasher
        .verify(&Password::new(password.into()), u.password_hash.as_deref())
        .await
        .expect("verify")
        != Verdict::Mismatch
}

/// Whether the browser is logged in as `email` (the home page names the person).
async fn logged_in_as(b: &Browser, email: &str) -> bool {
    b.get("/").await.body.contains(email)
}

/// Submits the reset form on `page` with a new password (and an SMS code, if given).
async fn set_password(b: &Browser, page: &Page, password: &str, code: Option<&str>) -> Page {
    let mut fill = vec![("password", password), ("confirm", password)];
    if let Some(code) = code {
        fill.push(("code", code));
    }
    b.submit(page, "/reset", &fill).await
}

/// The notice mails ("your password was changed") to `email`, in Swedish (no language set).
async fn notices(app: &TestApp, email: &str) -> Vec<Mail> {
    app.mails_to(email)
        .await
        .into_iter()
        .filter(|m| m.subject == "Ditt lösenord har ändrats")
        .collect()
}

/// Asserts that no message text carries a password.
fn no_password_in(mail: &Mail) {
    for secret in [PASSWORD, NEW_PASSWORD] {
        assert!(
            !mail.raw.contains(secret)
                && !mail.text.contains(secret)
                && !mail.html.contains(secret),
            "a password in the mail {:?}",
            mail.subject
        );
    }
}

/// The page after asking, with the per-browser CSRF token blanked.
fn normalised(page: &Page) -> String {
    let mut body = page.body.clone();
    if let Some(v) = page
        .form("/forgot/code")
        .and_then(|f| f.get("csrf").cloned())
    {
        body = body.replace(&v, "TOKEN");
    }
    body
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_page_and_only_the_known_one_a_mail() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let known = forgot(&app.browser(), ANNA).await;
    let unknown = forgot(&app.browser(), "nobody@example.org").await;
    assert_eq!(known.status, 200);
    assert_eq!(known.status, unknown.status);
    assert!(known.has_form("/forgot/code"), "{}", known.body);
    assert_eq!(normalised(&known), normalised(&unknown));
    let cookies = |p: &Page| p.headers.get_all("set-cookie").iter().count();
    assert_eq!(cookies(&known), cookies(&unknown));
    assert_eq!(app.mails_to(ANNA).await.len(), 1);
    assert!(app.mails_to("nobody@example.org").await.is_empty());
}

#[tokio::test]
async fn a_forgot_link_works_only_where_asked_and_a_reset_ends_everything_without_logging_in() {
    let app = TestApp::spawn().await;
    app.create_user_with(ANNA, Some("Anna"), PASSWORD).await;
    verify_phone(&app, ANNA, ANNA_PHONE).await;
    let (client_id, secret) = app.web_client().await;

    // A browser logged in before, with a refresh token at an app.
    let before = app.browser();
    let start = authorize_url(&app.issuer, &client_id, "openid", "s1", None, &[]);
    let done = before.authorize_and_login(&start, ANNA, PASSWORD).await;
    let code = query(&done.location.expect("redirected to the app"))["code"].clone();
    let tokens = redeem(
        &app,
        Auth::Basic(&client_id, &secret),
        &code,
        Some(crate::helpers::authorize::VERIFIER),
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let refresh_token = tokens.str("refresh_token").to_string();
    assert!(logged_in_as(&before, ANNA).await);

    let a = app.browser();
    forgot(&a, ANNA).await;
    let mail = reset_mail(&app, ANNA).await;
    no_password_in(&mail);
    let link = mail.link("/reset/");
    assert!(
        link.starts_with(&format!("{}/reset/", app.issuer)),
        "{link}"
    );

    // Another browser: refused, even with a forged POST, and the link is not burnt.
    let b = app.browser();
    let seen = b.get(&path(&link)).await;
    assert_eq!(seen.status, 403, "{}", seen.body);
    assert!(!seen.has_form("/reset"));
    let b_csrf = b.get("/forgot").await.form("/forgot").expect("form")["csrf"].clone();
    let key = path(&link).trim_start_matches("/reset/").to_string();
    let forged = b
        .post(
            "/reset",
            &[
                ("key", key.as_str()),
                ("csrf", b_csrf.as_str()),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(key_used(&app, &link).await, None);
    assert!(password_is(&app, ANNA, PASSWORD).await);

    // The asking browser: the policy applies, and a refused password leaves the key usable.
    let page = a.get(&path(&link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(ANNA));
    let short = set_password(&a, &page, "kort lösen", None).await;
    assert_eq!(short.status, 400);
    assert!(
        short.body.contains("at least 15 characters"),
        "{}",
        short.body
    );
    assert_eq!(key_used(&app, &link).await, None);
    assert!(password_is(&app, ANNA, PASSWORD).await);

    let done = set_password(&a, &page, NEW_PASSWORD, None).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("href=\"/login\""));
    assert!(
        done.headers
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap_or("").contains("nyckel_session")),
        "a reset logs nobody in"
    );
    assert!(password_is(&app, ANNA, NEW_PASSWORD).await);
    assert!(!logged_in_as(&a, ANNA).await, "the person is not logged in");
    assert!(
        !logged_in_as(&before, ANNA).await,
        "the earlier session ended"
    );
    let (sessions,): (i64,) = sqlx::query_as("select count(*) from sessions where user_id = $1")
        .bind(user(&app, ANNA).await.id)
        .fetch_one(app.state.db.pool())
        .await
        .expect("count");
    assert_eq!(sessions, 0, "no session of the person is left");
    let refreshed = refresh(&app, Auth::Basic(&client_id, &secret), &refresh_token).await;
    assert_eq!(refreshed.error(), "invalid_grant", "refresh tokens died");

    // Told by mail (no password in it) and by SMS to the verified number.
    let told = notices(&app, ANNA).await;
    assert_eq!(told.len(), 1);
    no_password_in(&told[0]);
    assert!(told[0].text.contains("du har loggats ut överallt"));
    let sms = app.sms_to(ANNA_PHONE).await;
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(sms[0].body.contains("lösenord"), "{}", sms[0].body);
    assert!(!sms[0].body.contains(NEW_PASSWORD) && code_in(&sms[0].body).is_none());

    // The link works once.
    assert_eq!(a.get(&path(&link)).await.status, 410);
    let again = set_password(&a, &page, "en helt annan fras 99", None).await;
    assert_eq!(again.status, 410);
    assert!(password_is(&app, ANNA, NEW_PASSWORD).await);

    // The new password logs in; the old one does not.
    let old = app
        .browser()
        .authorize_and_login(&start, ANNA, PASSWORD)
        .await;
    assert!(old.location.is_none(), "the old password no longer works");
    let ok = app
        .browser()
        .authorize_and_login(&start, ANNA, NEW_PASSWORD)
        .await;
    assert!(query(&ok.location.expect("a code"))["code"].len() > 20);
}

#[tokio::test]
async fn a_second_request_supersedes_the_first_and_a_link_expires_after_reset_ttl() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let a = app.browser();
    forgot(&a, ANNA).await;
    let first = reset_mail(&app, ANNA).await.link("/reset/");
    app.advance(app.state.config.login.email_cooldown + 1);
    forgot(&a, ANNA).await;
    let second = reset_mail(&app, ANNA).await.link("/reset/");
    assert_ne!(first, second);
    assert_eq!(a.get(&path(&first)).await.status, 410, "superseded");
    let page = a.get(&path(&second)).await;
    assert_eq!(page.status, 200);

    let ttl = app.state.config.admin.reset_ttl;
    app.advance(ttl - 1);
    assert_eq!(a.get(&path(&second)).await.status, 200, "still valid");
    app.advance(1);
    assert_eq!(a.get(&path(&second)).await.status, 410, "expired");
    let late = set_password(&a, &page, NEW_PASSWORD, None).await;
    assert_eq!(late.status, 410);
    assert!(password_is(&app, ANNA, PASSWORD).await);
}

#[tokio::test]
async fn forgot_by_sms_sends_a_code_to_the_verified_number_only_and_five_wrong_guesses_kill_it() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    verify_phone(&app, ANNA, ANNA_PHONE).await;
    app.create_user("bertil@example.org").await;
    let bertil = user(&app, "bertil@example.org").await;
    store::users::set_phone(&app.state.db, &bertil.id, Some("+46709999999"), false, 0)
        .await
        .expect("unverified phone");

    // An unverified number gets nothing, and neither does its owner's mailbox.
    forgot(&app.browser(), "070-999 99 99").await;
    assert!(app.sms_to("+46709999999").await.is_empty());
    assert!(app.mails_to("bertil@example.org").await.is_empty());

    let a = app.browser();
    let sent = forgot(&a, ANNA_TYPED_PHONE).await;
    assert!(sent.has_form("/forgot/code"), "{}", sent.body);
    let sms = app.sms_to(ANNA_PHONE).await;
    assert_eq!(sms.len(), 1);
    let code = sms[0].code();
    assert!(!sms[0].body.contains("anna"), "no personal text in an SMS");
    assert!(
        app.mails_to(ANNA).await.is_empty(),
        "the code went by SMS only"
    );

    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let page = a.submit(&sent, "/forgot/code", &[("code", wrong)]).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(WRONG_CODE_EN), "{}", page.body);
    }
    let dead = a.submit(&sent, "/forgot/code", &[("code", &code)]).await;
    assert_eq!(
        dead.status, 200,
        "the right code after five wrong ones is dead"
    );
    assert!(dead.body.contains(WRONG_CODE_EN));

    // A new request, a new code: it leads to the form.
    app.advance(app.state.config.sms.cooldown + 1);
    let sent = forgot(&a, ANNA_TYPED_PHONE).await;
    let code = app
        .sms_to(ANNA_PHONE)
        .await
        .pop()
        .expect("a second SMS")
        .code();
    // Another browser cannot use it.
    let b = app.browser();
    let b_sent = forgot(&b, "nobody@example.org").await;
    let elsewhere = b.submit(&b_sent, "/forgot/code", &[("code", &code)]).await;
    assert_eq!(elsewhere.status, 200);
    assert!(elsewhere.body.contains(WRONG_CODE_EN));

    let traded = a.submit(&sent, "/forgot/code", &[("code", &code)]).await;
    assert_eq!(traded.status, 303, "{}", traded.body);
    let location = traded.location.expect("location");
    assert!(location.starts_with("/reset/"), "{location}");
    let page = a.get(&location).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(b.get(&location).await.status, 403, "bound to the browser");
    let done = set_password(&a, &page, NEW_PASSWORD, None).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(password_is(&app, ANNA, NEW_PASSWORD).await);
    assert!(!logged_in_as(&a, ANNA).await);
    let told = notices(&app, ANNA).await;
    assert_eq!(told.len(), 1, "the mail notice");
    no_password_in(&told[0]);
    // The code was used up by the trade.
    let reused = a.submit(&sent, "/forgot/code", &[("code", &code)]).await;
    assert_eq!(reused.status, 200);
    assert!(reused.body.contains(WRONG_CODE_EN));
}

#[tokio::test]
async fn a_forged_host_header_does_not_reach_the_link_in_the_mail() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    // HTTP/1.1, so that the Host header goes out exactly as set.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("localhost", app.addr)
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .http1_only()
        .build()
        .expect("client");
    let page = client
        .get(app.url("/forgot"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    let csrf =
        crate::helpers::browser::form_fields(&page, "/forgot").expect("form")["csrf"].clone();
    let res = client
        .post(app.url("/forgot"))
        .header("host", "evil.test")
        .header("x-forwarded-host", "evil.test")
        .form(&[("csrf", csrf.as_str()), ("identifier", ANNA)])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 200);
    let mail = reset_mail(&app, ANNA).await;
    let link = mail.link("/reset/");
    assert!(
        link.starts_with(&format!("{}/reset/", app.issuer)),
        "{link}"
    );
    assert!(!mail.raw.contains("evil.test"), "{}", mail.raw);
}

/// A server where recovery needs both the email link and an SMS code.
async fn both_app() -> TestApp {
    TestApp::spawn_with(|c| c.login.recovery_needs_both = true).await
}

/// The reset page's "send a code" form and the code it sends.
async fn send_code(app: &TestApp, b: &Browser, page: &Page) -> (Page, String) {
    let asked = b.submit(page, "/reset/sms", &[]).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("name=\"code\""), "{}", asked.body);
    assert!(asked.body.contains("name=\"password\""));
    let code = app
        .sms_to(ANNA_PHONE)
        .await
        .pop()
        .expect("an SMS code")
        .code();
    (asked, code)
}

#[tokio::test]
async fn with_both_needed_the_email_link_alone_cannot_set_the_password_but_link_and_sms_can() {
    let app = both_app().await;
    app.create_user(ANNA).await;
    verify_phone(&app, ANNA, ANNA_PHONE).await;
    let a = app.browser();
    forgot(&a, ANNA).await;
    let link = reset_mail(&app, ANNA).await.link("/reset/");

    // The link's page asks for the SMS code first; there is no password field.
    let page = a.get(&path(&link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Send a code to +46•••••••67"),
        "{}",
        page.body
    );
    assert!(page.has_form("/reset/sms"));
    assert!(!page.has_form("/reset") && !page.body.contains("name=\"password\""));
    assert!(app.sms_to(ANNA_PHONE).await.is_empty(), "GET sends nothing");

    // Posting the password with the link alone, or with a made-up code, changes nothing.
    let fields = page.form("/reset/sms").expect("form");
    let (key, csrf) = (fields["key"].clone(), fields["csrf"].clone());
    for code in ["", "123456"] {
        let forced = a
            .post(
                "/reset",
                &[
                    ("key", key.as_str()),
                    ("csrf", csrf.as_str()),
                    ("password", NEW_PASSWORD),
                    ("confirm", NEW_PASSWORD),
                    ("code", code),
                ],
            )
            .await;
        assert_eq!(forced.status, 400, "{}", forced.body);
    }
    assert!(password_is(&app, ANNA, PASSWORD).await);
    assert_eq!(key_used(&app, &link).await, None);

    // The code goes to the verified phone; five wrong guesses kill it.
    let (form, code) = send_code(&app, &a, &page).await;
    assert!(form.body.contains("+46•••••••67"));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let refused = set_password(&a, &form, NEW_PASSWORD, Some(wrong)).await;
        assert_eq!(refused.status, 400);
        assert!(refused.body.contains(WRONG_CODE_EN), "{}", refused.body);
    }
    let dead = set_password(&a, &form, NEW_PASSWORD, Some(&code)).await;
    assert_eq!(
        dead.status, 400,
        "the right code after five wrong ones is dead"
    );
    assert!(password_is(&app, ANNA, PASSWORD).await);
    assert_eq!(key_used(&app, &link).await, None, "the link still works");

    // A new code (after the SMS cooldown); a too-short password is refused and keeps both.
    app.advance(app.state.config.sms.cooldown + 1);
    let (form, code) = send_code(&app, &a, &page).await;
    let short = set_password(&a, &form, "kort lösen", Some(&code)).await;
    assert_eq!(short.status, 400);
    assert!(
        short.body.contains("at least 15 characters"),
        "{}",
        short.body
    );
    // Another browser has neither the link nor the code.
    let b = app.browser();
    assert_eq!(b.get(&path(&link)).await.status, 403);

    let done = set_password(&a, &form, NEW_PASSWORD, Some(&code)).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(password_is(&app, ANNA, NEW_PASSWORD).await);
    assert!(key_used(&app, &link).await.is_some());
    assert!(!logged_in_as(&a, ANNA).await);
    assert_eq!(notices(&app, ANNA).await.len(), 1);
    let sms = app.sms_to(ANNA_PHONE).await;
    assert!(
        sms.last()
            .expect("the SMS notice")
            .body
            .contains("lösenord"),
        "{sms:?}"
    );

    // Someone without a verified phone recovers by email alone.
    app.create_user("bo@example.org").await;
    let c = app.browser();
    forgot(&c, "bo@example.org").await;
    let bo_link = reset_mail(&app, "bo@example.org").await.link("/reset/");
    let bo_page = c.get(&path(&bo_link)).await;
    assert!(bo_page.has_form("/reset") && !bo_page.has_form("/reset/sms"));
    let bo_done = set_password(&c, &bo_page, NEW_PASSWORD, None).await;
    assert_eq!(bo_done.status, 200, "{}", bo_done.body);
}

#[tokio::test]
async fn with_both_needed_a_correct_sms_code_mails_a_link_that_then_sets_the_password() {
    let app = both_app().await;
    app.create_user(ANNA).await;
    verify_phone(&app, ANNA, ANNA_PHONE).await;
    let a = app.browser();
    let sent = forgot(&a, ANNA_TYPED_PHONE).await;
    let code = app.sms_to(ANNA_PHONE).await.pop().expect("SMS").code();
    assert!(app.mails_to(ANNA).await.is_empty());

    // The right code does not open the form: it mails a link.
    let after = a.submit(&sent, "/forgot/code", &[("code", &code)]).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert!(after.location.is_none());
    assert!(!after.body.contains("name=\"password\""));
    assert!(
        after.body.contains("sent a link and a code to your email"),
        "{}",
        after.body
    );
    let mail = reset_mail(&app, ANNA).await;
    no_password_in(&mail);
    let link = mail.link("/reset/");
    assert!(link.starts_with(&format!("{}/reset/", app.issuer)));

    // The emailed link opens the password form at once (the SMS is proven), only here.
    assert_eq!(app.browser().get(&path(&link)).await.status, 403);
    let page = a.get(&path(&link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.has_form("/reset") && !page.has_form("/reset/sms"),
        "{}",
        page.body
    );
    let done = set_password(&a, &page, NEW_PASSWORD, None).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(password_is(&app, ANNA, NEW_PASSWORD).await);
    assert!(!logged_in_as(&a, ANNA).await);
    assert_eq!(notices(&app, ANNA).await.len(), 1);
}

#[tokio::test]
async fn with_both_needed_the_emailed_code_also_needs_the_sms_and_the_sms_side_needs_the_mail() {
    let app = both_app().await;
    app.create_user(ANNA).await;
    verify_phone(&app, ANNA, ANNA_PHONE).await;

    // From the email side, typing the emailed code leads to the form that asks for the SMS.
    let a = app.browser();
    let sent = forgot(&a, ANNA).await;
    let code = code_in(&reset_mail(&app, ANNA).await.text).expect("an emailed code");
    let traded = a.submit(&sent, "/forgot/code", &[("code", &code)]).await;
    assert_eq!(traded.status, 303, "{}", traded.body);
    let page = a.get(&traded.location.expect("location")).await;
    assert!(
        page.has_form("/reset/sms") && !page.has_form("/reset"),
        "{}",
        page.body
    );

    // From the SMS side, the code typed on the page after the SMS is the emailed one.
    app.advance(
        app.state
            .config
            .sms
            .cooldown
            .max(app.state.config.login.email_cooldown)
            + 1,
    );
    let b = app.browser();
    let sent = forgot(&b, ANNA_TYPED_PHONE).await;
    let sms_code = app.sms_to(ANNA_PHONE).await.pop().expect("SMS").code();
    let mailed = b
        .submit(&sent, "/forgot/code", &[("code", &sms_code)])
        .await;
    assert_eq!(mailed.status, 200);
    let emailed = code_in(&reset_mail(&app, ANNA).await.text).expect("an emailed code");
    let traded = b
        .submit(&mailed, "/forgot/code", &[("code", &emailed)])
        .await;
    assert_eq!(traded.status, 303, "{}", traded.body);
    let page = b.get(&traded.location.expect("location")).await;
    assert!(
        page.has_form("/reset") && !page.has_form("/reset/sms"),
        "{}",
        page.body
    );
    let done = set_password(&b, &page, NEW_PASSWORD, None).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(password_is(&app, ANNA, NEW_PASSWORD).await);
}

#[tokio::test]
async fn with_both_needed_an_administrators_reset_link_needs_the_sms_code_too() {
    let app = both_app().await;
    app.create_user(ANNA).await;
    verify_phone(&app, ANNA, ANNA_PHONE).await;
    let org = app.create_org("IFK Göteborg", "ifk").await;
    app.add_member(&org, ANNA, &["member"]).await;
    let anna = user(&app, ANNA).await;
    nyckel::admin::members::send_reset(
        &app.state,
        &nyckel::admin::Caller::operator(),
        "ifk",
        &anna.id,
    )
    .await
    .expect("reset sent");
    let link = reset_mail(&app, ANNA).await.link("/reset/");

    // Opened in a browser that never asked: the form asks for the SMS code.
    let a = app.browser();
    let page = a.get(&path(&link)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.has_form("/reset/sms") && !page.has_form("/reset"),
        "{}",
        page.body
    );
    let (form, code) = send_code(&app, &a, &page).await;
    // The code is bound to the browser that asked for it: not even another browser with a
    // binding cookie of its own (from asking for something else) can use it.
    let b = app.browser();
    forgot(&b, "nobody@example.org").await;
    let b_page = b.get(&path(&link)).await;
    assert_eq!(
        b_page.status, 200,
        "an administrator's link is bound to no browser"
    );
    let fields = b_page.form("/reset/sms").expect("form");
    let elsewhere = b
        .post(
            "/reset",
            &[
                ("key", fields["key"].as_str()),
                ("csrf", fields["csrf"].as_str()),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
                ("code", code.as_str()),
            ],
        )
        .await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.body);
    assert!(password_is(&app, ANNA, PASSWORD).await);

    let done = set_password(&a, &form, NEW_PASSWORD, Some(&code)).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(password_is(&app, ANNA, NEW_PASSWORD).await);
}
