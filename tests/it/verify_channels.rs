//! Verified channels: changing the email address or mobile number needs a fresh login and is
//! confirmed by a key sent to the NEW address or number, bound to the signed-in session that
//! asked (another browser or session is refused without burning the link; GET and HEAD change
//! nothing); a code dies after the allowed wrong guesses; the old address and number are
//! told; only confirmed numbers ever get SMS login codes; countries outside the allowlist are
//! refused; every form needs the session's CSRF token. Also over a real SMTP relay.

use std::path::PathBuf;

use crate::helpers::browser::{Browser, Page};
use crate::helpers::pages::{path_of, wrong_code};
use crate::helpers::smtp::SmtpServer;
use crate::helpers::{PASSWORD, TestApp, code_in};

const ANNA: &str = "anna@example.org";
const NEW: &str = "ny.adress@example.org";
const ANNA_PHONE: &str = "+46701234567";
const NEW_PHONE: &str = "+46707654321";
const LINK: &str = "/verify/email/";
const EMAIL_CODE: &str = "/account/email/code";
const PHONE_CODE: &str = "/account/phone/code";

/// Asks for a change to `email` on the email page of `b`.
async fn ask_email(b: &Browser, email: &str) -> Page {
    b.fill("/account/email", &[("email", email)]).await
}

/// Asks for a change to `phone` on the phone page of `b`.
async fn ask_phone(b: &Browser, phone: &str) -> Page {
    b.fill("/account/phone", &[("phone", phone)]).await
}

/// The session's CSRF token, read from the email page.
async fn csrf(b: &Browser) -> String {
    b.csrf_on("/account/email").await
}

/// An app with Anna (with the confirmed number `phone`, if any), signed in: the app, her
/// id and her browser.
async fn anna_signed_in(phone: Option<&str>) -> (TestApp, String, Browser) {
    let app = TestApp::spawn().await;
    let anna = match phone {
        Some(phone) => app.create_user_with_phone(ANNA, phone).await,
        None => app.create_user(ANNA).await,
    };
    let a = signed_in(&app, ANNA).await;
    (app, anna, a)
}

/// A signed-in browser of `email`.
async fn signed_in(app: &TestApp, email: &str) -> Browser {
    let b = app.browser();
    b.log_in(email).await;
    b
}

#[tokio::test]
async fn the_pages_need_a_fresh_login_and_come_back_after_it() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let a = app.browser();
    for path in ["/account/email", "/account/phone"] {
        let page = a.get(path).await;
        page.assert_redirect(&format!("/login?next={path}"));
    }
    a.log_in(ANNA).await;
    let home = a.get("/").await;
    assert!(home.body.contains("href=\"/account/email\""));
    assert!(home.body.contains("href=\"/account/phone\""));
    let token = csrf(&a).await;
    assert_eq!(a.get("/account/phone").await.status, 200);

    app.advance(app.state.config.login.fresh_login + 1);
    for path in ["/account/email", "/account/phone"] {
        let page = a.get(path).await;
        page.assert_redirect(&format!("/login?next={path}"));
    }
    // A stale session's form changes and sends nothing, even with its token.
    let stale = a
        .post("/account/email", &[("csrf", &token), ("email", NEW)])
        .await;
    stale.assert_redirect("/login?next=/account/email");
    let stale = a
        .post("/account/phone", &[("csrf", &token), ("phone", NEW_PHONE)])
        .await;
    assert_eq!(
        stale.location.as_deref(),
        Some("/login?next=/account/phone")
    );
    let remove = a.post("/account/phone/remove", &[("csrf", &token)]).await;
    assert_eq!(
        remove.location.as_deref(),
        Some("/login?next=/account/phone")
    );
    assert!(app.mails_to(NEW).await.is_empty());
    assert!(app.sms_to(NEW_PHONE).await.is_empty());

    // Logging in again leads back to the page.
    let again = a
        .login_at("/login?next=/account/email", ANNA, PASSWORD)
        .await;
    again.assert_redirect("/account/email");
    let page = a.get("/account/email").await;
    page.assert_says(200, ANNA);
}

