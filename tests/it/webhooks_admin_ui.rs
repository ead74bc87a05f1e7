//! Webhook endpoints in the admin web UI (issue 18), through the pages as an organisation's
//! admin uses them: adding one (its secret shown once), changing it, switching it off and
//! on, the recent deliveries with their state and HTTP status, sending one again, a new
//! secret (shown once), deleting it after a question; another organisation's endpoint not
//! found here; every page and form against the permission matrix; forms without the
//! session's CSRF token refused.
//!
//! Endpoints on `hooks.example` are never posted to: those tests hold the delivery loop off
//! (`Mailer::pause`) and run no delivery pass. Deliveries are run only against a receiver on
//! loopback, registered by the superadmin (an organisation's admin may not use loopback).

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use nyckel::admin::webhooks::{self, EndpointChange, NewEndpoint};
use nyckel::admin::{Caller, Principal};
use nyckel::orgs::permissions::{Action, Refusal};
use nyckel::store::webhooks::EndpointRow;
use nyckel::webhooks::events::TYPES;
use nyckel::webhooks::signature::Secret;

use crate::helpers::Browser;
use crate::helpers::admin::{Person, World};
use crate::helpers::admin_ui::{Admin, Org, fresh_member, fresh_role, main_of, unique};

/// The text of the element with `id` on a page.
fn grab(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id}:\n{body}"))
        + marker.len();
    body[start..start + body[start..].find('<').expect("end")].to_string()
}

/// The organisation's endpoints as stored.
async fn stored(w: &World, org: &Org) -> Vec<EndpointRow> {
    nyckel::store::webhooks::list(&w.app.state.db, Some(&org.id))
        .await
        .expect("db")
}

/// One stored endpoint, if it exists.
async fn endpoint(w: &World, id: &str) -> Option<EndpointRow> {
    nyckel::store::webhooks::find(&w.app.state.db, id)
        .await
        .expect("db")
}

/// The secrets an endpoint signs with now, as shown to admins.
fn secrets(w: &World, row: &EndpointRow) -> Vec<String> {
    nyckel::webhooks::deliver::secrets_in_force(&w.app.state, row)
        .expect("the secrets open")
        .iter()
        .map(Secret::shown)
        .collect()
}

/// An endpoint's messages, newest first: `(id, state, last_status)`.
async fn messages(w: &World, endpoint: &str) -> Vec<(String, String, Option<i64>)> {
    nyckel::store::webhooks::messages(&w.app.state.db, endpoint, None, 100)
        .await
        .expect("db")
        .into_iter()
        .map(|m| (m.id, m.state, m.last_status))
        .collect()
}

/// How many messages were attempted (0 wherever the delivery loop is held off).
async fn attempts(w: &World) -> i64 {
    let (n,): (i64,) = sqlx::query_as("select count(*) from webhook_messages where attempts > 0")
        .fetch_one(w.app.state.db.pool())
        .await
        .expect("attempts");
    n
}

/// Changes a member's roles as the operator would (an event endpoints hear).
async fn set_roles(w: &World, org: &Org, user_id: &str, roles: &[&str]) {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    nyckel::admin::members::set_roles(&w.app.state, &Caller::operator(), &org.id, user_id, &roles)
        .await
        .expect("roles set");
}

/// A new endpoint of `org` on `hooks.example` (never posted to), hearing every event.
async fn fresh_endpoint(w: &World, org: &Org) -> String {
    let req = NewEndpoint {
        url: format!("https://hooks.example/{}", unique()),
        description: String::new(),
        events: Vec::new(),
        enabled: true,
    };
    webhooks::create(&w.app.state, &Caller::operator(), Some(&org.id), req)
        .await
        .expect("endpoint")
        .endpoint
        .id
}

/// A message queued for a new endpoint of `org`; returns `(endpoint, message)`.
async fn fresh_message(w: &World, org: &Org) -> (String, String) {
    let endpoint = fresh_endpoint(w, org).await;
    let member = fresh_member(&w.app, org).await;
    let role = fresh_role(&w.app, org).await;
    set_roles(w, org, &member, &["member", &role]).await;
    let message = messages(w, &endpoint).await.remove(0).0;
    (endpoint, message)
}

