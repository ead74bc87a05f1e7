//! The admin API's one error shape, `{"error": {"code": "...", "message": "..."}}`, for
//! refusals of the use-cases ([`AdminError::code`]), authentication failures (401 with an
//! RFC 6750 `WWW-Authenticate: Bearer` challenge), rejected requests (bad JSON, wrong
//! content type, unknown fields, bad query or path parameters: 400; too large: 413),
//! unknown paths and methods. An unavailable database (`store::is_unavailable`) is 503
//! `temporarily_unavailable` with `Retry-After`. Internal causes are logged with their
//! source chain and never shown: a 500 says only `internal_error`.

use std::error::Error as _;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::admin::AdminError;
use crate::oidc::error::{ErrorCode, OAuthError};

/// The challenge of a request without a bearer token (RFC 6750 section 3: no error code).
const CHALLENGE: &str = "Bearer realm=\"nyckel\", scope=\"admin\"";
/// The challenge for a token that is not accepted.
const INVALID_TOKEN: &str = "Bearer realm=\"nyckel\", scope=\"admin\", error=\"invalid_token\", error_description=\"the access token is invalid, expired, revoked or lacks the admin scope\"";

/// The challenge for a token whose login does not meet the person's current requirement
/// (RFC 9470 section 3: the client asks again with these `acr_values`).
const STEP_UP: &str = "Bearer realm=\"nyckel\", scope=\"admin\", error=\"insufficient_user_authentication\", error_description=\"a login with two factors is required\", acr_values=\"urn:nyckel:acr:2fa\"";

/// The body of every error answer (the OpenAPI schema `Error`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    #[schema(inline)]
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    #[schema(schema_with = crate::http::api::doc::error_code)]
    pub code: &'static str,
    /// For people; may change.
    pub message: String,
}

/// An error answer of the admin API.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    challenge: Option<&'static str>,
}

/// The result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            challenge: None,
        }
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 for a request without a bearer token.
    pub fn no_token() -> Self {
        ApiError {
            challenge: Some(CHALLENGE),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "send an access token with the admin scope as Authorization: Bearer",
            )
        }
    }

    /// 401 for a token that is not accepted (invalid, expired, revoked, without the `admin`
    /// scope, or of a person or client that may not use the API).
    pub fn invalid_token() -> Self {
        ApiError {
            challenge: Some(INVALID_TOKEN),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "the access token is invalid, expired, revoked or lacks the admin scope",
            )
        }
    }

    /// 401 `insufficient_user_authentication` (RFC 9470): the token's login was of one
    /// factor, and the person must now use two (they administer something, or a rule of
    /// theirs or an organisation's says so). The same demand as the admin web UI's.
    pub fn insufficient_user_authentication() -> Self {
        ApiError {
            challenge: Some(STEP_UP),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "insufficient_user_authentication",
                "a login with two factors is required: sign in again with acr_values=urn:nyckel:acr:2fa",
            )
        }
    }

    /// 404 for a path that is not part of the API.
    pub fn unknown_path() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }

    /// 405 for a method the path does not support.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not support the method",
        )
    }

    /// 503 `temporarily_unavailable` (with `Retry-After`): the database is unavailable
    /// ([`crate::store::is_unavailable`]); the cause must already be logged.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the service is temporarily unavailable; try again shortly",
        )
    }

    /// 500; the cause must already be logged.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
    }

    /// Maps an extractor rejection: 413 when the body is too large, 400 otherwise (axum's
    /// text names what is wrong with the request; it never holds server internals).
    fn rejected(status: StatusCode, text: String) -> Self {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(status, "too_large", "the request body is too large")
        } else {
            Self::invalid(text)
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        let status = match &e {
            AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Forbidden(_) => StatusCode::FORBIDDEN,
            AdminError::Unauthenticated => return Self::no_token(),
            AdminError::Internal(cause) if cause.is_unavailable() => {
                tracing::warn!(error = %chain(cause), "database unavailable during an admin API request");
                return Self::unavailable();
            }
            AdminError::Internal(cause) => {
                tracing::error!(error = %chain(cause), "admin API request failed");
                return Self::internal();
            }
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<OAuthError> for ApiError {
    /// Failures while validating a token (the database, not the token).
    fn from(e: OAuthError) -> Self {
        if e.code == ErrorCode::TemporarilyUnavailable {
            return Self::unavailable();
        }
        tracing::error!(error = ?e.description, "validating an admin API token failed");
        Self::internal()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::rejected(r.status(), r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        if r.status().is_server_error() {
            tracing::error!(error = %r.body_text(), "admin API path parameters");
            return Self::internal();
        }
        Self::rejected(r.status(), r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(c) = self.challenge {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        res
    }
}

/// An error with its sources, for the log.
fn chain(e: &crate::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::test_errors::{closed, sqlite_busy, sqlstate};

    fn answer(e: sqlx::Error) -> Response {
        ApiError::from(AdminError::from(e)).into_response()
    }

    #[tokio::test]
    async fn an_unavailable_database_is_503_with_retry_after_in_the_api_shape() {
        let unavailable = [
            sqlstate("57P01"),
            sqlstate("57P03"),
            sqlstate("08006"),
            sqlstate("53300"),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            closed(),
            sqlite_busy().await,
        ];
        for e in unavailable {
            let shown = e.to_string();
            let res = answer(e);
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{shown}");
            assert_eq!(res.headers()[header::RETRY_AFTER], "5");
        }
        let res = answer(sqlstate("23505"));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!res.headers().contains_key(header::RETRY_AFTER));
    }
}
