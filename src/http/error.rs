//! Error responses. People get a helpful page in their language ([`PageError`]); protocol
//! clients get RFC 6749 section 5.2 JSON ([`OAuthJson`]) with `Cache-Control: no-store`, and
//! `invalid_client` as 401 with `WWW-Authenticate`. Internal causes are logged, never shown.

use std::any::Any;

use askama::Template;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::page::render_status;
use crate::i18n::Texts;
use crate::oidc::error::{ErrorCode, OAuthError};

/// The error page.
#[derive(Template)]
#[template(path = "pages/error.html")]
pub struct ErrorPage {
    pub t: Texts,
    pub message: &'static str,
}

/// A failure shown to a person as a page.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    /// Catalog key of the message, e.g. `error.unknown_client`.
    pub key: &'static str,
    pub texts: Texts,
}

impl PageError {
    /// A page with `status` and the catalog message `key`.
    pub fn new(status: StatusCode, key: &'static str, texts: Texts) -> Self {
        Self { status, key, texts }
    }

    /// 400 with `key`.
    pub fn bad_request(key: &'static str, texts: Texts) -> Self {
        Self::new(StatusCode::BAD_REQUEST, key, texts)
    }

    /// 500; the cause must already be logged.
    pub fn internal(texts: Texts) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "error.server", texts)
    }

    /// Logs an internal error and returns the 500 page.
    /// A database that is unavailable ([`crate::store::is_unavailable`]) is a passing
    /// condition: 503 "try again in a moment" (with `Retry-After`), logged as a warning.
    pub fn from_internal(e: impl std::fmt::Display + 'static, texts: Texts) -> Self {
        if db_unavailable(&e) {
            tracing::warn!(error = %chained(&e), "database unavailable");
            return Self::new(StatusCode::SERVICE_UNAVAILABLE, "error.unavailable", texts);
        }
        tracing::error!(error = %chained(&e), "internal error");
        Self::internal(texts)
    }
}

/// The error for the log with its source chain ([`crate::error::Chain`]) when it is one of
/// the error types handlers pass here ([`known`]), else its own text.
fn chained(e: &(impl std::fmt::Display + 'static)) -> String {
    match known(e) {
        Some(e) => crate::error::Chain(e).to_string(),
        None => e.to_string(),
    }
}

/// The error types handlers pass to [`PageError::from_internal`], as errors with sources.
fn known<'a>(e: &'a (dyn Any + 'static)) -> Option<&'a (dyn std::error::Error + 'static)> {
    if let Some(e) = e.downcast_ref::<sqlx::Error>() {
        return Some(e);
    }
    if let Some(e) = e.downcast_ref::<crate::error::Error>() {
        return Some(e);
    }
    e.downcast_ref::<crate::admin::AdminError>()
        .map(|e| e as &(dyn std::error::Error + 'static))
}

/// Whether an error (of the types handlers pass to [`PageError::from_internal`]) is the
/// database being unavailable, as [`crate::store::is_unavailable`] decides.
pub fn db_unavailable(e: &(dyn Any + 'static)) -> bool {
    if let Some(e) = e.downcast_ref::<sqlx::Error>() {
        return crate::error::db_unavailable(e);
    }
    if let Some(e) = e.downcast_ref::<crate::error::Error>() {
        return e.is_unavailable();
    }
    e.downcast_ref::<crate::admin::AdminError>()
        .is_some_and(crate::admin::AdminError::is_unavailable)
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            t: self.texts,
            message: self.texts.t(self.key),
        };
        let mut res = render_status(self.status, &page);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

/// The JSON answer to a script of our pages (the passkey ceremonies) whose request failed
/// inside: `{"error": "..."}`, 503 with `Retry-After` when the database is unavailable
/// ([`db_unavailable`], logged as a warning), else 500 (logged as an error). `what` names
/// the request for the log.
pub fn json_internal(e: impl std::fmt::Display + 'static, texts: Texts, what: &str) -> Response {
    if db_unavailable(&e) {
        tracing::warn!(error = %chained(&e), request = what, "database unavailable");
        return json_failure(StatusCode::SERVICE_UNAVAILABLE, texts);
    }
    tracing::error!(error = %chained(&e), request = what, "internal error");
    json_failure(StatusCode::INTERNAL_SERVER_ERROR, texts)
}

/// A JSON failure answer for a script with a server-side `status` (500, or 503 with
/// `Retry-After`): `{"error": "..."}` in the person's language.
pub fn json_failure(status: StatusCode, texts: Texts) -> Response {
    let unavailable = status == StatusCode::SERVICE_UNAVAILABLE;
    let key = if unavailable {
        "error.unavailable"
    } else {
        "error.server"
    };
    let mut res = (status, Json(json!({ "error": texts.t(key) }))).into_response();
    if unavailable {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
}

/// An OAuth error as a JSON response.
#[derive(Debug)]
pub struct OAuthJson(pub OAuthError);

impl From<OAuthError> for OAuthJson {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl IntoResponse for OAuthJson {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = match e.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut body = json!({ "error": e.code.as_str() });
        if let Some(d) = &e.description {
            body["error_description"] = json!(d);
        }
        let mut res = (status, Json(body)).into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match e.code {
            ErrorCode::InvalidClient => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"nyckel\""),
                );
            }
            ErrorCode::InvalidToken => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            ErrorCode::TemporarilyUnavailable => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        res
    }
}

/// The response after a handler panicked: a plain 500; the process keeps serving.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown");
    tracing::error!(panic = detail, "request handler panicked");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::test_errors::{closed, sqlite_busy, sqlstate};

    /// A page for `e` as the handlers make it.
    fn page_status(e: impl std::fmt::Display + 'static) -> StatusCode {
        let res = PageError::from_internal(e, Texts::new(crate::i18n::Locale::En)).into_response();
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(res.headers()[header::RETRY_AFTER], "5");
        }
        res.status()
    }

    #[tokio::test]
    async fn an_unavailable_database_is_the_unavailable_page_with_retry_after() {
        for code in [
            "57P01", "57P02", "57P03", "08006", "08003", "08001", "53300",
        ] {
            assert_eq!(
                page_status(sqlstate(code)),
                StatusCode::SERVICE_UNAVAILABLE,
                "{code}"
            );
            let wrapped = crate::error::Error::Db(sqlstate(code));
            assert_eq!(page_status(wrapped), StatusCode::SERVICE_UNAVAILABLE);
        }
        for e in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed, closed()] {
            assert_eq!(page_status(e), StatusCode::SERVICE_UNAVAILABLE);
        }
        assert_eq!(
            page_status(sqlite_busy().await),
            StatusCode::SERVICE_UNAVAILABLE
        );
        // Errors of the request or of the code are not an outage.
        for code in ["23505", "42P01", "22P02"] {
            assert_eq!(
                page_status(sqlstate(code)),
                StatusCode::INTERNAL_SERVER_ERROR
            );
        }
        assert_eq!(
            page_status(sqlx::Error::RowNotFound),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
