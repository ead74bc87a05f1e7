//! Webhook endpoints as admins manage them (admin UI, API, CLI): an organisation's admins
//! manage its endpoints, superadmins the installation's (which hear every organisation).
//! The secret is shown once, when the endpoint is made or its secret replaced; after a
//! replacement the previous secret keeps signing for [`ROTATION_OVERLAP`] so receivers can
//! switch without losing a message. Adding an endpoint waits for the upgrade to 0.6.0 to be
//! finished (`upgrade::WEBHOOKS`).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::admin::{AdminError, Caller, Named, check_owner, cursor, load_org, record};
use crate::crypto::random_id;
use crate::orgs::permissions::Action;
use crate::paging::{self as page, Page};
use crate::state::AppState;
use crate::store::{self, from_json_list, to_json_list, webhooks::EndpointRow};
use crate::webhooks::deliver::secret_context;
use crate::webhooks::events::TYPES;
use crate::webhooks::signature::Secret;

/// How long a replaced secret keeps signing (seconds).
pub const ROTATION_OVERLAP: i64 = 86400;
/// Longest description.
const MAX_DESCRIPTION: usize = 200;

/// An endpoint as admins see it (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookEndpoint)]
pub struct EndpointView {
    pub id: String,
    /// The owning organisation (`None`: the installation's, which hears every organisation).
    #[schema(required = true)]
    pub organisation_id: Option<String>,
    pub url: String,
    pub description: String,
    /// The event types it is sent (empty: every type).
    pub events: Vec<String>,
    pub enabled: bool,
    /// Until when the previous secret also signs, after a replacement.
    #[schema(required = true, value_type = Option<crate::http::api::doc::Instant>)]
    pub previous_secret_until: Option<i64>,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub created_at: i64,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub updated_at: i64,
}

