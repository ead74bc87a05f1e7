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
use crate::state::AppState;
use crate::store::page::Page;

/// `POST /orgs/{org}/clients` and `POST /clients`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub name: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret, PKCE).
    #[serde(default)]
    pub public: bool,
    /// Organisations (ids or slugs) whose members may use it; an organisation's client is
    /// always restricted to its owner.
    #[serde(default)]
    pub organisations: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Skips consent (superadmin only).
    #[serde(default)]
    pub first_party: bool,
    pub id_token_alg: Option<String>,
    #[serde(default)]
    pub require_organisation: bool,
    /// Roles the client may see (`null` or absent: all).
    pub visible_roles: Option<Vec<String>>,
    /// May get the `admin` scope (an organisation's service client acts as its admin).
    #[serde(default)]
    pub admin_api: bool,
    /// Authorization requests must carry PKCE (default `true`; `false` only for a
    /// confidential legacy app that cannot send it).
    #[serde(default = "yes")]
    pub require_pkce: bool,
    /// Every login through the client must be of two factors (409 until the upgrade to
    /// 0.3.0 is finished).
    #[serde(default)]
    pub require_two_factors: bool,
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
        }
    }
}

/// `PATCH /clients/{client}`: absent fields stay; `visible_roles: null` shows all roles.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
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
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`, by `default`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The answer to a secret rotation: the new secret, shown once.
#[derive(Serialize)]
pub struct NewSecret {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSecret")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

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
pub async fn list_of_org(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<ClientView>>> {
    list_owned(&state, &caller, Some(&org), &q).await
}

/// The installation's clients (superadmin).
pub async fn list_of_installation(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<ClientView>>> {
    list_owned(&state, &caller, None, &q).await
}

/// Creates a client owned by the organisation.
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
pub async fn create_for_installation(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewClient>,
) -> ApiResult<(StatusCode, Json<CreatedView>)> {
    let created = clients::create_as(&state, &caller, None, body.into()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One client.
pub async fn get(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ClientView>> {
    Ok(Json(clients::get(&state, &caller, &id).await?))
}

/// Edits a client's name, redirect URIs and settings.
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
    };
    Ok(Json(clients::update(&state, &caller, &id, changes).await?))
}

/// Deletes a client (its grants and tokens end).
pub async fn delete(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    clients::delete(&state, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces a confidential client's secret; the new one is in this answer only.
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
