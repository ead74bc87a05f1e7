//! Send budgets per purpose (issue 14, defect 3): what strangers ask for never stops the SMS
//! of a person who proved their password. Anonymous login-key requests naming an admin's
//! number, and a member behind the same address (a club's shared NAT) spending the address's
//! budget, leave the admin's second-factor code to arrive at the gateway.

use nyckel::store;

use crate::helpers::browser::{Browser, Page};
use crate::helpers::{PASSWORD, TestApp};
use crate::login_keys::ask;
use crate::two_factor_support::{
    SESSION_COOKIE, app, last_code, password, sets_cookie, verify_phone,
};

const ADMIN: &str = "admin@example.org";
const ADMIN_PHONE: &str = "+46701234567";
const MEMBER: &str = "medlem@example.org";

/// An app where administrators use two factors; the admin of IFK has a verified number.
async fn club() -> TestApp {
    let app = app().await;
    app.create_user(ADMIN).await;
    app.create_org("IFK", "ifk").await;
    app.add_member("ifk", ADMIN, &["admin"]).await;
    verify_phone(&app, ADMIN, ADMIN_PHONE).await;
    app
}

/// Creates a person without a password whose verified number is `phone` (no hashing: fast).
async fn person_with_phone(app: &TestApp, email: &str, phone: &str) {
    let sub = nyckel::admin::users::create(
        &app.state.db,
        &app.state.hasher,
        &nyckel::auth::policy::PasswordPolicy::from_config(&app.state.config.password),
        nyckel::admin::users::CreateUser {
            email: email.into(),
            name: None,
            phone: None,
            password: None,
        },
        app.state.now(),
    )
    .await
    .expect("user created");
    store::users::set_phone(&app.state.db, &sub, Some(phone), true, app.state.now())
        .await
        .expect("phone");
}

/// The admin signs in with their password and asks for the second-factor code: the page
/// after "send", and whether an SMS with a code reached their number.
async fn admin_asks_for_the_code(app: &TestApp, b: &Browser) -> (Page, bool) {
    let before = app.sms_to(ADMIN_PHONE).await.len();
    let after = password(b, "/login", ADMIN, PASSWORD).await;
    assert_eq!(after.status, 303, "{}", after.body);
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    let second = b.get("/login/second").await;
    assert_eq!(second.status, 200, "{}", second.body);
    let sent = b.submit(&second, "/login/second/send", &[]).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let arrived = app.sms_to(ADMIN_PHONE).await.len() > before;
    (sent, arrived)
}

/// The admin's second factor arrives, and its code finishes the login.
async fn second_factor_arrives_and_works(app: &TestApp) {
    let b = app.browser();
    let (sent, arrived) = admin_asks_for_the_code(app, &b).await;
    assert!(
        arrived,
        "the admin's second-factor code was not sent; the page said:\n{}",
        sent.body
    );
    let code = last_code(app, ADMIN_PHONE).await;
    let done = b
        .submit(&sent, "/login/second/code", &[("code", &code)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(sets_cookie(&done, SESSION_COOKIE));
}

#[tokio::test]
async fn anonymous_requests_naming_an_admins_number_do_not_stop_their_second_factor() {
    let app = club().await;
    // Five strangers (or one, five times) ask for login codes to the admin's number: the
    // anonymous budget of that number is spent.
    for i in 1..=5 {
        let page = ask(&app.browser(), "070-123 45 67").await;
        assert_eq!(page.status, 200);
        assert_eq!(app.sms_to(ADMIN_PHONE).await.len(), i);
        app.advance(61);
    }
    second_factor_arrives_and_works(&app).await;
}

#[tokio::test]
async fn an_anonymous_request_does_not_put_the_second_factor_into_cooldown() {
    let app = club().await;
    ask(&app.browser(), ADMIN_PHONE).await;
    assert_eq!(app.sms_to(ADMIN_PHONE).await.len(), 1);
    // At once: the stranger's code must not hold back the admin's.
    second_factor_arrives_and_works(&app).await;
}

#[tokio::test]
async fn login_key_requests_spending_the_ip_budget_do_not_stop_a_second_factor() {
    let app = club().await;
    // One person behind the club's address asks for codes to twenty members' numbers.
    let b = app.browser();
    for i in 0..20 {
        let phone = format!("+467020000{i:02}");
        person_with_phone(&app, &format!("m{i}@example.org"), &phone).await;
        ask(&b, &phone).await;
    }
    let others = app.sms_messages().await;
    assert_eq!(others.len(), 20, "the address's budget is spent");
    // The admin signs in from the same address.
    second_factor_arrives_and_works(&app).await;
}

#[tokio::test]
async fn a_member_confirming_random_numbers_does_not_stop_a_second_factor() {
    let app = club().await;
    app.create_user(MEMBER).await;
    app.add_member("ifk", MEMBER, &["member"]).await;
    // A signed-in member behind the club's address asks to confirm twenty random numbers.
    let m = app.browser();
    let done = password(&m, "/login", MEMBER, PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    for i in 0..20 {
        let page = m.get("/account/phone").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let phone = format!("+467030000{i:02}");
        let asked = m
            .submit(&page, "/account/phone", &[("phone", &phone)])
            .await;
        assert!(!asked.status.is_server_error(), "{}", asked.body);
    }
    // The admin signs in from the same address.
    second_factor_arrives_and_works(&app).await;
}
