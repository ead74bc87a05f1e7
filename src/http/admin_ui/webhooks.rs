//! The organisation's webhook endpoints (issue 18): the list, adding one, and one endpoint's
//! page (its settings, switching it off and on, a new secret, deleting it, and its recent
//! deliveries, each of which can be sent again). A secret is shown once, as the answer to
//! the form that made it; it is never in a URL or a later page. An endpoint of another owner
//! (another organisation, or the installation's own) does not exist at this organisation's
//! address, whoever asks.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;

use crate::admin::AdminError;
use crate::admin::orgs::OrgView;
use crate::admin::webhooks::{self, DeliveryView, EndpointChange, EndpointView, NewEndpoint};
use crate::http::authorize::see_other;
use crate::i18n::Texts;
use crate::state::AppState;
use crate::webhooks::events::TYPES;

use super::at_org::{AtOrg, OrgForm};
use super::context::{Admin, Fields, Shown, Stop};
use super::org_path;
use super::view::{Chrome, ConfirmPage, Notice, Pager, datetime, enc, page};

/// One event type on the form.
pub struct EventChoice {
    pub name: &'static str,
    /// What it means, when the catalog says.
    pub label: Option<String>,
    pub checked: bool,
}

/// Every event type, those in `ticked` ticked.
fn event_choices(t: Texts, ticked: &[String]) -> Vec<EventChoice> {
    TYPES
        .iter()
        .map(|&name| {
            let key = format!("admin.webhook_event.{}", name.replace('.', "_"));
            let text = t.t(&key);
            EventChoice {
                name,
                label: (text != key).then(|| text.to_string()),
                checked: ticked.iter().any(|e| e == name),
            }
        })
        .collect()
}

/// The endpoint form as stored or as typed before a refusal.
pub struct Draft {
    pub url: String,
    pub description: String,
    pub events: Vec<EventChoice>,
}

impl Draft {
    fn typed(t: Texts, form: &Fields) -> Draft {
        Draft {
            url: form.text("url"),
            description: form.text("description"),
            events: event_choices(t, &form.all("events")),
        }
    }
}

/// The endpoint list.
#[derive(Template)]
#[template(path = "admin/webhooks.html")]
pub struct WebhooksPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub endpoints: Vec<EndpointView>,
}

/// `GET /admin/orgs/{org}/webhooks`.
pub async fn get_list(
    AtOrg { state, admin, org }: AtOrg,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let endpoints = webhooks::list(&state, &admin.caller, Some(&org.id))
        .await
        .map_err(|e| admin.fail(e))?;
    let shown = done(&admin, &Fields::query(raw.as_deref()));
    Ok(page(
        StatusCode::OK,
        &WebhooksPage {
            t: admin.texts,
            chrome: admin.org_chrome(&org, "webhooks").with(shown.notice),
            base: org_path(&org),
            endpoints,
        },
    ))
}

/// The form for a new endpoint.
#[derive(Template)]
#[template(path = "admin/webhook_new.html")]
pub struct NewWebhookPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub draft: Draft,
}

fn new_page(admin: &Admin, org: &OrgView, draft: Draft, shown: Shown) -> Response {
    page(
        shown.status,
        &NewWebhookPage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "webhooks").with(shown.notice),
            base: org_path(org),
            draft,
        },
    )
}

/// `GET /admin/orgs/{org}/webhooks/new`.
pub async fn get_new(AtOrg { admin, org, .. }: AtOrg) -> Result<Response, Stop> {
    let draft = Draft {
        url: String::new(),
        description: String::new(),
        events: event_choices(admin.texts, &[]),
    };
    Ok(new_page(&admin, &org, draft, Shown::plain()))
}

/// `POST /admin/orgs/{org}/webhooks`: adds an endpoint to the organisation and shows its
/// secret once.
pub async fn post_create(
    OrgForm(AtOrg { state, admin, org }, form): OrgForm,
) -> Result<Response, Stop> {
    let req = NewEndpoint {
        url: form.text("url"),
        description: form.text("description"),
        events: form.all("events"),
        enabled: true,
    };
    match webhooks::create(&state, &admin.caller, Some(&org.id), req).await {
        Ok(created) => Ok(secret_page(
            &admin,
            &org,
            created.endpoint,
            created.secret,
            None,
        )),
        Err(e) => {
            let shown = refused(&admin, e)?;
            Ok(new_page(
                &admin,
                &org,
                Draft::typed(admin.texts, &form),
                shown,
            ))
        }
    }
}

