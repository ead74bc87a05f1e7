//! The authorization endpoint (`GET`/`POST /authorize`, OIDC Core 3.1.2) and
//! `GET /authorize/continue?req=ID`, where the login page sends the browser back after a
//! successful login. Both hand the decision to [`crate::oidc::authorize`] and turn it into a
//! response: a redirect to the login page, an organisation picker, a consent page, an error
//! page, or a redirect to the client with a code or an error (always with `iss`).
//!
//! This router also carries the consent, organisation picker, logout and home routes.
//! No CORS here (RFC 9700 2.6): this router is outside the API router.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::session::Session;
use crate::http::cookies::{self, SESSION_COOKIE};
use crate::http::error::PageError;
use crate::http::extract::texts_for;
use crate::http::headers::csp_with_form_target;
use crate::http::page::render;
use crate::http::session::MaybeSession;
use crate::http::{consent, home, logout, password_change};
use crate::i18n::Texts;
use crate::oidc::authorize::{
    self, Decision, ErrorRedirect, Rejection, Signed, Situation, origin_of, parse_pairs,
};
use crate::oidc::error::OAuthError;
use crate::oidc::issue::issue_code;
use crate::oidc::pending::{self, BINDING_COOKIE, Pending, PendingError};
use crate::state::AppState;
use crate::store::clients::Client;

/// The routes of this area (authorization, consent, organisation choice, logout, home).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/authorize",
            get(get_authorize).post(post_authorize).head(head_refused),
        )
        .route("/authorize/continue", get(get_continue).head(head_refused))
        .merge(consent::routes())
        .merge(logout::routes())
        .merge(home::routes())
}

/// HEAD would otherwise run the GET handler, which can issue a code: link scanners send HEAD
/// requests, and they must change nothing.
async fn head_refused() -> axum::http::StatusCode {
    axum::http::StatusCode::METHOD_NOT_ALLOWED
}

/// `303 See Other` to `location`.
pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => {
            tracing::error!("a redirect target is not valid header text");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Sets a CSP that lets the page's form be answered by a redirect to `target`'s origin.
pub(crate) fn allow_form_target(mut res: Response, target: &str) -> Response {
    if let Some(origin) = origin_of(target)
        && let Ok(v) = HeaderValue::from_str(&csp_with_form_target(&origin))
    {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// `GET /authorize`.
async fn get_authorize(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorize(&state, session, &headers, &query.unwrap_or_default()).await
}

/// `POST /authorize` (form-encoded, OIDC Core 3.1.2.1).
async fn post_authorize(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body);
    authorize(&state, session, &headers, &body).await
}

async fn authorize(
    state: &AppState,
    session: Option<Session>,
    headers: &HeaderMap,
    raw: &str,
) -> Response {
    let pairs = parse_pairs(raw);
    let texts = texts_for(headers, authorize::ui_locales(&pairs));
    let now = state.now();
    let validated = match authorize::validate(
        &state.clients,
        &state.keys,
        &state.issuer,
        &pairs,
        session.as_ref(),
        now,
    )
    .await
    {
        Ok(Ok(v)) => v,
        Ok(Err(Rejection::Page(key))) => return PageError::bad_request(key, texts).into_response(),
        Ok(Err(Rejection::Redirect(e))) => return see_other(&e.location(&state.issuer)),
        Err(e) => return PageError::from_internal(e, texts).into_response(),
    };
    let binding = cookies::get(headers, BINDING_COOKIE);
    let created = pending::create(
        &state.db,
        validated.params,
        binding,
        state.config.tokens.login_request_ttl,
        now,
    )
    .await;
    let (pending, new_binding) = match created {
        Ok(p) => p,
        Err(e) => return PageError::from_internal(e, texts).into_response(),
    };
    // prompt=login, max_age=0 or an exceeded max_age: whatever session there is does not
    // count; the person logs in again (and /authorize/continue checks the login is newer).
    let session = if pending.params.force_login && session.is_some() {
        Signed::Out("a new login is required (max_age exceeded)")
    } else {
        signed(headers, session.as_ref())
    };
    let mut res = proceed(
        state,
        texts,
        &validated.client,
        &pending,
        session,
        None,
        false,
    )
    .await;
    if binding != Some(new_binding.as_str()) {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(BINDING_COOKIE, &new_binding, None),
        );
    }
    res
}

/// `GET /authorize/continue?req=ID`: back from the login page.
async fn get_continue(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = parse_pairs(&query.unwrap_or_default());
    let req = pairs
        .iter()
        .find(|(k, _)| k == "req")
        .map(|(_, v)| v.as_str());
    let texts = texts_for(&headers, None);
    let Some(req) = req else {
        return PageError::bad_request("error.bad_request", texts).into_response();
    };
    let (pending, client, texts) = match load_pending(&state, &headers, req, None, texts).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    proceed(
        &state,
        texts,
        &client,
        &pending,
        signed(&headers, session.as_ref()),
        None,
        false,
    )
    .await
}

/// The session as the authorization flow sees it, or why there is none (see [`Signed`]).
pub(crate) fn signed<'a>(headers: &HeaderMap, session: Option<&'a Session>) -> Signed<'a> {
    match session {
        Some(session) => Signed::In(session),
        None if cookies::get(headers, SESSION_COOKIE).is_some() => {
            Signed::Out("the session cookie names no live session (ended or expired)")
        }
        None => Signed::Out(
            "no session cookie was sent (a cross-site iframe does not send the SameSite=Lax \
             cookie: renew with a refresh token)",
        ),
    }
}

