//! A password set by an administrator (`users.must_change_password`) must be replaced at the
//! next login before anything else: the login sends the person to `/password/change`,
//! `/authorize/continue` issues no code until then, and afterwards the person continues
//! where they were going, with the flag cleared and their other sessions ended.

use nyckel::auth::password::Password;
use nyckel::store;

use crate::helpers::browser::query;
use crate::helpers::flows::authorize_url;
use crate::helpers::{REDIRECT_URI, TestApp};

const ADMIN_SET: &str = "tillfälligt lösenord från admin";
const OWN: &str = "kantareller i granskogen 12";

/// Creates a person whose password an administrator set; returns their id.
async fn person_with_admin_set_password(app: &TestApp, email: &str) -> String {
    let id = app.create_user(email).await;
    let hash = app
        .state
        .hasher
        .hash(&Password::new(ADMIN_SET.into()))
        .await
        .expect("hash");
    store::users::set_password(&app.state.db, &id, &hash, true, app.state.now())
        .await
        .expect("set by an admin");
    id
}

async fn flag(app: &TestApp, id: &str) -> i64 {
    app.account_by_id(id).await.must_change_password
}

#[tokio::test]
async fn no_code_is_issued_until_the_admin_set_password_is_changed() {
    let app = TestApp::spawn().await;
    let id = person_with_admin_set_password(&app, "anna@example.org").await;
    let (client_id, _) = app.web_client().await;

    // A session from before (another device) that the change will end.
    let other = app.browser();
    other
        .login_at("/login", "anna@example.org", ADMIN_SET)
        .await;
    assert!(other.signed_in_as("anna@example.org").await);

    let b = app.browser();
    let start = authorize_url(&app.issuer, &client_id, "openid", "st", None, &[]);
    let login = b.follow(b.get(&start).await).await;
    let submitted = b.submit_login(&login, "anna@example.org", ADMIN_SET).await;
    let to_change =
        submitted.redirect_starting("/password/change?next=%2Fauthorize%2Fcontinue%3Freq%3D");
    // Skipping the change page: still no code, back to the change page.
    let next = query(&app.url(&to_change))["next"].clone();
    b.get(&next).await.redirect_starting("/password/change");

    let page = b.open(&to_change).await;
    page.assert_shows("An administrator set your password");
    let wrong = b
        .change_password(&page, "fel lösenord helt och hållet", OWN)
        .await;
    wrong.assert_says(400, "current password is not correct");
    let same = b.change_password(&page, ADMIN_SET, ADMIN_SET).await;
    same.assert_says(400, "different from the current one");
    let weak = b.change_password(&page, ADMIN_SET, "kort").await;
    weak.assert_says(400, "at least 15 characters");
    let mut forged = vec![("current", ADMIN_SET), ("password", OWN), ("confirm", OWN)];
    forged.push(("csrf", "forged"));
    let forged = b.submit(&page, "/password/change", &forged).await;
    assert_eq!(forged.status, 403);
    assert_eq!(flag(&app, &id).await, 1, "nothing changed yet");

    let changed = b.change_password(&page, ADMIN_SET, OWN).await;
    changed.assert_redirect(&next);
    let done = b.follow(changed).await;
    let code_redirect = done.location.expect("redirect to the client");
    assert!(code_redirect.starts_with(REDIRECT_URI), "{code_redirect}");
    assert!(query(&code_redirect).contains_key("code"));
    assert_eq!(flag(&app, &id).await, 0);
    assert!(
        other.get("/").await.body.contains("You are not signed in."),
        "the other session ended"
    );
    assert!(b.signed_in_as("anna@example.org").await, "this one stays");
    let notice = app
        .mails_to("anna@example.org")
        .await
        .pop()
        .expect("notice");
    assert_eq!(notice.subject, "Ditt lösenord har ändrats");
    assert!(notice.text.contains("andra enheter"));
}

#[tokio::test]
async fn a_plain_login_goes_to_the_change_page_and_then_home() {
    let app = TestApp::spawn().await;
    let id = person_with_admin_set_password(&app, "bo@example.org").await;
    let b = app.browser();
    let submitted = b.login_at("/login", "bo@example.org", ADMIN_SET).await;
    assert_eq!(
        submitted.location.as_deref(),
        Some("/password/change?next=%2F")
    );
    let page = b.get("/password/change?next=https://evil.test/").await;
    let changed = b.change_password(&page, ADMIN_SET, OWN).await;
    assert_eq!(changed.status, 303);
    assert_eq!(
        changed.location.as_deref(),
        Some("/"),
        "never off the server"
    );
    assert_eq!(flag(&app, &id).await, 0);

    // The next login goes straight through.
    let again = app.browser();
    let submitted = again.login_at("/login", "bo@example.org", OWN).await;
    assert_eq!(submitted.location.as_deref(), Some("/"));

    // Without a session the page sends the browser to the login.
    let anonymous = app.browser().get("/password/change").await;
    anonymous.assert_redirect("/login");
}
