//! Two-factor login (issue 5): an organisation requiring two factors gets no session from a
//! password alone; password + SMS code gives a session and tokens with `amr`
//! `["pwd","sms","mfa"]` and `acr` 2fa; a plain member gets `["pwd"]` and 1fa; an admin with
//! no second factor is asked to add one (and gets in with it); wrong codes end the step; the
//! step works only in its browser; a password reset never bypasses the second factor; the
//! person's own setting and the organisation's setting (admin API) work and are audited.

use serde_json::json;

use nyckel::store;

use crate::helpers::admin::World;
use crate::helpers::api_fixtures::Api;
use crate::helpers::two_factor::*;
use crate::helpers::{PASSWORD, TestApp};

const ANNA: &str = "anna@example.org";
const ANNA_PHONE: &str = "+46701234567";
const BO: &str = "bo@example.org";
const BO_PHONE: &str = "+46707654321";
const NEW_PASSWORD: &str = "hjortronsylt på fjället 7";

/// Whether the person `id` turned "two factors" on for themselves.
async fn own_setting(app: &TestApp, id: &str) -> bool {
    store::factors::user_requires(&app.state.db, id)
        .await
        .expect("the setting")
}

/// Whether club A requires two factors of its members.
async fn club_a_requires(w: &World) -> bool {
    store::factors::org_requires(&w.app.state.db, &w.org_a)
        .await
        .expect("the setting")
}

#[tokio::test]
async fn an_organisation_requiring_two_factors_gets_no_session_from_a_password_alone() {
    let app = app().await;
    app.create_user(ANNA).await;
    app.create_user(BO).await;
    let ifk = app.create_org("IFK", "ifk").await;
    app.create_org("GAIS", "gais").await;
    app.add_member("ifk", ANNA, &["member"]).await;
    app.add_member("gais", BO, &["member"]).await;
    verify_phone(&app, ANNA, ANNA_PHONE).await;
    org_requires(&app, &ifk).await;
    let client = app.web_client().await;

    // The password alone: no session cookie, no session row, no code, no SMS yet.
    let (flow, b, req, after) = flow_with_password(&app, &client, ANNA).await;
    assert_eq!(after.status, 303, "{}", after.body);
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    assert!(!sets_cookie(&after, SESSION_COOKIE));
    assert!(sets_cookie(&after, STEP_COOKIE));
    assert_eq!(session_count(&app, ANNA).await, 0);
    let cont = b.get(&format!("/authorize/continue?req={req}")).await;
    // No code without the second factor.
    cont.redirect_starting("/login?req=");
    assert!(!b.get("/").await.body.contains(ANNA));
    assert!(app.sms_to(ANNA_PHONE).await.is_empty());

    // The second step offers the verified number (masked) and sends a code only when asked.
    let second = b.get("/login/second").await;
    assert_eq!(second.status, 200);
    assert!(second.has_form("/login/second/send"));
    assert!(!second.body.contains(ANNA_PHONE));
    let done = sms_step(&app, &b, ANNA_PHONE).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(sets_cookie(&done, SESSION_COOKIE));
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/authorize/continue?req={req}").as_str())
    );
    let at_client = b.follow(done).await;
    let claims = flow.finish(&app, &at_client).await;
    assert_two_factors(&app, ANNA, &claims, &["pwd", "sms", "mfa"]).await;

    // A plain member of an organisation without the requirement: one factor, said so.
    let flow = Flow::start(&app, &client, &[]).await;
    let c = app.browser();
    let at_client = through(&app, &c, c.get(&flow.url).await, BO, None).await;
    let claims = flow.finish(&app, &at_client).await;
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["acr"], ACR_1FA);
}

