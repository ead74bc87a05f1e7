//! The SCIM 2.0 endpoint of each organisation, `/scim/v2/orgs/{org}/...` (RFC 7644): the
//! routes ([`ROUTES`], from which the router is built and which the permission matrix walks),
//! the caller check (`auth.rs`), and the translation of `crate::scim`'s results into
//! `application/scim+json` responses with `ETag`, `Location` and SCIM error bodies.

pub mod auth;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use serde_json::Value;

use crate::http::extract::ClientIp;
use crate::scim::error::{ScimError, ScimErrorKind};
use crate::scim::list::Query as ListQuery;
use crate::scim::resource::{self, Kind};
use crate::scim::{Scim, bulk, schema};
use crate::state::AppState;

/// Where every organisation's endpoint lives.
pub const PREFIX: &str = "/scim/v2/orgs/{org}";

/// The media type of every SCIM body (RFC 7644 section 3.1).
pub const MEDIA_TYPE: &str = "application/scim+json";

/// Every route under [`PREFIX`]: `(method, path)`.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/ServiceProviderConfig"),
    ("GET", "/ResourceTypes"),
    ("GET", "/ResourceTypes/{id}"),
    ("GET", "/Schemas"),
    ("GET", "/Schemas/{id}"),
    ("GET", "/Users"),
    ("POST", "/Users"),
    ("POST", "/Users/.search"),
    ("GET", "/Users/{id}"),
    ("PUT", "/Users/{id}"),
    ("PATCH", "/Users/{id}"),
    ("DELETE", "/Users/{id}"),
    ("GET", "/Groups"),
    ("POST", "/Groups"),
    ("POST", "/Groups/.search"),
    ("GET", "/Groups/{id}"),
    ("PUT", "/Groups/{id}"),
    ("PATCH", "/Groups/{id}"),
    ("DELETE", "/Groups/{id}"),
    ("POST", "/Bulk"),
    ("POST", "/.search"),
];

fn handler(method: &str, path: &str) -> Option<MethodRouter<AppState>> {
    // `/Users...` and `/Groups...` share their handlers, told apart by the kind.
    let (kind, rest) = match path
        .split_once('/')
        .map(|(_, p)| p.split_once('/').unwrap_or((p, "")))
    {
        Some((segment, rest)) => (Kind::from_segment(segment), rest),
        None => (None, ""),
    };
    if let Some(kind) = kind {
        return Some(match (method, rest) {
            ("GET", "") => get(move |st, h, ip, p, q| list(kind, st, h, ip, p, q)),
            ("POST", "") => post(move |st, h, ip, p, b| create(kind, st, h, ip, p, b)),
            ("POST", ".search") => post(move |st, h, ip, p, b| search(kind, st, h, ip, p, b)),
            ("GET", "{id}") => get(move |st, h, ip, p, q| read_one(kind, st, h, ip, p, q)),
            ("PUT", "{id}") => {
                put(move |st, h, ip, p, b| write(kind, Write::Replace, st, h, ip, p, b))
            }
            ("PATCH", "{id}") => {
                patch(move |st, h, ip, p, b| write(kind, Write::Patch, st, h, ip, p, b))
            }
            ("DELETE", "{id}") => delete(move |st, h, ip, p| remove(kind, st, h, ip, p)),
            _ => return None,
        });
    }
    Some(match (method, path) {
        ("GET", "/ServiceProviderConfig") => get(service_provider_config),
        ("GET", "/ResourceTypes") => get(resource_types),
        ("GET", "/ResourceTypes/{id}") => get(resource_type),
        ("GET", "/Schemas") => get(schemas),
        ("GET", "/Schemas/{id}") => get(one_schema),
        ("POST", "/Bulk") => post(bulk_run),
        ("POST", "/.search") => post(search_everything),
        _ => return None,
    })
}

/// The router of [`ROUTES`], to be nested under [`PREFIX`]. Bodies up to
/// [`schema::MAX_PAYLOAD`] (a bulk request).
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for (method, path) in ROUTES {
        if let Some(h) = handler(method, path) {
            router = router.route(path, h);
        }
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(schema::MAX_PAYLOAD))
}

/// What a handler answers.
enum Answer {
    /// A resource (200, with its `ETag`).
    Resource(Value),
    /// A new resource (201, `Location` and `ETag`).
    Created(Value),
    /// Any other document (200).
    Document(Value),
    /// 204.
    NoContent,
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    res
}

fn error_response(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = scim_json(status, &e.body());
    if e.kind == ScimErrorKind::Unavailable {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
}

fn respond(result: Result<Answer, ScimError>) -> Response {
    let answer = match result {
        Ok(a) => a,
        Err(e) => return error_response(&e),
    };
    let (status, body) = match answer {
        Answer::NoContent => return StatusCode::NO_CONTENT.into_response(),
        Answer::Document(v) => return scim_json(StatusCode::OK, &v),
        Answer::Resource(v) => (StatusCode::OK, v),
        Answer::Created(v) => (StatusCode::CREATED, v),
    };
    let mut res = scim_json(status, &body);
    let meta = &body["meta"];
    if let Some(v) = meta["version"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        res.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(l) = meta["location"]
            .as_str()
            .and_then(|l| HeaderValue::from_str(l).ok())
    {
        res.headers_mut().insert(header::LOCATION, l);
    }
    res
}

/// The caller and the organisation, or the refusal as a response.
async fn context<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    ip: ClientIp,
    org: &str,
) -> Result<Scim<'a>, Response> {
    auth::authorize(state, headers, Some(ip.0.to_string()), org)
        .await
        .map_err(|r| {
            let mut res = error_response(&r.error);
            if let Some(c) = r.challenge {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
            }
            res
        })
}

