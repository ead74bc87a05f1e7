//! The person's own account page (`/account`): what it shows, the profile form, ending their
//! other sessions (that browser is signed out and its refresh tokens refused), revoking an
//! app (its refresh tokens refused, consent asked again), and the refusals: another person's
//! session or app (404, nothing changed), a form without the session's CSRF token (403,
//! nothing changed), and no session (to the login page).

use nyckel::admin::clients::CreateClient;

use crate::helpers::authorize::{auth_url, count};
use crate::helpers::browser::{Browser, Page};
use crate::helpers::pages::redeem_at_client;
use crate::helpers::token::{Auth, refresh};
use crate::helpers::{PASSWORD, REDIRECT_URI, TestApp};

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// A browser with its own cookies that introduces itself with `user_agent`.
fn browser(app: &TestApp, user_agent: &str) -> Browser {
    Browser::new(app).with_user_agent(user_agent)
}

/// Signs in through the login page (a real session, with address and browser recorded) and
/// lands on the account page.
async fn sign_in(app: &TestApp, user_agent: &str, email: &str) -> Browser {
    let b = browser(app, user_agent);
    let login = b.follow(b.get("/account").await).await;
    assert!(login.has_form("/login"), "sent to the login page");
    let done = b.submit_login(&login, email, PASSWORD).await;
    done.assert_redirect("/account");
    b
}

/// A new person `email` signed in on a laptop (Firefox) and on a phone (Safari): their id
/// and the two browsers.
async fn on_two_devices(app: &TestApp, email: &str) -> (String, Browser, Browser) {
    let user = app.create_user(email).await;
    let laptop = sign_in(app, FIREFOX, email).await;
    let phone = sign_in(app, SAFARI, email).await;
    (user, laptop, phone)
}

/// The account page; asserts it is shown.
async fn account(b: &Browser) -> Page {
    b.open("/account").await
}

/// Whether the browser still has a session (the account page shows instead of the login).
async fn signed_in(b: &Browser) -> bool {
    let page = b.get("/account").await;
    match page.status.as_u16() {
        200 => true,
        303 => {
            assert_eq!(page.location.as_deref(), Some("/login?next=/account"));
            false
        }
        other => panic!("unexpected {other}: {}", page.body),
    }
}

/// A confidential app that asks for consent; `(client_id, secret)`.
async fn app_client(app: &TestApp, name: &str) -> (String, String) {
    let (id, secret) = app
        .create_client(CreateClient {
            name: name.into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            ..Default::default()
        })
        .await;
    (id, secret.expect("a secret"))
}

/// Runs an authorization in `b` (allowing consent if asked) and redeems the code; returns the
/// refresh token.
async fn tokens(app: &TestApp, b: &Browser, client: &(String, String)) -> String {
    let url = auth_url(app, &client.0, &[("scope", "openid email profile")]);
    let page = b.get(&url).await;
    let answer = redeem_at_client(app, b, page, (&client.0, &client.1)).await;
    answer.str("refresh_token").to_string()
}

/// Uses a refresh token; returns the new one, or the error code.
async fn use_refresh(
    app: &TestApp,
    client: &(String, String),
    token: &str,
) -> Result<String, String> {
    let answer = refresh(app, Auth::Basic(&client.0, &client.1), token).await;
    if answer.status == 200 {
        Ok(answer.str("refresh_token").to_string())
    } else {
        Err(answer.error().to_string())
    }
}

/// The hidden fields of the form posting to `action` that carries `name=value`.
fn form_with(page: &Page, action: &str, name: &str, value: &str) -> Vec<(String, String)> {
    let marker = format!("action=\"{action}\"");
    for (i, _) in page.body.match_indices(&marker) {
        let fields =
            crate::helpers::browser::form_fields(&page.body[i..], action).expect("form fields");
        if fields.get(name).map(String::as_str) == Some(value) {
            return fields.into_iter().collect();
        }
    }
    panic!("no form to {action} with {name}={value}:\n{}", page.body);
}

