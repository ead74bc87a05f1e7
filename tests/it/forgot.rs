//! Self-service password recovery ("forgot password", SECURITY.md P2-P5): the same answer for
//! known and unknown addresses; a link works only in the browser that asked (another browser
//! gets 403 and does not burn it), once, until `admin.reset_ttl`, and only the newest; the
//! policy applies and a refused password leaves the key usable; a reset ends every session
//! and refresh token, tells the person by mail and SMS, and logs nobody in; SMS codes go to
//! verified numbers only and die after five wrong guesses; links are built from the issuer,
//! never the Host header. With `login.recovery_needs_both`, the email link alone cannot set
//! the password: it takes the link and an SMS code, from whichever side one starts.

use crate::helpers::browser::{Browser, Page, form_fields, query};
use crate::helpers::pages::{Client, client_tokens, fresh_login, path_of, wrong_code};
use crate::helpers::token::{Auth, refresh};
use crate::helpers::{PASSWORD, TestApp, code_in};
use crate::mail_outbox::Mail;

const ANNA: &str = "anna@example.org";
const ANNA_PHONE: &str = "+46701234567";
const ANNA_TYPED_PHONE: &str = "070-123 45 67";
const NEW_PASSWORD: &str = "hjortronsylt på fjället 7";
const WRONG_CODE_EN: &str = "The code is wrong";

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

/// Asserts that `page` shows the "wrong code" answer (200).
#[track_caller]
fn wrong(page: &Page) {
    page.assert_says(200, WRONG_CODE_EN);
}

/// The reset page's "send a code" form and the code it sends.
async fn send_code(app: &TestApp, b: &Browser, page: &Page) -> (Page, String) {
    let asked = b.submit(page, "/reset/sms", &[]).await.expect_status(200);
    asked
        .assert_shows("name=\"code\"")
        .assert_shows("name=\"password\"");
    (asked, app.sms_code(ANNA_PHONE).await)
}

/// A server where recovery needs both the email link and an SMS code.
async fn both_app() -> TestApp {
    let app = TestApp::spawn_with(|c| c.login.recovery_needs_both = true).await;
    app.create_user_with_phone(ANNA, ANNA_PHONE).await;
    app
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_page_and_only_the_known_one_a_mail() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let known = app.browser().forgot(ANNA).await;
    let unknown = app.browser().forgot("nobody@example.org").await;
    assert_eq!(known.status, 200);
    assert_eq!(known.status, unknown.status);
    known.assert_form("/forgot/code");
    assert_eq!(
        known.without_csrf("/forgot/code"),
        unknown.without_csrf("/forgot/code")
    );
    assert_eq!(known.set_cookies().len(), unknown.set_cookies().len());
    assert_eq!(app.mails_to(ANNA).await.len(), 1);
    assert!(app.mails_to("nobody@example.org").await.is_empty());
}

#[tokio::test]
async fn a_forgot_link_works_only_where_asked_and_a_reset_ends_everything_without_logging_in() {
    let app = TestApp::spawn().await;
    app.create_user_with(ANNA, Some("Anna"), PASSWORD).await;
    app.verify_phone(ANNA, ANNA_PHONE).await;
    let (client_id, secret) = app.web_client().await;
    let client: Client<'_> = (&client_id, &secret);

    // A browser logged in before, with a refresh token at an app.
    let before = app.browser();
    let tokens = client_tokens(&app, &before, client, ANNA).await;
    let refresh_token = tokens.str("refresh_token").to_string();
    assert!(before.signed_in_as(ANNA).await);

    let a = app.browser();
    a.forgot(ANNA).await;
    let mail = app.mail_with(ANNA, "/reset/").await;
    no_password_in(&mail);
    let link = mail.link("/reset/");
    assert!(link.starts_with(&app.url("/reset/")), "{link}");

    // Another browser: refused, even with a forged POST, and the link is not burnt.
    let b = app.browser();
    let seen = b.get(&link).await.expect_status(403);
    assert!(!seen.has_form("/reset"));
    let b_csrf = b.csrf_on("/forgot").await;
    let key = path_of(&link).trim_start_matches("/reset/").to_string();
    let forged = b.post_reset(&key, &b_csrf, NEW_PASSWORD, None).await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.key_used(&link).await, None);
    assert!(app.password_is(ANNA, PASSWORD).await);

    // The asking browser: the policy applies, and a refused password leaves the key usable.
    let page = a.open(&link).await;
    page.assert_shows(ANNA);
    let short = a.set_password(&page, "kort lösen").await;
    short.assert_says(400, "at least 15 characters");
    assert_eq!(app.key_used(&link).await, None);
    assert!(app.password_is(ANNA, PASSWORD).await);

    let done = a.set_password(&page, NEW_PASSWORD).await.expect_status(200);
    assert!(done.body.contains("href=\"/login\""));
    assert!(!done.touches_session(), "a reset logs nobody in");
    assert!(app.password_is(ANNA, NEW_PASSWORD).await);
    assert!(!a.signed_in_as(ANNA).await, "the person is not logged in");
    assert!(
        !before.signed_in_as(ANNA).await,
        "the earlier session ended"
    );
    let sessions = app.sessions_of(&app.account(ANNA).await.id).await;
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
    assert_eq!(a.get(&link).await.status, 410);
    let again = a.set_password(&page, "en helt annan fras 99").await;
    assert_eq!(again.status, 410);
    assert!(app.password_is(ANNA, NEW_PASSWORD).await);

    // The new password logs in; the old one does not.
    let old = fresh_login(&app, &client_id, ANNA, PASSWORD).await;
    assert!(old.is_none(), "the old password no longer works");
    let ok = fresh_login(&app, &client_id, ANNA, NEW_PASSWORD).await;
    assert!(query(&ok.expect("a code"))["code"].len() > 20);
}

