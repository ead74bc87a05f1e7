//! The second step of a login (`/login/second`): after a first factor, when a second is
//! required (`auth::factors`), and when an app asks for more than the session has (step-up).
//!
//! - `GET /login/second`: offers the person's second factors (an SMS code to the verified
//!   number; a passkey), or, with none, says why one is needed and offers to enrol a mobile
//!   number or a passkey. Changes nothing.
//! - `POST /login/second/send`, `POST /login/second/code`: send the SMS code, type it. A
//!   code the send limits held back is told as such (429, `Retry-After`): why, when to ask
//!   again, and the person's other factors (`http::send_refused`). The person proved their
//!   first factor, so this tells no stranger anything.
//! - `POST /login/second/enrol`, `POST /login/second/enrol/code`: confirm a new number.
//! - The passkey ceremonies (JSON) are `http::second_factor_passkey`'s.
//!
//! The step lives in the `__Host-nyckel_step` cookie (Secure, HttpOnly, SameSite=Lax): a
//! browser without it has nothing to continue. Every form carries the step's CSRF token (a
//! MAC of the step under the master key). A right second factor ends the step, sets the new
//! session cookie and continues exactly like a password login (`http::login::logged_in`).

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::auth::channels::PhoneAsked;
use crate::auth::factors::sms::{self, Sent};
use crate::auth::factors::step::{self, Checked, Step};
use crate::auth::factors::{self, Reason};
use crate::http::authorize::allow_form_target;
use crate::http::cookies;
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::extract::texts_for;
use crate::http::login;
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::send_refused;
use crate::i18n::Texts;
use crate::mail::compose::fill;
use crate::sms::limits::Refused;
use crate::sms::phone;
use crate::state::AppState;

/// The cookie of a login waiting for its second factor.
pub const STEP_COOKIE: &str = "__Host-nyckel_step";

/// Where a login continues when a second factor is needed.
pub const PATH: &str = "/login/second";

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(get_second))
        .route("/login/second/send", post(post_send))
        .route("/login/second/code", post(post_code))
        .route("/login/second/enrol", post(post_enrol))
        .route("/login/second/enrol/code", post(post_enrol_code))
}

/// The page.
#[derive(Template)]
#[template(path = "pages/second_factor.html")]
pub struct SecondPage {
    pub t: Texts,
    pub heading: &'static str,
    /// Why a second factor is needed (enrolment only).
    pub reasons: Vec<String>,
    pub error: Option<String>,
    /// Where the code form posts, when a code is out.
    pub code_action: Option<&'static str>,
    /// The masked number a code went to.
    pub sent_to: Option<String>,
    /// The masked verified number a code can be sent to.
    pub sms_to: Option<String>,
    /// Offer a passkey (`http::second_factor_passkey`).
    pub passkey: bool,
    /// Offer to enrol a mobile number.
    pub enrol: bool,
    /// Offer to add a first passkey (`http::second_factor_passkey`).
    pub enrol_passkey: bool,
    /// No enrolment in this step (first factor was an SMS code).
    pub enrol_blocked: bool,
    pub csrf: String,
    /// The number as typed (enrolment).
    pub value: String,
}

/// A posted form of this area. Not `Debug`: it holds a code.
#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub phone: String,
}

/// The answer to a login whose first factor passed: the step cookie and 303 to the page.
pub fn to_second_step(step_cookie: &str) -> Response {
    let mut res = crate::http::authorize::see_other(PATH);
    res.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(STEP_COOKIE, step_cookie, None),
    );
    res
}

/// The browser's live step and the texts, or the finished "start over" page.
pub(crate) async fn current(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(Step, Texts), Response> {
    let t = texts_for(headers, None);
    let cookie = cookies::get(headers, STEP_COOKIE).filter(|v| login::looks_like_token(v));
    let found = match cookie {
        Some(c) => step::load(&state.db, &state.config, c, state.now()).await,
        None => Ok(None),
    };
    match found {
        Ok(Some(s)) => {
            let t = texts_of(state, headers, &s).await.unwrap_or(t);
            Ok((s, t))
        }
        Ok(None) => Err(ended(t)),
        Err(e) => Err(PageError::from_internal(e, t).into_response()),
    }
}

/// The texts in the pending request's language, when the step continues one.
async fn texts_of(state: &AppState, headers: &HeaderMap, s: &Step) -> Option<Texts> {
    let id = s.request_id.as_deref()?;
    login::pending_context(state, headers, id, None)
        .await
        .ok()
        .map(|c| c.texts)
}

/// The step is gone (expired, used, too many wrong codes, another browser): start over.
pub(crate) fn ended(t: Texts) -> Response {
    let mut res = PageError::bad_request("second_factor.ended", t).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, cookies::clear(STEP_COOKIE));
    res
}