#[tokio::test]
async fn an_admin_adds_an_endpoint_and_sees_its_secret_once() {
    let w = World::new().await;
    let _held = w.app.state.mailer.pause().await;
    let [a, _] = Org::both(&w);
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let list = admin.open(&a.path("/webhooks")).await;
    list.assert_shows("The organisation has no webhook endpoints yet.");
    list.assert_shows("href=\"/admin/orgs/club-a/webhooks\" aria-current=\"page\"");
    let sv = admin.get_in(&a.path("/webhooks"), "sv").await;
    sv.assert_shows("Lägg till mottagare");
    let form = admin.open(&a.path("/webhooks/new")).await;
    for ty in TYPES {
        form.assert_shows(&format!("name=\"events\" value=\"{ty}\">"));
    }
    form.assert_shows("A member&#39;s roles change");

    let fields = [
        ("url", "https://hooks.example/nyckel"),
        ("description", "Membership register"),
        ("events", "member.roles_changed"),
        ("events", "member.added"),
    ];
    let created = admin.send(&a.path("/webhooks"), &fields).await;
    let created = created.expect_status(200);
    created.assert_shows("The webhook endpoint has been added");
    let secret = grab(&created.body, "webhook-secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let rows = stored(&w, &a).await;
    let [row] = rows.as_slice() else {
        panic!("one endpoint: {rows:?}")
    };
    assert_eq!(row.url, "https://hooks.example/nyckel");
    assert_eq!(row.description, "Membership register");
    assert_eq!(
        nyckel::store::from_json_list(&row.events),
        ["member.roles_changed", "member.added"]
    );
    assert_eq!(row.enabled, 1);
    assert_eq!(
        secrets(&w, row),
        [secret.as_str()],
        "the secret shown signs"
    );
    let here = a.path(&format!("/webhooks/{}", row.id));
    created.assert_shows(&format!("href=\"{here}\""));

    // Never shown again: not on the endpoint's page, the list or the audit log.
    let page = admin.open(&here).await;
    assert!(
        !page.body.contains(&secret),
        "the secret is shown once only"
    );
    page.assert_shows("Membership register");
    page.assert_shows("Switched on");
    page.assert_shows("No messages yet.");
    page.assert_shows("id=\"event-member.added\" name=\"events\" value=\"member.added\" checked");
    page.assert_shows("id=\"event-member.removed\" name=\"events\" value=\"member.removed\">");
    let list = admin.open(&a.path("/webhooks")).await;
    list.assert_shows("https://hooks.example/nyckel");
    assert!(!list.body.contains(&secret));
    let log = admin.open(&a.path("/audit")).await;
    log.assert_shows("Webhook endpoint added");
    assert!(!log.body.contains(&secret));

    // Change the URL, description and events.
    let edit = [
        ("url", "https://hooks.example/v2"),
        ("description", ""),
        ("events", "member.removed"),
    ];
    let saved = admin.send(&here, &edit).await;
    saved.assert_redirect(&format!("{here}?done=webhook_updated"));
    admin
        .follow(saved)
        .await
        .assert_shows("The webhook endpoint has been saved.");
    let row = endpoint(&w, &row.id).await.expect("endpoint");
    assert_eq!(row.url, "https://hooks.example/v2");
    assert_eq!(row.description, "");
    assert_eq!(
        nyckel::store::from_json_list(&row.events),
        ["member.removed"]
    );

    // A refusal is shown on the form, with what was typed; nothing changes.
    let before = (w.snapshot().await, w.audit_count().await);
    let plain = [
        ("url", "http://hooks.example/plain"),
        ("events", "member.added"),
    ];
    let refused = admin.send(&here, &plain).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    refused.assert_shows("The URL must be a complete https address");
    refused.assert_shows("value=\"http://hooks.example/plain\"");
    refused.assert_shows("value=\"member.added\" checked");
    assert_eq!(before, (w.snapshot().await, w.audit_count().await));

    // A new secret, shown once; the previous one keeps signing beside it for a while.
    let rotated = admin.send(&format!("{here}/rotate"), &[]).await;
    let rotated = rotated.expect_status(200);
    rotated.assert_shows("A new signing secret has been created");
    rotated.assert_shows("The previous secret also signs every message until");
    let fresh = grab(&rotated.body, "webhook-secret");
    assert!(fresh.starts_with("whsec_") && fresh != secret);
    let row = endpoint(&w, &row.id).await.expect("endpoint");
    assert_eq!(secrets(&w, &row), [fresh.clone(), secret.clone()]);
    let page = admin.open(&here).await;
    assert!(!page.body.contains(&fresh) && !page.body.contains(&secret));
    page.assert_shows("Previous secret also signs until");

    // Delete after the question.
    let delete = format!("{here}/delete");
    let ask = admin.open(&delete).await;
    ask.assert_shows("Delete the webhook endpoint https://hooks.example/v2?");
    let gone = admin.submit(&ask, &delete, &[]).await;
    gone.assert_redirect("/admin/orgs/club-a/webhooks?done=webhook_deleted");
    let list = admin.follow(gone).await;
    list.assert_shows("The webhook endpoint has been deleted");
    list.assert_shows("The organisation has no webhook endpoints yet.");
    assert!(endpoint(&w, &row.id).await.is_none());
    assert_eq!(admin.get(&here).await.status, 404);
}

#[tokio::test]
async fn another_organisation_and_a_member_without_admin_cannot_reach_an_endpoint() {
    let w = World::new().await;
    let _held = w.app.state.mailer.pause().await;
    let [a, b] = Org::both(&w);
    let id = fresh_endpoint(&w, &a).await;
    let url = endpoint(&w, &id).await.expect("endpoint").url;
    let rest = format!("/webhooks/{id}");
    let other = Admin::sign_in(&w, &w.admin_b).await;
    let member = Admin::sign_in(&w, &w.member_a).await;
    let sup = Admin::sign_in(&w, &w.superadmin).await;
    let before = (w.snapshot().await, w.audit_count().await);

    for path in [a.path(&rest), b.path(&rest)] {
        let page = other.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains(&url));
        let page = other.send(&format!("{path}/disable"), &[]).await;
        assert_eq!(page.status, 404, "{path}");
    }
    let b_list = other.open(&b.path("/webhooks")).await;
    assert!(!b_list.body.contains(&url));

    assert_eq!(member.get(&a.path("/webhooks")).await.status, 403);
    assert_eq!(member.get(&a.path(&rest)).await.status, 403);
    let page = member.send(&a.path(&format!("{rest}/rotate")), &[]).await;
    assert_eq!(page.status, 403);
    assert!(!page.body.contains("whsec_"));

    // Not even the superadmin finds it at another organisation's address.
    assert_eq!(sup.get(&b.path(&rest)).await.status, 404);
    assert_eq!(
        sup.send(&b.path(&format!("{rest}/delete")), &[])
            .await
            .status,
        404
    );
    assert_eq!(sup.get(&a.path(&rest)).await.status, 200);
    assert_eq!(before, (w.snapshot().await, w.audit_count().await));
    assert_eq!(endpoint(&w, &id).await.expect("endpoint").enabled, 1);
}

