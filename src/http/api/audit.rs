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
use crate::state::AppState;
use crate::store::page::Page;

/// `?kind=&user=&since=&limit=&cursor=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// An event kind, e.g. `admin.roles_changed`.
    pub kind: Option<String>,
    /// The id of the person the events are about.
    pub user: Option<String>,
    /// Only events at or after this instant (unix seconds).
    pub since: Option<i64>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// `?kind=&user=&since=` for the exports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
pub async fn list_of_org(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<EventView>>> {
    list(&state, &caller, Some(org), q).await
}

/// The organisation's events as JSON lines.
pub async fn export_of_org(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(org): ApiPath<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    export(&state, &caller, Some(org), q).await
}

/// Every event of the installation (superadmin).
pub async fn list_all(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<EventView>>> {
    list(&state, &caller, None, q).await
}

/// Every event of the installation as JSON lines (superadmin).
pub async fn export_all(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Response> {
    export(&state, &caller, None, q).await
}
