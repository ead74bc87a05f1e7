//! Signed event webhooks (issue 18): every event type reaches the endpoints that listen, each
//! delivery signed per Standard Webhooks and verified by the official Python implementation
//! (PyPI `standardwebhooks`, not this project's code; skipped loudly without it, required in
//! CI); an organisation's endpoint hears only its own organisation, and what it hears is what
//! its admins may see; a receiver down for a minute gets every event once it is back; a node
//! killed mid-delivery loses none; one person's events arrive in order; a secret rotation
//! signs with both secrets for a day; an admin redelivers under the same id; the CLI manages
//! endpoints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use nyckel::admin::Caller;
use nyckel::admin::webhooks::{self, CreatedEndpoint, NewEndpoint};
use nyckel::webhooks::events::TYPES;

use crate::helpers::admin::World;
use crate::helpers::admin_ui::{Org, fresh_invitation};
use crate::helpers::{PASSWORD, TestApp};

/// One post a receiver took.
#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Delivery {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }
}

/// A webhook receiver on loopback: records every post and answers with the status set
/// (0: takes the post and never answers).
#[derive(Clone)]
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Delivery>>>,
    status: Arc<Mutex<u16>>,
}

type Shared = (Arc<Mutex<Vec<Delivery>>>, Arc<Mutex<u16>>);

impl Receiver {
    async fn start() -> Receiver {
        Self::start_on(0).await
    }

    async fn start_on(port: u16) -> Receiver {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(200));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state((seen.clone(), status.clone()));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().expect("addr").port()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, seen, status }
    }

    fn seen(&self) -> Vec<Delivery> {
        self.seen.lock().expect("lock").clone()
    }

    fn answer(&self, status: u16) {
        *self.status.lock().expect("lock") = status;
    }
}