/// Loads a pending request for this browser (and, with `csrf`, checks the form token), with
/// its client and the texts in the request's language. Failures are finished responses.
pub(crate) async fn load_pending(
    state: &AppState,
    headers: &HeaderMap,
    req: &str,
    csrf: Option<&str>,
    texts: Texts,
) -> Result<(Pending, Client, Texts), Response> {
    let binding = cookies::get(headers, BINDING_COOKIE);
    let pending = match pending::load(&state.db, req, binding, csrf, state.now()).await {
        Ok(Ok(p)) => p,
        Ok(Err(PendingError::Expired)) => {
            return Err(PageError::bad_request("error.expired", texts).into_response());
        }
        Ok(Err(PendingError::WrongBrowser)) => {
            tracing::warn!(req, "pending request presented by another browser");
            return Err(
                PageError::new(StatusCode::FORBIDDEN, "error.wrong_browser", texts).into_response(),
            );
        }
        Ok(Err(PendingError::Csrf)) => {
            tracing::warn!(req, "pending request form with a wrong CSRF token");
            return Err(PageError::new(StatusCode::FORBIDDEN, "error.csrf", texts).into_response());
        }
        Err(e) => return Err(PageError::from_internal(e, texts).into_response()),
    };
    let texts = texts_for(headers, pending.params.ui_locales.as_deref());
    match state.clients.get(&pending.params.client_id).await {
        Ok(Some(client)) => Ok((pending, (*client).clone(), texts)),
        Ok(None) => Err(PageError::bad_request("error.unknown_client", texts).into_response()),
        Err(e) => Err(PageError::from_internal(e, texts).into_response()),
    }
}

/// Ends a pending request (it has been answered). Failing to delete it is logged only: it
/// expires on its own.
async fn finish_quietly(state: &AppState, pending: &Pending) {
    if let Err(e) = pending::finish(&state.db, &pending.id).await {
        tracing::error!(error = %crate::error::Chain(&e), "removing a pending request failed");
    }
}

/// A second factor on top of `session` for `pending`: a login step whose first factor is the
/// session's, replacing the session when it finishes (new cookie, combined `amr`, `auth_time`
/// now), then back to the request.
async fn step_up(state: &AppState, texts: Texts, pending: &Pending, session: &Session) -> Response {
    let next = format!("{}?req={}", crate::http::login::CONTINUE_PATH, pending.id);
    // The new session keeps the origin recorded with the one it replaces.
    let (ip, user_agent) = match crate::auth::session::origin(&state.db, session).await {
        Ok(origin) => origin,
        Err(e) => return PageError::from_internal(e, texts).into_response(),
    };
    let begun = crate::auth::factors::step::begin(
        &state.db,
        &state.config,
        crate::auth::factors::step::NewStep {
            user_id: &session.user_id,
            first_amr: &session.amr,
            request_id: Some(&pending.id),
            next: Some(&next),
            ip: ip.as_deref(),
            user_agent: user_agent.as_deref(),
            replaces: Some(&session.id_hash),
            step_up: true,
        },
        state.now(),
    )
    .await;
    match begun {
        Ok(cookie) => crate::http::second_factor::to_second_step(&cookie),
        Err(e) => PageError::from_internal(e, texts).into_response(),
    }
}