#[tokio::test]
async fn a_new_email_is_confirmed_by_a_link_only_in_the_session_that_asked() {
    let (app, anna, a) = anna_signed_in(None).await;
    app.create_user("bertil@example.org").await;
    let sent = ask_email(&a, NEW).await.expect_status(200);
    assert!(sent.has_form("/account/email/code"));
    assert!(sent.body.contains(NEW));

    let mail = app.mail_with(NEW, LINK).await;
    let link = mail.link(LINK);
    assert!(link.starts_with(&app.url(LINK)));
    assert!(code_in(&mail.text).is_some(), "a code for typing instead");
    assert!(!mail.text.contains(PASSWORD) && !mail.html.contains(PASSWORD));
    assert!(
        app.mails_to(ANNA).await.is_empty(),
        "nothing to the old one yet"
    );

    // A mail scanner (no cookies): HEAD and GET change nothing.
    let scanner = app.http();
    let head = scanner.head(&link).send().await.expect("HEAD");
    assert_eq!(head.status(), 403);
    for _ in 0..3 {
        let res = scanner.get(&link).send().await.expect("GET");
        assert_eq!(res.status(), 403);
    }
    // Another person's browser, and another session of Anna's own: refused, not burnt.
    let b = signed_in(&app, "bertil@example.org").await;
    let c = signed_in(&app, ANNA).await;
    for other in [&b, &c] {
        let seen = other.get(&link).await.expect_status(403);
        assert!(!seen.has_form(&path_of(&link)));
        let token = csrf(other).await;
        let forged = other.post(&path_of(&link), &[("csrf", &token)]).await;
        assert_eq!(forged.status, 403);
    }
    // Anna's browser, twice: a confirmation page, nothing changed.
    for _ in 0..2 {
        a.open(&link).await.assert_shows(NEW);
    }
    assert_eq!(app.key_used(&link).await, None, "GET or HEAD used the key");
    assert_eq!(app.account_by_id(&anna).await.email, ANNA);

    let page = a.open(&link).await;
    let done = a.submit(&page, &path_of(&link), &[]).await;
    done.assert_redirect("/account/changed/email");
    let shown = a.follow(done).await;
    shown.assert_says(200, NEW);
    let changed = app.account_by_id(&anna).await;
    assert_eq!(changed.email, NEW);
    assert_eq!(changed.email_verified, 1);
    assert_eq!(a.submit(&page, &path_of(&link), &[]).await.status, 410);

    // The old address is told, in the person's language (no choice, no organisation: sv),
    // with the new address masked and no link.
    let notices = app.mails_to(ANNA).await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].subject, "Din e-postadress har ändrats");
    assert!(
        notices[0].text.contains("n•••@example.org"),
        "{}",
        notices[0].text
    );
    assert!(!notices[0].text.contains(NEW) && !notices[0].text.contains("https://"));
    let audit = app.audit_details("email.changed").await;
    assert_eq!(audit.len(), 1);
    assert!(
        !audit[0].contains(NEW) && !audit[0].contains(ANNA),
        "{}",
        audit[0]
    );

    // The new address signs in with the password; the old one does not.
    let fresh = signed_in(&app, NEW).await;
    assert!(fresh.signed_in_as(NEW).await);
    let old = app.browser();
    let refused = old.login_at("/login", ANNA, PASSWORD).await;
    refused.assert_says(200, "not correct");
}

#[tokio::test]
async fn the_typed_code_confirms_the_email_and_dies_after_the_allowed_wrong_guesses() {
    let (app, anna, a) = anna_signed_in(None).await;
    let sent = ask_email(&a, NEW).await;
    let code = app.code_in_mail(NEW, LINK).await;

    // Anna's other session cannot use it (and does not use up its guesses).
    let c = signed_in(&app, ANNA).await;
    let token = csrf(&c).await;
    let elsewhere = c
        .post("/account/email/code", &[("csrf", &token), ("code", &code)])
        .await;
    elsewhere.assert_says(400, "The code is wrong");

    let wrong = wrong_code(&code);
    for _ in 0..app.state.config.login.code_attempts {
        let page = a.type_code(&sent, EMAIL_CODE, wrong).await;
        page.assert_says(400, "The code is wrong");
    }
    let dead = a.type_code(&sent, EMAIL_CODE, &code).await;
    assert_eq!(dead.status, 400);
    assert_eq!(app.account_by_id(&anna).await.email, ANNA);

    // A new request: a new code that works once.
    app.advance(61);
    let sent = ask_email(&a, NEW).await;
    let new_code = app.code_in_mail(NEW, LINK).await;
    let ok = a.type_code(&sent, EMAIL_CODE, &new_code).await;
    ok.assert_redirect("/account/changed/email");
    assert_eq!(app.account_by_id(&anna).await.email, NEW);
    let again = a.type_code(&sent, EMAIL_CODE, &new_code).await;
    assert_eq!(again.status, 400);
}

#[tokio::test]
async fn an_address_taken_meanwhile_changes_nothing() {
    let (app, anna, a) = anna_signed_in(None).await;
    app.create_user("bertil@example.org").await;
    // Asking for another account's address looks like any other address.
    let taken = ask_email(&a, "Bertil@example.org").await;
    assert_eq!(taken.status, 200);
    assert!(taken.has_form("/account/email/code"));
    app.advance(61);
    ask_email(&a, NEW).await;
    let link = app.link_in_mail(NEW, LINK).await;
    app.create_user(NEW).await;
    let done = a.use_link(&link).await;
    assert_eq!(done.status, 409, "{}", done.body);
    assert!(done.body.contains("another account"), "{}", done.body);
    assert_eq!(app.account_by_id(&anna).await.email, ANNA);
    assert!(app.mails_to(ANNA).await.is_empty(), "no change notice");
}

