//! A password set by an administrator (`users.must_change_password`) must be replaced at the
//! next login before anything else: the login sends the person to `/password/change`,
//! `/authorize/continue` issues no code until then, and afterwards the person continues
//! where they were going, with the flag cleared and their other sessions ended.

use nyckel::auth::password::Password;
use nyckel::store;

use crate::flows::authorize_url;
use crate::helpers::browser::{Page, query};
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
    store::users::find(&app.state.db, id)
        .await
        .expect("query")
        .expect("user")
        .must_change_password
}

fn change_form(page: &Page, current: &str, new: &str, confirm: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = page
        .form("/password/change")
        .expect("the change form")
        .into_iter()
        .collect();
    fields.push(("current".into(), current.into()));
    fields.push(("password".into(), new.into()));
    fields.push(("confirm".into(), confirm.into()));
    fields
}

#[tokio::test]
async fn no_code_is_issued_until_the_admin_set_password_is_changed() {
    let app = TestApp::spawn().await;
    let id = person_with_admin_set_password(&app, "anna@example.org").await;
    let (client_id, _) = app.web_client().await;

    // A session from before (another device) that the change will end.
    let other = app.browser();
    let other_login = other.get("/login").await;
    other
        .submit(
            &other_login,
            "/login",
            &[("email", "anna@example.org"), ("password", ADMIN_SET)],
        )
        .await;
    assert!(other.get("/").await.body.contains("anna@example.org"));

    let b = app.browser();
    let start = authorize_url(&app.issuer, &client_id, "openid", "st", None, &[]);
    let login = b.follow(b.get(&start).await).await;
    let submitted = b
        .submit(
            &login,
            "/login",
            &[("email", "anna@example.org"), ("password", ADMIN_SET)],
        )
        .await;
    assert_eq!(submitted.status, 303);
    let to_change = submitted.location.clone().expect("redirect");
    assert!(
        to_change.starts_with("/password/change?next=%2Fauthorize%2Fcontinue%3Freq%3D"),
        "{to_change}"
    );
    // Skipping the change page: still no code, back to the change page.
    let next = query(&app.url(&to_change))["next"].clone();
    let skipped = b.get(&next).await;
    assert_eq!(skipped.status, 303);
    assert!(
        skipped
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/password/change")),
        "{:?}",
        skipped.location
    );

    let page = b.get(&to_change).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("An administrator set your password"));
    let post = |fields: Vec<(String, String)>| {
        let b = &b;
        async move {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            b.post("/password/change", &pairs).await
        }
    };
    let wrong = post(change_form(&page, "fel lösenord helt och hållet", OWN, OWN)).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("current password is not correct"));
    let same = post(change_form(&page, ADMIN_SET, ADMIN_SET, ADMIN_SET)).await;
    assert_eq!(same.status, 400);
    assert!(same.body.contains("different from the current one"));
    let weak = post(change_form(&page, ADMIN_SET, "kort", "kort")).await;
    assert_eq!(weak.status, 400);
    assert!(weak.body.contains("at least 15 characters"));
    let mut forged = change_form(&page, ADMIN_SET, OWN, OWN);
    forged.retain(|(k, _)| k != "csrf");
    forged.push(("csrf".into(), "forged".into()));
    assert_eq!(post(forged).await.status, 403);
    assert_eq!(flag(&app, &id).await, 1, "nothing changed yet");

    let changed = post(change_form(&page, ADMIN_SET, OWN, OWN)).await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    assert_eq!(changed.location.as_deref(), Some(next.as_str()));
    let done = b.follow(changed).await;
    let code_redirect = done.location.expect("redirect to the client");
    assert!(code_redirect.starts_with(REDIRECT_URI), "{code_redirect}");
    assert!(query(&code_redirect).contains_key("code"));
    assert_eq!(flag(&app, &id).await, 0);
    assert!(
        other.get("/").await.body.contains("You are not signed in."),
        "the other session ended"
    );
    assert!(
        b.get("/").await.body.contains("anna@example.org"),
        "this one stays"
    );
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
    let login = b.get("/login").await;
    let submitted = b
        .submit(
            &login,
            "/login",
            &[("email", "bo@example.org"), ("password", ADMIN_SET)],
        )
        .await;
    assert_eq!(
        submitted.location.as_deref(),
        Some("/password/change?next=%2F")
    );
    let page = b.get("/password/change?next=https://evil.test/").await;
    let fields = change_form(&page, ADMIN_SET, OWN, OWN);
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let changed = b.post("/password/change", &pairs).await;
    assert_eq!(changed.status, 303);
    assert_eq!(
        changed.location.as_deref(),
        Some("/"),
        "never off the server"
    );
    assert_eq!(flag(&app, &id).await, 0);

    // The next login goes straight through.
    let again = app.browser();
    let login = again.get("/login").await;
    let submitted = again
        .submit(
            &login,
            "/login",
            &[("email", "bo@example.org"), ("password", OWN)],
        )
        .await;
    assert_eq!(submitted.location.as_deref(), Some("/"));

    // Without a session the page sends the browser to the login.
    let anonymous = app.browser().get("/password/change").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.location.as_deref(), Some("/login"));
}