/// Decides the next step for a pending request and answers it.
pub(crate) async fn proceed(
    state: &AppState,
    texts: Texts,
    client: &Client,
    pending: &Pending,
    signed: Signed<'_>,
    org_choice: Option<&str>,
    consented: bool,
) -> Response {
    let session = signed.session();
    let situation = Situation {
        client,
        pending,
        session: signed,
        org_choice,
        consented,
        config: &state.config,
    };
    let decision = match authorize::decide(&state.db, situation).await {
        Ok(d) => d,
        Err(e) => return PageError::from_internal(e, texts).into_response(),
    };
    match decision {
        Decision::Login => see_other(&format!("/login?req={}", pending.id)),
        Decision::StepUp => match session {
            Some(session) => step_up(state, texts, pending, session).await,
            None => see_other(&format!("/login?req={}", pending.id)),
        },
        Decision::Error(e) => {
            finish_quietly(state, pending).await;
            see_other(&e.location(&state.issuer))
        }
        Decision::NotMember => {
            finish_quietly(state, pending).await;
            PageError::new(StatusCode::FORBIDDEN, "error.not_member", texts).into_response()
        }
        Decision::SelectOrg(memberships) => {
            let page = consent::SelectOrgPage {
                t: texts,
                client_name: client.name.clone(),
                orgs: memberships
                    .into_iter()
                    .map(|m| consent::OrgChoice {
                        id: m.organisation_id,
                        name: m.name,
                    })
                    .collect(),
                req: pending.id.clone(),
                csrf: pending.csrf.clone(),
            };
            allow_form_target(render(&page), &pending.params.redirect_uri)
        }
        Decision::Consent {
            scopes,
            organisation,
            admin,
        } => {
            let email = match session {
                Some(s) => crate::auth::own::account(state, &s.user_id)
                    .await
                    .ok()
                    .flatten()
                    .map(|u| u.email),
                None => None,
            };
            let page = consent::ConsentPage {
                t: texts,
                client_name: client.name.clone(),
                email,
                scopes: scopes
                    .iter()
                    .map(|s| consent::scope_line(s, admin.as_ref()))
                    .collect(),
                org_name: organisation.as_ref().map(|m| m.name.clone()),
                org_id: organisation.map(|m| m.organisation_id),
                req: pending.id.clone(),
                csrf: pending.csrf.clone(),
            };
            allow_form_target(render(&page), &pending.params.redirect_uri)
        }
        Decision::Issue {
            organisation_id,
            scope,
        } => {
            let Some(session) = session else {
                // decide() only issues with a session; treat anything else as "log in".
                return see_other(&format!("/login?req={}", pending.id));
            };
            // No code while a password set by an administrator is still in place.
            match password_change::must_change(state, &session.user_id).await {
                Ok(true) => {
                    let back = format!("{}?req={}", crate::http::login::CONTINUE_PATH, pending.id);
                    return see_other(&password_change::change_location(&back));
                }
                Ok(false) => {}
                Err(e) => return PageError::from_internal(e, texts).into_response(),
            }
            match pending::finish(&state.db, &pending.id).await {
                Ok(true) => {}
                Ok(false) => {
                    return PageError::bad_request("error.request_used", texts).into_response();
                }
                Err(e) => return PageError::from_internal(e, texts).into_response(),
            }
            let issued = issue_code(
                &state.db,
                &state.config.tokens,
                session,
                &pending.params,
                &scope,
                organisation_id.as_deref(),
                state.now(),
            )
            .await;
            match issued {
                Ok(issued) => see_other(&authorize::success_location(
                    &pending.params,
                    &issued.code,
                    &state.issuer,
                )),
                Err(e) => {
                    // Logged there; an unavailable database is `temporarily_unavailable`.
                    let e = ErrorRedirect::for_params(&pending.params, OAuthError::from(e));
                    see_other(&e.location(&state.issuer))
                }
            }
        }
    }
}