/// The live sessions of a person: `(sid, user_agent)`.
async fn sessions_of(app: &TestApp, user_id: &str) -> Vec<(String, Option<String>)> {
    sqlx::query_as("select sid, user_agent from sessions where user_id = $1 order by created_at")
        .bind(user_id)
        .fetch_all(app.state.db.pool())
        .await
        .expect("sessions")
}

/// The session id of the browser whose user agent is `ua`.
async fn sid_of(app: &TestApp, user_id: &str, ua: &str) -> String {
    sessions_of(app, user_id)
        .await
        .into_iter()
        .find(|(_, agent)| agent.as_deref() == Some(ua))
        .map(|(sid, _)| sid)
        .expect("a session with that browser")
}

/// Saves the profile form on `page` with `name` and `language`.
async fn profile(b: &Browser, page: &Page, name: &str, language: &str) -> Page {
    let fill = [("name", name), ("language", language)];
    b.submit(page, "/account/profile", &fill).await
}

async fn profile_of(app: &TestApp, user_id: &str) -> (Option<String>, Option<String>) {
    sqlx::query_as("select name, locale from users where id = $1")
        .bind(user_id)
        .fetch_one(app.state.db.pool())
        .await
        .expect("user")
}

#[tokio::test]
async fn the_page_needs_a_session_and_shows_every_section() {
    let app = TestApp::spawn_password_only_admins("the person is an organisation admin who logs in with a password; the account page is under test").await;
    let org_a = app.create_org("Skogsbackens IF", "skogsbacken").await;
    let org_b = app.create_org("Sjöstadens kör", "sjostaden").await;
    let user = app.create_user("astrid@example.org").await;
    app.add_member(&org_a, "astrid@example.org", &["admin", "coach"])
        .await;
    app.add_member(&org_b, "astrid@example.org", &["member"])
        .await;
    let client = app_client(&app, "Kalendern").await;

    // Anonymous: to the login page, coming back here.
    let anon = browser(&app, FIREFOX);
    anon.get("/account")
        .await
        .assert_redirect("/login?next=/account");
    for action in [
        "/account/profile",
        "/account/sessions/end",
        "/account/sessions/end-others",
        "/account/apps/revoke",
    ] {
        let page = anon.post(action, &[("csrf", "x")]).await;
        page.assert_redirect("/login?next=/account");
    }

    let b = sign_in(&app, FIREFOX, "astrid@example.org").await;
    let _phone = sign_in(&app, SAFARI, "astrid@example.org").await;
    tokens(&app, &b, &client).await;
    let home = b.get("/").await;
    assert!(home.body.contains("href=\"/account\""), "home links here");

    let page = account(&b).await;
    let body = &page.body;
    for text in [
        "Your account",
        "Profile",
        "Test Person",
        "astrid@example.org",
        "Email, phone and password",
        "href=\"/account/email\"",
        "href=\"/account/phone\"",
        "href=\"/password/change?next=%2Faccount\"",
        "href=\"/account/passkeys\"",
        "href=\"/account/security\"",
        "Where you are signed in",
        "Firefox on Windows",
        "Safari on iOS",
        "127.0.0.1",
        "This session",
        "End all other sessions",
        "Apps you have allowed",
        "Kalendern",
        "See your email address",
        "Your organisations",
        "Skogsbackens IF",
        "Sjöstadens kör",
        "coach",
        "member",
        "Recent security events",
        "Signed in",
        "href=\"/account/data\"",
        "Download my data",
        "Delete my account",
        "href=\"/account/delete\"",
    ] {
        assert!(body.contains(text), "the page shows {text:?}:\n{body}");
    }
    assert!(page.has_form("/logout"), "a sign-out button");
    // The current session has no "End" form; the other one has.
    let phone_sid = sid_of(&app, &user, SAFARI).await;
    let own_sid = sid_of(&app, &user, FIREFOX).await;
    assert!(body.contains(&format!("name=\"sid\" value=\"{phone_sid}\"")));
    assert!(!body.contains(&format!("name=\"sid\" value=\"{own_sid}\"")));
    // No secrets on the page.
    assert!(!body.contains(&client.1), "never the client secret");
    assert!(!body.contains("$argon2"), "never a password hash");

    // Swedish when the browser asks for it (no language chosen yet).
    let sv = b.get_in("/account", "sv").await;
    for text in ["Ditt konto", "Där du är inloggad", "Firefox på Windows"] {
        assert!(sv.body.contains(text), "Swedish page shows {text:?}");
    }
}