async fn receive(
    State((seen, status)): State<Shared>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    seen.lock().expect("lock").push(Delivery {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    let status = *status.lock().expect("lock");
    if status == 0 {
        std::future::pending::<()>().await;
    }
    StatusCode::from_u16(status).expect("status")
}

/// Whether the official library accepts each `(secret, delivery)`, as of the delivery's own
/// timestamp (the receiver's clock is the server's test clock, which tests move forward).
/// `None`: the package is missing and the check is recorded as skipped.
fn officially_verified(cases: &[(&str, &Delivery)]) -> Option<Vec<bool>> {
    const SCRIPT: &str = r#"
import json, sys
from datetime import datetime, timezone
import standardwebhooks.webhooks as w
out = []
for c in json.load(sys.stdin):
    at = datetime.fromtimestamp(int(c["timestamp"]), tz=timezone.utc)
    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return at
    w.datetime = Clock
    headers = {"webhook-id": c["id"], "webhook-timestamp": c["timestamp"], "webhook-signature": c["signature"]}
    try:
        w.Webhook(c["secret"]).verify(c["body"].encode(), headers)
        out.append(True)
    except w.WebhookVerificationError:
        out.append(False)
print(json.dumps(out))
"#;
    let input: Vec<Value> = cases
        .iter()
        .map(|(secret, d)| {
            json!({ "secret": secret, "id": d.id, "timestamp": d.timestamp, "signature": d.signature, "body": d.body })
        })
        .collect();
    let out = crate::webhook_signature::python(SCRIPT, &Value::Array(input))?;
    Some(serde_json::from_value(out).expect("a list of booleans"))
}

/// Adds an endpoint as the operator (who may use loopback).
async fn endpoint(app: &TestApp, org: Option<&str>, url: &str, events: &[&str]) -> CreatedEndpoint {
    let req = NewEndpoint {
        url: url.to_string(),
        description: "test receiver".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        enabled: true,
    };
    webhooks::create(&app.state, &Caller::operator(), org, req)
        .await
        .expect("endpoint")
}

/// Adds the role `treasurer` to organisation A.
async fn treasurer(w: &World) {
    nyckel::store::orgs::put_role(&w.app.state.db, &w.org_a, "treasurer", "Keeps the books", 0)
        .await
        .expect("role");
}

async fn deliver(app: &TestApp) {
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
}

#[tokio::test]
async fn every_event_type_reaches_the_endpoint_signed_and_only_its_own_organisation() {
    let w = World::new().await;
    let app = &w.app;
    let (rx_a, rx_b) = (Receiver::start().await, Receiver::start().await);
    let hook_a = endpoint(app, Some(&w.org_a), &rx_a.url, &[]).await;
    let hook_b = endpoint(app, Some(&w.org_b), &rx_b.url, &[]).await;
    let op = Caller::operator();
    let state = &app.state;

    // member.added + invitation.accepted: an existing person accepts an invitation to A.
    let joiner = app.create_user("joiner@example.org").await;
    let [a, _] = Org::both(&w);
    let (_, key) = fresh_invitation(app, &a, "joiner@example.org", &["member"]).await;
    nyckel::admin::invitations::accept(state, &key, None, None)
        .await
        .expect("accepted");
    // member.roles_changed
    let roles = ["member".to_string(), "coach".to_string()];
    nyckel::admin::members::set_roles(state, &op, "club-a", &joiner, &roles)
        .await
        .expect("roles");
    // person.updated: a member of both organisations renames themself; each hears of it.
    let session = nyckel::auth::session::Session {
        id_hash: String::new(),
        sid: "sid-test".into(),
        user_id: w.both.id.clone(),
        csrf: String::new(),
        auth_time: state.now(),
        amr: vec!["pwd".into()],
        acr: "1".into(),
    };
    let profile = nyckel::auth::own::Profile::parse("Bo Båda", "").expect("profile");
    let ip = "127.0.0.1".parse().expect("ip");
    nyckel::auth::own::change_profile(state, &session, &profile, ip)
        .await
        .expect("renamed");
    // client.changed
    let new_client = nyckel::admin::clients::CreateClient {
        name: "Club A app".into(),
        redirect_uris: vec![crate::helpers::REDIRECT_URI.into()],
        ..Default::default()
    };
    let client = nyckel::admin::clients::create_as(state, &op, Some("club-a"), new_client)
        .await
        .expect("client")
        .client
        .client_id;
    let change = nyckel::admin::clients::ClientChanges {
        name: Some("Club A app, renamed".into()),
        ..Default::default()
    };
    nyckel::admin::clients::update(state, &op, &client, change)
        .await
        .expect("client changed");
    // member.removed, then person.erased of someone still in A.
    nyckel::admin::members::remove(state, &op, "club-a", &joiner)
        .await
        .expect("removed");
    let leaver = nyckel::store::users::find(&state.db, &w.member_a.id)
        .await
        .expect("read")
        .expect("member A");
    nyckel::auth::own_data::erase_account(
        state,
        &leaver,
        nyckel::store::erasure::ErasedBy::Other("cli"),
    )
    .await
    .expect("erased");

    deliver(app).await;
    let (seen_a, seen_b) = (rx_a.seen(), rx_b.seen());
    let kinds_a: Vec<String> = seen_a.iter().map(Delivery::kind).collect();
    let mut distinct = kinds_a.clone();
    distinct.sort();
    distinct.dedup();
    let mut every: Vec<String> = TYPES.iter().map(|t| t.to_string()).collect();
    every.sort();
    assert_eq!(
        distinct, every,
        "A's endpoint heard every type: {kinds_a:?}"
    );
    // B heard only the rename of its member who is in both, naming B only.
    let kinds_b: Vec<String> = seen_b.iter().map(Delivery::kind).collect();
    assert_eq!(kinds_b, ["person.updated"], "{kinds_b:?}");
    let b_body = &seen_b[0].body;
    assert!(
        b_body.contains(&w.org_b) && !b_body.contains(&w.org_a),
        "{b_body}"
    );
    assert!(!b_body.contains("coach"), "not A's roles: {b_body}");
    for d in &seen_a {
        let body = d.json();
        assert_eq!(
            body["data"]["organisation"]["id"],
            w.org_a.as_str(),
            "{body}"
        );
        assert!(!d.body.contains(&w.org_b), "nothing of B: {body}");
        for secret in [
            PASSWORD,
            "$argon2",
            "whsec_",
            "secret_hash",
            "client_secret",
        ] {
            assert!(!d.body.contains(secret), "{secret} in {body}");
        }
        assert!(
            d.id.starts_with("msg_") && body["timestamp"].is_string(),
            "{body}"
        );
    }
    let by_kind = |k: &str| {
        seen_a
            .iter()
            .find(|d| d.kind() == k)
            .map(Delivery::json)
            .unwrap_or_else(|| panic!("no {k}"))
    };
    assert_eq!(
        by_kind("member.added")["data"]["member"]["email"],
        "joiner@example.org"
    );
    assert_eq!(
        by_kind("member.roles_changed")["data"]["previous_roles"],
        json!(["member"])
    );
    assert_eq!(
        by_kind("person.updated")["data"]["changed"],
        json!(["name"])
    );
    assert_eq!(
        by_kind("person.updated")["data"]["member"]["name"],
        "Bo Båda"
    );
    let changes: Vec<Value> = seen_a
        .iter()
        .filter(|d| d.kind() == "client.changed")
        .map(|d| d.json()["data"]["change"].clone())
        .collect();
    assert_eq!(changes, [json!("created"), json!("updated")]);
    assert_eq!(
        by_kind("client.changed")["data"]["client"]["client_id"],
        client.as_str()
    );
    let erased = by_kind("person.erased");
    assert_eq!(erased["data"]["user_id"], w.member_a.id.as_str());
    assert!(
        !erased.to_string().contains(&w.member_a.email),
        "an erased person's address is not sent: {erased}"
    );

    // Every delivery verifies with the official library and its endpoint's secret, and not
    // with the other endpoint's.
    let mut cases: Vec<(&str, &Delivery)> = Vec::new();
    for d in &seen_a {
        cases.push((&hook_a.secret, d));
        cases.push((&hook_b.secret, d));
    }
    cases.push((&hook_b.secret, &seen_b[0]));
    let Some(verified) = officially_verified(&cases) else {
        return;
    };
    let mut want: Vec<bool> = seen_a.iter().flat_map(|_| [true, false]).collect();
    want.push(true);
    assert_eq!(verified, want);

    // The metrics count the posts.
    let metrics = nyckel::metrics::render(state).await.expect("metrics");
    let delivered = metrics
        .lines()
        .find(|l| l.starts_with("nyckel_webhook_deliveries_total{outcome=\"delivered\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no delivered counter in:\n{metrics}"));
    assert!(
        delivered >= (seen_a.len() + seen_b.len()) as f64,
        "{delivered}"
    );

    // The deliveries show as delivered with the receiver's status.
    let page = webhooks::deliveries(state, &op, &hook_a.endpoint.id, None, Some(100))
        .await
        .expect("deliveries");
    assert_eq!(page.items.len(), seen_a.len());
    assert!(
        page.items
            .iter()
            .all(|d| d.state == "delivered" && d.last_status == Some(200) && d.attempts == 1),
        "{:?}",
        page.items
    );
}

#[tokio::test]
async fn an_endpoint_hears_only_the_events_it_chose_and_nothing_while_switched_off() {
    let w = World::new().await;
    let app = &w.app;
    let rx = Receiver::start().await;
    let hook = endpoint(app, Some(&w.org_a), &rx.url, &["member.removed"]).await;
    let op = Caller::operator();
    let roles = ["member".to_string(), "coach".to_string()];
    nyckel::admin::members::set_roles(&app.state, &op, "club-a", &w.member_a.id, &roles)
        .await
        .expect("roles");
    deliver(app).await;
    assert!(rx.seen().is_empty(), "not subscribed to roles");

    let off = webhooks::EndpointChange {
        enabled: Some(false),
        ..Default::default()
    };
    webhooks::update(&app.state, &op, &hook.endpoint.id, off)
        .await
        .expect("off");
    nyckel::admin::members::remove(&app.state, &op, "club-a", &w.member_a.id)
        .await
        .expect("removed");
    deliver(app).await;
    assert!(rx.seen().is_empty(), "switched off");
}

#[tokio::test]
async fn a_receiver_down_for_a_minute_gets_every_event_once_it_is_back() {
    let w = World::new().await;
    let app = &w.app;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let hook = endpoint(
        app,
        Some(&w.org_a),
        &format!("http://127.0.0.1:{port}/hook"),
        &[],
    )
    .await;
    let op = Caller::operator();
    treasurer(&w).await;
    for role in ["coach", "treasurer", "member"] {
        let roles = [role.to_string()];
        nyckel::admin::members::set_roles(&app.state, &op, "club-a", &w.member_a.id, &roles)
            .await
            .expect("roles");
    }

    // Nobody answers for a minute and a half: tried at once, after 30 s and after 60 more.
    for wait in [0, 30, 60] {
        app.advance(wait);
        deliver(app).await;
    }
    let page = webhooks::deliveries(&app.state, &op, &hook.endpoint.id, None, None)
        .await
        .expect("deliveries");
    assert!(page.items.len() >= 3, "{:?}", page.items);
    assert!(
        page.items.iter().all(|d| d.state == "pending"),
        "{:?}",
        page.items
    );
    let error = page.items.iter().find_map(|d| d.last_error.clone());
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.starts_with("127.0.0.1: could not connect")),
        "{error:?}"
    );

    // Back: every event arrives once, one person's in the order they happened.
    let rx = Receiver::start_on(port).await;
    for _ in 0..4 {
        app.advance(120);
        deliver(app).await;
    }
    app.advance(3600);
    deliver(app).await;
    let seen = rx.seen();
    let mut ids: Vec<&str> = seen.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), page.items.len(), "each once: {ids:?}");
    ids.dedup();
    assert_eq!(ids.len(), page.items.len(), "no repeats");
    let member_a_roles: Vec<Value> = seen
        .iter()
        .map(Delivery::json)
        .filter(|b| b["data"]["member"]["user_id"] == w.member_a.id.as_str())
        .map(|b| b["data"]["member"]["roles"][0].clone())
        .collect();
    assert_eq!(
        member_a_roles,
        [json!("coach"), json!("treasurer"), json!("member")]
    );
    let cases: Vec<(&str, &Delivery)> = seen.iter().map(|d| (hook.secret.as_str(), d)).collect();
    if let Some(verified) = officially_verified(&cases) {
        assert!(verified.iter().all(|v| *v), "{verified:?}");
    }
}