impl From<EndpointRow> for EndpointView {
    fn from(e: EndpointRow) -> Self {
        EndpointView {
            id: e.id,
            organisation_id: e.organisation_id,
            url: e.url,
            description: e.description,
            events: from_json_list(&e.events),
            enabled: e.enabled != 0,
            previous_secret_until: e.previous_secret_until,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A new endpoint and its secret, shown this once.
#[derive(Clone, Serialize, utoipa::ToSchema)]
#[schema(as = CreatedWebhookEndpoint)]
pub struct CreatedEndpoint {
    pub endpoint: EndpointView,
    /// `whsec_…`: verify signatures with it (Standard Webhooks). Not shown again.
    pub secret: String,
}

crate::redact::debug_showing!(CreatedEndpoint { endpoint });

/// A replaced secret, shown this once.
#[derive(Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookSecret)]
pub struct NewSecret {
    pub secret: String,
    /// Until when the previous secret also signs.
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub previous_secret_until: i64,
}

crate::redact::debug_showing!(NewSecret {
    previous_secret_until
});

/// What an admin gives for a new endpoint.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewWebhookEndpoint)]
pub struct NewEndpoint {
    /// `https`, or `http` on loopback (superadmins only, for development).
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Event types (empty or absent: every type).
    #[serde(default)]
    pub events: Vec<String>,
    /// Whether it is sent events from the start (default `true`; `false` to switch it on
    /// once the receiver is ready).
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A change to an endpoint: absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookEndpointChange)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// One message to an endpoint, as admins see it (never its body).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct DeliveryView {
    /// The `webhook-id`.
    pub id: String,
    pub event_type: String,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub created_at: i64,
    /// `pending`, `delivered`, `failed` (given up after every retry) or `dropped`.
    pub state: String,
    pub attempts: i64,
    #[schema(required = true, value_type = Option<crate::http::api::doc::Instant>)]
    pub last_attempt_at: Option<i64>,
    /// The HTTP status of the last answer, when one came.
    #[schema(required = true)]
    pub last_status: Option<i64>,
    /// Why the last attempt failed (the receiver's host and what went wrong).
    #[schema(required = true)]
    pub last_error: Option<String>,
    #[schema(required = true, value_type = Option<crate::http::api::doc::Instant>)]
    pub delivered_at: Option<i64>,
}

impl From<store::webhooks::MessageRow> for DeliveryView {
    fn from(m: store::webhooks::MessageRow) -> Self {
        DeliveryView {
            id: m.id,
            event_type: m.event_type,
            created_at: m.created_at,
            state: m.state,
            attempts: m.attempts,
            last_attempt_at: m.last_attempt_at,
            last_status: m.last_status,
            last_error: m.last_error,
            delivered_at: m.delivered_at,
        }
    }
}

/// Loads an endpoint and checks `action` on it.
async fn load(
    state: &AppState,
    caller: &Caller,
    action: Action,
    id: &str,
) -> Result<EndpointRow, AdminError> {
    let endpoint = store::webhooks::find(&state.db, id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no webhook endpoint".into()))?;
    check_owner(
        caller,
        action,
        endpoint.organisation_id.as_deref(),
        Named::One("webhook endpoint"),
    )?;
    Ok(endpoint)
}

/// The owner named by `org_key` (`None`: the installation), checked for `action`.
async fn owner(
    state: &AppState,
    caller: &Caller,
    action: Action,
    org_key: Option<&str>,
) -> Result<Option<String>, AdminError> {
    let owner = match org_key {
        Some(key) => Some(load_org(state, key).await?.id),
        None => None,
    };
    check_owner(
        caller,
        action,
        owner.as_deref(),
        Named::Collection("webhook endpoints"),
    )?;
    Ok(owner)
}

/// The endpoints of an organisation (`org_key`) or of the installation (`None`).
#[tracing::instrument(skip_all)]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org_key: Option<&str>,
) -> Result<Vec<EndpointView>, AdminError> {
    let owner = owner(state, caller, Action::WebhookList, org_key).await?;
    let rows = store::webhooks::list(&state.db, owner.as_deref()).await?;
    Ok(rows.into_iter().map(EndpointView::from).collect())
}

/// One endpoint.
#[tracing::instrument(skip_all)]
pub async fn get(state: &AppState, caller: &Caller, id: &str) -> Result<EndpointView, AdminError> {
    Ok(load(state, caller, Action::WebhookRead, id).await?.into())
}

/// Adds an endpoint to an organisation (or to the installation, `None`, superadmin); its
/// secret is in the answer, once.
#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    caller: &Caller,
    org_key: Option<&str>,
    req: NewEndpoint,
) -> Result<CreatedEndpoint, AdminError> {
    let owner = owner(state, caller, Action::WebhookWrite, org_key).await?;
    check_url(&req.url, caller.principal.is_superadmin())?;
    let events = check_events(&req.events)?;
    let description = check_description(&req.description)?;
    crate::upgrade::require_finished(&state.db, crate::upgrade::WEBHOOKS)
        .await
        .map_err(|e| AdminError::Conflict(e.to_string()))?;
    let id = format!("wh_{}", random_id());
    let secret = Secret::generate();
    let now = state.now();
    let row = EndpointRow {
        secret_sealed: state
            .keys
            .seal_data(secret.shown().as_bytes(), &secret_context(&id)),
        id,
        organisation_id: owner,
        url: req.url.trim().to_string(),
        description,
        events: to_json_list(&events),
        previous_secret_sealed: None,
        previous_secret_until: None,
        enabled: i64::from(req.enabled),
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin().await?;
    store::webhooks::insert(&mut tx, &row).await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.webhook_created",
        row.organisation_id.as_deref(),
        None,
        json!({ "webhook": row.id, "url": row.url, "events": events }),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedEndpoint {
        endpoint: row.into(),
        secret: secret.shown(),
    })
}

/// Changes an endpoint's URL, description, events or whether it is enabled. Messages
/// queued while it is disabled are dropped, not kept for later.
#[tracing::instrument(skip_all)]
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &str,
    change: EndpointChange,
) -> Result<EndpointView, AdminError> {
    let mut row = load(state, caller, Action::WebhookWrite, id).await?;
    // An unchanged URL is not checked again (an org admin may edit an endpoint a superadmin
    // registered on loopback).
    if let Some(url) = change.url.as_ref().filter(|u| u.trim() != row.url) {
        check_url(url, caller.principal.is_superadmin())?;
        row.url = url.trim().to_string();
    }
    if let Some(events) = &change.events {
        row.events = to_json_list(&check_events(events)?);
    }
    if let Some(description) = &change.description {
        row.description = check_description(description)?;
    }
    if let Some(enabled) = change.enabled {
        row.enabled = i64::from(enabled);
    }
    row.updated_at = state.now();
    let mut tx = state.db.begin().await?;
    store::webhooks::update(&mut tx, &row).await?;
    record(
        &mut tx,
        caller,
        row.updated_at,
        "admin.webhook_updated",
        row.organisation_id.as_deref(),
        None,
        json!({ "webhook": row.id, "url": row.url, "events": from_json_list(&row.events), "enabled": row.enabled != 0 }),
    )
    .await?;
    tx.commit().await?;
    Ok(row.into())
}

