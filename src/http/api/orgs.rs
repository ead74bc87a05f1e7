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
use crate::paging::Page;
use crate::state::AppState;
use crate::store::orgs::Role;

/// `POST /orgs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")]
    pub slug: Option<String>,
    #[schema(schema_with = crate::http::api::doc::locale)]
    pub default_locale: Option<String>,
}

/// `PATCH /orgs/{org}`: absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")]
    pub slug: Option<String>,
    #[schema(schema_with = crate::http::api::doc::locale)]
    pub default_locale: Option<String>,
}

/// `PUT /orgs/{org}/roles/{role}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    #[serde(default)]
    #[schema(max_length = 500, default = "")]
    pub description: String,
}

/// Organisations the caller administers (all for a superadmin).
#[utoipa::path(
    get,
    path = "/orgs",
    operation_id = "listOrgs",
    tag = "organisations",
    summary = "Organisations the caller administers (all of them for a superadmin), by slug.",
    description = "Permission: `OrgList` (any member of some organisation; each sees only those where they are admin).",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of organisations.", body = crate::http::api::doc::OrgPage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Refused,
    ),
)]
pub async fn list(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<OrgView>>> {
    let page = orgs::list(&state, &caller, q.cursor(), q.limit()?).await?;
    Ok(Json(page))
}

/// Creates an organisation with the default roles.
#[utoipa::path(
    post,
    path = "/orgs",
    operation_id = "createOrg",
    tag = "organisations",
    summary = "Create an organisation with the default roles (`admin`, `member`).",
    description = "Permission: `OrgCreate` (superadmin). The slug is derived from the name when not given.",
    request_body = NewOrg,
    responses(
        (status = 201, description = "The new organisation.", body = crate::admin::orgs::OrgView),
        crate::http::api::doc::Invalid, crate::http::api::doc::Conflicting, crate::http::api::doc::Refused,
    ),
)]
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
#[utoipa::path(
    get,
    path = "/orgs/{org}",
    operation_id = "getOrg",
    tag = "organisations",
    summary = "One organisation.",
    description = "Permission: `OrgRead` (org admin).",
    responses(
        (status = 200, description = "The organisation.", body = crate::admin::orgs::OrgView),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn get(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
) -> ApiResult<Json<OrgView>> {
    Ok(Json(orgs::get(&state, &caller, &org).await?))
}

/// Renames an organisation, changes its slug or default language.
#[utoipa::path(
    patch,
    path = "/orgs/{org}",
    operation_id = "updateOrg",
    tag = "organisations",
    summary = "Rename an organisation, change its slug or default language.",
    description = "Permission: `OrgUpdate` (superadmin). Absent fields stay as they are.",
    request_body = OrgPatch,
    responses(
        (status = 200, description = "The organisation as it is now.", body = crate::admin::orgs::OrgView),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Conflicting, crate::http::api::doc::Refused,
    ),
)]
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
#[utoipa::path(
    delete,
    path = "/orgs/{org}",
    operation_id = "deleteOrg",
    tag = "organisations",
    summary = "Delete an organisation with its memberships, roles, clients and invitations.",
    description = "Permission: `OrgDelete` (superadmin).",
    responses(
        (status = 204, description = "Deleted."),
        crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn delete(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
) -> ApiResult<StatusCode> {
    orgs::delete(&state, &caller, &org).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's roles, by name.
#[utoipa::path(
    get,
    path = "/orgs/{org}/roles",
    operation_id = "listRoles",
    tag = "organisations",
    summary = "The organisation's roles, by name.",
    description = "Permission: `RoleList` (org admin).",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of roles.", body = crate::http::api::doc::RolePage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
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
#[utoipa::path(
    put,
    path = "/orgs/{org}/roles/{role}",
    operation_id = "putRole",
    tag = "organisations",
    summary = "Add a role or change its description.",
    description = "Permission: `RoleWrite` (org admin).",
    request_body = RoleBody,
    responses(
        (status = 200, description = "The role.", body = Role),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
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
#[utoipa::path(
    delete,
    path = "/orgs/{org}/roles/{role}",
    operation_id = "deleteRole",
    tag = "organisations",
    summary = "Delete a role; members who held it lose it. The built-in `admin` role cannot be deleted (409).",
    description = "Permission: `RoleWrite` (org admin).",
    responses(
        (status = 204, description = "Deleted."),
        crate::http::api::doc::Missing, crate::http::api::doc::Conflicting, crate::http::api::doc::Refused,
    ),
)]
pub async fn delete_role(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath((org, role)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    orgs::delete_role(&state, &caller, &org, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}
