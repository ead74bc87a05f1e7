//! The request deadline: no request runs longer than `request_timeout`. When the database
//! stops answering without closing its connections (a network partition, a hung server), a
//! query can wait for TCP to give up, which takes many minutes; the deadline cuts the request
//! off and answers 503 with `Retry-After` instead (the admin API in its own error shape,
//! protocol endpoints as OAuth JSON `temporarily_unavailable`, pages as the error page). Dropping the handler rolls back its
//! open transaction; the pool discards the connection (see `store::Db`).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::{OAuthJson, PageError};
use crate::i18n::{Locale, Texts};
use crate::oidc::error::{ErrorCode, OAuthError};

/// Paths answered as JSON (protocol and API endpoints); everything else is a page.
const JSON_PREFIXES: &[&str] = &[
    "/token",
    "/userinfo",
    "/introspect",
    "/revoke",
    "/jwks",
    "/.well-known/",
    "/api/",
];

/// Runs the request, or answers 503 when it takes longer than the deadline.
pub async fn limit(State(deadline): State<Duration>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let loggable = super::headers::loggable_path(&req);
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match tokio::time::timeout(deadline, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(
                path = %loggable,
                deadline_ms = deadline.as_millis() as u64,
                "request exceeded its deadline (database unresponsive?); answered 503"
            );
            unavailable(&path, accept.as_deref())
        }
    }
}

/// The 503 answer for `path` (with `Retry-After`).
pub(crate) fn unavailable(path: &str, accept_language: Option<&str>) -> Response {
    if path.starts_with(crate::http::api::table::PREFIX) {
        return crate::http::api::error::ApiError::unavailable().into_response();
    }
    if JSON_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return OAuthJson(OAuthError {
            code: ErrorCode::TemporarilyUnavailable,
            description: Some("the service is briefly unavailable; try again".into()),
        })
        .into_response();
    }
    let texts = Texts::new(Locale::negotiate(None, accept_language));
    PageError::new(StatusCode::SERVICE_UNAVAILABLE, "error.unavailable", texts).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn protocol_paths_get_json_and_pages_get_the_error_page() {
        let json = unavailable("/token", None);
        assert_eq!(json.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(json.headers()[header::RETRY_AFTER], "5");
        assert!(
            json.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap_or_default()
                .starts_with("application/json")
        );
        let api = unavailable("/api/admin/v1/orgs", None);
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(api.headers()[header::RETRY_AFTER], "5");
        let body = axum::body::to_bytes(api.into_body(), 4096)
            .await
            .expect("the body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            body["error"]["code"], "temporarily_unavailable",
            "the admin API answers in its own error shape: {body}"
        );
        let page = unavailable("/login", Some("sv"));
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(page.headers()[header::RETRY_AFTER], "5");
        assert!(
            page.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap_or_default()
                .starts_with("text/html")
        );
    }
}