#[tokio::test]
async fn a_second_request_supersedes_the_first_and_a_link_expires_after_reset_ttl() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let a = app.browser();
    a.forgot(ANNA).await;
    let first = app.reset_link(ANNA).await;
    app.advance(app.state.config.login.email_cooldown + 1);
    a.forgot(ANNA).await;
    let second = app.reset_link(ANNA).await;
    assert_ne!(first, second);
    assert_eq!(a.get(&first).await.status, 410, "superseded");
    let page = a.open(&second).await;

    let ttl = app.state.config.admin.reset_ttl;
    app.advance(ttl - 1);
    assert_eq!(a.get(&second).await.status, 200, "still valid");
    app.advance(1);
    assert_eq!(a.get(&second).await.status, 410, "expired");
    let late = a.set_password(&page, NEW_PASSWORD).await;
    assert_eq!(late.status, 410);
    assert!(app.password_is(ANNA, PASSWORD).await);
}

#[tokio::test]
async fn forgot_by_sms_sends_a_code_to_the_verified_number_only_and_five_wrong_guesses_kill_it() {
    let app = TestApp::spawn().await;
    app.create_user_with_phone(ANNA, ANNA_PHONE).await;
    app.create_user("bertil@example.org").await;
    app.set_phone("bertil@example.org", "+46709999999", false)
        .await;

    // An unverified number gets nothing, and neither does its owner's mailbox.
    app.browser().forgot("070-999 99 99").await;
    assert!(app.sms_to("+46709999999").await.is_empty());
    assert!(app.mails_to("bertil@example.org").await.is_empty());

    let a = app.browser();
    let sent = a.forgot(ANNA_TYPED_PHONE).await;
    sent.assert_form("/forgot/code");
    let sms = app.sms_to(ANNA_PHONE).await;
    assert_eq!(sms.len(), 1);
    let code = sms[0].code();
    assert!(!sms[0].body.contains("anna"), "no personal text in an SMS");
    let mails = app.mails_to(ANNA).await;
    assert!(mails.is_empty(), "the code went by SMS only");

    for _ in 0..5 {
        wrong(&a.type_code(&sent, "/forgot/code", wrong_code(&code)).await);
    }
    // The right code after five wrong ones is dead.
    wrong(&a.type_code(&sent, "/forgot/code", &code).await);

    // A new request, a new code: it leads to the form.
    app.advance(app.state.config.sms.cooldown + 1);
    let sent = a.forgot(ANNA_TYPED_PHONE).await;
    let code = app.sms_code(ANNA_PHONE).await;
    // Another browser cannot use it.
    let b = app.browser();
    let b_sent = b.forgot("nobody@example.org").await;
    wrong(&b.type_code(&b_sent, "/forgot/code", &code).await);

    let traded = a.type_code(&sent, "/forgot/code", &code).await;
    let location = traded.redirect_starting("/reset/");
    let page = a.open(&location).await;
    assert_eq!(b.get(&location).await.status, 403, "bound to the browser");
    a.set_password(&page, NEW_PASSWORD).await.expect_status(200);
    assert!(app.password_is(ANNA, NEW_PASSWORD).await);
    assert!(!a.signed_in_as(ANNA).await);
    let told = notices(&app, ANNA).await;
    assert_eq!(told.len(), 1, "the mail notice");
    no_password_in(&told[0]);
    // The code was used up by the trade.
    wrong(&a.type_code(&sent, "/forgot/code", &code).await);
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
    let csrf = form_fields(&page, "/forgot").expect("form")["csrf"].clone();
    let res = client
        .post(app.url("/forgot"))
        .header("host", "evil.test")
        .header("x-forwarded-host", "evil.test")
        .form(&[("csrf", csrf.as_str()), ("identifier", ANNA)])
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 200);
    let mail = app.mail_with(ANNA, "/reset/").await;
    let link = mail.link("/reset/");
    assert!(link.starts_with(&app.url("/reset/")), "{link}");
    assert!(!mail.raw.contains("evil.test"), "{}", mail.raw);
}