/// Replaces an endpoint's secret; the new one is in the answer, once. The previous one
/// keeps signing for [`ROTATION_OVERLAP`] (a second replacement within it ends it).
#[tracing::instrument(skip_all)]
pub async fn rotate_secret(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<NewSecret, AdminError> {
    let row = load(state, caller, Action::WebhookWrite, id).await?;
    let secret = Secret::generate();
    let now = state.now();
    let until = now + ROTATION_OVERLAP;
    let sealed = state
        .keys
        .seal_data(secret.shown().as_bytes(), &secret_context(&row.id));
    let mut tx = state.db.begin().await?;
    store::webhooks::rotate_secret(&mut tx, &row.id, (&sealed, &row.secret_sealed), until, now)
        .await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.webhook_secret_rotated",
        row.organisation_id.as_deref(),
        None,
        json!({ "webhook": row.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(NewSecret {
        secret: secret.shown(),
        previous_secret_until: until,
    })
}

/// Deletes an endpoint; its messages (delivered or not) go with it.
#[tracing::instrument(skip_all)]
pub async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<(), AdminError> {
    let row = load(state, caller, Action::WebhookWrite, id).await?;
    let mut tx = state.db.begin().await?;
    store::webhooks::delete(&mut tx, &row.id).await?;
    record(
        &mut tx,
        caller,
        state.now(),
        "admin.webhook_deleted",
        row.organisation_id.as_deref(),
        None,
        json!({ "webhook": row.id, "url": row.url }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An endpoint's messages, newest first (kept 30 days).
#[tracing::instrument(skip_all)]
pub async fn deliveries(
    state: &AppState,
    caller: &Caller,
    id: &str,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<DeliveryView>, AdminError> {
    let row = load(state, caller, Action::WebhookRead, id).await?;
    let limit = page::limit(limit);
    let before = match cursor::key(cursor, 1)? {
        Some(k) => Some(
            k[0].parse::<i64>()
                .map_err(|_| AdminError::Invalid("the cursor is not valid".into()))?,
        ),
        None => None,
    };
    let rows = store::webhooks::messages(&state.db, &row.id, before, limit).await?;
    let page = page::finish(rows, limit, |m| {
        page::encode_cursor(&[&m.ordinal.to_string()])
    });
    Ok(Page {
        items: page.items.into_iter().map(DeliveryView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Sends a message again, under the same `webhook-id`, at once (whatever became of it).
#[tracing::instrument(skip_all)]
pub async fn redeliver(
    state: &AppState,
    caller: &Caller,
    id: &str,
    message_id: &str,
) -> Result<DeliveryView, AdminError> {
    let row = load(state, caller, Action::WebhookWrite, id).await?;
    let message = store::webhooks::message(&state.db, message_id)
        .await?
        .filter(|m| m.endpoint_id == row.id)
        .ok_or_else(|| AdminError::NotFound("no delivery".into()))?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    store::webhooks::reopen(&mut tx, &message, now).await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.webhook_redelivered",
        row.organisation_id.as_deref(),
        None,
        json!({ "webhook": row.id, "message": message.id }),
    )
    .await?;
    tx.commit().await?;
    state.mailer.wake();
    let message = store::webhooks::message(&state.db, message_id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no delivery".into()))?;
    Ok(message.into())
}

/// Checks an endpoint URL: absolute `https` without credentials or fragment, or `http` on
/// loopback for development. A loopback (or unspecified) host is this server itself and a
/// link-local one its own link (a cloud's metadata service), so only a superadmin (the
/// operator) may register one: an organisation's admin must not make Nyckel post there. (A
/// name that resolves to such an address is not caught here: docs/security.md.)
fn check_url(url: &str, internal_allowed: bool) -> Result<(), AdminError> {
    let invalid = |m: &str| AdminError::Invalid(format!("url {url}: {m}"));
    let u = url::Url::parse(url.trim()).map_err(|_| invalid("not an absolute URL"))?;
    if u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return Err(invalid("no fragment and no credentials"));
    }
    let place = crate::outbound::host_kind(&u);
    let loopback = place == crate::outbound::Where::Loopback;
    let internal = place != crate::outbound::Where::Elsewhere;
    match u.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(invalid("https, or http on loopback for development")),
    }
    if internal && !internal_allowed {
        return Err(AdminError::Forbidden(format!(
            "url {url}: only a superadmin may register a loopback or link-local address (this server and its own link)"
        )));
    }
    Ok(())
}

/// Checks event types: each known, no repeats (empty: every type).
fn check_events(events: &[String]) -> Result<Vec<String>, AdminError> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        if !TYPES.contains(&e.as_str()) {
            return Err(AdminError::Invalid(format!(
                "unknown event type {e:?}; known: {}",
                TYPES.join(", ")
            )));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

fn check_description(d: &str) -> Result<String, AdminError> {
    let d = d.trim();
    if d.chars().count() > MAX_DESCRIPTION || d.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "description must be at most {MAX_DESCRIPTION} characters without control characters"
        )));
    }
    Ok(d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_or_loopback_for_superadmins() {
        assert!(check_url("https://hooks.example/nyckel", false).is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(matches!(
            check_url("http://127.0.0.1:9000/hook", false),
            Err(AdminError::Forbidden(_))
        ));
        for internal in [
            "https://localhost/hook",
            "https://0.0.0.0/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::]/hook",
            "https://[fe80::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "https://[::ffff:169.254.169.254]/hook",
        ] {
            assert!(
                matches!(check_url(internal, false), Err(AdminError::Forbidden(_))),
                "{internal}"
            );
            assert!(check_url(internal, true).is_ok(), "{internal}");
        }
        // An organisation's app may live on an internal network (docs/security.md).
        assert!(check_url("https://10.1.2.3/hook", false).is_ok());
        for bad in [
            "http://hooks.example/",
            "ftp://hooks.example/",
            "hooks.example",
            "https://u:p@hooks.example/",
            "https://hooks.example/#x",
        ] {
            assert!(
                matches!(check_url(bad, true), Err(AdminError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn events_are_known_and_deduplicated() {
        let ok = check_events(&["member.added".into(), "member.added".into()]).unwrap();
        assert_eq!(ok, vec!["member.added".to_string()]);
        assert!(check_events(&["member.exploded".into()]).is_err());
    }
}
