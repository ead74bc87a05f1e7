//! `/orgs/{org}/clients` and `/clients`: an organisation's own clients and the
//! installation's (superadmin). A client secret appears only in the answer that creates or
//! rotates it; its hash never.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};

use crate::admin::Caller;
use crate::admin::clients::{self, ClientChanges, ClientView, CreateClient, CreatedView};
use crate::http::api::error::ApiResult;
use crate::http::api::extract::{ApiCaller, ApiJson, ApiPath, ApiQuery};
use crate::http::api::paging::PageQuery;
use crate::paging::Page;
use crate::state::AppState;

/// `POST /orgs/{org}/clients` and `POST /clients`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = crate::http::api::doc::uri_list)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = crate::http::api::doc::uri_list)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret, PKCE).
    #[serde(default)]
    #[schema(default = false)]
    pub public: bool,
    /// Organisations (ids or slugs) whose members may use it; an organisation's client is
    /// always restricted to its owner.
    #[serde(default)]
    pub organisations: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = crate::http::api::doc::grant_types)]
    pub grant_types: Vec<String>,
    /// Skips consent (superadmin only).
    #[serde(default)]
    #[schema(default = false)]
    pub first_party: bool,
    #[schema(schema_with = crate::http::api::doc::new_id_token_alg)]
    pub id_token_alg: Option<String>,
    #[serde(default)]
    #[schema(default = false)]
    pub require_organisation: bool,
    /// Roles the client may see (`null` or absent: all).
    pub visible_roles: Option<Vec<String>>,
    /// May get the `admin` scope (an organisation's service client acts as its admin).
    #[serde(default)]
    #[schema(default = false)]
    pub admin_api: bool,
    /// Authorization requests must carry PKCE (default `true`; `false` only for a
    /// confidential legacy app that cannot send it).
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub require_pkce: bool,
    /// Every login through the client must be of two factors (409 until the upgrade to
    /// 0.3.0 is finished).
    #[serde(default)]
    #[schema(default = false)]
    pub require_two_factors: bool,
    /// Where the client is told that a session it had tokens in ended (OpenID Connect
    /// Back-Channel Logout 1.0): `https`, or `http` on loopback for a superadmin (409 until
    /// the upgrade to 0.4.0 is finished).
    #[schema(schema_with = crate::http::api::doc::optional_uri)]
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in logout tokens (Nyckel always sends it).
    #[serde(default)]
    #[schema(default = false)]
    pub backchannel_logout_session_required: bool,
    /// A page of the client that the logged-out page loads in an iframe (OpenID Connect
    /// Front-Channel Logout 1.0), with `iss` and `sid` added: `https`, or `http` on loopback
    /// (409 until the upgrade to 0.5.0 is finished).
    #[schema(schema_with = crate::http::api::doc::optional_uri)]
    pub frontchannel_logout_uri: Option<String>,
    /// That page needs `iss` and `sid` (Nyckel always adds them).
    #[serde(default)]
    #[schema(default = false)]
    pub frontchannel_logout_session_required: bool,
}

fn yes() -> bool {
    true
}

impl From<NewClient> for CreateClient {
    fn from(b: NewClient) -> Self {
        CreateClient {
            name: b.name,
            redirect_uris: b.redirect_uris,
            post_logout_redirect_uris: b.post_logout_redirect_uris,
            public: b.public,
            organisations: b.organisations,
            grant_types: b.grant_types,
            first_party: b.first_party,
            id_token_alg: b.id_token_alg,
            require_organisation: b.require_organisation,
            // Set from the path by the use-case, never from the body.
            owner_organisation_id: None,
            visible_roles: b.visible_roles,
            admin_api: b.admin_api,
            allow_no_pkce: !b.require_pkce,
            require_two_factors: b.require_two_factors,
            backchannel_logout_uri: b.backchannel_logout_uri,
            backchannel_logout_session_required: b.backchannel_logout_session_required,
            frontchannel_logout_uri: b.frontchannel_logout_uri,
            frontchannel_logout_session_required: b.frontchannel_logout_session_required,
        }
    }
}