#[tokio::test]
async fn an_admin_without_a_second_factor_is_asked_to_add_one_and_gets_in_with_it() {
    let app = app().await;
    let bo = app.create_user(BO).await;
    app.create_org("IFK", "ifk").await;
    app.add_member("ifk", BO, &["admin"]).await;
    let client = app.web_client().await;

    let (flow, b, _, after) = flow_with_password(&app, &client, BO).await;
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    assert!(!sets_cookie(&after, SESSION_COOKIE));
    let page = b.get("/login/second").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("You administer IFK"), "{}", page.body);
    assert!(page.has_form("/login/second/enrol"));
    assert!(!page.has_form("/login/second/send"));
    assert_eq!(session_count(&app, BO).await, 0);

    // Bad input: a helpful page, nothing sent.
    let bad = b
        .submit(&page, "/login/second/enrol", &[("phone", "not a number")])
        .await;
    assert_eq!(bad.status, 200);
    assert!(bad.body.contains("does not look like a mobile number"));
    assert!(app.sms_to(BO_PHONE).await.is_empty());

    let sent = b
        .submit(&page, "/login/second/enrol", &[("phone", BO_PHONE)])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let code = last_code(&app, BO_PHONE).await;
    let done = b
        .submit(&sent, "/login/second/enrol/code", &[("code", &code)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(sets_cookie(&done, SESSION_COOKIE));
    let claims = flow.finish(&app, &b.follow(done).await).await;
    assert_eq!(claims["amr"], json!(["pwd", "sms", "mfa"]));
    assert_eq!(claims["acr"], ACR_2FA);
    let user = store::users::find(&app.state.db, &bo)
        .await
        .expect("query")
        .expect("user");
    assert_eq!(user.verified_phone(), Some(BO_PHONE));

    // Next time (after the SMS cooldown), the enrolled number is the second factor.
    app.advance(app.state.config.sms.cooldown + 1);
    let c = app.browser();
    let after = password(&c, "/login", BO, PASSWORD).await;
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    let done = sms_step(&app, &c, BO_PHONE).await;
    assert_eq!(done.status, 303);
    assert!(sets_cookie(&done, SESSION_COOKIE));
}

#[tokio::test]
async fn wrong_codes_end_the_step_and_the_step_works_only_in_its_browser() {
    let app = app().await;
    person_requiring_two(&app, ANNA, ANNA_PHONE).await;

    let a = app.browser();
    password(&a, "/login", ANNA, PASSWORD).await;
    let page = a.get("/login/second").await;
    let sent = a.submit(&page, "/login/second/send", &[]).await;
    let code = last_code(&app, ANNA_PHONE).await;

    // Another browser has no step: nothing to show, and A's form token is no use there.
    let b = app.browser();
    let elsewhere = b.get("/login/second").await;
    assert_eq!(elsewhere.status, 400);
    assert!(!elsewhere.has_form("/login/second/send"));
    let csrf = sent.form("/login/second/code").expect("code form")["csrf"].clone();
    let forged = b
        .post("/login/second/code", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(forged.status, 400);
    assert!(!sets_cookie(&forged, SESSION_COOKIE));
    // With a step of its own, another step's token is refused.
    password(&b, "/login", ANNA, PASSWORD).await;
    let forged = b
        .post("/login/second/code", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(session_count(&app, ANNA).await, 0);

    // In A: wrong codes up to the cap end the step; then even the right code does nothing.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let max = app.state.config.login.code_attempts;
    for i in 1..=max {
        let r = a
            .submit(&sent, "/login/second/code", &[("code", wrong)])
            .await;
        if i < max {
            assert_eq!(r.status, 200, "guess {i}");
            assert!(r.body.contains("The code is wrong"));
        } else {
            assert_eq!(r.status, 400, "guess {i} ends the step");
            assert!(r.body.contains("sign in again"), "{}", r.body);
        }
    }
    let late = a
        .submit(&sent, "/login/second/code", &[("code", &code)])
        .await;
    assert_eq!(late.status, 400);
    assert!(!sets_cookie(&late, SESSION_COOKIE));
    assert_eq!(session_count(&app, ANNA).await, 0);
    assert!(app.audit_count("login.failure").await >= max);
}

#[tokio::test]
async fn a_password_reset_does_not_bypass_the_second_factor() {
    let app = app().await;
    person_requiring_two(&app, ANNA, ANNA_PHONE).await;

    let a = app.browser();
    a.forgot(ANNA).await;
    let form = a.open(&app.reset_link(ANNA).await).await;
    let done = a.set_password(&form, NEW_PASSWORD).await.expect_status(200);
    assert!(!sets_cookie(&done, SESSION_COOKIE));

    // The new password alone: a second step, no session.
    let after = password(&a, "/login", ANNA, NEW_PASSWORD).await;
    assert_eq!(after.status, 303);
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    assert!(!sets_cookie(&after, SESSION_COOKIE));
    assert_eq!(session_count(&app, ANNA).await, 0);
    assert!(!a.get("/").await.body.contains(ANNA));
    let done = sms_step(&app, &a, ANNA_PHONE).await;
    assert!(sets_cookie(&done, SESSION_COOKIE));
}

#[tokio::test]
async fn the_persons_own_setting() {
    let app = app().await;
    let anna = app.create_user(ANNA).await;
    let a = app.browser();
    let login = password(&a, "/login?next=/account/security", ANNA, PASSWORD).await;
    assert_eq!(login.location.as_deref(), Some("/account/security"));
    let page = a.get("/account/security").await;
    assert_eq!(page.status, 200, "{}", page.body);

    // On without a factor: refused, nothing stored.
    let refused = a.submit(&page, "/account/security", &[]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("Add a second factor"));
    assert!(!own_setting(&app, &anna).await);
    // A form without the session's token: 403.
    let forged = a
        .post("/account/security", &[("csrf", "x"), ("required", "on")])
        .await;
    assert_eq!(forged.status, 403);

    verify_phone(&app, ANNA, ANNA_PHONE).await;
    let page = a.get("/account/security").await;
    assert!(
        page.body.contains("+46•••••••67"),
        "the number, masked: {}",
        page.body
    );
    let on = a.submit(&page, "/account/security", &[]).await;
    assert_eq!(on.status, 200, "{}", on.body);
    assert!(on.body.contains("Saved."));
    assert!(own_setting(&app, &anna).await);
    assert_eq!(app.audit_count("second_factor.own_setting").await, 1);

    // Off needs a session of two factors: this one has one.
    let off = a.submit(&on, "/account/security", &[]).await;
    assert_eq!(off.status, 400);
    assert!(off.body.contains("both factors"));

    // A new login now needs the SMS code; in that session, off works.
    let b = app.browser();
    let after = password(&b, "/login?next=/account/security", ANNA, PASSWORD).await;
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    let done = sms_step(&app, &b, ANNA_PHONE).await;
    assert_eq!(done.location.as_deref(), Some("/account/security"));
    let page = b.get("/account/security").await;
    let off = b.submit(&page, "/account/security", &[]).await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert!(!own_setting(&app, &anna).await);
    assert_eq!(app.audit_count("second_factor.own_setting").await, 2);
}

#[tokio::test]
async fn the_organisation_setting_through_the_admin_api() {
    let w = World::new().await;
    let path = "/orgs/club-a/two-factors";
    // Two factors: once the organisation requires them, a token of one factor no longer
    // works on the admin API (it is checked at every use).
    let admin = Api::new(&w.app, Some(&w.token_2fa(&w.admin_a).await));
    let got = admin.get(path).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json["require_two_factors"], false);

    let member = Api::new(&w.app, Some(&w.token(&w.member_a).await));
    let refused = member
        .put(path, &json!({ "require_two_factors": true }))
        .await;
    assert!(matches!(refused.status, 403 | 404), "{}", refused.text);
    let other = Api::new(&w.app, Some(&w.token(&w.admin_b).await));
    let refused = other
        .put(path, &json!({ "require_two_factors": true }))
        .await;
    assert!(matches!(refused.status, 403 | 404), "{}", refused.text);
    let bad = admin
        .put(path, &json!({ "require_two_factors": "yes" }))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(!club_a_requires(&w).await);

    let set = admin
        .put(path, &json!({ "require_two_factors": true }))
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json["require_two_factors"], true);
    assert_eq!(admin.get(path).await.json["require_two_factors"], true);
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from audit_events where kind = 'admin.org_two_factors' and organisation_id = $1 and actor_id = $2",
    )
    .bind(&w.org_a)
    .bind(&w.admin_a.id)
    .fetch_one(w.app.state.db.pool())
    .await
    .expect("audit");
    assert_eq!(n, 1);

    // A member of club A now gets no session from the password; asked to add a factor.
    let b = w.app.browser();
    let after = password(&b, "/login", &w.member_a.email, PASSWORD).await;
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    assert!(!sets_cookie(&after, SESSION_COOKIE));
    let page = b.get("/login/second").await;
    assert!(
        page.body.contains("Club A requires two factors"),
        "{}",
        page.body
    );
    // A member of club B only is not affected.
    let c = w.app.browser();
    let after = password(&c, "/login", &w.member_b.email, PASSWORD).await;
    assert!(sets_cookie(&after, SESSION_COOKIE));
}

