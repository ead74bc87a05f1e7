//! The `MaybeSession` extractor: the live login session of the browser, if any (its forms'
//! CSRF check is in [`crate::http::csrf`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::session::{self, Session};
use crate::http::cookies::{SESSION_COOKIE, get};
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
                tracing::error!(error = %crate::error::Chain(&e), "loading the session failed");
                Ok(MaybeSession(None))
            }
        }
    }
}
