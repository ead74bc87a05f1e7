//! One of the organisation's clients: its settings, redirect URIs, front-channel logout page
//! and back-channel logout URI with the latest logout tokens sent to it, a new secret (shown once), deleting it. A client of another owner does not exist at this organisation's
//! address, whoever asks.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::Response;

use crate::admin::AdminError;
use crate::admin::clients::{self, ClientChanges, ClientView, DeliveryState};
use crate::admin::orgs::OrgView;
use crate::http::authorize::see_other;
use crate::i18n::Texts;
use crate::state::AppState;

use super::at_org::{AtOrg, OrgForm};
use super::clients::secret_page;
use super::context::{Admin, Fields, Shown, Stop};
use super::org_path;
use super::view::{Chrome, ConfirmPage, date, enc, page};
use crate::http::page::datetime;

/// Loads a client of this organisation: a client of another owner does not exist here,
/// whoever asks (404), even for a superadmin who may see it at its own address.
async fn client_of(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    id: &str,
) -> Result<ClientView, Stop> {
    let client = clients::get(state, &admin.caller, id)
        .await
        .map_err(|e| admin.fail(e))?;
    if client.owner_organisation_id.as_deref() != Some(org.id.as_str()) {
        return Err(admin.fail(AdminError::NotFound("no client".into())));
    }
    Ok(client)
}

/// One client.
#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub here: String,
    pub base: String,
    pub client: ClientView,
    pub created: String,
    /// The text fields, as stored or as typed before a refusal.
    pub typed: Typed,
    pub visible_roles: String,
    /// The latest logout tokens sent to the client.
    pub deliveries: Vec<DeliveryRow>,
}

/// The editable text fields of the form.
pub struct Typed {
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: String,
    pub frontchannel_logout_uri: String,
}

impl Typed {
    fn stored(client: &ClientView) -> Typed {
        Typed {
            redirect_uris: client.redirect_uris.join("\n"),
            post_logout_redirect_uris: client.post_logout_redirect_uris.join("\n"),
            backchannel_logout_uri: client.backchannel_logout_uri.clone().unwrap_or_default(),
            frontchannel_logout_uri: client.frontchannel_logout_uri.clone().unwrap_or_default(),
        }
    }
}

/// One logout token as the page lists it.
pub struct DeliveryRow {
    pub queued: String,
    pub state: &'static str,
    pub attempts: i64,
    pub last_error: String,
}

async fn client_page(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    client: ClientView,
    shown: Shown,
    typed: Option<Typed>,
) -> Result<Response, Stop> {
    let base = org_path(org);
    let typed = typed.unwrap_or_else(|| Typed::stored(&client));
    let deliveries = clients::logout_deliveries(state, &admin.caller, &client.client_id)
        .await
        .map_err(|e| admin.fail(e))?
        .into_iter()
        .map(|d| DeliveryRow {
            queued: datetime(&admin.time_zone, d.queued_at),
            state: match d.state {
                DeliveryState::Delivered => "admin.client.delivery_delivered",
                DeliveryState::Waiting => "admin.client.delivery_waiting",
                DeliveryState::GivenUp => "admin.client.delivery_given_up",
            },
            attempts: d.attempts,
            last_error: d.last_error.unwrap_or_default(),
        })
        .collect();
    Ok(page(
        shown.status,
        &ClientPage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "clients").with(shown.notice),
            here: format!("{base}/clients/{}", enc(&client.client_id)),
            base,
            created: date(&admin.time_zone, client.created_at),
            visible_roles: client.visible_roles.as_ref().map_or_else(
                || admin.texts.t("admin.client.all_roles").to_string(),
                |r| r.join(", "),
            ),
            typed,
            deliveries,
            client,
        },
    ))
}

/// `GET /admin/orgs/{org}/clients/{id}`.
pub async fn get_client(
    AtOrg { state, admin, org }: AtOrg,
    Path((_, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let client = client_of(&state, &admin, &org, &id).await?;
    let shown = admin.done(&Fields::query(raw.as_deref()));
    client_page(&state, &admin, &org, client, shown, None).await
}

/// `POST /admin/orgs/{org}/clients/{id}`: changes the name and redirect URIs.
pub async fn post_edit(
    Path((_, id)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, form): OrgForm,
) -> Result<Response, Stop> {
    let client = client_of(&state, &admin, &org, &id).await?;
    let changes = ClientChanges {
        name: Some(form.text("name")),
        redirect_uris: Some(form.lines("redirect_uris")),
        post_logout_redirect_uris: Some(form.lines("post_logout_redirect_uris")),
        require_organisation: Some(form.checked("require_organisation")),
        require_two_factors: Some(form.checked("require_two_factors")),
        backchannel_logout_uri: Some(
            Some(form.text("backchannel_logout_uri")).filter(|u| !u.is_empty()),
        ),
        backchannel_logout_session_required: Some(
            form.checked("backchannel_logout_session_required"),
        ),
        frontchannel_logout_uri: Some(
            Some(form.text("frontchannel_logout_uri")).filter(|u| !u.is_empty()),
        ),
        frontchannel_logout_session_required: Some(
            form.checked("frontchannel_logout_session_required"),
        ),
        ..Default::default()
    };
    match clients::update(&state, &admin.caller, &client.client_id, changes).await {
        Ok(_) => Ok(see_other(&format!(
            "{}/clients/{}?done=client_updated",
            org_path(&org),
            enc(&client.client_id)
        ))),
        Err(e) => {
            let shown = admin.refused(e)?;
            let typed = Typed {
                redirect_uris: form.text("redirect_uris"),
                post_logout_redirect_uris: form.text("post_logout_redirect_uris"),
                backchannel_logout_uri: form.text("backchannel_logout_uri"),
                frontchannel_logout_uri: form.text("frontchannel_logout_uri"),
            };
            client_page(&state, &admin, &org, client, shown, Some(typed)).await
        }
    }
}

/// `POST /admin/orgs/{org}/clients/{id}/rotate`: a new secret, shown once; the old one
/// stops working at once.
pub async fn post_rotate(
    Path((_, id)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    let client = client_of(&state, &admin, &org, &id).await?;
    match clients::rotate_secret(&state, &admin.caller, &client.client_id).await {
        Ok(secret) => Ok(secret_page(&admin, &org, client, Some(secret), false)),
        Err(e) => client_page(&state, &admin, &org, client, admin.refused(e)?, None).await,
    }
}

/// `GET /admin/orgs/{org}/clients/{id}/delete`: asks before deleting.
pub async fn get_delete(
    AtOrg { state, admin, org }: AtOrg,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Stop> {
    let client = client_of(&state, &admin, &org, &id).await?;
    let t = admin.texts;
    let here = format!("{}/clients/{}", org_path(&org), enc(&client.client_id));
    Ok(page(
        StatusCode::OK,
        &ConfirmPage {
            t,
            chrome: admin.org_chrome(&org, "clients"),
            heading: t
                .t("admin.client.delete_heading")
                .replace("{name}", &client.name),
            text: t.t("admin.client.delete_text").to_string(),
            action: format!("{here}/delete"),
            button: t.t("admin.client.delete_button"),
            back: here,
        },
    ))
}

/// `POST /admin/orgs/{org}/clients/{id}/delete`: deletes the client; its grants and tokens
/// end with it.
pub async fn post_delete(
    Path((_, id)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    let client = client_of(&state, &admin, &org, &id).await?;
    clients::delete(&state, &admin.caller, &client.client_id)
        .await
        .map_err(|e| admin.fail(e))?;
    Ok(see_other(&format!(
        "{}/clients?done=client_deleted",
        org_path(&org)
    )))
}
