//! Send budgets per purpose (issue 14, defect 3): what strangers ask for never stops the SMS
//! of a person who proved their password. Anonymous login-key requests naming an admin's
//! number, and a member behind the same address (a club's shared NAT) spending the address's
//! budget, leave the admin's second-factor code to arrive at the gateway.

use nyckel::store;

use crate::helpers::browser::{Browser, Page};
use crate::helpers::two_factor::{SESSION_COOKIE, sets_cookie};
use crate::helpers::{PASSWORD, TestApp};
use nyckel::config::Config;

const ADMIN: &str = "admin@example.org";
const ADMIN_PHONE: &str = "+46701234567";
const MEMBER: &str = "medlem@example.org";

/// An app where administrators use two factors; the admin of IFK has a verified number.
async fn club() -> TestApp {
    club_with(|_| {}).await
}

/// [`club`] with the configuration adjusted by `edit`.
async fn club_with(edit: impl FnOnce(&mut Config)) -> TestApp {
    let app = TestApp::spawn_with(edit).await;
    app.create_user_with_phone(ADMIN, ADMIN_PHONE).await;
    app.create_org("IFK", "ifk").await;
    app.add_member("ifk", ADMIN, &["admin"]).await;
    app
}

/// Creates a person without a password whose verified number is `phone` (no hashing: fast).
async fn person_with_phone(app: &TestApp, email: &str, phone: &str) {
    app.create_user_without_password(email, None).await;
    app.verify_phone(email, phone).await;
}

/// The admin signs in with their password and asks for the second-factor code: the page
/// after "send", and the code of the SMS that reached their number, if one did.
async fn admin_asks_for_the_code(app: &TestApp, b: &Browser) -> (Page, Option<String>) {
    let before: Vec<String> = app
        .sms_to(ADMIN_PHONE)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    let after = b.login_at("/login", ADMIN, PASSWORD).await;
    after.assert_redirect("/login/second");
    let sent = b.fill_at("/login/second", "/login/second/send", &[]).await;
    assert!(sent.status == 200 || sent.status == 429, "{}", sent.body);
    // Files of one second are not in sending order: the new one is the one not seen before.
    let arrived = app
        .sms_to(ADMIN_PHONE)
        .await
        .into_iter()
        .find(|m| !before.contains(&m.body))
        .map(|m| m.code());
    (sent, arrived)
}

/// The admin's second factor arrives, and its code finishes the login.
async fn second_factor_arrives_and_works(app: &TestApp) {
    let b = app.browser();
    let (sent, arrived) = admin_asks_for_the_code(app, &b).await;
    let Some(code) = arrived else {
        panic!(
            "the admin's second-factor code was not sent; the page said:\n{}",
            sent.body
        );
    };
    let done = b.type_code(&sent, "/login/second/code", &code).await;
    assert!(sets_cookie(&done.expect_status(303), SESSION_COOKIE));
}

#[tokio::test]
async fn anonymous_requests_naming_an_admins_number_do_not_stop_their_second_factor() {
    let app = club().await;
    // Five strangers (or one, five times) ask for login codes to the admin's number: the
    // anonymous budget of that number is spent.
    for i in 1..=5 {
        let page = app.browser().ask_key("070-123 45 67").await;
        assert_eq!(page.status, 200);
        assert_eq!(app.sms_to(ADMIN_PHONE).await.len(), i);
        app.advance(61);
    }
    second_factor_arrives_and_works(&app).await;
}

#[tokio::test]
async fn an_anonymous_request_does_not_put_the_second_factor_into_cooldown() {
    let app = club().await;
    app.browser().ask_key(ADMIN_PHONE).await;
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
        b.ask_key(&phone).await;
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
    m.log_in(MEMBER).await;
    for i in 0..20 {
        let phone = format!("+467030000{i:02}");
        let asked = confirm_number(&m, &phone).await;
        assert!(!asked.status.is_server_error(), "{}", asked.body);
    }
    // The admin signs in from the same address.
    second_factor_arrives_and_works(&app).await;
}

/// Asks, signed in in `b`, to confirm the number `phone`.
async fn confirm_number(b: &Browser, phone: &str) -> Page {
    b.fill("/account/phone", &[("phone", phone)]).await
}

