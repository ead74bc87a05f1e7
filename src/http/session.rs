//! The `MaybeSession` extractor: the live login session of the browser, if any; and the check
//! that a form posted while signed in repeats the session's CSRF token.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::auth::session::{self, Session};
use crate::crypto::constant_time_eq;
use crate::http::cookies::{SESSION_COOKIE, get};
use crate::http::error::PageError;
use crate::http::password_form::Early;
use crate::i18n::Texts;
use crate::state::AppState;

/// The browser's live session (idle and absolute timeouts applied), or `None`.
/// Database failures read as "no session" after being logged.
#[derive(Debug, Clone)]
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(cookie) = get(&parts.headers, SESSION_COOKIE) else {
            return Ok(MaybeSession(None));
        };
        match session::load(&state.db, &state.config.session, cookie, state.now()).await {
            Ok(s) => Ok(MaybeSession(s)),
            Err(e) => {
                tracing::error!(error = %e, "loading the session failed");
                Ok(MaybeSession(None))
            }
        }
    }
}

/// Whether `token` is the session's CSRF token (compared in constant time).
pub(crate) fn csrf_matches(session: &Session, token: &str) -> bool {
    !token.is_empty() && constant_time_eq(token.as_bytes(), session.csrf.as_bytes())
}

/// The 403 page unless the form repeats the session's CSRF token.
pub(crate) fn csrf_ok(session: &Session, token: &str, t: Texts) -> Result<(), Early> {
    if csrf_matches(session, token) {
        Ok(())
    } else {
        Err(PageError::new(StatusCode::FORBIDDEN, "error.csrf", t).into())
    }
}