#[tokio::test]
async fn with_both_needed_the_email_link_alone_cannot_set_the_password_but_link_and_sms_can() {
    let app = both_app().await;
    let a = app.browser();
    a.forgot(ANNA).await;
    let link = app.reset_link(ANNA).await;

    // The link's page asks for the SMS code first; there is no password field.
    let page = a.open(&link).await;
    page.assert_shows("Send a code to +46•••••••67");
    assert!(page.has_form("/reset/sms"));
    assert!(!page.has_form("/reset") && !page.body.contains("name=\"password\""));
    assert!(app.sms_to(ANNA_PHONE).await.is_empty(), "GET sends nothing");

    // Posting the password with the link alone, or with a made-up code, changes nothing.
    let fields = page.form("/reset/sms").expect("form");
    let (key, csrf) = (&fields["key"], &fields["csrf"]);
    for code in ["", "123456"] {
        let forced = a.post_reset(key, csrf, NEW_PASSWORD, Some(code)).await;
        assert_eq!(forced.status, 400, "{}", forced.body);
    }
    assert!(app.password_is(ANNA, PASSWORD).await);
    assert_eq!(app.key_used(&link).await, None);

    // The code goes to the verified phone; five wrong guesses kill it.
    let (form, code) = send_code(&app, &a, &page).await;
    assert!(form.body.contains("+46•••••••67"));
    let guess = Some(wrong_code(&code));
    for _ in 0..5 {
        let refused = a.set_password_with(&form, NEW_PASSWORD, guess).await;
        refused.assert_says(400, WRONG_CODE_EN);
    }
    let dead = a.set_password_with(&form, NEW_PASSWORD, Some(&code)).await;
    assert_eq!(
        dead.status, 400,
        "the right code after five wrong ones is dead"
    );
    assert!(app.password_is(ANNA, PASSWORD).await);
    assert_eq!(app.key_used(&link).await, None, "the link still works");

    // A new code (after the SMS cooldown); a too-short password is refused and keeps both.
    app.advance(app.state.config.sms.cooldown + 1);
    let (form, code) = send_code(&app, &a, &page).await;
    let short = a.set_password_with(&form, "kort lösen", Some(&code)).await;
    short.assert_says(400, "at least 15 characters");
    // Another browser has neither the link nor the code.
    let b = app.browser();
    assert_eq!(b.get(&link).await.status, 403);

    let done = a.set_password_with(&form, NEW_PASSWORD, Some(&code)).await;
    done.expect_status(200);
    assert!(app.password_is(ANNA, NEW_PASSWORD).await);
    assert!(app.key_used(&link).await.is_some());
    assert!(!a.signed_in_as(ANNA).await);
    assert_eq!(notices(&app, ANNA).await.len(), 1);
    let sms = app.sms_to(ANNA_PHONE).await;
    let last = sms.last().expect("the SMS notice");
    assert!(last.body.contains("lösenord"), "{sms:?}");

    // Someone without a verified phone recovers by email alone.
    app.create_user("bo@example.org").await;
    let c = app.browser();
    c.forgot("bo@example.org").await;
    let bo_page = c.get(&app.reset_link("bo@example.org").await).await;
    bo_page.assert_form("/reset").assert_no_form("/reset/sms");
    c.set_password(&bo_page, NEW_PASSWORD)
        .await
        .expect_status(200);
}

