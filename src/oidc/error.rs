//! OAuth 2.0 / OpenID Connect error codes (RFC 6749 section 5.2 and 4.1.2.1, OIDC Core 3.1.2.6)
//! with an optional description. The HTTP layer turns these into JSON bodies or redirects.

/// An error a protocol client is told about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.code.as_str())]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Human-readable detail for the client developer; never holds secrets.
    pub description: Option<String>,
}

/// The registered error codes we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    InvalidToken,
    ServerError,
    TemporarilyUnavailable,
    UnsupportedTokenType,
    RequestNotSupported,
    RequestUriNotSupported,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

impl OAuthError {
    /// An error with a description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: Some(description.into()),
        }
    }

    /// An error without a description.
    pub fn bare(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with a description.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_client` (always the same text: no hint which part was wrong).
    pub fn invalid_client() -> Self {
        Self::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    /// `server_error`; the cause is logged by the caller, never sent.
    pub fn server_error() -> Self {
        Self::bare(ErrorCode::ServerError)
    }
}

impl From<crate::error::Error> for OAuthError {
    fn from(e: crate::error::Error) -> Self {
        // A database that is unavailable is a passing condition: 503 with Retry-After.
        if e.is_unavailable() {
            tracing::warn!(error = %crate::error::Chain(&e), "database unavailable during a protocol request");
            return Self::new(
                ErrorCode::TemporarilyUnavailable,
                "the service is briefly unavailable; retry shortly",
            );
        }
        tracing::error!(error = %crate::error::Chain(&e), "internal error during a protocol request");
        Self::server_error()
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(e: sqlx::Error) -> Self {
        crate::error::Error::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::test_errors::{closed, sqlite_busy, sqlstate};

    #[tokio::test]
    async fn an_unavailable_database_is_temporarily_unavailable() {
        let unavailable = [
            sqlstate("57P01"),
            sqlstate("08006"),
            sqlstate("53300"),
            sqlx::Error::PoolTimedOut,
            closed(),
            sqlite_busy().await,
        ];
        for e in unavailable {
            let shown = e.to_string();
            assert_eq!(
                OAuthError::from(e).code,
                ErrorCode::TemporarilyUnavailable,
                "{shown}"
            );
        }
        assert_eq!(
            OAuthError::from(sqlstate("23505")).code,
            ErrorCode::ServerError
        );
    }
}
