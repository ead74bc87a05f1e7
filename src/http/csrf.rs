//! CSRF: issuing the tokens browser forms repeat and checking them, in one place.
//!
//! A form's token is bound to one of three things, whichever the page has:
//! - the login session ([`session_ok`]): every form posted while signed in (account pages,
//!   passkeys, logout, password change, the admin pages);
//! - the double-submit cookie `__Host-nyckel_csrf` ([`double_submit_ok`], issued by
//!   [`page_token`]): the pages before sign-in (login, reset and setup links, login keys,
//!   invitations);
//! - the login step ([`step_ok`]): a MAC of the step under the master keys
//!   ([`crate::auth::factors::step::csrf`]), for the second-factor pages.
//!
//! The pending authorization request's token is checked by `oidc::pending` with the request
//! (no axum there). Every comparison here goes through [`matches`]: an empty token never
//! matches, and equal tokens are compared in constant time with `subtle`, so the time a
//! refusal takes says nothing about how much of a guess was right. A failed check is the
//! 403 page ([`refused`]); the handler does nothing else.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use subtle::ConstantTimeEq;

use crate::auth::factors::step::{self, Step};
use crate::auth::session::Session;
use crate::crypto::secret_token;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::login::looks_like_token;
use crate::http::password_form::Early;
use crate::i18n::Texts;
use crate::keys::KeyRing;

/// The double-submit cookie of the pages before sign-in.
pub const CSRF_COOKIE: &str = "__Host-nyckel_csrf";

/// Whether `sent` is the non-empty token `expected` (compared in constant time).
pub(crate) fn matches(expected: &str, sent: &str) -> bool {
    !sent.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

/// The 403 page of a form whose token is missing or wrong.
pub(crate) fn refused(t: Texts) -> PageError {
    PageError::new(StatusCode::FORBIDDEN, "error.csrf", t)
}

/// Whether `sent` is the session's CSRF token.
pub(crate) fn session_ok(session: &Session, sent: &str) -> bool {
    matches(&session.csrf, sent)
}

/// The 403 page unless the form repeats the session's CSRF token.
pub(crate) fn session_checked(session: &Session, sent: &str, t: Texts) -> Result<(), Early> {
    if session_ok(session, sent) {
        Ok(())
    } else {
        Err(refused(t).into())
    }
}

/// The session of a form posted while signed in, when the form repeats its token; `login`
/// (the way to the login page) without a session, the 403 page for a wrong token.
pub(crate) fn signed_in_form(
    session: Option<Session>,
    sent: &str,
    t: Texts,
    login: impl FnOnce() -> Early,
) -> Result<Session, Early> {
    let session = session.ok_or_else(login)?;
    session_checked(&session, sent, t)?;
    Ok(session)
}

/// Whether `sent` repeats the browser's double-submit cookie.
pub(crate) fn double_submit_ok(headers: &HeaderMap, sent: &str) -> bool {
    let cookie = cookies::get(headers, CSRF_COOKIE).unwrap_or_default();
    matches(cookie, sent)
}

/// The 403 page unless the form's token repeats the browser's double-submit cookie.
pub(crate) fn double_submit(headers: &HeaderMap, sent: &str, t: Texts) -> Result<(), Early> {
    if double_submit_ok(headers, sent) {
        Ok(())
    } else {
        Err(refused(t).into())
    }
}

/// The double-submit token for a form page: the browser's cookie if it has a well-formed
/// one, else a new one (`true`: the page must set the cookie, [`with_cookie`]).
pub(crate) fn page_token(headers: &HeaderMap) -> (String, bool) {
    match cookies::get(headers, CSRF_COOKIE).filter(|v| looks_like_token(v)) {
        Some(v) => (v.to_string(), false),
        None => (secret_token(), true),
    }
}

/// Adds the double-submit cookie when the page made a new token.
pub(crate) fn with_cookie(mut res: Response, csrf: &str, new_cookie: bool) -> Response {
    if new_cookie {
        res.headers_mut()
            .append(header::SET_COOKIE, cookies::set(CSRF_COOKIE, csrf, None));
    }
    res
}

/// Whether `sent` is the CSRF token of the login step (under any master key of the file;
/// every key is tried, so the time does not say which one matched).
pub(crate) fn step_ok(keys: &KeyRing, s: &Step, sent: &str) -> bool {
    step::csrf_tokens(keys, s)
        .iter()
        .fold(false, |ok, token| ok | matches(token, sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_non_empty_token_matches() {
        assert!(matches("abc", "abc"));
        assert!(!matches("abc", "abd"));
        assert!(!matches("abc", "ab"));
        assert!(!matches("", ""));
        assert!(!matches("abc", ""));
    }
}
