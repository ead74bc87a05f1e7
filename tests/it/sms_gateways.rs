//! The HTTP SMS gateways (Twilio, 46elks, webhook) against a fake gateway on loopback: the
//! exact request each makes (path, credentials, sender, recipient, text), one delivery per
//! message; an outage, wrong credentials, a gateway that never answers and an untrusted
//! certificate leave the message queued with a reason that holds nothing of the message or
//! the credentials; the configuration refuses what cannot work.

use std::time::Duration;

use nyckel::config::Config;
use nyckel::sms::SmsMessage;
use nyckel::store;
use nyckel::store::outbox::Status;

use crate::helpers::TestApp;
use crate::helpers::sms_gateway::{
    FROM, FakeGateway, Kind, TOKEN, app_with_gateway, test_per_gateway,
};

const NUMBER: &str = "+46701234567";
const CODE: &str = "482915";
const ID: &str = "some-id";

fn message() -> SmsMessage {
    SmsMessage::new(NUMBER, format!("Din kod till Nyckel: {CODE}")).expect("a valid SMS")
}

/// Queues [`message`] as [`ID`] and runs a delivery pass (the server's own loop may have
/// run it first: when the pass returns, the message was tried).
async fn queue_and_deliver(app: &TestApp) {
    nyckel::sms::enqueue(&app.state, ID, &message())
        .await
        .expect("queued");
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
}

async fn status(app: &TestApp) -> Status {
    store::outbox::status(&app.state.db, ID)
        .await
        .expect("status")
        .expect("the row is there")
}

/// The message is kept unsent after one attempt; returns `last_error`, checked to hold
/// nothing of the message or the credentials.
async fn kept_with_reason(app: &TestApp) -> String {
    let status = status(app).await;
    assert!(status.sent_at.is_none(), "not marked sent");
    assert_eq!(status.attempts, 1);
    let error = status.last_error.expect("last_error says why");
    for secret in [TOKEN, NUMBER, "701234567", CODE, "Din kod"] {
        assert!(!error.contains(secret), "{secret:?} in last_error: {error}");
    }
    error
}

/// The message is marked sent after `attempts` tries, one of them delivered, and a later
/// pass tries it no more.
async fn sent_once(app: &TestApp, gw: &FakeGateway, attempts: usize) {
    let status = status(app).await;
    assert!(status.sent_at.is_some() && status.last_error.is_none());
    assert_eq!(status.attempts as usize, attempts);
    app.advance(7200);
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    assert_eq!(gw.requests().len(), attempts, "never sent twice");
    assert_eq!(gw.messages().len(), 1, "delivered exactly once");
}

/// A message reaches `kind` once, with exactly the request its API wants.
async fn delivered_once(kind: Kind) {
    let (gw, app) = app_with_gateway(kind, |_| {}).await;
    let gateway = &app.state.sms.gateway;
    assert!(gateway.sends());
    assert_eq!(
        gateway.describe(),
        format!("{} at {}", kind.name(), gw.addr)
    );
    assert!(!format!("{:?}", app.state.sms).contains(TOKEN));

    queue_and_deliver(&app).await;

    let requests = gw.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, kind.path());
    assert_eq!(
        r.authorization.as_deref(),
        Some(kind.authorization().as_str())
    );
    assert_eq!(r.to(), Some(NUMBER));
    let content_type = r.content_type.as_deref().unwrap_or("");
    match kind {
        Kind::Webhook => assert_eq!(content_type, "application/json"),
        _ => assert_eq!(content_type, "application/x-www-form-urlencoded"),
    }
    let [from, to, text] = kind.fields();
    let mut expected = vec![
        (from.to_string(), FROM.to_string()),
        (to.to_string(), NUMBER.to_string()),
        (text.to_string(), format!("Din kod till Nyckel: {CODE}")),
    ];
    if kind == Kind::Webhook {
        expected.push(("id".into(), ID.into()));
    }
    expected.sort();
    let fields: Vec<(String, String)> = r.fields.clone().into_iter().collect();
    assert_eq!(fields, expected, "exactly these fields");
    assert!(r.accepted());
    assert_eq!(gw.last_text().as_deref(), Some(message().body.as_str()));

    sent_once(&app, &gw, 1).await;
}

test_per_gateway!(delivered_once:
    twilio_gets_the_message_with_basic_auth_and_its_form_fields => Kind::Twilio,
    elks_gets_the_message_with_basic_auth_and_its_form_fields => Kind::Elks,
    the_webhook_gets_the_message_as_json_with_the_bearer_token => Kind::Webhook,
);

#[tokio::test]
async fn a_webhook_without_a_token_gets_no_authorization_header() {
    let (gw, app) = app_with_gateway(Kind::Webhook, |c| c.sms.token = None).await;
    queue_and_deliver(&app).await;
    let requests = gw.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].authorization, None);
    assert!(status(&app).await.sent_at.is_some());
}

/// A 503 keeps the message; after the backoff the next pass delivers it, once.
async fn outage_then_delivery(kind: Kind) {
    let gw = FakeGateway::start().await;
    gw.fail_next(1);
    let app = TestApp::spawn_with(|c| gw.configure(kind, c)).await;
    queue_and_deliver(&app).await;
    assert_eq!(gw.requests().len(), 1);
    assert!(gw.messages().is_empty());
    let error = kept_with_reason(&app).await;
    assert!(error.contains("503"), "{error}");
    assert!(error.contains(&gw.addr.to_string()), "{error}");

    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    assert_eq!(gw.requests().len(), 1, "not retried before the backoff");
    app.advance(nyckel::mail::delivery::backoff(1) + 1);
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    let requests = gw.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].status, Some(503));
    assert!(requests[1].accepted());
    sent_once(&app, &gw, 2).await;
}