#[tokio::test]
async fn the_profile_changes_and_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let user = app.create_user("bertil@example.org").await;
    let b = sign_in(&app, FIREFOX, "bertil@example.org").await;
    let page = account(&b).await;

    let done = profile(&b, &page, "  Bertil   Ek ", "sv").await;
    done.assert_redirect("/account?done=profile");
    assert_eq!(
        profile_of(&app, &user).await,
        (Some("Bertil Ek".into()), Some("sv".into()))
    );
    assert_eq!(app.audit_count_of("profile.changed", &user).await, 1);
    // The page follows the chosen language, whatever the browser says.
    let page = b.get("/account?done=profile").await;
    page.assert_shows("Ditt konto");
    assert!(page.body.contains("Din profil har sparats."));
    assert!(
        page.body.contains("Profilen ändrades"),
        "the event is listed"
    );
    // The same again changes nothing and records nothing.
    let same = profile(&b, &page, "Bertil Ek", "sv").await;
    assert_eq!(same.location.as_deref(), Some("/account?done=unchanged"));
    assert_eq!(app.audit_count_of("profile.changed", &user).await, 1);

    // Bad input: a helpful 400 page (in the person's language), nothing changed.
    let long = "x".repeat(101);
    for (name, language, message) in [
        ("Bertil", "de", "Välj Svenska, English"),
        (long.as_str(), "en", "Namnet är för långt"),
        ("Bertil\nEk", "en", "styrtecken"),
    ] {
        let refused = profile(&b, &page, name, language).await;
        assert_eq!(refused.status, 400, "{name:?} {language:?}");
        refused.assert_shows(message);
        assert!(refused.has_form("/account/profile"), "the form again");
        assert_eq!(
            profile_of(&app, &user).await,
            (Some("Bertil Ek".into()), Some("sv".into()))
        );
    }

    // Back to the browser's language, without a name.
    let done = profile(&b, &page, "", "").await;
    assert_eq!(done.location.as_deref(), Some("/account?done=profile"));
    assert_eq!(profile_of(&app, &user).await, (None, None));
    assert!(account(&b).await.body.contains("Your account"));
}

#[tokio::test]
async fn ending_another_session_signs_that_browser_out_and_refuses_its_tokens() {
    let app = TestApp::spawn().await;
    let (user, laptop, phone) = on_two_devices(&app, "cecilia@example.org").await;
    let client = app_client(&app, "Kalendern").await;
    let laptop_token = tokens(&app, &laptop, &client).await;
    let phone_token = tokens(&app, &phone, &client).await;
    let phone_sid = sid_of(&app, &user, SAFARI).await;

    let page = account(&laptop).await;
    let fields = form_with(&page, "/account/sessions/end", "sid", &phone_sid);
    let done = laptop.post_pairs("/account/sessions/end", &fields).await;
    done.assert_redirect("/account?done=session");

    assert!(!signed_in(&phone).await, "the phone is signed out");
    assert!(signed_in(&laptop).await, "the laptop is not");
    assert_eq!(
        use_refresh(&app, &client, &phone_token).await,
        Err("invalid_grant".into()),
        "the phone's refresh token is refused"
    );
    assert!(
        use_refresh(&app, &client, &laptop_token).await.is_ok(),
        "the laptop's refresh token still works"
    );
    assert_eq!(app.audit_count_of("session.ended_by_user", &user).await, 1);
    let page = account(&laptop).await;
    assert!(!page.body.contains("Safari on iOS"), "no longer listed");
    assert!(!page.body.contains("End all other sessions"));

    // This session cannot be ended here (that is signing out): 400, still signed in.
    let own = sid_of(&app, &user, FIREFOX).await;
    let csrf = page.csrf("/account/profile");
    let fields = [("csrf", csrf.as_str()), ("sid", own.as_str())];
    let refused = laptop.post("/account/sessions/end", &fields).await;
    refused.assert_says(400, "sign out");
    assert!(signed_in(&laptop).await);
}