/// Gives `email` a passkey (its credential is never used here: the page only offers it).
async fn give_passkey(app: &TestApp, email: &str) {
    let user_id = app.account(email).await.id;
    store::passkeys::insert(
        &app.state.db,
        &store::passkeys::PasskeyRow {
            id: nyckel::crypto::random_id(),
            user_id,
            credential_id: nyckel::crypto::random_id(),
            name: "Phone".into(),
            credential: "{}".into(),
            created_at: app.state.now(),
            last_used_at: None,
        },
    )
    .await
    .expect("passkey stored");
}

/// Submits the form posting to `action` on `page` with `Accept-Language: sv`.
async fn submit_sv(b: &Browser, page: &Page, action: &str) -> (u16, Option<String>, String) {
    let fields = page.form(action).expect("the form");
    let res = b
        .client
        .post(format!("{}{action}", b.issuer))
        .header("accept-language", "sv")
        .form(&fields)
        .send()
        .await
        .expect("POST");
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry, res.text().await.expect("body"))
}

#[tokio::test]
async fn a_second_factor_within_the_cooldown_says_when_to_retry_and_offers_the_passkey() {
    let app = club().await;
    give_passkey(&app, ADMIN).await;
    // The admin signs in and gets a code.
    let first = app.browser();
    let (_, arrived) = admin_asks_for_the_code(&app, &first).await;
    assert!(arrived.is_some());
    // Fifteen seconds later, in another browser (or tab: a new login), again.
    app.advance(15);
    let b = app.browser();
    let (refused, arrived) = admin_asks_for_the_code(&app, &b).await;
    assert!(arrived.is_none(), "no second SMS within the cooldown");
    assert_eq!(refused.status, 429);
    assert_eq!(
        refused
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("45")
    );
    assert!(
        refused.body.contains("No new code was sent")
            && refused.body.contains("45 seconds")
            && refused.body.contains("You can use your passkey instead."),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("We have sent a code"));
    // The other factor is offered, and so is sending again later; no code field (no code of
    // this login is out).
    assert!(refused.has_form("/login/second/passkey/start"));
    assert!(refused.has_form("/login/second/send"));
    assert!(!refused.has_form("/login/second/code"));
    // In Swedish.
    let second = b.get("/login/second").await;
    let (status, retry, body) = submit_sv(&b, &second, "/login/second/send").await;
    assert_eq!(status, 429);
    assert_eq!(retry.as_deref(), Some("45"));
    assert!(
        body.contains("Ingen ny kod skickades") && body.contains("45 sekunder"),
        "{body}"
    );
    // After the cooldown the code is sent, and works.
    app.advance(46);
    let before = app.sms_to(ADMIN_PHONE).await;
    let sent = b.submit(&second, "/login/second/send", &[]).await;
    let sent = sent.expect_status(200);
    let after = app.sms_to(ADMIN_PHONE).await;
    assert_eq!(after.len(), before.len() + 1);
    let code = after
        .iter()
        .find(|m| before.iter().all(|o| o.body != m.body))
        .expect("the new SMS")
        .code();
    let done = b.type_code(&sent, "/login/second/code", &code).await;
    done.expect_status(303);
}

#[tokio::test]
async fn sending_twice_in_one_step_keeps_the_first_code_usable_and_says_so() {
    let app = club().await;
    let b = app.browser();
    let (sent, arrived) = admin_asks_for_the_code(&app, &b).await;
    let code = arrived.expect("the code arrived");
    let again = b.submit(&sent, "/login/second/send", &[]).await;
    again.assert_says(429, "still works");
    assert_eq!(app.sms_to(ADMIN_PHONE).await.len(), 1);
    let done = b.type_code(&again, "/login/second/code", &code).await;
    done.expect_status(303);
}