test_per_gateway!(outage_then_delivery:
    a_twilio_outage_keeps_the_message_until_a_later_pass => Kind::Twilio,
    an_elks_outage_keeps_the_message_until_a_later_pass => Kind::Elks,
    a_webhook_outage_keeps_the_message_until_a_later_pass => Kind::Webhook,
);

/// Wrong credentials: the gateway answers 401 and the message is not marked sent; the
/// reason names the gateway.
async fn refused_credentials(kind: Kind) -> String {
    let wrong = "wrong-sms-token-c41f";
    let (gw, app) = app_with_gateway(kind, |c| c.sms.token = Some(wrong.into())).await;
    queue_and_deliver(&app).await;
    let requests = gw.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].status, Some(401));
    assert!(gw.messages().is_empty());
    let error = kept_with_reason(&app).await;
    assert!(error.contains("401"), "{error}");
    assert!(!error.contains(wrong), "{error}");
    let gateway = format!("{} at 127.0.0.1:", kind.name());
    assert!(error.starts_with(&gateway), "{error}");
    error
}

#[tokio::test]
async fn wrong_twilio_credentials_do_not_mark_the_message_sent() {
    let error = refused_credentials(Kind::Twilio).await;
    assert!(error.contains("Twilio error 20003"), "{error}");
}

test_per_gateway!(refused_credentials:
    wrong_elks_credentials_do_not_mark_the_message_sent => Kind::Elks,
    a_wrong_webhook_token_does_not_mark_the_message_sent => Kind::Webhook,
);

#[tokio::test]
async fn a_gateway_that_never_answers_hits_the_timeout() {
    let gw = FakeGateway::start().await;
    // Far longer than sms.timeout: were there no timeout, the fake would answer 201 at last
    // and the message would be marked sent.
    gw.hang(Some(Duration::from_secs(8)));
    let app = TestApp::spawn_with(|c| {
        gw.configure(Kind::Twilio, c);
        c.sms.timeout = 1;
    })
    .await;
    queue_and_deliver(&app).await;
    assert_eq!(gw.requests().len(), 1, "it did ask");
    let error = kept_with_reason(&app).await;
    assert!(error.starts_with("Twilio at 127.0.0.1:"), "{error}");
    assert!(error.contains("timed out"), "{error}");
}

#[tokio::test]
async fn a_gateway_with_an_untrusted_certificate_gets_nothing() {
    let gw = FakeGateway::start_untrusted_tls().await;
    let app = TestApp::spawn_with(|c| gw.configure(Kind::Elks, c)).await;
    queue_and_deliver(&app).await;
    assert!(gw.requests().is_empty(), "no request got through");
    let error = kept_with_reason(&app).await;
    assert!(error.starts_with("46elks at 127.0.0.1:"), "{error}");
    assert!(error.contains("could not connect"), "{error}");
    assert!(error.contains("certificate"), "{error}");
}

#[test]
fn the_configuration_refuses_gateways_that_cannot_work() {
    let with = |edit: &dyn Fn(&mut Config)| {
        let mut c = Config::default();
        edit(&mut c);
        c.validate().map_err(|e| e.to_string())
    };
    let twilio = |c: &mut Config| {
        c.sms.gateway = "twilio".into();
        c.sms.account = Some("AC123".into());
        c.sms.token = Some(TOKEN.into());
    };
    with(&twilio).expect("twilio with account and token");
    for gateway in ["twilio", "46elks"] {
        for (account, token) in [(None, Some(TOKEN)), (Some("AC123"), None), (None, None)] {
            let err = with(&|c| {
                c.sms.gateway = gateway.into();
                c.sms.account = account.map(str::to_string);
                c.sms.token = token.map(str::to_string);
            })
            .expect_err("credentials required");
            assert!(
                err.contains("sms.account") && err.contains("sms.token"),
                "{err}"
            );
        }
    }
    let err = with(&|c| c.sms.gateway = "webhook".into()).expect_err("webhook needs a URL");
    assert!(err.contains("sms.api_url"), "{err}");
    let err = with(&|c| c.sms.gateway = "carrier-pigeon".into()).expect_err("unknown gateway");
    assert!(err.contains("sms.gateway"), "{err}");

    for url in [
        "http://sms.example.org",
        "http://192.0.2.10:8080/hook",
        "ftp://127.0.0.1/",
        "not a url",
    ] {
        let err = with(&|c| {
            twilio(c);
            c.sms.api_url = Some(url.into());
        })
        .expect_err("plain HTTP off loopback refused");
        assert!(err.contains("sms.api_url"), "{url}: {err}");
    }
    for url in [
        "https://sms.example.org",
        "http://127.0.0.1:9000",
        "http://[::1]:9000",
        "http://localhost:9000",
    ] {
        with(&|c| {
            twilio(c);
            c.sms.api_url = Some(url.into());
        })
        .unwrap_or_else(|e| panic!("{url} accepted: {e}"));
    }
    let err = with(&|c| {
        twilio(c);
        c.sms.timeout = 0;
    })
    .expect_err("timeout 0");
    assert!(err.contains("sms.timeout"), "{err}");
}