#[tokio::test]
async fn ending_all_other_sessions_keeps_only_this_one() {
    let app = TestApp::spawn().await;
    let (user, here, phone) = on_two_devices(&app, "david@example.org").await;
    let client = app_client(&app, "Kalendern").await;
    let tablet = sign_in(
        &app,
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X)",
        "david@example.org",
    )
    .await;
    let tablet_token = tokens(&app, &tablet, &client).await;
    let here_token = tokens(&app, &here, &client).await;

    let page = account(&here).await;
    let done = here
        .submit(&page, "/account/sessions/end-others", &[])
        .await;
    assert_eq!(done.location.as_deref(), Some("/account?done=sessions"));
    assert!(!signed_in(&phone).await);
    assert!(!signed_in(&tablet).await);
    assert!(signed_in(&here).await);
    assert_eq!(sessions_of(&app, &user).await.len(), 1);
    assert_eq!(
        use_refresh(&app, &client, &tablet_token).await,
        Err("invalid_grant".into())
    );
    assert!(use_refresh(&app, &client, &here_token).await.is_ok());
    assert_eq!(app.audit_count_of("session.ended_by_user", &user).await, 1);

    // Again: nothing to end, nothing recorded.
    let done = here
        .submit(&page, "/account/sessions/end-others", &[])
        .await;
    assert_eq!(done.location.as_deref(), Some("/account?done=no_sessions"));
    assert_eq!(app.audit_count_of("session.ended_by_user", &user).await, 1);
}

#[tokio::test]
async fn revoking_an_app_refuses_its_refresh_tokens_and_asks_consent_again() {
    let app = TestApp::spawn().await;
    let (user, b, phone) = on_two_devices(&app, "eva@example.org").await;
    let calendar = app_client(&app, "Kalendern").await;
    let other = app_client(&app, "Matchappen").await;
    let first = tokens(&app, &b, &calendar).await;
    let second = tokens(&app, &phone, &calendar).await;
    let kept = tokens(&app, &b, &other).await;

    let page = account(&b).await;
    assert!(page.body.contains("Kalendern") && page.body.contains("Matchappen"));
    let fields = form_with(&page, "/account/apps/revoke", "client_id", &calendar.0);
    let done = b.post_pairs("/account/apps/revoke", &fields).await;
    done.assert_redirect("/account?done=app");

    for token in [&first, &second] {
        assert_eq!(
            use_refresh(&app, &calendar, token).await,
            Err("invalid_grant".into()),
            "every refresh token of the app, from every session, is refused"
        );
    }
    assert!(
        use_refresh(&app, &other, &kept).await.is_ok(),
        "other apps keep theirs"
    );
    let page = account(&b).await;
    assert!(!page.body.contains("Kalendern"), "no longer listed");
    assert!(page.body.contains("Matchappen"));
    assert!(
        page.body.contains("App access revoked"),
        "the event is listed"
    );
    assert_eq!(app.audit_count_of("consent.revoked", &user).await, 1);
    // Signing in to the app again asks for consent again; sessions are untouched.
    let again = b
        .follow(b.get(&auth_url(&app, &calendar.0, &[])).await)
        .await;
    again.assert_form("/consent");
    assert!(signed_in(&phone).await);

    // Revoking it again: 404, nothing recorded.
    let refused = b.post_pairs("/account/apps/revoke", &fields).await;
    assert_eq!(refused.status, 404);
    assert_eq!(app.audit_count_of("consent.revoked", &user).await, 1);
}