#[tokio::test]
async fn second_factors_are_capped_per_person_and_told_so() {
    let app = club_with(|c| c.sms.per_person_daily = 2).await;
    for _ in 0..2 {
        let (_, arrived) = admin_asks_for_the_code(&app, &app.browser()).await;
        assert!(arrived.is_some());
        app.advance(61);
    }
    let (refused, arrived) = admin_asks_for_the_code(&app, &app.browser()).await;
    assert!(arrived.is_none());
    assert_eq!(refused.status, 429);
    assert!(
        refused.body.contains("too many codes were asked for today")
            && refused
                .body
                .contains("You can ask for a new one in 24 hours"),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn the_anonymous_page_answers_the_same_for_known_unknown_and_refused_numbers() {
    let app = club().await;
    let b = app.browser();
    let sent = b.ask_key(ADMIN_PHONE).await;
    assert_eq!(app.sms_to(ADMIN_PHONE).await.len(), 1);
    // At once again: refused by the cooldown, in the background.
    let refused = b.ask_key(ADMIN_PHONE).await;
    assert_eq!(app.sms_to(ADMIN_PHONE).await.len(), 1);
    let unknown = b.ask_key("+46709999999").await;
    for page in [&sent, &refused, &unknown] {
        assert_eq!(page.status, 200);
        assert!(page.headers.get("retry-after").is_none());
        assert!(!page.body.contains("No new code"));
    }
    assert_eq!(
        sent.without_csrf("/login/code"),
        refused.without_csrf("/login/code")
    );
    assert_eq!(
        sent.without_csrf("/login/code"),
        unknown.without_csrf("/login/code")
    );
    // The refusal is in the audit log, for the operator.
    let refusals = app.audit_details("login_key.refused").await;
    assert_eq!(
        refusals.iter().filter(|d| d.contains("cooldown")).count(),
        1
    );
}

#[tokio::test]
async fn an_anonymous_flood_stops_at_its_share_and_second_factors_use_the_reserve() {
    let app = club_with(|c| {
        c.sms.per_ip_daily = 1000;
        c.sms.global_daily = 10;
        c.sms.reserved_percent = 20;
    })
    .await;
    // A flood of anonymous requests to many verified numbers: 8 of 10 go out, then nothing.
    let b = app.browser();
    for i in 0..12 {
        let phone = format!("+467040000{i:02}");
        person_with_phone(&app, &format!("f{i}@example.org"), &phone).await;
        b.ask_key(&phone).await;
    }
    assert_eq!(app.sms_messages().await.len(), 8);
    // The admin's second factor uses the reserve.
    second_factor_arrives_and_works(&app).await;
    assert_eq!(app.sms_messages().await.len(), 9);
    // The whole cap still holds for everyone: a signed-in member confirming numbers gets one
    // more, then nothing.
    app.create_user(MEMBER).await;
    let m = app.browser();
    m.log_in(MEMBER).await;
    let mut statuses = Vec::new();
    for phone in ["+46705000001", "+46705000002"] {
        let asked = confirm_number(&m, phone).await;
        statuses.push(asked.status.as_u16());
        if asked.status == 429 {
            assert!(
                asked.body.contains("as many SMS as it may"),
                "{}",
                asked.body
            );
        }
    }
    assert_eq!(statuses, vec![200, 429]);
    assert_eq!(app.sms_messages().await.len(), 10);
}

#[tokio::test]
async fn a_signed_in_member_cannot_pump_sms_through_number_confirmations() {
    let app = TestApp::spawn_with(|c| c.sms.per_person_daily = 3).await;
    app.create_user(MEMBER).await;
    let m = app.browser();
    m.log_in(MEMBER).await;
    // One number again and again: the cooldown, then its cap per number.
    let first = confirm_number(&m, "+46706000000").await;
    assert_eq!(first.status, 200);
    let again = confirm_number(&m, "+46706000000").await;
    assert_eq!(again.status, 429);
    assert!(again.body.contains("a moment ago"), "{}", again.body);
    // Many numbers: three a day per person, whatever the numbers.
    for i in 1..6 {
        app.advance(61);
        confirm_number(&m, &format!("+4670600000{i}")).await;
    }
    assert_eq!(app.sms_messages().await.len(), 3);
    let refused = confirm_number(&m, "+46706000009").await;
    assert_eq!(refused.status, 429);
    assert!(
        refused.body.contains("too many codes were asked for today"),
        "{}",
        refused.body
    );
    assert!(refused.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn the_person_a_send_was_counted_for_is_erased_with_the_account() {
    let app = TestApp::spawn().await;
    let sub = app.create_user(MEMBER).await;
    let m = app.browser();
    m.log_in(MEMBER).await;
    confirm_number(&m, "+46708000000").await.expect_status(200);
    let hash = nyckel::sms::limits::person_hash(&app.state, &sub);
    let sends =
        "select count(*) from message_sends where person_hash = $1 and budget = 'new_channel'";
    let args = [hash.as_str()];
    let count = || app.count_with(sends, &args);
    assert_eq!(count().await, 1);
    let user = store::users::find(&app.state.db, &sub)
        .await
        .expect("query")
        .expect("user");
    nyckel::auth::own_data::erase_account(
        &app.state,
        &user,
        store::erasure::ErasedBy::Other("test"),
    )
    .await
    .expect("erased");
    assert_eq!(count().await, 0);
}