/// An endpoint's secret, this once.
#[derive(Template)]
#[template(path = "admin/webhook_secret.html")]
pub struct SecretPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub here: String,
    pub url: String,
    pub secret: String,
    /// Made now (not replaced).
    pub created: bool,
    /// After a replacement: until when the previous secret also signs, in words.
    pub overlap: Option<String>,
}

fn secret_page(
    admin: &Admin,
    org: &OrgView,
    endpoint: EndpointView,
    secret: String,
    previous_until: Option<i64>,
) -> Response {
    page(
        StatusCode::OK,
        &SecretPage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "webhooks"),
            here: format!("{}/webhooks/{}", org_path(org), enc(&endpoint.id)),
            url: endpoint.url,
            secret,
            created: previous_until.is_none(),
            overlap: previous_until.map(|at| {
                admin
                    .texts
                    .t("admin.webhook_secret.previous_until")
                    .replace("{time}", &datetime(&admin.time_zone, at))
            }),
        },
    )
}

/// Loads an endpoint of this organisation: an endpoint of another owner does not exist
/// here, whoever asks (404), even for a superadmin who may see it at its own address.
async fn endpoint_of(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    id: &str,
) -> Result<EndpointView, Stop> {
    let endpoint = webhooks::get(state, &admin.caller, id)
        .await
        .map_err(|e| admin.fail(e))?;
    if endpoint.organisation_id.as_deref() != Some(org.id.as_str()) {
        return Err(admin.fail(AdminError::NotFound("no webhook endpoint".into())));
    }
    Ok(endpoint)
}

/// One endpoint.
#[derive(Template)]
#[template(path = "admin/webhook.html")]
pub struct WebhookPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub here: String,
    pub endpoint: EndpointView,
    pub created: String,
    pub updated: String,
    /// Until when the previous secret also signs, while it does.
    pub previous_until: Option<String>,
    pub typed: Draft,
    pub deliveries: Vec<DeliveryRow>,
    pub pager: Pager,
}

/// One message as the deliveries table shows it.
pub struct DeliveryRow {
    pub id: String,
    pub event_type: String,
    pub created: String,
    /// The state in words (catalog key, or the state itself when unknown).
    pub state: String,
    pub status: String,
    pub attempts: i64,
    pub last_attempt: String,
    pub last_error: String,
}

impl DeliveryRow {
    fn new(t: Texts, tz: &jiff::tz::TimeZone, d: DeliveryView) -> DeliveryRow {
        let key = format!("admin.webhook.state_{}", d.state);
        let state = t.t(&key);
        DeliveryRow {
            state: if state == key {
                d.state
            } else {
                state.to_string()
            },
            created: datetime(tz, d.created_at),
            status: d.last_status.map(|s| s.to_string()).unwrap_or_default(),
            attempts: d.attempts,
            last_attempt: d
                .last_attempt_at
                .map(|at| datetime(tz, at))
                .unwrap_or_default(),
            last_error: d.last_error.unwrap_or_default(),
            event_type: d.event_type,
            id: d.id,
        }
    }
}

async fn webhook_page(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    endpoint: EndpointView,
    shown: Shown,
    typed: Option<Draft>,
    cursor: Option<&str>,
) -> Result<Response, Stop> {
    let t = admin.texts;
    let tz = &admin.time_zone;
    let base = org_path(org);
    let here = format!("{base}/webhooks/{}", enc(&endpoint.id));
    let list = webhooks::deliveries(state, &admin.caller, &endpoint.id, cursor, None)
        .await
        .map_err(|e| admin.fail(e))?;
    let pager = Pager::new(&here, &[], cursor, list.next_cursor.as_deref());
    let typed = typed.unwrap_or_else(|| Draft {
        url: endpoint.url.clone(),
        description: endpoint.description.clone(),
        events: event_choices(t, &endpoint.events),
    });
    Ok(page(
        shown.status,
        &WebhookPage {
            t,
            chrome: admin.org_chrome(org, "webhooks").with(shown.notice),
            created: datetime(tz, endpoint.created_at),
            updated: datetime(tz, endpoint.updated_at),
            previous_until: endpoint
                .previous_secret_until
                .filter(|until| *until > state.now())
                .map(|until| datetime(tz, until)),
            deliveries: list
                .items
                .into_iter()
                .map(|d| DeliveryRow::new(t, tz, d))
                .collect(),
            pager,
            typed,
            endpoint,
            base,
            here,
        },
    ))
}