#[tokio::test]
async fn another_persons_session_or_app_cannot_be_touched() {
    let app = TestApp::spawn().await;
    let anna = app.create_user("anna@example.org").await;
    let bo = app.create_user("bo@example.org").await;
    let client = app_client(&app, "Kalendern").await;
    let anna_b = sign_in(&app, FIREFOX, "anna@example.org").await;
    let bo_b = sign_in(&app, SAFARI, "bo@example.org").await;
    let bo_token = tokens(&app, &bo_b, &client).await;
    let bo_sid = sid_of(&app, &bo, SAFARI).await;

    let page = account(&anna_b).await;
    assert!(!page.body.contains(&bo_sid), "Anna never sees Bo's session");
    assert!(!page.body.contains("Kalendern"), "nor Bo's apps");
    let csrf = page.csrf("/account/profile");

    for (action, field) in [
        ("/account/sessions/end", ("sid", bo_sid.as_str())),
        ("/account/apps/revoke", ("client_id", client.0.as_str())),
        ("/account/sessions/end", ("sid", "no-such-session")),
    ] {
        let refused = anna_b.post(action, &[("csrf", csrf.as_str()), field]).await;
        assert_eq!(refused.status, 404, "{action}");
    }

    assert!(signed_in(&bo_b).await, "Bo is still signed in");
    assert_eq!(count(&app, "consents").await, 1, "Bo's consent is kept");
    assert!(use_refresh(&app, &client, &bo_token).await.is_ok());
    assert_eq!(app.audit_count_of("session.ended_by_user", &anna).await, 0);
    assert_eq!(app.audit_count_of("consent.revoked", &anna).await, 0);
    // Anna's "End all other sessions" ends only her own.
    let done = anna_b
        .post("/account/sessions/end-others", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(done.location.as_deref(), Some("/account?done=no_sessions"));
    assert!(signed_in(&bo_b).await);
    // And Bo's events are not on Anna's page.
    let page = account(&anna_b).await;
    assert!(!page.body.contains("bo@example.org"));
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let (user, b, phone) = on_two_devices(&app, "frida@example.org").await;
    let client = app_client(&app, "Kalendern").await;
    let phone_token = tokens(&app, &phone, &client).await;
    let phone_sid = sid_of(&app, &user, SAFARI).await;
    // Another session's token is not this session's.
    let phone_csrf = account(&phone).await.csrf("/account/profile");

    for csrf in ["", "wrong", phone_csrf.as_str()] {
        for (action, extra) in [
            ("/account/profile", ("name", "Mallory")),
            ("/account/sessions/end", ("sid", phone_sid.as_str())),
            ("/account/sessions/end-others", ("x", "")),
            ("/account/apps/revoke", ("client_id", client.0.as_str())),
        ] {
            let refused = b.post(action, &[("csrf", csrf), extra]).await;
            assert_eq!(refused.status, 403, "{action} with csrf {csrf:?}");
        }
    }
    assert_eq!(
        profile_of(&app, &user).await.0.as_deref(),
        Some("Test Person")
    );
    assert!(signed_in(&phone).await);
    assert_eq!(count(&app, "consents").await, 1);
    assert!(use_refresh(&app, &client, &phone_token).await.is_ok());
}

#[tokio::test]
async fn the_password_link_asks_for_the_current_password() {
    let app = TestApp::spawn().await;
    let (user, b, phone) = on_two_devices(&app, "gustav@example.org").await;
    let hash_before = app.account_by_id(&user).await.password_hash;

    let page = account(&b).await;
    assert!(
        page.body
            .contains("href=\"/password/change?next=%2Faccount\"")
    );
    let form = b.open("/password/change?next=%2Faccount").await;
    let new = "en helt annan mening om sommaren 7";
    let wrong = b
        .change_password(&form, "inte mitt lösenord alls", new)
        .await;
    assert_eq!(wrong.status, 400, "a wrong current password is refused");
    let hash_after = app.account_by_id(&user).await.password_hash;
    assert_eq!(hash_before, hash_after, "nothing changed");
    assert!(signed_in(&phone).await);

    let changed = b.change_password(&form, PASSWORD, new).await;
    changed.assert_redirect("/account");
    assert!(signed_in(&b).await, "this session stays");
    assert!(!signed_in(&phone).await, "the other sessions end");
}