#[tokio::test]
async fn deliveries_are_listed_and_an_endpoint_switched_off_hears_nothing() {
    let w = World::new().await;
    let _held = w.app.state.mailer.pause().await;
    let [a, _] = Org::both(&w);
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let fields = [("url", "https://hooks.example/all"), ("description", "")];
    admin
        .send(&a.path("/webhooks"), &fields)
        .await
        .expect_status(200);
    let id = stored(&w, &a).await.remove(0).id;
    let here = a.path(&format!("/webhooks/{id}"));

    // A member's roles change: the message is queued and listed, waiting.
    set_roles(&w, &a, &w.member_a.id, &["coach", "member"]).await;
    let queued = messages(&w, &id).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let message = queued[0].0.clone();
    let page = admin.open(&here).await;
    let row = row_of(&page.body, &message);
    assert!(
        row.contains("<code class=\"kind\">member.roles_changed</code>"),
        "{row}"
    );
    assert!(row.contains("Waiting"), "{row}");
    assert!(row.contains(&format!("action=\"{here}/deliveries/{message}/redeliver\"")));

    // Send it again: the same message, due at once.
    let action = format!("{here}/deliveries/{message}/redeliver");
    let again = admin.submit(&page, &action, &[]).await;
    again.assert_redirect(&format!("{here}?done=webhook_redelivered"));
    admin
        .follow(again)
        .await
        .assert_shows("The message is being sent again");
    assert_eq!(messages(&w, &id).await.len(), 1);
    let log = admin.open(&a.path("/audit")).await;
    log.assert_shows("Webhook message sent again");
    // A message of another endpoint is not found under this one.
    let (_, elsewhere) = fresh_message(&w, &a).await;
    let page = admin
        .send(&format!("{here}/deliveries/{elsewhere}/redeliver"), &[])
        .await;
    assert_eq!(page.status, 404);

    // Switch it off: a change now queues nothing for it.
    let before = messages(&w, &id).await.len();
    let off = admin.send(&format!("{here}/disable"), &[]).await;
    off.assert_redirect(&format!("{here}?done=webhook_disabled"));
    let page = admin.follow(off).await;
    page.assert_shows("The webhook endpoint has been switched off.");
    page.assert_form(&format!("{here}/enable"));
    assert_eq!(endpoint(&w, &id).await.expect("endpoint").enabled, 0);
    set_roles(&w, &a, &w.member_a.id, &["member"]).await;
    assert_eq!(messages(&w, &id).await.len(), before);
    let list = admin.open(&a.path("/webhooks")).await;
    list.assert_shows("Switched off");

    // And on again: the next change is queued.
    let on = admin.send(&format!("{here}/enable"), &[]).await;
    on.assert_redirect(&format!("{here}?done=webhook_enabled"));
    assert_eq!(endpoint(&w, &id).await.expect("endpoint").enabled, 1);
    set_roles(&w, &a, &w.member_a.id, &["coach", "member"]).await;
    assert_eq!(messages(&w, &id).await.len(), before + 1);
    assert_eq!(attempts(&w).await, 0, "nothing was posted to hooks.example");
}

