//! `/orgs/{org}/audit` and `/audit`: the audit log, newest first, filtered by `kind`,
//! `user` and `since`; the `/export` variants answer every matching event as JSON lines
//! (`application/x-ndjson`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::admin::audit::{self, EventView, Query};
use crate::http::api::error::ApiResult;
use crate::http::api::extract::{ApiCaller, ApiPath, ApiQuery};
use crate::http::api::paging::check_limit;
use crate::paging::Page;
use crate::state::AppState;

/// `?kind=&user=&since=&limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// An event kind, e.g. `admin.roles_changed`.
    pub kind: Option<String>,
    /// The id of the person the events are about.
    pub user: Option<String>,
    /// Only events at or after this instant (unix seconds).
    pub since: Option<i64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `?kind=&user=&since=` for the exports.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    pub kind: Option<String>,
    pub user: Option<String>,
    pub since: Option<i64>,
}

fn query(
    org: Option<String>,
    kind: Option<String>,
    user: Option<String>,
    since: Option<i64>,
) -> Query {
    Query {
        org,
        user_id: user,
        kind,
        since,
    }
}

async fn list(
    state: &AppState,
    caller: &crate::admin::Caller,
    org: Option<String>,
    q: AuditQuery,
) -> ApiResult<Json<Page<EventView>>> {
    let limit = check_limit(q.limit)?;
    let filter = query(org, q.kind, q.user, q.since);
    let page = audit::list(state, caller, &filter, q.cursor.as_deref(), limit).await?;
    Ok(Json(page))
}

async fn export(
    state: &AppState,
    caller: &crate::admin::Caller,
    org: Option<String>,
    q: ExportQuery,
) -> ApiResult<Response> {
    let filter = query(org, q.kind, q.user, q.since);
    let lines = audit::export(state, caller, &filter).await?;
    let mut res = lines.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.jsonl\""),
    );
    Ok(res)
}

/// The organisation's events.
#[utoipa::path(
    get,
    path = "/orgs/{org}/audit",
    operation_id = "listOrgAudit",
    tag = "audit",
    summary = "The organisation's audit events, newest first.",
    description = "Permission: `AuditRead` (org admin).",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events.", body = crate::http::api::doc::EventPage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn list_of_org(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<EventView>>> {
    list(&state, &caller, Some(org), q).await
}

/// The organisation's events as JSON lines.
#[utoipa::path(
    get,
    path = "/orgs/{org}/audit/export",
    operation_id = "exportOrgAudit",
    tag = "audit",
    summary = "Every matching audit event of the organisation as JSON lines, newest first.",
    description = "Permission: `AuditRead` (org admin). Each line is one `Event`.",
    params(ExportQuery),
    responses(
        (status = 200, response = crate::http::api::doc::Export),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn export_of_org(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    export(&state, &caller, Some(org), q).await
}

/// Every event of the installation (superadmin).
#[utoipa::path(
    get,
    path = "/audit",
    operation_id = "listAudit",
    tag = "audit",
    summary = "Every audit event of the installation, newest first.",
    description = "Permission: `AuditReadAll` (superadmin).",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events.", body = crate::http::api::doc::EventPage),
        crate::http::api::doc::Invalid, crate::http::api::doc::Refused,
    ),
)]
pub async fn list_all(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<EventView>>> {
    list(&state, &caller, None, q).await
}

/// Every event of the installation as JSON lines (superadmin).
#[utoipa::path(
    get,
    path = "/audit/export",
    operation_id = "exportAudit",
    tag = "audit",
    summary = "Every matching audit event of the installation as JSON lines, newest first.",
    description = "Permission: `AuditReadAll` (superadmin). Each line is one `Event`.",
    params(ExportQuery),
    responses(
        (status = 200, response = crate::http::api::doc::Export),
        crate::http::api::doc::Invalid, crate::http::api::doc::Refused,
    ),
)]
pub async fn export_all(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    export(&state, &caller, None, q).await
}