fn body_json(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|e| {
        ScimError::new(
            ScimErrorKind::InvalidSyntax,
            format!("the body is not JSON: {e}"),
        )
    })
}

fn query(q: Result<Query<ListQuery>, QueryRejection>) -> Result<ListQuery, ScimError> {
    q.map(|Query(q)| q)
        .map_err(|e| ScimError::new(ScimErrorKind::InvalidValue, e.body_text()))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

macro_rules! scim_context {
    ($state:expr, $headers:expr, $ip:expr, $org:expr) => {
        match context(&$state, &$headers, $ip, &$org).await {
            Ok(s) => s,
            Err(res) => return res,
        }
    };
}

async fn service_provider_config(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(org): Path<String>,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    respond(Ok(Answer::Document(schema::service_provider_config(
        &s.base,
    ))))
}

async fn resource_types(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(org): Path<String>,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    let all = schema::resource_types(&s.base);
    respond(Ok(Answer::Document(crate::scim::list::response(
        all.len(),
        0,
        all,
    ))))
}

async fn resource_type(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path((org, id)): Path<(String, String)>,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    let found = schema::resource_types(&s.base)
        .into_iter()
        .find(|r| r["id"] == id.as_str());
    respond(
        found.map(Answer::Document).ok_or_else(|| {
            ScimError::new(ScimErrorKind::NotFound, format!("no ResourceType {id:?}"))
        }),
    )
}

async fn schemas(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(org): Path<String>,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    respond(
        crate::scim::schemas(&s)
            .await
            .map(|all| Answer::Document(crate::scim::list::response(all.len(), 0, all))),
    )
}

async fn one_schema(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path((org, id)): Path<(String, String)>,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    let found = crate::scim::schemas(&s).await.and_then(|all| {
        all.into_iter()
            .find(|x| x["id"] == id.as_str())
            .ok_or_else(|| ScimError::new(ScimErrorKind::NotFound, format!("no Schema {id:?}")))
    });
    respond(found.map(Answer::Document))
}

/// A read answers 304 when `If-None-Match` names its current version.
fn read(headers: &HeaderMap, q: &ListQuery, result: Result<Value, ScimError>) -> Response {
    let resource = match result {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    let version = resource["meta"]["version"].as_str().unwrap_or_default();
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == version || t.trim() == "*"));
    if unchanged {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    respond(Ok(Answer::Resource(q.project(resource))))
}

async fn list(
    kind: Kind,
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(org): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    let result = match query(q) {
        Ok(q) => resource::list(kind, &s, &q).await,
        Err(e) => Err(e),
    };
    respond(result.map(Answer::Document))
}

async fn search(
    kind: Kind,
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(org): Path<String>,
    body: Bytes,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    let result = match body_json(&body).and_then(|b| ListQuery::from_search(&b)) {
        Ok(q) => resource::list(kind, &s, &q).await,
        Err(e) => Err(e),
    };
    respond(result.map(Answer::Document))
}

async fn create(
    kind: Kind,
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(org): Path<String>,
    body: Bytes,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    let result = match body_json(&body) {
        Ok(b) => resource::create(kind, &s, &b).await,
        Err(e) => Err(e),
    };
    respond(result.map(Answer::Created))
}

async fn read_one(
    kind: Kind,
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path((org, id)): Path<(String, String)>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    match query(q) {
        Ok(q) => read(&headers, &q, resource::get(kind, &s, &id).await),
        Err(e) => error_response(&e),
    }
}

/// A write to one resource: `PUT` replaces it, `PATCH` applies operations to it.
#[derive(Clone, Copy)]
enum Write {
    Replace,
    Patch,
}

async fn write(
    kind: Kind,
    how: Write,
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path((org, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    let if_match = if_match(&headers);
    let result = match (body_json(&body), how) {
        (Ok(b), Write::Replace) => resource::replace(kind, &s, &id, &b, if_match.as_deref()).await,
        (Ok(b), Write::Patch) => resource::patch(kind, &s, &id, &b, if_match.as_deref()).await,
        (Err(e), _) => Err(e),
    };
    respond(result.map(Answer::Resource))
}

async fn remove(
    kind: Kind,
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path((org, id)): Path<(String, String)>,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    let result = resource::delete(kind, &s, &id, if_match(&headers).as_deref()).await;
    respond(result.map(|()| Answer::NoContent))
}

async fn bulk_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(org): Path<String>,
    body: Bytes,
) -> Response {
    let s = scim_context!(state, headers, ip, org);
    let result = match body_json(&body) {
        Ok(b) => bulk::run(&s, &b).await,
        Err(e) => Err(e),
    };
    respond(result.map(Answer::Document))
}

/// `POST /.search` over every resource type at once: not supported (501), as RFC 7644
/// section 3.4.3 allows; `/Users/.search` and `/Groups/.search` are.
async fn search_everything(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: ClientIp,
    Path(org): Path<String>,
) -> Response {
    let _ = scim_context!(state, headers, ip, org);
    error_response(&ScimError::new(
        ScimErrorKind::NotImplemented,
        "search one resource type at a time: POST /Users/.search or /Groups/.search",
    ))
}

/// Anything else under the prefix: a SCIM 404.
async fn not_found() -> Response {
    error_response(&ScimError::new(ScimErrorKind::NotFound, "no such endpoint"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_handler() {
        for (method, path) in ROUTES {
            assert!(handler(method, path).is_some(), "{method} {path}");
        }
    }
}