/// The `<tr>` of message `id` on an endpoint's page.
fn row_of<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!("<tr id=\"delivery-{id}\">"))
        .unwrap_or_else(|| panic!("no row for {id}:\n{body}"));
    let end = start + body[start..].find("</tr>").expect("row end");
    &body[start..end]
}

/// A webhook receiver on loopback: records the `webhook-id` of every post and answers with
/// the status set in `status`.
struct Receiver {
    url: String,
    ids: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
}

type Shared = (Arc<Mutex<Vec<String>>>, Arc<AtomicU16>);

impl Receiver {
    async fn start() -> Receiver {
        let ids = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state((ids.clone(), status.clone()));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            ids,
            status,
        }
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn ids(&self) -> Vec<String> {
        self.ids.lock().expect("lock").clone()
    }
}

async fn receive(State((ids, status)): State<Shared>, headers: HeaderMap) -> StatusCode {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    ids.lock().expect("lock").push(id.to_string());
    StatusCode::from_u16(status.load(Ordering::SeqCst)).expect("status")
}

/// Runs a delivery pass now (only ever with loopback endpoints).
async fn deliver(w: &World) {
    nyckel::mail::deliver_due(&w.app.state)
        .await
        .expect("delivery pass");
}

#[tokio::test]
async fn the_table_shows_what_the_receiver_answered_and_a_message_is_sent_again() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let receiver = Receiver::start().await;
    receiver.answer(503);

    // An organisation's admin may not point Nyckel at its own machine: said on the form.
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let before = (w.snapshot().await, w.audit_count().await);
    let loopback = [("url", receiver.url.as_str()), ("description", "Local")];
    let refused = admin.send(&a.path("/webhooks"), &loopback).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    refused.assert_shows("Only the installation&#39;s superadmin may use an address on the server");
    refused.assert_shows(&format!("value=\"{}\"", receiver.url));
    assert_eq!(before, (w.snapshot().await, w.audit_count().await));

    // The superadmin may, for organisation A; A's admin then manages it (and may change
    // its events, the URL staying as the superadmin set it).
    let sup = Admin::sign_in(&w, &w.superadmin).await;
    let created = sup.send(&a.path("/webhooks"), &loopback).await;
    created.expect_status(200);
    let id = stored(&w, &a).await.remove(0).id;
    let here = a.path(&format!("/webhooks/{id}"));
    let events = [
        ("url", receiver.url.as_str()),
        ("description", "Local"),
        ("events", "member.roles_changed"),
    ];
    let saved = admin.send(&here, &events).await;
    saved.assert_redirect(&format!("{here}?done=webhook_updated"));

    // The receiver answers 503: the attempt is listed with its status and error, waiting.
    set_roles(&w, &a, &w.member_a.id, &["coach", "member"]).await;
    deliver(&w).await;
    let [(message, state, status)] = messages(&w, &id).await.try_into().expect("one message");
    assert_eq!((state.as_str(), status), ("pending", Some(503)));
    let page = admin.open(&here).await;
    let row = row_of(&page.body, &message);
    for shown in [
        "Waiting",
        "<td data-label=\"HTTP status\">503</td>",
        "127.0.0.1: HTTP 503",
    ] {
        assert!(row.contains(shown), "{shown} not in {row}");
    }
    assert!(row.contains("<td data-label=\"Attempts\">1</td>"), "{row}");

    // Sent again at once, under the same webhook-id; now it is taken.
    receiver.answer(204);
    let action = format!("{here}/deliveries/{message}/redeliver");
    admin
        .submit(&page, &action, &[])
        .await
        .assert_redirect(&format!("{here}?done=webhook_redelivered"));
    deliver(&w).await;
    assert_eq!(receiver.ids(), [message.clone(), message.clone()]);
    let page = admin.open(&here).await;
    let row = row_of(&page.body, &message);
    for shown in ["Delivered", "<td data-label=\"HTTP status\">204</td>"] {
        assert!(row.contains(shown), "{shown} not in {row}");
    }
    assert!(row.contains("<td data-label=\"Attempts\">2</td>"), "{row}");

    // A message still waiting when the endpoint is switched off is not sent; sent again
    // after it is switched back on, it is.
    let held = w.app.state.mailer.pause().await;
    w.app.advance(1);
    set_roles(&w, &a, &w.member_a.id, &["member"]).await;
    admin
        .send(&format!("{here}/disable"), &[])
        .await
        .assert_redirect(&format!("{here}?done=webhook_disabled"));
    drop(held);
    deliver(&w).await;
    let (dropped, state, _) = messages(&w, &id).await.remove(0);
    assert_eq!(state, "dropped");
    assert_eq!(receiver.ids().len(), 2, "nothing was posted");
    let page = admin.open(&here).await;
    assert!(row_of(&page.body, &dropped).contains("Not sent (switched off)"));
    admin
        .send(&format!("{here}/enable"), &[])
        .await
        .assert_redirect(&format!("{here}?done=webhook_enabled"));
    let page = admin.open(&here).await;
    let action = format!("{here}/deliveries/{dropped}/redeliver");
    admin.submit(&page, &action, &[]).await.expect_status(303);
    deliver(&w).await;
    assert_eq!(receiver.ids().last(), Some(&dropped));
    let (_, state, status) = messages(&w, &id).await.remove(0);
    assert_eq!((state.as_str(), status), ("delivered", Some(204)));
}