#[tokio::test]
async fn with_both_needed_a_correct_sms_code_mails_a_link_that_then_sets_the_password() {
    let app = both_app().await;
    let a = app.browser();
    let sent = a.forgot(ANNA_TYPED_PHONE).await;
    let code = app.sms_code(ANNA_PHONE).await;
    assert!(app.mails_to(ANNA).await.is_empty());

    // The right code does not open the form: it mails a link.
    let after = a.type_code(&sent, "/forgot/code", &code).await;
    after.assert_says(200, "sent a link and a code to your email");
    assert!(after.location.is_none());
    assert!(!after.body.contains("name=\"password\""));
    let mail = app.mail_with(ANNA, "/reset/").await;
    no_password_in(&mail);
    let link = mail.link("/reset/");
    assert!(link.starts_with(&app.url("/reset/")));

    // The emailed link opens the password form at once (the SMS is proven), only here.
    assert_eq!(app.browser().get(&link).await.status, 403);
    let page = a.open(&link).await;
    page.assert_form("/reset").assert_no_form("/reset/sms");
    a.set_password(&page, NEW_PASSWORD).await.expect_status(200);
    assert!(app.password_is(ANNA, NEW_PASSWORD).await);
    assert!(!a.signed_in_as(ANNA).await);
    assert_eq!(notices(&app, ANNA).await.len(), 1);
}

#[tokio::test]
async fn with_both_needed_the_emailed_code_also_needs_the_sms_and_the_sms_side_needs_the_mail() {
    let app = both_app().await;

    // From the email side, typing the emailed code leads to the form that asks for the SMS.
    let a = app.browser();
    let sent = a.forgot(ANNA).await;
    let code = app.code_in_mail(ANNA, "/reset/").await;
    let traded = a.type_code(&sent, "/forgot/code", &code).await;
    let page = a.get(&traded.redirect_starting("/")).await;
    page.assert_form("/reset/sms").assert_no_form("/reset");

    // From the SMS side, the code typed on the page after the SMS is the emailed one.
    let config = &app.state.config;
    app.advance(config.sms.cooldown.max(config.login.email_cooldown) + 1);
    let b = app.browser();
    let sent = b.forgot(ANNA_TYPED_PHONE).await;
    let sms_code = app.sms_code(ANNA_PHONE).await;
    let mailed = b.type_code(&sent, "/forgot/code", &sms_code).await;
    assert_eq!(mailed.status, 200);
    let emailed = app.code_in_mail(ANNA, "/reset/").await;
    let traded = b.type_code(&mailed, "/forgot/code", &emailed).await;
    let page = b.get(&traded.redirect_starting("/")).await;
    page.assert_form("/reset").assert_no_form("/reset/sms");
    b.set_password(&page, NEW_PASSWORD).await.expect_status(200);
    assert!(app.password_is(ANNA, NEW_PASSWORD).await);
}

#[tokio::test]
async fn with_both_needed_an_administrators_reset_link_needs_the_sms_code_too() {
    let app = both_app().await;
    let org = app.create_org("IFK Göteborg", "ifk").await;
    app.add_member(&org, ANNA, &["member"]).await;
    let anna = app.account(ANNA).await;
    let operator = nyckel::admin::Caller::operator();
    nyckel::admin::members::send_reset(&app.state, &operator, "ifk", &anna.id)
        .await
        .expect("reset sent");
    let link = app.reset_link(ANNA).await;

    // Opened in a browser that never asked: the form asks for the SMS code.
    let a = app.browser();
    let page = a.open(&link).await;
    page.assert_form("/reset/sms").assert_no_form("/reset");
    let (form, code) = send_code(&app, &a, &page).await;
    // The code is bound to the browser that asked for it: not even another browser with a
    // binding cookie of its own (from asking for something else) can use it.
    let b = app.browser();
    b.forgot("nobody@example.org").await;
    let b_page = b.get(&link).await;
    assert_eq!(
        b_page.status, 200,
        "an administrator's link is bound to no browser"
    );
    let fields = b_page.form("/reset/sms").expect("form");
    let elsewhere = b
        .post_reset(&fields["key"], &fields["csrf"], NEW_PASSWORD, Some(&code))
        .await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.body);
    assert!(app.password_is(ANNA, PASSWORD).await);

    let done = a.set_password_with(&form, NEW_PASSWORD, Some(&code)).await;
    done.expect_status(200);
    assert!(app.password_is(ANNA, NEW_PASSWORD).await);
}
