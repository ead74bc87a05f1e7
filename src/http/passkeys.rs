//! Passkeys over HTTP (`auth::passkeys`):
//! - Login, JSON: `POST /login/passkey/start` (`{req?, csrf, next?, email?}` → `{challenge_id,
//!   options}`) and `POST /login/passkey/finish` (`{req?, csrf, next?, challenge_id,
//!   credential}` → `{redirect}` and a new session cookie). The CSRF and pending-request
//!   checks are the password form's (`http::login::posted_context`); the challenge is bound to
//!   the browser's pending-request cookie, or to its double-submit cookie on the plain form.
//! - Account: `GET /account/passkeys` (list, rename, remove, add), JSON
//!   `POST /account/passkeys/start` and `/finish` (registration, bound to the session),
//!   `POST /account/passkeys/{id}/rename` and `/remove` (forms). Adding and removing need a
//!   fresh login (`auth::channels::fresh`): a stale session goes to `/login?next=...` (JSON
//!   answers carry that as `redirect`). Every POST carries the session's CSRF token.
//! - `GET /static/passkey.js`: the one script, self-hosted.
//! - [`only_when_on`] guards these routes and `http::second_factor_passkey`'s: where
//!   passkeys are off (an IP-address issuer, `AppState::webauthn` is `None`) each answers 404
//!   "passkeys are not available on this installation", as JSON for the ceremonies and as a
//!   page otherwise.
//!
//! Failures answer JSON `{"error": <translated text>}` with 400 (403 for CSRF) and change
//! nothing; the challenge a refused finish named is used up.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::channels;
use crate::auth::passkey_login::{self, Outcome};
use crate::auth::passkeys::{self, PasskeyInfo, Refused};
use crate::auth::session::Session;
use crate::crypto::sha256_b64;
use crate::http::authorize::see_other;
use crate::http::cookies::{self, SESSION_COOKIE};
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::{ClientIp, Lang, texts_for};
use crate::http::json_body::{JsonBody, json_answer, json_error};
use crate::http::login::{Context, LoginFields, posted_context, user_agent};
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::password_change;
use crate::http::password_form::Early;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::oidc::pending::BINDING_COOKIE;
use crate::state::AppState;

/// The account page of passkeys.
pub const PAGE_PATH: &str = "/account/passkeys";

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/passkey/start", post(post_login_start))
        .route("/login/passkey/finish", post(post_login_finish))
        .route(PAGE_PATH, get(get_page))
        .route("/account/passkeys/start", post(post_register_start))
        .route("/account/passkeys/finish", post(post_register_finish))
        .route("/account/passkeys/{id}/rename", post(post_rename))
        .route("/account/passkeys/{id}/remove", post(post_remove))
        .route("/static/passkey.js", get(get_script))
}

/// Passes requests on where passkeys work; elsewhere answers 404 with the catalog's
/// `passkeys.unavailable`: JSON `{error}` for a ceremony (a path ending in `/start` or
/// `/finish`, as `static/passkey.js` posts), the error page for everything else.
pub async fn only_when_on(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.passkeys_on() {
        return next.run(req).await;
    }
    let t = texts_for(req.headers(), None);
    let path = req.uri().path();
    if path.ends_with("/start") || path.ends_with("/finish") {
        json_error(StatusCode::NOT_FOUND, t, "passkeys.unavailable")
    } else {
        PageError::new(StatusCode::NOT_FOUND, "passkeys.unavailable", t).into_response()
    }
}

/// `POST /login/passkey/start`. Not `Debug`.
#[derive(Deserialize)]
pub struct LoginStart {
    #[serde(flatten)]
    pub login: LoginFields,
    /// Typed first: the person's passkeys are listed. Empty: discoverable.
    #[serde(default)]
    pub email: String,
}

/// `POST /login/passkey/finish` and `/account/passkeys/finish`. Not `Debug`.
#[derive(Deserialize)]
pub struct Finish {
    #[serde(flatten)]
    pub login: LoginFields,
    #[serde(default)]
    pub challenge_id: String,
    #[serde(default)]
    pub credential: Value,
    /// The new passkey's name (registration).
    #[serde(default)]
    pub name: String,
}