/// The webhook routes of an organisation.
#[derive(Debug, Clone, Copy)]
enum Route {
    List,
    New,
    Endpoint,
    DeleteConfirm,
    Create,
    Edit,
    Enable,
    Disable,
    Rotate,
    Redeliver,
    Delete,
}

use Route::*;

const ROUTES: &[Route] = &[
    List,
    New,
    Endpoint,
    DeleteConfirm,
    Create,
    Edit,
    Enable,
    Disable,
    Rotate,
    Redeliver,
    Delete,
];

impl Route {
    fn is_form(self) -> bool {
        !matches!(self, List | New | Endpoint | DeleteConfirm)
    }

    /// The matrix action that decides who may use the route.
    fn action(self) -> Action {
        match self {
            New => Action::OrgRead,
            List => Action::WebhookList,
            Endpoint | DeleteConfirm => Action::WebhookRead,
            _ => Action::WebhookWrite,
        }
    }

    /// The status of an allowed request (the secret pages answer the post itself).
    fn success(self) -> u16 {
        match self {
            Create | Rotate => 200,
            r if r.is_form() => 303,
            _ => 200,
        }
    }

    /// The path and form fields, with a fresh endpoint (or message) to act on.
    async fn prepare(self, w: &World, org: &Org) -> (String, Vec<(&'static str, String)>) {
        let fresh = || fresh_endpoint(w, org);
        let (rest, fields) = match self {
            List => ("/webhooks".to_string(), vec![]),
            New => ("/webhooks/new".into(), vec![]),
            Endpoint => (format!("/webhooks/{}", fresh().await), vec![]),
            DeleteConfirm => (format!("/webhooks/{}/delete", fresh().await), vec![]),
            Create => (
                "/webhooks".into(),
                vec![("url", format!("https://hooks.example/{}", unique()))],
            ),
            Edit => (
                format!("/webhooks/{}", fresh().await),
                vec![("url", format!("https://hooks.example/{}", unique()))],
            ),
            Enable => {
                let id = fresh().await;
                let off = EndpointChange {
                    enabled: Some(false),
                    ..Default::default()
                };
                webhooks::update(&w.app.state, &Caller::operator(), &id, off)
                    .await
                    .expect("switched off");
                (format!("/webhooks/{id}/enable"), vec![])
            }
            Disable => (format!("/webhooks/{}/disable", fresh().await), vec![]),
            Rotate => (format!("/webhooks/{}/rotate", fresh().await), vec![]),
            Redeliver => {
                let (endpoint, message) = fresh_message(w, org).await;
                (
                    format!("/webhooks/{endpoint}/deliveries/{message}/redeliver"),
                    vec![],
                )
            }
            Delete => (format!("/webhooks/{}/delete", fresh().await), vec![]),
        };
        (org.path(&rest), fields)
    }
}

/// Sends `route`'s request as `admin` with `csrf` as the token (none: left out).
async fn send(
    admin: &Admin,
    route: Route,
    path: &str,
    fields: &[(&'static str, String)],
    csrf: Option<&str>,
) -> crate::helpers::browser::Page {
    if !route.is_form() {
        return admin.get(path).await;
    }
    let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if let Some(token) = csrf {
        pairs.push(("csrf", token));
    }
    admin.post(path, &pairs).await
}

#[tokio::test]
async fn every_webhook_page_and_form_follows_the_permission_matrix() {
    let w = World::new().await;
    let _held = w.app.state.mailer.pause().await;
    let people: [(&str, &Person); 5] = [
        ("superadmin", &w.superadmin),
        ("admin A", &w.admin_a),
        ("admin B", &w.admin_b),
        ("member A", &w.member_a),
        ("outsider", &w.outsider),
    ];
    let mut visitors = Vec::new();
    for (name, person) in people {
        let principal = Principal::person(&w.app.state.db, &person.id)
            .await
            .expect("db");
        visitors.push((name, principal, Admin::sign_in(&w, person).await));
    }
    let browser = Browser::new(&w.app);
    let anonymous = Admin {
        browser,
        csrf: "none".into(),
    };
    visitors.push(("anonymous", Principal::Anonymous, anonymous));

    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for &route in ROUTES {
        for org in Org::both(&w) {
            for (name, principal, admin) in &visitors {
                let (path, fields) = route.prepare(&w, &org).await;
                let before = (w.snapshot().await, w.audit_count().await);
                let decision = principal.check(route.action(), &org.id);
                let want = match decision {
                    Ok(()) => route.success(),
                    Err(Refusal::Unauthenticated) => 303,
                    Err(Refusal::NotFound) => 404,
                    Err(Refusal::Forbidden) => 403,
                };
                let page = send(admin, route, &path, &fields, Some(&admin.csrf)).await;
                let status = page.status.as_u16();
                seen.insert(status);
                let case = format!("{route:?} on {} as {name}: {path}", org.slug);
                if status != want {
                    failures.push(format!("{case}: got {status}, want {want}"));
                    continue;
                }
                if want == 303
                    && decision.is_err()
                    && !page
                        .location
                        .unwrap_or_default()
                        .starts_with("/login?next=")
                {
                    failures.push(format!("{case}: not sent to the login page"));
                }
                if status == 404 && main_of(&page.body).contains("Club") {
                    failures.push(format!("{case}: the 404 page names an organisation"));
                }
                if route.is_form() {
                    let changed = before != (w.snapshot().await, w.audit_count().await);
                    if changed != decision.is_ok() {
                        failures.push(format!(
                            "{case}: allowed={}, changed={changed}",
                            decision.is_ok()
                        ));
                    }
                }
            }
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [200, 303, 403, 404],
        "every kind of answer occurred"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(attempts(&w).await, 0, "nothing was posted to hooks.example");
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused_and_change_nothing() {
    let w = World::new().await;
    let _held = w.app.state.mailer.pause().await;
    let [a, _] = Org::both(&w);
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let other = Admin::sign_in(&w, &w.admin_b).await;
    let mut failures = Vec::new();
    for &route in ROUTES.iter().filter(|r| r.is_form()) {
        let (path, fields) = route.prepare(&w, &a).await;
        let before = (w.snapshot().await, w.audit_count().await);
        for token in [None, Some(""), Some("forged"), Some(other.csrf.as_str())] {
            let page = send(&admin, route, &path, &fields, token).await;
            if page.status != 403 || page.body.contains("whsec_") {
                failures.push(format!("{route:?} with {token:?}: {}", page.status));
            }
        }
        if before != (w.snapshot().await, w.audit_count().await) {
            failures.push(format!("{route:?}: a refused form changed the data"));
        }
        // With the session's own token the same form works.
        let page = send(&admin, route, &path, &fields, Some(&admin.csrf)).await;
        if page.status.as_u16() != route.success() {
            failures.push(format!("{route:?} with the token: {}", page.status));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(attempts(&w).await, 0, "nothing was posted to hooks.example");
}