/// A form posted on a step's page: the live step, its texts and the form, after the step's
/// CSRF check. The 400 page when the form does not parse, the "start over" page without a
/// live step, 403 for a wrong token.
struct StepPost(Step, Texts, StepForm);

impl FromRequest<AppState> for StepPost {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let PageForm(form) = PageForm::<StepForm>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (step, texts) = current(state, &headers).await?;
        if !csrf::step_ok(&state.keys, &step, &form.csrf) {
            return Err(csrf::refused(texts).into_response());
        }
        Ok(StepPost(step, texts, form))
    }
}

fn reason_text(t: Texts, r: &Reason) -> String {
    match r {
        Reason::Own => t.t("second_factor.reason_own").to_string(),
        Reason::Organisation(org) => fill(t.t("second_factor.reason_org"), &[("org", org)]),
        Reason::Admin(org) => fill(t.t("second_factor.reason_admin"), &[("org", org)]),
        Reason::Superadmin => t.t("second_factor.reason_superadmin").to_string(),
        Reason::Requested => t.t("second_factor.reason_requested").to_string(),
    }
}

/// The page for a step: its factors, or enrolment.
async fn page(
    state: &AppState,
    s: &Step,
    t: Texts,
    error: Option<String>,
    value: String,
) -> Response {
    match offers(state, s, t).await {
        Ok(mut page) => {
            page.error = error;
            page.value = value;
            respond(state, s, StatusCode::OK, &page).await
        }
        Err(res) => res,
    }
}

/// The page offering the step's factors, or enrolment when it has none.
async fn offers(state: &AppState, s: &Step, t: Texts) -> Result<SecondPage, Response> {
    let internal = |e| PageError::from_internal(e, t).into_response();
    let available = factors::available(state, &s.user_id, &s.first_amr)
        .await
        .map_err(internal)?;
    let mut page = base(state, s, t);
    if available.any() {
        page.sms_to = available.sms.as_deref().map(phone::masked);
        page.passkey = available.passkey;
    } else {
        let mut reasons = factors::requirement(&state.db, &state.config, &s.user_id)
            .await
            .map_err(internal)?
            .reasons;
        if reasons.is_empty() {
            reasons.push(Reason::Requested);
        }
        page.heading = t.t("second_factor.enrol_heading");
        page.reasons = reasons.iter().map(|r| reason_text(t, r)).collect();
        page.enrol = sms::may_enrol(s);
        page.enrol_blocked = !page.enrol;
        page.enrol_passkey = state.passkeys_on();
    }
    Ok(page)
}

/// The page after the send limits held a code back (issue 19): why and when to ask again,
/// the other factors (a passkey), and the code field when a code of this step still works.
/// 429 with `Retry-After`.
async fn refused_page(
    state: &AppState,
    s: &Step,
    t: Texts,
    refused: &Refused,
    code_out: bool,
    value: String,
) -> Response {
    let mut page = match offers(state, s, t).await {
        Ok(p) => p,
        Err(res) => return res,
    };
    let mut text = send_refused::explain(t, refused);
    if code_out {
        text.push(' ');
        text.push_str(t.t("send_limits.use_code"));
        page.code_action = Some("/login/second/code");
    }
    if page.passkey {
        text.push(' ');
        text.push_str(t.t("send_limits.use_passkey"));
    }
    page.error = Some(text);
    page.value = value;
    let res = respond(state, s, StatusCode::OK, &page).await;
    send_refused::with_status(res, refused)
}

fn base(state: &AppState, s: &Step, t: Texts) -> SecondPage {
    SecondPage {
        t,
        heading: t.t("second_factor.heading"),
        reasons: Vec::new(),
        error: None,
        code_action: None,
        sent_to: None,
        sms_to: None,
        passkey: false,
        enrol: false,
        enrol_passkey: false,
        enrol_blocked: false,
        csrf: step::csrf(&state.keys, s),
        value: String::new(),
    }
}

/// Renders with a CSP that lets the form's answer redirect on to the client.
async fn respond(state: &AppState, s: &Step, status: StatusCode, page: &SecondPage) -> Response {
    let res = render_status(status, page);
    let Some(id) = s.request_id.as_deref() else {
        return res;
    };
    match crate::oidc::pending::redirect_uri(&state.db, id, state.now()).await {
        Ok(Some(redirect_uri)) => allow_form_target(res, &redirect_uri),
        _ => res,
    }
}

