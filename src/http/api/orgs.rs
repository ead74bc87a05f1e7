//! `/orgs` and `/orgs/{org}/roles`: organisations and their own role lists. `{org}` is an
//! organisation's id or slug.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::admin::orgs::{self, OrgChanges, OrgView};
use crate::http::api::error::ApiResult;
use crate::http::api::extract::{ApiCaller, ApiJson, ApiPath, ApiQuery};
use crate::http::api::paging::{self, PageQuery};
use crate::state::AppState;
use crate::store::orgs::Role;
use crate::store::page::Page;

/// `POST /orgs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    pub name: String,
    pub slug: Option<String>,
    pub default_locale: Option<String>,
}

/// `PATCH /orgs/{org}`: absent fields stay as they are.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub default_locale: Option<String>,
}

/// `PUT /orgs/{org}/roles/{role}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    #[serde(default)]
    pub description: String,
}

/// Organisations the caller administers (all for a superadmin).
pub async fn list(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<OrgView>>> {
    let page = orgs::list(&state, &caller, q.cursor(), q.limit()?).await?;
    Ok(Json(page))
}

/// Creates an organisation with the default roles.
pub async fn create(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewOrg>,
) -> ApiResult<(StatusCode, Json<OrgView>)> {
    let org = orgs::create_as(
        &state,
        &caller,
        &body.name,
        body.slug.as_deref(),
        body.default_locale.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// One organisation.
pub async fn get(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
) -> ApiResult<Json<OrgView>> {
    Ok(Json(orgs::get(&state, &caller, &org).await?))
}

/// Renames an organisation, changes its slug or default language.
pub async fn update(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiJson(body): ApiJson<OrgPatch>,
) -> ApiResult<Json<OrgView>> {
    let changes = OrgChanges {
        name: body.name,
        slug: body.slug,
        default_locale: body.default_locale,
    };
    Ok(Json(orgs::update(&state, &caller, &org, changes).await?))
}

/// Deletes an organisation.
pub async fn delete(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
) -> ApiResult<StatusCode> {
    orgs::delete(&state, &caller, &org).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's roles, by name.
pub async fn list_roles(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Role>>> {
    q.limit()?;
    let roles = orgs::roles(&state, &caller, &org).await?;
    Ok(Json(paging::in_memory(
        roles,
        &q,
        |r| vec![r.name.clone()],
        |r, k| r.name.as_str() > k[0].as_str(),
        1,
    )?))
}

/// Adds a role or changes its description.
pub async fn put_role(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, role)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<Json<Role>> {
    let role = orgs::put_role(&state, &caller, &org, &role, &body.description).await?;
    Ok(Json(role))
}

/// Deletes a role (members who held it lose it).
pub async fn delete_role(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, role)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    orgs::delete_role(&state, &caller, &org, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}