#[tokio::test]
async fn a_login_key_is_a_first_factor_only_and_sms_does_not_count_twice() {
    let app = app().await;
    person_requiring_two(&app, ANNA, ANNA_PHONE).await;

    // An emailed code: no session, the second step; then email + SMS.
    let a = app.browser();
    let sent = a.ask_key(ANNA).await;
    let code = app.code_in_mail(ANNA, "/l/").await;
    let after = a.type_code(&sent, "/login/code", &code).await;
    assert_eq!(after.status, 303, "{}", after.body);
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    assert!(!sets_cookie(&after, SESSION_COOKIE));
    assert_eq!(session_count(&app, ANNA).await, 0);
    let done = sms_step(&app, &a, ANNA_PHONE).await;
    assert!(sets_cookie(&done, SESSION_COOKIE));
    assert_two_factor_session(&app, ANNA, &["email", "sms", "mfa"]).await;

    // An SMS code as the first factor: SMS cannot be the second; no enrolment of another
    // phone either. The person is told to use the password.
    app.advance(app.state.config.sms.cooldown + 1);
    let b = app.browser();
    let sent = b.ask_key(ANNA_PHONE).await;
    let code = app.sms_code(ANNA_PHONE).await;
    let after = b.type_code(&sent, "/login/code", &code).await;
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    assert!(!sets_cookie(&after, SESSION_COOKIE));
    let page = b.get("/login/second").await;
    assert_eq!(page.status, 200);
    assert!(!page.has_form("/login/second/send"));
    assert!(!page.has_form("/login/second/enrol"));
    assert!(
        page.body.contains("Sign in with your password"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(ANNA_PHONE));
    assert_eq!(
        session_count(&app, ANNA).await,
        1,
        "only the email + SMS session"
    );
}

#[tokio::test]
async fn the_operators_reset_removes_the_factor_ends_sessions_and_tells_the_person() {
    let app = app().await;
    app.create_user(BO).await;
    app.create_org("IFK", "ifk").await;
    app.add_member("ifk", BO, &["admin"]).await;
    verify_phone(&app, BO, BO_PHONE).await;
    let a = app.browser();
    password(&a, "/login", BO, PASSWORD).await;
    sms_step(&app, &a, BO_PHONE).await;
    assert!(a.get("/").await.body.contains(BO));

    // What `nyckel user reset-factors` runs.
    let done = nyckel::auth::factors::settings::reset(&app.state, BO)
        .await
        .expect("reset")
        .expect("the account");
    assert_eq!(done.sessions_ended, 1);
    assert!(!a.get("/").await.body.contains(BO), "signed out");
    let notice = app
        .mails_to(BO)
        .await
        .into_iter()
        .find(|m| m.subject.contains("andra faktorer"))
        .expect("a notice to the person");
    assert!(!notice.text.contains(BO_PHONE));
    assert_eq!(app.audit_count("second_factor.reset").await, 1);

    // The next login asks for a new factor, as at first enrolment.
    let b = app.browser();
    password(&b, "/login", BO, PASSWORD).await;
    let page = b.get("/login/second").await;
    page.assert_form("/login/second/enrol");
    assert!(!page.has_form("/login/second/send"));
}

#[tokio::test]
async fn the_organisation_setting_in_the_admin_ui() {
    let w = World::new().await;
    let path = "/admin/orgs/club-a/two-factors";
    let admin = w.browser(&w.admin_a).await;
    let roles = admin.get("/admin/orgs/club-a/roles").await;
    assert!(roles.body.contains(path), "linked from the roles page");
    let page = admin.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("may sign in with one factor"));

    // Without the form's token: refused, nothing changed.
    let forged = admin.post(path, &[("required", "on")]).await;
    assert_eq!(forged.status, 403);
    // A member of the organisation (not an admin), and another organisation's admin.
    for who in [&w.member_a, &w.admin_b] {
        let b = w.browser(who).await;
        let seen = b.get(path).await;
        assert!(matches!(seen.status.as_u16(), 403 | 404), "{}", seen.status);
    }
    assert!(!club_a_requires(&w).await);

    let saved = admin.submit(&page, path, &[]).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(saved.body.contains("must sign in with two factors"));
    assert!(club_a_requires(&w).await);
    // The rule applies to the admin too: their one-factor session is sent to log in again.
    let off = admin.submit(&saved, path, &[]).await;
    off.redirect_starting("/login");
    assert!(club_a_requires(&w).await);
}

#[tokio::test]
async fn the_admin_pages_need_a_two_factor_session_of_an_admin() {
    let app = app().await;
    app.create_user(BO).await;
    app.create_org("IFK", "ifk").await;
    app.add_member("ifk", BO, &["member"]).await;
    verify_phone(&app, BO, BO_PHONE).await;
    // A one-factor session from before Bo became an administrator.
    let a = app.browser();
    let login = password(&a, "/login", BO, PASSWORD).await;
    assert!(sets_cookie(&login, SESSION_COOKIE));
    app.add_member("ifk", BO, &["admin"]).await;
    let refused = a.get("/admin/orgs/ifk/members").await;
    refused.redirect_starting("/login?next=");
    // Both factors: in.
    let after = password(&a, "/login?next=/admin/orgs/ifk/members", BO, PASSWORD).await;
    assert_eq!(after.location.as_deref(), Some("/login/second"));
    let done = sms_step(&app, &a, BO_PHONE).await;
    assert_eq!(done.location.as_deref(), Some("/admin/orgs/ifk/members"));
    let page = a.get("/admin/orgs/ifk/members").await;
    assert_eq!(page.status, 200, "{}", page.body);
}