/// `POST /account/passkeys/start`. Not `Debug`.
#[derive(Deserialize)]
pub struct RegisterStart {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /account/passkeys/{id}/rename` and `/remove`. Not `Debug`.
#[derive(Deserialize)]
pub struct ItemForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
}

/// One passkey on the page.
pub struct Row {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// The passkeys page.
#[derive(Template)]
#[template(path = "pages/account_passkeys.html")]
pub struct PasskeysPage {
    pub t: Texts,
    pub csrf: String,
    pub passkeys: Vec<Row>,
}

/// A JSON answer with `status`.
/// A JSON answer sending the browser to the login page, coming back to the passkeys page.
fn json_login_again() -> Response {
    json_answer(
        StatusCode::UNAUTHORIZED,
        json!({ "redirect": login_again_path() }),
    )
}

fn login_again_path() -> String {
    format!("/login?next={PAGE_PATH}")
}

fn json_internal(e: impl std::fmt::Display + 'static, t: Texts) -> Response {
    crate::http::error::json_internal(e, t, "passkey")
}

/// The login form's checks, answered as JSON: 403 for a CSRF failure, 400 for an expired or
/// unknown pending request.
async fn login_context(
    state: &AppState,
    headers: &HeaderMap,
    posted: &LoginFields,
) -> Result<Context, Response> {
    let t = texts_for(headers, None);
    posted_context(state, headers, posted)
        .await
        .map_err(|res| match res.status() {
            StatusCode::FORBIDDEN => json_error(StatusCode::FORBIDDEN, t, "error.csrf"),
            status if status.is_server_error() => crate::http::error::json_failure(status, t),
            _ => json_error(StatusCode::BAD_REQUEST, t, "login.expired"),
        })
}

/// The binding of a login ceremony: the browser's pending-request cookie when continuing a
/// request, else its double-submit cookie (both checked by [`login_context`]).
fn login_binding(headers: &HeaderMap, ctx: &Context) -> String {
    let (kind, cookie) = match &ctx.pending {
        Some(p) => (
            "pending",
            cookies::get(headers, BINDING_COOKIE).unwrap_or(&p.id),
        ),
        None => (
            "plain",
            cookies::get(headers, csrf::CSRF_COOKIE).unwrap_or(ctx.csrf.as_str()),
        ),
    };
    sha256_b64(&format!("passkey-login:{kind}:{cookie}"))
}

/// The binding of a registration: the signed-in session.
fn session_binding(session: &Session) -> String {
    sha256_b64(&format!("passkey-session:{}", session.id_hash))
}

/// `POST /login/passkey/start`.
async fn post_login_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginStart>,
) -> Result<Response, Response> {
    let ctx = login_context(&state, &headers, &body.login).await?;
    let binding = login_binding(&headers, &ctx);
    let email = body.email.trim();
    let started = if email.is_empty() {
        passkeys::start_authentication(&state, None, &binding).await
    } else if email.len() > 320 {
        return Err(json_error(
            StatusCode::BAD_REQUEST,
            ctx.texts,
            "passkeys.bad_request",
        ));
    } else {
        passkeys::start_authentication_for_email(&state, email, &binding).await
    };
    Ok(challenge(started, ctx.texts))
}

/// The answer to a started ceremony: its challenge and the browser's options.
fn challenge<E: std::fmt::Display + 'static>(
    started: Result<passkeys::Started, E>,
    t: Texts,
) -> Response {
    match started {
        Ok(s) => json_answer(
            StatusCode::OK,
            json!({ "challenge_id": s.challenge_id, "options": s.options }),
        ),
        Err(e) => json_internal(e, t),
    }
}

/// `POST /login/passkey/finish`.
async fn post_login_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Finish>,
) -> Result<Response, Response> {
    let ctx = login_context(&state, &headers, &body.login).await?;
    let binding = login_binding(&headers, &ctx);
    let client_id = ctx.pending.as_ref().map(|p| p.params.client_id.clone());
    let replaces = cookies::get(&headers, SESSION_COOKIE).map(sha256_b64);
    let attempt = passkey_login::Attempt {
        binding: &binding,
        challenge_id: &body.challenge_id,
        credential: &body.credential,
        ip,
        client_id: client_id.as_deref(),
        user_agent: user_agent(&headers),
        replaces: replaces.as_deref(),
    };
    Ok(match passkey_login::log_in(&state, attempt).await {
        Ok(Outcome::Throttled { retry_after }) => {
            let mut res = json_error(StatusCode::TOO_MANY_REQUESTS, ctx.texts, "login.throttled");
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            res
        }
        Ok(Outcome::Refused(_)) => {
            json_error(StatusCode::BAD_REQUEST, ctx.texts, "passkeys.login_failed")
        }
        Ok(Outcome::LoggedIn { user_id, cookie }) => {
            match signed_in(&state, &ctx, &user_id, &cookie).await {
                Ok(res) => res,
                Err(e) => json_internal(e, ctx.texts),
            }
        }
        Err(e) => json_internal(e, ctx.texts),
    })
}

/// The answer to a passkey login that signed in: the session cookie and where to go (the
/// forced password change first, if due).
async fn signed_in(
    state: &AppState,
    ctx: &Context,
    user_id: &str,
    cookie: &str,
) -> crate::error::Result<Response> {
    let mut location = ctx.continue_to();
    if password_change::must_change(state, user_id).await? {
        location = password_change::change_location(&location);
    }
    let mut res = json_answer(StatusCode::OK, json!({ "redirect": location }));
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(SESSION_COOKIE, cookie, None),
    );
    Ok(res)
}

/// `YYYY-MM-DD` (UTC).
fn day(at: i64) -> String {
    crate::clock::utc_date(at).to_string()
}

/// `GET /account/passkeys`.
async fn get_page(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
) -> Response {
    let Some(session) = session else {
        return see_other(&login_again_path());
    };
    let list = match passkeys::list(&state, &session.user_id).await {
        Ok(l) => l,
        Err(e) => return PageError::from_internal(e, t).into_response(),
    };
    let rows = list
        .into_iter()
        .map(|p: PasskeyInfo| Row {
            created: day(p.created_at),
            last_used: p.last_used_at.map(day),
            id: p.id,
            name: p.name,
        })
        .collect();
    render_status(
        StatusCode::OK,
        &PasskeysPage {
            t,
            csrf: session.csrf.clone(),
            passkeys: rows,
        },
    )
}

/// The signed-in session of a JSON request with a fresh login and the right CSRF token.
fn fresh_session(
    state: &AppState,
    session: Option<Session>,
    csrf: &str,
    t: Texts,
) -> Result<Session, Early> {
    let Some(session) = session else {
        return Err(json_login_again().into());
    };
    if !csrf::session_ok(&session, csrf) {
        return Err(json_error(StatusCode::FORBIDDEN, t, "error.csrf").into());
    }
    if channels::fresh(state, &session).is_none() {
        return Err(json_login_again().into());
    }
    Ok(session)
}

/// `POST /account/passkeys/start`.
async fn post_register_start(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
    JsonBody(body): JsonBody<RegisterStart>,
) -> Result<Response, Response> {
    let session = fresh_session(&state, session, &body.csrf, t).map_err(Early::into_response)?;
    let binding = session_binding(&session);
    Ok(challenge(
        passkeys::start_registration(&state, &session.user_id, &binding).await,
        t,
    ))
}

/// `POST /account/passkeys/finish`.
async fn post_register_finish(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    JsonBody(body): JsonBody<Finish>,
) -> Result<Response, Response> {
    let session =
        fresh_session(&state, session, &body.login.csrf, t).map_err(Early::into_response)?;
    let name = if body.name.trim().is_empty() {
        t.t("passkeys.default_name").to_string()
    } else {
        body.name.clone()
    };
    let ip = ip.to_string();
    let finished = passkeys::finish_registration(
        &state,
        &session.user_id,
        &session_binding(&session),
        &body.challenge_id,
        &name,
        &body.credential,
        &ip,
    )
    .await;
    Ok(match finished {
        Ok(Ok(_)) => json_answer(StatusCode::OK, json!({ "redirect": PAGE_PATH })),
        Ok(Err(refused)) => {
            let detail = json!({ "reason": refused.as_str() });
            if let Err(e) = crate::auth::audit_person(
                &state,
                "passkey.add_refused",
                &session.user_id,
                &ip,
                detail,
            )
            .await
            {
                return Err(json_internal(e, t));
            }
            let key = if refused == Refused::Duplicate {
                "passkeys.duplicate"
            } else {
                "passkeys.add_failed"
            };
            json_error(StatusCode::BAD_REQUEST, t, key)
        }
        Err(e) => json_internal(e, t),
    })
}

/// The session of a posted account form with the right CSRF token, or the page to answer.
fn form_session(session: Option<Session>, csrf: &str, t: Texts) -> Result<Session, Box<Response>> {
    csrf::signed_in_form(session, csrf, t, || see_other(&login_again_path()).into())
        .map_err(|early| Box::new(early.into_response()))
}

/// `POST /account/passkeys/{id}/rename`.
async fn post_rename(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    Path(id): Path<String>,
    PageForm(form): PageForm<ItemForm>,
) -> Response {
    let session = match form_session(session, &form.csrf, t) {
        Ok(s) => s,
        Err(res) => return *res,
    };
    match passkeys::rename(&state, &session.user_id, &id, &form.name, &ip.to_string()).await {
        Ok(true) => see_other(PAGE_PATH),
        Ok(false) => PageError::new(StatusCode::NOT_FOUND, "error.not_found", t).into_response(),
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

/// `POST /account/passkeys/{id}/remove`: needs a fresh login.
async fn post_remove(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    Path(id): Path<String>,
    PageForm(form): PageForm<ItemForm>,
) -> Response {
    let session = match form_session(session, &form.csrf, t) {
        Ok(s) => s,
        Err(res) => return *res,
    };
    if channels::fresh(&state, &session).is_none() {
        return see_other(&login_again_path());
    }
    match passkeys::remove(&state, &session.user_id, &id, &ip.to_string()).await {
        Ok(Some(_)) => see_other(PAGE_PATH),
        Ok(None) => PageError::new(StatusCode::NOT_FOUND, "error.not_found", t).into_response(),
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

/// `GET /static/passkey.js`.
async fn get_script() -> Response {
    let mut res = include_str!("../../static/passkey.js").into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}