#[tokio::test]
async fn bad_input_gets_a_helpful_page_and_changes_nothing() {
    let (app, anna, a) = anna_signed_in(Some(ANNA_PHONE)).await;
    for (typed, says) in [
        ("not an address", "whole email address"),
        ("ANNA@example.org", "already your email address"),
    ] {
        let page = ask_email(&a, typed).await;
        page.assert_says(400, says);
        assert!(page.has_form("/account/email"));
    }
    for (typed, says) in [
        ("hello", "Type a mobile number"),
        ("070-123 45 67", "already your confirmed mobile number"),
        ("+1 415 555 0100", "Allowed country codes: +46"),
        (
            "0044 20 7946 0000",
            "Numbers from that country cannot be used here",
        ),
    ] {
        let page = ask_phone(&a, typed).await;
        page.assert_says(400, says);
        assert!(page.has_form("/account/phone"));
    }
    assert!(app.sms_messages().await.is_empty());
    assert!(app.mails().await.is_empty());
    assert_eq!(app.count("select count(*) from login_keys").await, 0);
    assert_eq!(app.account_by_id(&anna).await.email, ANNA);
}

#[tokio::test]
async fn a_confirmed_number_gets_sms_login_codes_and_an_unconfirmed_one_never_does() {
    let app = TestApp::spawn().await;
    let anna = app.create_user(ANNA).await;
    // An unconfirmed number (as an administrator may type it): no login code.
    app.set_phone(ANNA, ANNA_PHONE, false).await;
    app.browser().ask_key("070-123 45 67").await;
    assert!(app.sms_to(ANNA_PHONE).await.is_empty());

    let a = signed_in(&app, ANNA).await;
    let page = a.get("/account/phone").await;
    assert!(page.body.contains(ANNA_PHONE), "shown in full to its owner");
    assert!(page.body.contains("not confirmed"));
    let sent = ask_phone(&a, "070-123 45 67").await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.has_form("/account/phone/code"));
    let sms = app.sms_to(ANNA_PHONE).await;
    assert_eq!(sms.len(), 1);
    let code = sms[0].code();
    assert!(!sms[0].body.contains("anna") && !sms[0].body.contains("Test Person"));
    assert_eq!(
        app.account_by_id(&anna).await.phone_verified,
        0,
        "not before the code"
    );

    // While it is being confirmed, asking for a login code by it still sends nothing.
    app.advance(61);
    app.browser().ask_key("070-123 45 67").await;
    assert_eq!(app.sms_to(ANNA_PHONE).await.len(), 1);

    let ok = a.type_code(&sent, PHONE_CODE, &code).await;
    ok.assert_redirect("/account/changed/phone");
    assert!(a.follow(ok).await.body.contains(ANNA_PHONE));
    let u = app.account_by_id(&anna).await;
    assert_eq!(u.phone.as_deref(), Some(ANNA_PHONE));
    assert_eq!(u.phone_verified, 1);
    let notice = app.mails_to(ANNA).await;
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].subject, "Ditt mobilnummer har ändrats");
    assert!(notice[0].text.contains("+46•••••••67"));
    assert_eq!(
        app.sms_to(ANNA_PHONE).await.len(),
        1,
        "no notice SMS: there was no confirmed number before"
    );

    // Now an SMS login code goes to it, and works.
    app.advance(61);
    let b = app.browser();
    let asked = b.ask_key("070-123 45 67").await;
    let sms = app.sms_to(ANNA_PHONE).await;
    assert_eq!(sms.len(), 2);
    let login = b.type_code(&asked, "/login/code", &sms[1].code()).await;
    assert_eq!(login.status, 303, "{}", login.body);
    assert!(b.signed_in_as(ANNA).await);
}