#[tokio::test]
async fn a_later_event_waits_for_an_earlier_one_about_the_same_person_without_spending_attempts() {
    let w = World::new().await;
    let app = &w.app;
    let rx = Receiver::start().await;
    let hook = endpoint(app, Some(&w.org_a), &rx.url, &["member.roles_changed"]).await;
    let op = Caller::operator();
    treasurer(&w).await;
    rx.answer(503);
    let first = ["coach".to_string()];
    nyckel::admin::members::set_roles(&app.state, &op, "club-a", &w.member_a.id, &first)
        .await
        .expect("roles");
    deliver(app).await;
    assert_eq!(rx.seen().len(), 1, "the first was tried");
    let second = ["treasurer".to_string()];
    nyckel::admin::members::set_roles(&app.state, &op, "club-a", &w.member_a.id, &second)
        .await
        .expect("roles");
    rx.answer(200);
    app.advance(5);
    deliver(app).await;
    assert_eq!(rx.seen().len(), 1, "the second waits for the first");

    app.advance(30);
    deliver(app).await;
    app.advance(2);
    deliver(app).await;
    let seen = rx.seen();
    let roles: Vec<Value> = seen
        .iter()
        .map(|d| d.json()["data"]["member"]["roles"][0].clone())
        .collect();
    assert_eq!(roles, [json!("coach"), json!("coach"), json!("treasurer")]);
    let page = webhooks::deliveries(&app.state, &op, &hook.endpoint.id, None, None)
        .await
        .expect("deliveries");
    let attempts: Vec<(String, i64, Option<i64>)> = page
        .items
        .iter()
        .map(|d| (d.state.clone(), d.attempts, d.last_status))
        .collect();
    assert_eq!(
        attempts,
        [
            ("delivered".to_string(), 1, Some(200)),
            ("delivered".to_string(), 2, Some(200))
        ],
        "newest first; waiting spent no attempt"
    );
}