/// `GET /login/second`.
async fn get_second(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match current(&state, &headers).await {
        Ok((s, t)) => page(&state, &s, t, None, String::new()).await,
        Err(res) => res,
    }
}

/// `POST /login/second/send`: a code by SMS to the verified number.
async fn post_send(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    StepPost(s, t, _): StepPost,
) -> Response {
    match sms::send(&state, &s, &ip.to_string()).await {
        Ok(Some(Sent::Sent { to })) => {
            let mut page = base(&state, &s, t);
            page.code_action = Some("/login/second/code");
            page.sent_to = Some(to.clone());
            page.sms_to = Some(to);
            respond(&state, &s, StatusCode::OK, &page).await
        }
        Ok(Some(Sent::Refused {
            refused, code_out, ..
        })) => refused_page(&state, &s, t, &refused, code_out, String::new()).await,
        Ok(None) => page(&state, &s, t, None, String::new()).await,
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

/// `POST /login/second/code`.
async fn post_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    StepPost(s, t, form): StepPost,
) -> Response {
    let checked = sms::check(&state, &s, &form.code, &ip.to_string()).await;
    answer(&state, &s, t, checked, "/login/second/code").await
}

/// `POST /login/second/enrol`: a code to a new mobile number.
async fn post_enrol(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    StepPost(s, t, form): StepPost,
) -> Response {
    // Only a person with no second factor enrols here.
    match factors::available(&state, &s.user_id, &s.first_amr).await {
        Ok(a) if a.any() => return page(&state, &s, t, None, String::new()).await,
        Ok(_) => {}
        Err(e) => return PageError::from_internal(e, t).into_response(),
    }
    let error = match sms::enrol(&state, &s, &form.phone, &ip.to_string()).await {
        Ok(Some(PhoneAsked::Sent { phone: number })) => {
            let mut page = base(&state, &s, t);
            page.heading = t.t("second_factor.enrol_heading");
            page.code_action = Some("/login/second/enrol/code");
            page.sent_to = Some(number);
            return respond(&state, &s, StatusCode::OK, &page).await;
        }
        Ok(Some(PhoneAsked::Refused { refused, .. })) => {
            return refused_page(&state, &s, t, &refused, false, form.phone).await;
        }
        Ok(Some(PhoneAsked::Invalid)) | Ok(None) => "second_factor.phone_invalid",
        Ok(Some(PhoneAsked::CountryNotAllowed)) => "second_factor.phone_country",
        Ok(Some(PhoneAsked::Unchanged)) => "second_factor.phone_same",
        Err(e) => return PageError::from_internal(e, t).into_response(),
    };
    page(&state, &s, t, Some(t.t(error).to_string()), form.phone).await
}

/// `POST /login/second/enrol/code`.
async fn post_enrol_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    StepPost(s, t, form): StepPost,
) -> Response {
    let checked = sms::enrol_check(&state, &s, &form.code, &ip.to_string()).await;
    answer(&state, &s, t, checked, "/login/second/enrol/code").await
}

/// Turns a checked code into the response: logged in, try again, or start over.
async fn answer(
    state: &AppState,
    s: &Step,
    t: Texts,
    checked: crate::error::Result<Checked>,
    again: &'static str,
) -> Response {
    match checked {
        Ok(Checked::Done { session, cookie }) => logged_in(state, s, t, &session, &cookie).await,
        Ok(Checked::Wrong) => {
            let mut page = base(state, s, t);
            page.error = Some(t.t("second_factor.wrong_code").to_string());
            page.code_action = Some(again);
            respond(state, s, StatusCode::OK, &page).await
        }
        Ok(Checked::Ended) => ended(t),
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

/// A finished step: 303 to where the login continues (or first to the forced password
/// change) with the new session cookie, and the step cookie cleared.
pub(crate) async fn logged_in(
    state: &AppState,
    s: &Step,
    t: Texts,
    session: &crate::auth::session::Session,
    cookie: &str,
) -> Response {
    let location = s
        .next
        .as_deref()
        .and_then(login::local_path)
        .unwrap_or_else(|| "/".to_string());
    let mut res = login::logged_in(state, t, &session.user_id, location, cookie).await;
    res.headers_mut()
        .append(header::SET_COOKIE, cookies::clear(STEP_COOKIE));
    res
}
