//! Send limits against SMS pumping (SECURITY.md P6), through the login page and a local
//! server speaking the Twilio and 46elks APIs: the sixth and seventh code to one number in a
//! day reach no gateway while the page answers exactly the same; a cooldown between two
//! codes; a country outside the allowlist never gets one; per-IP, per-organisation and
//! global daily caps (the global one raises an alert).

use std::sync::atomic::Ordering;

use nyckel::sms::limits::COUNTERS;

use crate::helpers::TestApp;
use crate::helpers::sms_gateway::{Kind, app_with_gateway, test_per_gateway};

/// Runs a delivery pass (key requests, then the SMS they made).
async fn deliver(app: &TestApp) {
    nyckel::mail::deliver_due(&app.state)
        .await
        .expect("delivery pass");
}

/// A fresh browser asks for a login code for `identifier`, and the delivery pass runs.
async fn ask_and_deliver(app: &TestApp, identifier: &str) {
    app.browser().ask_key(identifier).await;
    deliver(app).await;
}

/// `n` people with the verified numbers `{prefix}0`, `{prefix}1`, ... each ask for a
/// login code from a fresh browser (from the same address), and the delivery pass runs.
async fn people_ask(app: &TestApp, n: usize, prefix: &str) {
    for i in 0..n {
        let phone = format!("{prefix}{i}");
        let email = format!("p{}@example.org", phone.trim_start_matches('+'));
        app.create_user_with_phone(&email, &phone).await;
        ask_and_deliver(app, &phone).await;
    }
}

async fn seventh_request_reaches_no_gateway(kind: Kind) {
    let (gw, app) = app_with_gateway(kind, |_| {}).await;
    app.create_user_with_phone("anna@example.org", "+46701234567")
        .await;
    let b = app.browser();
    let mut pages = Vec::new();
    for i in 1..=7 {
        let page = b.ask_key("070-123 45 67").await;
        assert_eq!(page.status, 200);
        pages.push(page.without_csrf("/login/code"));
        deliver(&app).await;
        let sent = gw.messages().len();
        assert_eq!(sent, i.min(5), "after request {i}");
        app.advance(61);
    }
    assert!(
        pages.windows(2).all(|w| w[0] == w[1]),
        "refused sends look the same"
    );
    let to = gw
        .messages()
        .iter()
        .filter_map(|m| m.to().map(str::to_string))
        .collect::<Vec<_>>();
    assert!(to.iter().all(|t| t == "+46701234567"));
    // A day later the number gets codes again.
    app.advance(86400);
    b.ask_key("070-123 45 67").await;
    deliver(&app).await;
    assert_eq!(gw.messages().len(), 6);
}

test_per_gateway!(seventh_request_reaches_no_gateway:
    the_seventh_code_to_one_number_in_a_day_reaches_no_twilio_gateway => Kind::Twilio,
    the_seventh_code_to_one_number_in_a_day_reaches_no_46elks_gateway => Kind::Elks,
);

#[tokio::test]
async fn a_second_code_within_the_cooldown_is_not_sent() {
    let (gw, app) = app_with_gateway(Kind::Twilio, |_| {}).await;
    app.create_user_with_phone("anna@example.org", "+46701234567")
        .await;
    ask_and_deliver(&app, "+46701234567").await;
    app.advance(30);
    ask_and_deliver(&app, "+46701234567").await;
    assert_eq!(gw.messages().len(), 1);
    app.advance(31);
    ask_and_deliver(&app, "+46701234567").await;
    assert_eq!(gw.messages().len(), 2);
}

#[tokio::test]
async fn numbers_outside_the_country_allowlist_never_get_a_code() {
    let (gw, app) = app_with_gateway(Kind::Elks, |_| {}).await;
    // A verified number in a country the installation does not serve (premium ranges, etc.).
    app.create_user_with_phone("bertil@example.org", "+882123456789")
        .await;
    let b = app.browser();
    let refused = b.ask_key("+882123456789").await;
    deliver(&app).await;
    assert!(gw.requests().is_empty());
    app.create_user_with_phone("anna@example.org", "+46701234567")
        .await;
    let sent = b.ask_key("+46701234567").await;
    deliver(&app).await;
    assert_eq!(gw.messages().len(), 1);
    assert_eq!(
        refused.without_csrf("/login/code"),
        sent.without_csrf("/login/code")
    );
}

#[tokio::test]
async fn many_numbers_from_one_ip_are_capped() {
    let (gw, app) = app_with_gateway(Kind::Twilio, |c| c.sms.per_ip_daily = 3).await;
    people_ask(&app, 6, "+4670100000").await;
    assert_eq!(gw.messages().len(), 3);
}

#[tokio::test]
async fn an_organisations_daily_cap_stops_its_codes() {
    let (gw, app) = app_with_gateway(Kind::Twilio, |c| c.sms.per_org_daily = 2).await;
    let org = app.create_org("Klubben", "klubben").await;
    let (client_id, _) = app
        .create_client(nyckel::admin::clients::CreateClient {
            name: "Klubbens app".into(),
            redirect_uris: vec![crate::helpers::REDIRECT_URI.into()],
            owner_organisation_id: Some(org.clone()),
            ..Default::default()
        })
        .await;
    for i in 0..4 {
        let phone = format!("+4670200000{i}");
        let email = format!("m{i}@example.org");
        app.create_user_with_phone(&email, &phone).await;
        app.add_member(&org, &email, &["member"]).await;
        let b = app.browser();
        let start =
            crate::helpers::flows::authorize_url(&app.issuer, &client_id, "openid", "s", None, &[]);
        let login = b.follow(b.get(&start).await).await;
        b.submit(&login, "/login/key", &[("identifier", &phone)])
            .await;
        deliver(&app).await;
    }
    assert_eq!(gw.messages().len(), 2);
}

#[tokio::test]
async fn the_global_daily_cap_stops_every_sms_and_raises_an_alert() {
    let (gw, app) = app_with_gateway(Kind::Twilio, |c| c.sms.global_daily = 2).await;
    let hits_before = COUNTERS.sms_global_cap_hits.load(Ordering::Relaxed);
    people_ask(&app, 4, "+4670300000").await;
    assert_eq!(gw.messages().len(), 2);
    assert!(COUNTERS.sms_global_cap_hits.load(Ordering::Relaxed) >= hits_before + 2);
    let refusals = app.audit_details("login_key.refused").await;
    let global = refusals.iter().filter(|d| d.contains("global_daily"));
    assert_eq!(global.count(), 2);
}