/// `GET /admin/orgs/{org}/webhooks/{webhook}?cursor=`: the endpoint and its deliveries.
pub async fn get_webhook(
    AtOrg { state, admin, org }: AtOrg,
    Path((_, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let endpoint = endpoint_of(&state, &admin, &org, &id).await?;
    let q = Fields::query(raw.as_deref());
    let shown = done(&admin, &q);
    webhook_page(
        &state,
        &admin,
        &org,
        endpoint,
        shown,
        None,
        q.some("cursor"),
    )
    .await
}

/// `POST /admin/orgs/{org}/webhooks/{webhook}`: changes the URL, description and events.
/// The URL is only passed on when it changed, so that an organisation's admin can still
/// edit the events of a loopback endpoint the superadmin registered (only a superadmin may
/// set a loopback URL).
pub async fn post_edit(
    Path((_, id)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, form): OrgForm,
) -> Result<Response, Stop> {
    let endpoint = endpoint_of(&state, &admin, &org, &id).await?;
    let url = form.text("url");
    let change = EndpointChange {
        url: (url.trim() != endpoint.url).then_some(url),
        description: Some(form.text("description")),
        events: Some(form.all("events")),
        enabled: None,
    };
    match webhooks::update(&state, &admin.caller, &endpoint.id, change).await {
        Ok(_) => Ok(back_to(&org, &endpoint, "webhook_updated")),
        Err(e) => {
            let shown = refused(&admin, e)?;
            let typed = Draft::typed(admin.texts, &form);
            webhook_page(&state, &admin, &org, endpoint, shown, Some(typed), None).await
        }
    }
}

/// `POST /admin/orgs/{org}/webhooks/{webhook}/enable`.
pub async fn post_enable(
    Path((_, id)): Path<(String, String)>,
    form: OrgForm,
) -> Result<Response, Stop> {
    switch(id, form, true).await
}

/// `POST /admin/orgs/{org}/webhooks/{webhook}/disable`: no more events are queued for it,
/// and messages still waiting are dropped.
pub async fn post_disable(
    Path((_, id)): Path<(String, String)>,
    form: OrgForm,
) -> Result<Response, Stop> {
    switch(id, form, false).await
}

async fn switch(
    id: String,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
    enabled: bool,
) -> Result<Response, Stop> {
    let endpoint = endpoint_of(&state, &admin, &org, &id).await?;
    let change = EndpointChange {
        enabled: Some(enabled),
        ..Default::default()
    };
    webhooks::update(&state, &admin.caller, &endpoint.id, change)
        .await
        .map_err(|e| admin.fail(e))?;
    let done = if enabled {
        "webhook_enabled"
    } else {
        "webhook_disabled"
    };
    Ok(back_to(&org, &endpoint, done))
}

/// `POST /admin/orgs/{org}/webhooks/{webhook}/rotate`: a new secret, shown once; the
/// previous one keeps signing beside it for a while (`admin::webhooks::ROTATION_OVERLAP`).
pub async fn post_rotate(
    Path((_, id)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    let endpoint = endpoint_of(&state, &admin, &org, &id).await?;
    let new = webhooks::rotate_secret(&state, &admin.caller, &endpoint.id)
        .await
        .map_err(|e| admin.fail(e))?;
    let until = Some(new.previous_secret_until);
    Ok(secret_page(&admin, &org, endpoint, new.secret, until))
}

/// `POST /admin/orgs/{org}/webhooks/{webhook}/deliveries/{message}/redeliver`: sends a
/// message again at once, under the same `webhook-id`.
pub async fn post_redeliver(
    Path((_, id, message)): Path<(String, String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    let endpoint = endpoint_of(&state, &admin, &org, &id).await?;
    webhooks::redeliver(&state, &admin.caller, &endpoint.id, &message)
        .await
        .map_err(|e| admin.fail(e))?;
    Ok(back_to(&org, &endpoint, "webhook_redelivered"))
}

/// `GET /admin/orgs/{org}/webhooks/{webhook}/delete`: asks before deleting.
pub async fn get_delete(
    AtOrg { state, admin, org }: AtOrg,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Stop> {
    let endpoint = endpoint_of(&state, &admin, &org, &id).await?;
    let t = admin.texts;
    let here = format!("{}/webhooks/{}", org_path(&org), enc(&endpoint.id));
    Ok(page(
        StatusCode::OK,
        &ConfirmPage {
            t,
            chrome: admin.org_chrome(&org, "webhooks"),
            heading: t
                .t("admin.webhook.delete_heading")
                .replace("{url}", &endpoint.url),
            text: t.t("admin.webhook.delete_text").to_string(),
            action: format!("{here}/delete"),
            button: t.t("admin.webhook.delete_button"),
            back: here,
        },
    ))
}

/// `POST /admin/orgs/{org}/webhooks/{webhook}/delete`: deletes the endpoint and its
/// messages.
pub async fn post_delete(
    Path((_, id)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    let endpoint = endpoint_of(&state, &admin, &org, &id).await?;
    webhooks::delete(&state, &admin.caller, &endpoint.id)
        .await
        .map_err(|e| admin.fail(e))?;
    Ok(see_other(&format!(
        "{}/webhooks?done=webhook_deleted",
        org_path(&org)
    )))
}

/// 303 to the endpoint's page with the message `done`.
fn back_to(org: &OrgView, endpoint: &EndpointView, done: &str) -> Response {
    see_other(&format!(
        "{}/webhooks/{}?done={done}",
        org_path(org),
        enc(&endpoint.id)
    ))
}

/// The message named by `?done=`: these pages' own names (only these mean anything here,
/// so a crafted link cannot put words on the page), else the admin pages' shared ones.
fn done(admin: &Admin, q: &Fields) -> Shown {
    let key = match q.one("done") {
        Some("webhook_updated") => "admin.done.webhook_updated",
        Some("webhook_enabled") => "admin.done.webhook_enabled",
        Some("webhook_disabled") => "admin.done.webhook_disabled",
        Some("webhook_deleted") => "admin.done.webhook_deleted",
        Some("webhook_redelivered") => "admin.done.webhook_redelivered",
        _ => return admin.done(q),
    };
    Shown {
        status: StatusCode::OK,
        notice: Some(Notice::done(admin.texts, key)),
    }
}

/// A refusal shown on the form ([`Admin::refused`]), with the endpoint refusals people
/// meet in the page's language. A loopback URL is refused as forbidden (only a superadmin
/// may point Nyckel at its own machine), but it is still a mistake in the form: it is
/// shown there, with the typed values, rather than as the "not allowed" page.
fn refused(admin: &Admin, e: AdminError) -> Result<Shown, Stop> {
    let known = match &e {
        AdminError::Forbidden(m) if m.contains("loopback") => {
            Some((StatusCode::FORBIDDEN, "admin.webhooks.error_loopback"))
        }
        AdminError::Invalid(m) if m.starts_with("url ") => {
            Some((StatusCode::BAD_REQUEST, "admin.webhooks.error_url"))
        }
        AdminError::Invalid(m) if m.starts_with("description ") => {
            Some((StatusCode::BAD_REQUEST, "admin.webhooks.error_description"))
        }
        AdminError::Conflict(m) if m.contains("nyckel upgrade finish") => {
            Some((StatusCode::CONFLICT, "admin.webhooks.error_upgrade"))
        }
        _ => None,
    };
    match known {
        Some((status, key)) => Ok(Shown {
            status,
            notice: Some(Notice {
                error: true,
                text: admin.texts.t(key).to_string(),
                lang: None,
            }),
        }),
        None => admin.refused(e),
    }
}
