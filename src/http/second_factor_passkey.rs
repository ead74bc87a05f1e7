//! A passkey in the second step of a login (`http::second_factor`), as JSON for
//! `static/passkey.js`:
//! - `POST /login/second/passkey/start` (`{csrf}` → `{challenge_id, options}`) and
//!   `POST /login/second/passkey/finish` (`{csrf, challenge_id, credential}`): the person's
//!   passkey as the second factor.
//! - `POST /login/second/passkey/enrol/start` and `/enrol/finish` (`{csrf, challenge_id,
//!   credential, name}`): a person without a second factor adds a first passkey, which is the
//!   second factor of this login.
//!
//! Every request needs the step cookie and the step's CSRF token. A right answer is
//! `{redirect}` with the session cookie (the step cookie cleared); a refused ceremony counts
//! against the step (`{error}`, 400), and a step that ended answers `{error}` with the step
//! cookie cleared. The rules are `auth::factors::passkey`'s.

use axum::Router;
use axum::extract::{Json, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use crate::auth::factors::passkey;
use crate::auth::factors::step::{Checked, Step};
use crate::auth::passkeys::Started;
use crate::http::cookies;
use crate::http::csrf;
use crate::http::extract::ClientIp;
use crate::http::extract::texts_for;
use crate::http::json_body::{JsonBody, json_error};
// The same JSON as a passkey login's finish (`req` and `next` unused: the step knows).
use crate::http::passkeys::Finish as Body;
use crate::http::second_factor::{STEP_COOKIE, current, logged_in};
use crate::i18n::Texts;
use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/second/passkey/start", post(post_start))
        .route("/login/second/passkey/finish", post(post_finish))
        .route("/login/second/passkey/enrol/start", post(post_enrol_start))
        .route(
            "/login/second/passkey/enrol/finish",
            post(post_enrol_finish),
        )
}

fn internal(e: impl std::fmt::Display + 'static, t: Texts) -> Response {
    crate::http::error::json_internal(e, t, "second-factor passkey")
}

/// The live step after the posted JSON's CSRF check, and its language.
async fn checked_step(
    state: &AppState,
    headers: &HeaderMap,
    body: &Body,
) -> Result<(Step, Texts), Response> {
    let fallback = texts_for(headers, None);
    let (s, t) = match current(state, headers).await {
        Ok(found) => found,
        Err(res) if res.status().is_server_error() => {
            return Err(crate::http::error::json_failure(res.status(), fallback));
        }
        Err(_) => return Err(ended(fallback)),
    };
    if !csrf::step_ok(&state.keys, &s, &body.login.csrf) {
        return Err(json_error(StatusCode::FORBIDDEN, t, "error.csrf"));
    }
    Ok((s, t))
}

/// The step is gone: say so and clear its cookie (the page offers to start over).
fn ended(t: Texts) -> Response {
    let mut res = json_error(StatusCode::BAD_REQUEST, t, "second_factor.ended");
    res.headers_mut()
        .append(header::SET_COOKIE, cookies::clear(STEP_COOKIE));
    res
}

/// A started ceremony, or a refusal when the step does not offer it.
fn started(
    found: crate::error::Result<Option<Started>>,
    t: Texts,
    refused: &'static str,
) -> Response {
    match found {
        Ok(Some(s)) => {
            Json(json!({ "challenge_id": s.challenge_id, "options": s.options })).into_response()
        }
        Ok(None) => json_error(StatusCode::BAD_REQUEST, t, refused),
        Err(e) => internal(e, t),
    }
}

/// The answer to a finished ceremony: the 303 of a finished login turned into `{redirect}`
/// with the same cookies, or a refusal.
async fn answer(
    state: &AppState,
    s: &Step,
    t: Texts,
    checked: crate::error::Result<Checked>,
    wrong: &'static str,
) -> Response {
    match checked {
        Ok(Checked::Done { session, cookie }) => {
            let done = logged_in(state, s, t, &session, &cookie).await;
            let Some(location) = done
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
            else {
                return done;
            };
            let mut res = Json(json!({ "redirect": location })).into_response();
            for c in done.headers().get_all(header::SET_COOKIE) {
                res.headers_mut().append(header::SET_COOKIE, c.clone());
            }
            res
        }
        Ok(Checked::Wrong) => json_error(StatusCode::BAD_REQUEST, t, wrong),
        Ok(Checked::Ended) => ended(t),
        Err(e) => internal(e, t),
    }
}

/// `POST /login/second/passkey/start`.
async fn post_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Body>,
) -> Result<Response, Response> {
    let (s, t) = checked_step(&state, &headers, &body).await?;
    Ok(started(
        passkey::start(&state, &s).await,
        t,
        "passkeys.login_failed",
    ))
}

/// `POST /login/second/passkey/finish`.
async fn post_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Body>,
) -> Result<Response, Response> {
    let (s, t) = checked_step(&state, &headers, &body).await?;
    let ip = ip.to_string();
    let checked = passkey::check(&state, &s, &body.challenge_id, &body.credential, &ip).await;
    Ok(answer(&state, &s, t, checked, "passkeys.login_failed").await)
}

/// `POST /login/second/passkey/enrol/start`.
async fn post_enrol_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Body>,
) -> Result<Response, Response> {
    let (s, t) = checked_step(&state, &headers, &body).await?;
    Ok(started(
        passkey::start_enrol(&state, &s).await,
        t,
        "passkeys.add_failed",
    ))
}

/// `POST /login/second/passkey/enrol/finish`.
async fn post_enrol_finish(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Body>,
) -> Result<Response, Response> {
    let (s, t) = checked_step(&state, &headers, &body).await?;
    let ip = ip.to_string();
    let checked = passkey::finish_enrol(
        &state,
        &s,
        &body.challenge_id,
        &body.name,
        &body.credential,
        &ip,
    )
    .await;
    Ok(answer(&state, &s, t, checked, "passkeys.add_failed").await)
}