#[tokio::test]
async fn a_node_killed_mid_delivery_leaves_the_event_to_another_node() {
    let w = World::new().await;
    let app = &w.app;
    let _paused = app.state.mailer.pause().await;
    let node =
        || nyckel::state::AppState::build_with_clock(app.state.config.clone(), app.clock.clone());
    let (node_a, node_b) = (node().await.expect("node A"), node().await.expect("node B"));
    let rx = Receiver::start().await;
    let hook = endpoint(app, Some(&w.org_a), &rx.url, &[]).await;
    let roles = ["coach".to_string()];
    nyckel::admin::members::set_roles(
        &node_a,
        &Caller::operator(),
        "club-a",
        &w.member_a.id,
        &roles,
    )
    .await
    .expect("roles");

    // Node A posts; the receiver takes it and never answers; node A dies.
    rx.answer(0);
    let posting = tokio::spawn(async move { nyckel::mail::deliver_due(&node_a).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while rx.seen().is_empty() {
        assert!(std::time::Instant::now() < deadline, "node A never posted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    posting.abort();
    assert!(
        posting.await.is_err_and(|e| e.is_cancelled()),
        "node A died mid-post"
    );

    // Node B leaves it while A's claim lasts and takes it once the claim lapses.
    rx.answer(200);
    nyckel::mail::deliver_due(&node_b).await.expect("pass");
    assert_eq!(rx.seen().len(), 1, "not while node A's claim lasts");
    app.advance(nyckel::mail::delivery::LEASE);
    nyckel::mail::deliver_due(&node_b).await.expect("pass");
    let seen = rx.seen();
    assert_eq!(seen.len(), 2, "delivered by node B");
    assert_eq!(
        seen[0].id, seen[1].id,
        "the same message, the same webhook-id"
    );
    let cases = [(hook.secret.as_str(), &seen[1])];
    if let Some(verified) = officially_verified(&cases) {
        assert_eq!(verified, [true]);
    }
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_a_day_and_redelivery_keeps_the_id() {
    let w = World::new().await;
    let app = &w.app;
    let rx = Receiver::start().await;
    let hook = endpoint(app, Some(&w.org_a), &rx.url, &[]).await;
    let op = Caller::operator();
    let id = hook.endpoint.id.clone();
    let rotated = webhooks::rotate_secret(&app.state, &op, &id)
        .await
        .expect("rotated");
    assert_ne!(rotated.secret, hook.secret);
    let roles = ["coach".to_string()];
    nyckel::admin::members::set_roles(&app.state, &op, "club-a", &w.member_a.id, &roles)
        .await
        .expect("roles");
    deliver(app).await;
    let during = rx.seen()[0].clone();
    assert_eq!(
        during.signature.split(' ').count(),
        2,
        "{}",
        during.signature
    );

    // Redelivered a day later: the same id, signed with the new secret only.
    app.advance(86400 + 1);
    let again = webhooks::redeliver(&app.state, &op, &id, &during.id)
        .await
        .expect("redelivered");
    assert_eq!(again.state, "pending");
    deliver(app).await;
    let after = rx.seen()[1].clone();
    assert_eq!(after.id, during.id);
    assert_eq!(after.signature.split(' ').count(), 1, "{}", after.signature);
    let cases = [
        (hook.secret.as_str(), &during),
        (rotated.secret.as_str(), &during),
        (hook.secret.as_str(), &after),
        (rotated.secret.as_str(), &after),
    ];
    if let Some(verified) = officially_verified(&cases) {
        assert_eq!(verified, [true, true, false, true]);
    }
    let page = webhooks::deliveries(&app.state, &op, &id, None, None)
        .await
        .expect("deliveries");
    assert_eq!(
        (page.items[0].state.as_str(), page.items[0].attempts),
        ("delivered", 2)
    );
    // Someone else's message id is no delivery of this endpoint.
    assert!(
        webhooks::redeliver(&app.state, &op, &id, "msg_nope")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn org_admins_register_https_endpoints_of_their_own_organisation_only() {
    let w = World::new().await;
    let admin_a = w.api(&w.admin_a).await;
    let loopback = admin_a
        .post(
            &format!("/orgs/{}/webhooks", w.org_a),
            &json!({ "url": "http://127.0.0.1:9/hook" }),
        )
        .await;
    loopback.expect(403);
    let metadata = admin_a
        .post(
            &format!("/orgs/{}/webhooks", w.org_a),
            &json!({ "url": "https://169.254.169.254/latest/meta-data" }),
        )
        .await;
    metadata.expect(403);
    let plain_http = admin_a
        .post(
            &format!("/orgs/{}/webhooks", w.org_a),
            &json!({ "url": "http://hooks.example/hook" }),
        )
        .await;
    plain_http.expect(400);
    let unknown = admin_a
        .post(
            &format!("/orgs/{}/webhooks", w.org_a),
            &json!({ "url": "https://hooks.example/hook", "events": ["member.exploded"] }),
        )
        .await;
    unknown.expect(400);
    let made = admin_a
        .post(
            &format!("/orgs/{}/webhooks", w.org_a),
            &json!({ "url": "https://hooks.example/hook", "events": ["member.added"], "enabled": false }),
        )
        .await;
    made.expect(201);
    assert!(
        made.json["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    let id = made.json["endpoint"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let shown = admin_a.get(&format!("/webhooks/{id}")).await;
    shown.expect(200);
    assert!(!shown.text.contains("whsec_"), "{}", shown.text);
    let admin_b = w.api(&w.admin_b).await;
    admin_b.get(&format!("/webhooks/{id}")).await.expect(404);
    admin_b
        .post(
            &format!("/orgs/{}/webhooks", w.org_a),
            &json!({ "url": "https://hooks.example/hook" }),
        )
        .await
        .expect(404);
    admin_a.get("/webhooks").await.expect(403);
}

#[tokio::test]
async fn the_operator_manages_endpoints_from_the_command_line() {
    let cli = crate::helpers::ops::Install::new().await;
    cli.ok(&["org", "create", "--name", "Club", "--slug", "club"]);
    let added = cli.json(&[
        "webhook",
        "add",
        "--org",
        "club",
        "--url",
        "https://hooks.example/club",
        "--events",
        "member.added,member.removed",
    ]);
    let secret = added["secret"].as_str().expect("secret");
    assert!(secret.starts_with("whsec_"), "{added}");
    let id = added["endpoint"]["id"].as_str().expect("id").to_string();
    let listed = cli.json(&["webhook", "list", "--org", "club"])["items"].clone();
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(
        listed[0]["events"],
        json!(["member.added", "member.removed"])
    );
    assert!(!listed.to_string().contains(secret), "{listed}");
    let text = cli.ok(&["webhook", "list", "--org", "club"]);
    assert!(!text.contains("whsec_"), "{text}");
    let bad = cli.fails(&[
        "webhook",
        "add",
        "--org",
        "club",
        "--url",
        "ftp://x.example/",
    ]);
    assert!(bad.contains("https"), "{bad}");
    cli.ok(&["webhook", "remove", &id]);
    let gone = cli.fails(&["webhook", "remove", &id]);
    assert!(gone.contains("no webhook endpoint"), "{gone}");
    let log = cli.json(&["audit", "list", "--kind", "admin.webhook_created"]);
    assert!(log.to_string().contains(&id), "{log}");
    assert!(!log.to_string().contains(secret), "{log}");
}

#[tokio::test]
async fn the_documented_receiver_keeps_a_copy_of_the_member_list_in_step() {
    // docs/provisioning/receiver.py, run as docs/provisioning.md says.
    if crate::webhook_signature::python("import json; print(json.dumps(1))", &json!(null)).is_none()
    {
        return;
    }
    let w = World::new().await;
    let app = &w.app;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let hook = endpoint(
        app,
        Some(&w.org_a),
        &format!("http://127.0.0.1:{port}/"),
        &[],
    )
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("members.sqlite3");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/provisioning/receiver.py");
    let mut receiver = std::process::Command::new("python3")
        .arg(script)
        .env("NYCKEL_WEBHOOK_SECRET", &hook.secret)
        .env("PORT", port.to_string())
        .env("RECEIVER_DB", &db)
        .spawn()
        .expect("python3 runs the receiver");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the receiver never listened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Changes in A: a newcomer joins and gets a role, one member leaves, one is erased.
    let op = Caller::operator();
    let joiner = app.create_user("newcomer@example.org").await;
    let [a, _] = Org::both(&w);
    let (_, key) = fresh_invitation(app, &a, "newcomer@example.org", &["member"]).await;
    nyckel::admin::invitations::accept(&app.state, &key, None, None)
        .await
        .expect("accepted");
    let roles = ["member".to_string(), "coach".to_string()];
    nyckel::admin::members::set_roles(&app.state, &op, "club-a", &joiner, &roles)
        .await
        .expect("roles");
    nyckel::admin::members::remove(&app.state, &op, "club-a", &w.both.id)
        .await
        .expect("removed");
    deliver(app).await;
    // Delivered twice (a redelivery): applied once.
    let first = webhooks::deliveries(&app.state, &op, &hook.endpoint.id, None, None)
        .await
        .expect("deliveries")
        .items;
    webhooks::redeliver(&app.state, &op, &hook.endpoint.id, &first[0].id)
        .await
        .expect("redeliver");
    deliver(app).await;
    receiver.kill().expect("stopped");
    let _ = receiver.wait();

    let states: Vec<(String, Option<i64>)> =
        webhooks::deliveries(&app.state, &op, &hook.endpoint.id, None, None)
            .await
            .expect("deliveries")
            .items
            .into_iter()
            .map(|d| (d.state, d.last_status))
            .collect();
    assert!(
        states
            .iter()
            .all(|s| s == &("delivered".to_string(), Some(204))),
        "{states:?}"
    );
    let copy = sqlite_rows(
        &db,
        "select user_id || ' ' || roles from members order by email",
    );
    assert_eq!(
        copy,
        [format!("{joiner} [\"coach\", \"member\"]")],
        "the copy has the newcomer with both roles and not the one who left"
    );
}

/// The rows of a one-column query on a SQLite file (read with python3's sqlite3, which the
/// receiver wrote with).
fn sqlite_rows(db: &std::path::Path, sql: &str) -> Vec<String> {
    let script = "import json, sqlite3, sys\nc = json.load(sys.stdin)\nprint(json.dumps([r[0] for r in sqlite3.connect(c['db']).execute(c['sql'])]))";
    let input = json!({ "db": db.to_string_lossy(), "sql": sql });
    let out = crate::webhook_signature::python(script, &input).expect("python3");
    serde_json::from_value(out).expect("a list of strings")
}

#[tokio::test]
async fn an_endpoint_that_never_answers_does_not_hold_up_the_mail() {
    let w = World::new().await;
    let app = &w.app;
    let rx = Receiver::start().await;
    let hook = endpoint(app, Some(&w.org_a), &rx.url, &[]).await;
    rx.answer(0);
    let op = Caller::operator();
    let roles = ["coach".to_string()];
    nyckel::admin::members::set_roles(&app.state, &op, "club-a", &w.member_a.id, &roles)
        .await
        .expect("roles");
    nyckel::admin::members::send_reset(&app.state, &op, "club-a", &w.member_a.id)
        .await
        .expect("reset sent");
    let state = app.state.clone();
    let pass = tokio::spawn(async move { nyckel::mail::deliver_due(&state).await });
    // While the endpoint holds its post (up to the 10 s timeout), the mail goes out.
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    loop {
        let mails = app.mails_to(&w.member_a.email).await;
        if !mails.is_empty() && !rx.seen().is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the mail waited for the webhook post"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The pass (this one, or the server's own that got there first) ends when the post
    // times out, and the message waits for its retry.
    pass.await.expect("the pass ends").expect("pass");
    let page = webhooks::deliveries(&app.state, &op, &hook.endpoint.id, None, None)
        .await
        .expect("deliveries");
    let d = &page.items[0];
    assert_eq!((d.state.as_str(), d.attempts), ("pending", 1), "{d:?}");
    let error = d.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("timed out"), "{error}");
}