/// `PATCH /clients/{client}`: absent fields stay; `visible_roles: null` shows all roles.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(schema_with = crate::http::api::doc::uri_list)]
    pub redirect_uris: Option<Vec<String>>,
    #[schema(schema_with = crate::http::api::doc::uri_list)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub require_organisation: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub visible_roles: Option<Option<Vec<String>>>,
    /// Superadmin only.
    pub organisations: Option<Vec<String>>,
    /// `false` only for a confidential legacy app that cannot send PKCE.
    pub require_pkce: Option<bool>,
    /// Every login through the client must be of two factors.
    pub require_two_factors: Option<bool>,
    /// Where the client is told that a session ended; `null` stops back-channel logout.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::http::api::doc::optional_uri)]
    pub backchannel_logout_uri: Option<Option<String>>,
    pub backchannel_logout_session_required: Option<bool>,
    /// The page loaded in an iframe at logout; `null` stops front-channel logout.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::http::api::doc::optional_uri)]
    pub frontchannel_logout_uri: Option<Option<String>>,
    pub frontchannel_logout_session_required: Option<bool>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`, by `default`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The answer to a secret rotation: the new secret, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewSecret {
    pub client_id: String,
    pub client_secret: String,
}

crate::redact::debug_showing!(NewSecret { client_id });

async fn list_owned(
    state: &AppState,
    caller: &Caller,
    org: Option<&str>,
    q: &PageQuery,
) -> ApiResult<Json<Page<ClientView>>> {
    let page = clients::list(state, caller, org, q.cursor(), q.limit()?).await?;
    Ok(Json(page))
}

/// The organisation's own clients.
#[utoipa::path(
    get,
    path = "/orgs/{org}/clients",
    operation_id = "listOrgClients",
    tag = "clients",
    summary = "The organisation's own clients, by name.",
    description = "Permission: `ClientList` (org admin).",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of clients.", body = crate::http::api::doc::ClientPage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn list_of_org(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<ClientView>>> {
    list_owned(&state, &caller, Some(&org), &q).await
}

/// The installation's clients (superadmin).
#[utoipa::path(
    get,
    path = "/clients",
    operation_id = "listInstallationClients",
    tag = "clients",
    summary = "The installation's own clients (owned by no organisation), by name.",
    description = "Permission: superadmin (`ClientList` on the installation).",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of clients.", body = crate::http::api::doc::ClientPage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Refused,
    ),
)]
pub async fn list_of_installation(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<ClientView>>> {
    list_owned(&state, &caller, None, &q).await
}

/// Creates a client owned by the organisation.
#[utoipa::path(
    post,
    path = "/orgs/{org}/clients",
    operation_id = "createOrgClient",
    tag = "clients",
    summary = "Register a client owned by the organisation.",
    description = "Permission: `ClientCreate` (org admin). The client is restricted to the organisation; only a superadmin may make it first-party (403 otherwise). The secret of a confidential client is in this answer only.",
    request_body = NewClient,
    responses(
        (status = 201, description = "The client, with its secret shown once.", body = CreatedView),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
        crate::http::api::doc::Conflicting,
    ),
)]
pub async fn create_for_org(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<NewClient>,
) -> ApiResult<(StatusCode, Json<CreatedView>)> {
    let created = clients::create_as(&state, &caller, Some(&org), body.into()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates an installation client (superadmin).
#[utoipa::path(
    post,
    path = "/clients",
    operation_id = "createInstallationClient",
    tag = "clients",
    summary = "Register an installation client.",
    description = "Permission: superadmin (`ClientCreate` on the installation). The secret of a confidential client is in this answer only.",
    request_body = NewClient,
    responses(
        (status = 201, description = "The client, with its secret shown once.", body = CreatedView),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
        crate::http::api::doc::Conflicting,
    ),
)]
pub async fn create_for_installation(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewClient>,
) -> ApiResult<(StatusCode, Json<CreatedView>)> {
    let created = clients::create_as(&state, &caller, None, body.into()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One client.
#[utoipa::path(
    get,
    path = "/clients/{client}",
    operation_id = "getClient",
    tag = "clients",
    summary = "One client.",
    description = "Permission: `ClientRead` (org admin of the owner; superadmin for installation clients).",
    responses(
        (status = 200, description = "The client.", body = ClientView),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn get(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ClientView>> {
    Ok(Json(clients::get(&state, &caller, &id).await?))
}

/// Edits a client's name, redirect URIs and settings.
#[utoipa::path(
    patch,
    path = "/clients/{client}",
    operation_id = "updateClient",
    tag = "clients",
    summary = "Edit a client's name, redirect URIs and settings.",
    description = "Permission: `ClientUpdate` (org admin of the owner; superadmin for installation clients). Absent fields stay as they are. Redirect URIs must be absolute `https` URIs (or `http` on loopback) without fragment.",
    request_body = ClientPatch,
    responses(
        (status = 200, description = "The client as it is now.", body = ClientView),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
        crate::http::api::doc::Conflicting,
    ),
)]
pub async fn update(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ClientPatch>,
) -> ApiResult<Json<ClientView>> {
    let changes = ClientChanges {
        name: body.name,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        require_organisation: body.require_organisation,
        visible_roles: body.visible_roles,
        organisations: body.organisations,
        require_pkce: body.require_pkce,
        require_two_factors: body.require_two_factors,
        backchannel_logout_uri: body.backchannel_logout_uri,
        backchannel_logout_session_required: body.backchannel_logout_session_required,
        frontchannel_logout_uri: body.frontchannel_logout_uri,
        frontchannel_logout_session_required: body.frontchannel_logout_session_required,
    };
    Ok(Json(clients::update(&state, &caller, &id, changes).await?))
}

/// Deletes a client (its grants and tokens end).
#[utoipa::path(
    delete,
    path = "/clients/{client}",
    operation_id = "deleteClient",
    tag = "clients",
    summary = "Delete a client; its grants and tokens end with it.",
    description = "Permission: `ClientDelete` (org admin of the owner; superadmin for installation clients).",
    responses(
        (status = 204, description = "Deleted."),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn delete(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    clients::delete(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a confidential client's secret; the new one is in this answer only.
#[utoipa::path(
    post,
    path = "/clients/{client}/secret",
    operation_id = "rotateClientSecret",
    tag = "clients",
    summary = "Replace a confidential client's secret; the new one is in this answer only.",
    description = "Permission: `ClientRotateSecret` (org admin of the owner; superadmin for installation clients). A public client has no secret (409).",
    responses(
        (status = 200, description = "The new secret.", body = NewSecret),
        crate::http::api::doc::Missing, crate::http::api::doc::Conflicting, crate::http::api::doc::Refused,
    ),
)]
pub async fn rotate_secret(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<NewSecret>> {
    let secret = clients::rotate_secret(&state, &caller, &id).await?;
    Ok(Json(NewSecret {
        client_id: id,
        client_secret: secret,
    }))
}
