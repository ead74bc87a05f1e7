//! RP-Initiated Logout (`GET`/`POST /logout`, the discovery `end_session_endpoint`).
//!
//! With a valid `id_token_hint` for the browser's current session (or no session at all),
//! the session ends at once. Otherwise the person is asked first: a logout link on another
//! site must not be able to sign people out (SECURITY.md 10.6.2). The confirmation form
//! (and the home page's sign-out button) posts back with the session's CSRF token. The
//! browser is only sent to a `post_logout_redirect_uri` the client registered.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::session::{self, Session};
use crate::http::authorize::{allow_form_target, see_other};
use crate::http::cookies::{self, SESSION_COOKIE};
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::texts_for;
use crate::http::page::render;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::oidc::authorize::parse_pairs;
use crate::oidc::frontchannel::{self, Frame};
use crate::oidc::logout::{self, LogoutParams, ValidLogout};
use crate::state::AppState;

/// The confirmation page.
#[derive(Template)]
#[template(path = "pages/logout_confirm.html")]
pub struct ConfirmPage {
    pub t: Texts,
    pub csrf: String,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub ui_locales: Option<String>,
}

/// The page after logging out: with front-channel logout frames, it loads them and then goes
/// on to `next` (the registered redirect), if any.
#[derive(Template)]
#[template(path = "pages/logged_out.html")]
pub struct LoggedOutPage {
    pub t: Texts,
    pub frames: Vec<Frame>,
    pub next: Option<String>,
    pub pause: u32,
}

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/logout", get(get_logout).post(post_logout))
}

/// `GET /logout`.
async fn get_logout(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = parse_pairs(&query.unwrap_or_default());
    logout(&state, session, &headers, &pairs, false).await
}

/// `POST /logout`: the confirmation form, the home page's button, or an RP posting the
/// logout request as a form.
async fn post_logout(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = parse_pairs(&String::from_utf8_lossy(&body));
    logout(&state, session, &headers, &pairs, true).await
}

async fn logout(
    state: &AppState,
    session: Option<Session>,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    posted: bool,
) -> Response {
    let single = |name: &str| {
        let mut values = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
        let first = values.next();
        if values.next().is_some() {
            Err(())
        } else {
            Ok(first)
        }
    };
    let read = || -> Result<(LogoutParams, Option<String>), ()> {
        Ok((
            LogoutParams {
                id_token_hint: single("id_token_hint")?,
                post_logout_redirect_uri: single("post_logout_redirect_uri")?,
                state: single("state")?,
                client_id: single("client_id")?,
                ui_locales: single("ui_locales")?,
            },
            single("csrf")?,
        ))
    };
    let Ok((params, csrf)) = read() else {
        let texts = texts_for(headers, None);
        return PageError::bad_request("error.bad_request", texts).into_response();
    };
    let texts = texts_for(headers, params.ui_locales.as_deref());
    let valid = match logout::validate(&state.db, &state.keys, &state.issuer, &params).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            tracing::warn!(reason = ?e, "logout request refused");
            return PageError::bad_request(e.message_key(), texts).into_response();
        }
        Err(e) => return PageError::from_internal(e, texts).into_response(),
    };

    let Some(session) = session else {
        // Nothing to end.
        return done(texts, &valid, &params, None);
    };
    let confirmed = match (posted, csrf.as_deref()) {
        (true, Some(token)) => {
            if !csrf::session_ok(&session, token) {
                tracing::warn!("logout form with a wrong CSRF token");
                return csrf::refused(texts).into_response();
            }
            true
        }
        _ => false,
    };
    let hint_is_for_this_session = valid
        .hint
        .as_ref()
        .is_some_and(|h| h.sid.as_deref() == Some(session.sid.as_str()));
    if !confirmed && !hint_is_for_this_session {
        return confirm_page(texts, &session, &valid, &params);
    }
    let client_id = valid.client.as_ref().map(|c| c.id.as_str());
    let front = match session::log_out(state, &session, client_id).await {
        Ok(front) => front,
        Err(e) => return PageError::from_internal(e, texts).into_response(),
    };
    tracing::info!(sid = %session.sid, "logged out");
    let frames = frontchannel::frames(&state.issuer, &session.sid, &front);
    done(texts, &valid, &params, Some(frames))
}

/// After logging out (`ended` holds the front-channel frames of the session that ended): the
/// registered redirect (with `state`), or the logged-out page; with frames, the page loads
/// them first and then goes on to the redirect.
fn done(
    texts: Texts,
    valid: &ValidLogout,
    params: &LogoutParams,
    ended: Option<Vec<Frame>>,
) -> Response {
    let next = valid
        .redirect_uri
        .as_ref()
        .map(|uri| logout::redirect_location(uri, params.state.as_deref()));
    let signed_out = ended.is_some();
    let frames = ended.unwrap_or_default();
    let mut res = match next {
        Some(next) if frames.is_empty() => see_other(&next),
        next => {
            let csp = (!frames.is_empty()).then(|| {
                crate::http::headers::csp_with_frames(frames.iter().map(|f| f.origin.as_str()))
            });
            let page = LoggedOutPage {
                t: texts,
                frames,
                next,
                pause: frontchannel::PAUSE,
            };
            let mut res = render(&page);
            if let Some(csp) = csp.and_then(|c| header::HeaderValue::from_str(&c).ok()) {
                res.headers_mut()
                    .insert(header::CONTENT_SECURITY_POLICY, csp);
            }
            res
        }
    };
    if signed_out {
        res.headers_mut()
            .append(header::SET_COOKIE, cookies::clear(SESSION_COOKIE));
    }
    res
}

fn confirm_page(
    texts: Texts,
    session: &Session,
    valid: &ValidLogout,
    params: &LogoutParams,
) -> Response {
    let redirect = valid.redirect_uri.clone();
    let page = ConfirmPage {
        t: texts,
        csrf: session.csrf.clone(),
        client_id: redirect
            .as_ref()
            .and(valid.client.as_ref())
            .map(|c| c.id.clone()),
        state: redirect.as_ref().and(params.state.clone()),
        post_logout_redirect_uri: redirect.clone(),
        ui_locales: params.ui_locales.clone(),
    };
    let res = render(&page);
    match &redirect {
        Some(uri) => allow_form_target(res, uri),
        None => res,
    }
}