#[tokio::test]
async fn a_changed_number_tells_the_old_one_and_a_removed_number_is_told_by_mail() {
    let (app, anna, a) = anna_signed_in(Some(ANNA_PHONE)).await;
    let sent = ask_phone(&a, "+46 70 765 43 21").await;
    let code = app.sms_to(NEW_PHONE).await[0].code();
    // A wrong code first: 400, the form again.
    let wrong = wrong_code(&code);
    let page = a.type_code(&sent, PHONE_CODE, wrong).await;
    assert_eq!(page.status, 400);
    assert!(page.has_form("/account/phone/code"));
    let ok = a.type_code(&sent, PHONE_CODE, &code).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(
        app.account_by_id(&anna).await.verified_phone(),
        Some(NEW_PHONE)
    );

    let old = app.sms_to(ANNA_PHONE).await;
    assert_eq!(old.len(), 1, "the old number is told");
    assert!(old[0].body.contains("was changed") || old[0].body.contains("har ändrats"));
    assert!(code_in(&old[0].body).is_none(), "no code in the notice");
    assert!(
        !old[0].body.contains("7654321"),
        "the new number is not in it"
    );
    // The old number no longer gets login codes.
    app.advance(61);
    app.browser().ask_key("070-123 45 67").await;
    assert_eq!(app.sms_to(ANNA_PHONE).await.len(), 1);

    // Removing it: the account's address is told.
    let page = a.get("/account/phone").await;
    assert!(page.has_form("/account/phone/remove"));
    let removed = a.submit(&page, "/account/phone/remove", &[]).await;
    removed.assert_redirect("/account/changed/phone-removed");
    let u = app.account_by_id(&anna).await;
    assert_eq!((u.phone, u.phone_verified), (None, 0));
    let mails = app.mails_to(ANNA).await;
    assert!(
        mails
            .iter()
            .any(|m| m.subject == "Ditt mobilnummer har tagits bort"),
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert_eq!(app.audit_details("phone.removed").await.len(), 1);
    let changed = app.audit_details("phone.changed").await;
    assert!(!changed[0].contains(NEW_PHONE) && !changed[0].contains(ANNA_PHONE));
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let (app, anna, a) = anna_signed_in(Some(ANNA_PHONE)).await;
    ask_email(&a, NEW).await;
    let link = app.link_in_mail(NEW, LINK).await;
    let code = app.code_in_mail(NEW, LINK).await;
    let other = signed_in(&app, "anna@example.org").await;
    let foreign = csrf(&other).await;
    let link_path = path_of(&link);
    for token in ["", "x", foreign.as_str()] {
        for (path, fields) in [
            ("/account/email", vec![("email", "x@example.org")]),
            ("/account/email/code", vec![("code", code.as_str())]),
            ("/account/phone", vec![("phone", NEW_PHONE)]),
            ("/account/phone/code", vec![("code", "123456")]),
            ("/account/phone/remove", vec![]),
            (link_path.as_str(), vec![]),
        ] {
            let mut form = vec![("csrf", token)];
            form.extend(fields);
            let page = a.post(path, &form).await;
            assert_eq!(page.status, 403, "{path} with {token:?}");
        }
    }
    let u = app.account_by_id(&anna).await;
    assert_eq!(u.email, ANNA);
    assert_eq!(u.verified_phone(), Some(ANNA_PHONE));
    assert_eq!(app.key_used(&link).await, None);
    assert!(app.mails_to("x@example.org").await.is_empty());
    assert!(app.sms_to(NEW_PHONE).await.is_empty());
    // The link still works from its own page.
    assert_eq!(a.use_link(&link).await.status, 303);
}

#[tokio::test]
async fn the_confirmation_mail_reaches_a_relay_over_starttls_in_the_persons_language() {
    const SMTP_PASSWORD: &str = "canary-smtp-password-channels-7f3a";
    let server = SmtpServer::starttls().await;
    let dir = tempfile::tempdir().expect("dir");
    let app = TestApp::spawn_with(|c| {
        server.relay_for(c, dir.path());
        c.mail.smtp_username = Some("nyckel".into());
        c.mail.smtp_password = Some(SMTP_PASSWORD.into());
    })
    .await;
    let anna = app.create_user(ANNA).await;
    // Anna chose Swedish; her browser asks for English pages.
    app.set_locale(ANNA, "sv").await;
    let a = signed_in(&app, ANNA).await;
    let sent = ask_email(&a, NEW).await;
    assert!(
        sent.body.contains("Confirm your new address"),
        "page in English"
    );
    nyckel::mail::deliver_due(&app.state).await.expect("pass");

    let received = server.messages();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert!(m.tls, "the message came after STARTTLS");
    assert_eq!(m.to, [NEW]);
    for secret in [PASSWORD, SMTP_PASSWORD] {
        assert!(!m.data.contains(secret), "{secret:?} in the message");
    }
    let document = m.data.strip_suffix("\r\n").expect("CRLF framing");
    let mail = crate::mail_outbox::parse(PathBuf::new(), document.to_string());
    assert_eq!(mail.subject, "Bekräfta din nya e-postadress");
    assert!(mail.html.contains("<html lang=\"sv\">"));
    for part in [&mail.text, &mail.html] {
        assert!(!part.contains(PASSWORD));
    }
    let link = mail.link(LINK);
    assert!(link.starts_with(&app.url(LINK)));
    let done = a.use_link(&link).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.account_by_id(&anna).await.email, NEW);
}
