//! The pages of temporary login keys (SECURITY.md section 4):
//! - `POST /login/key` (beside the password form): asks for a login link or code by email or
//!   SMS, answers "check your email or phone" with a code field, the same for every address
//!   or number, known or not (the work is queued: `auth::keys::request`).
//! - `POST /login/code`: the code typed into the browser that asked.
//! - `GET /l/{key}`: shows the link's page and changes nothing (mail scanners fetch links;
//!   HEAD is the same); `POST /l/{key}` from that page uses it in the browser that asked.
//! - `GET /forgot`, `POST /forgot`, `POST /forgot/code`: recovery; a correct code leads to
//!   the new-password form (`/reset/{key}`), which never logs anyone in.
//!
//! The browser that asks gets a binding cookie (`__Host-nyckel_kb`, SameSite=Lax, one hour);
//! keys are bound to its hash, so a link or code only works there (P2), and a cross-site POST
//! (no Lax cookie) cannot use one. Forms carry the login page's CSRF token as well.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::auth::keys::login::{self as key_login, Browser, LinkState, Outcome};
use crate::auth::keys::recovery;
use crate::auth::keys::request::{self, KeyRequest, Purpose};
use crate::crypto::{secret_token, sha256_b64};
use crate::http::cookies::{self, SESSION_COOKIE};
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::extract::texts_for;
use crate::http::login::{self, Context, LoginFields, looks_like_token};
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::password_form::Early;
use crate::i18n::Texts;
use crate::state::AppState;

/// The cookie binding keys to the browser that asked for them.
pub const BINDING_COOKIE: &str = "__Host-nyckel_kb";

/// Seconds the binding cookie lives (longer than any key).
const BINDING_MAX_AGE: i64 = 3600;

/// The longest identifier accepted (an email address is at most 254 characters).
const MAX_IDENTIFIER: usize = 320;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/key", post(post_request))
        .route("/login/code", post(post_code))
        .route("/l/{key}", get(get_link).post(post_link))
        .route("/forgot", get(get_forgot).post(post_forgot))
        .route("/forgot/code", post(post_forgot_code))
}

/// "Check your email or phone", with the code field.
#[derive(Template)]
#[template(path = "pages/key_sent.html")]
pub struct SentPage {
    pub t: Texts,
    /// Where the code form posts.
    pub action: &'static str,
    /// Where "ask again" leads.
    pub again: &'static str,
    pub text: &'static str,
    pub req: Option<String>,
    pub csrf: String,
    pub next: Option<String>,
    pub error: Option<&'static str>,
}

/// The page of a login link.
#[derive(Template)]
#[template(path = "pages/login_link.html")]
pub struct LinkPage {
    pub t: Texts,
    pub key: String,
    pub csrf: String,
    pub masked_email: String,
}

/// A page that only says something (an unusable link, the wrong browser).
#[derive(Template)]
#[template(path = "pages/key_message.html")]
pub struct MessagePage {
    pub t: Texts,
    pub heading: &'static str,
    pub text: &'static str,
}

/// The forgot-password form.
#[derive(Template)]
#[template(path = "pages/forgot.html")]
pub struct ForgotPage {
    pub t: Texts,
    pub csrf: String,
}

/// `POST /login/key` and `POST /forgot`. Not `Debug`.
#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(flatten)]
    pub login: LoginFields,
    #[serde(default)]
    pub identifier: String,
}

/// `POST /login/code` and `POST /forgot/code`. Not `Debug`: it holds a code.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(flatten)]
    pub login: LoginFields,
    #[serde(default)]
    pub code: String,
}

/// `POST /l/{key}`.
#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    pub csrf: String,
}

/// The page for a key that belongs to another browser (403; the key is not used up).
pub fn wrong_browser(t: Texts) -> Response {
    message(
        t,
        StatusCode::FORBIDDEN,
        "keys.wrong_browser_heading",
        "keys.wrong_browser_text",
    )
}

fn invalid_link(t: Texts) -> Response {
    message(
        t,
        StatusCode::GONE,
        "keys.link_invalid_heading",
        "keys.link_invalid_text",
    )
}

fn message(t: Texts, status: StatusCode, heading: &'static str, text: &'static str) -> Response {
    render_status(
        status,
        &MessagePage {
            t,
            heading: t.t(heading),
            text: t.t(text),
        },
    )
}

/// The browser's binding cookie, or a new one (`true`: set it).
fn binding_for(headers: &HeaderMap) -> (String, bool) {
    match cookies::get(headers, BINDING_COOKIE).filter(|v| looks_like_token(v)) {
        Some(v) => (v.to_string(), false),
        None => (secret_token(), true),
    }
}

fn browser<'a>(headers: &'a HeaderMap, ip: &'a str) -> Browser<'a> {
    Browser {
        binding: cookies::get(headers, BINDING_COOKIE).filter(|v| looks_like_token(v)),
        ip,
        user_agent: login::user_agent(headers),
        replaces: None,
        then: None,
    }
}

/// Queues the request and shows the "check your email or phone" page.
async fn request_key(
    state: &AppState,
    headers: &HeaderMap,
    ip: &str,
    purpose: Purpose,
    ctx: Context,
    identifier: &str,
) -> Response {
    let t = ctx.texts;
    let identifier = identifier.trim();
    if identifier.is_empty() || identifier.len() > MAX_IDENTIFIER {
        return PageError::bad_request("error.bad_request", t).into_response();
    }
    let (binding, new_binding) = binding_for(headers);
    let organisation_id = match &ctx.pending {
        Some(p) => match state.clients.get(&p.params.client_id).await {
            Ok(c) => c.and_then(|c| c.owner_organisation_id.clone()),
            Err(e) => return PageError::from_internal(e, t).into_response(),
        },
        None => None,
    };
    let next = match purpose {
        Purpose::Login => Some(ctx.continue_to()),
        Purpose::Reset => None,
    };
    let submitted = request::submit(
        state,
        &KeyRequest {
            purpose,
            identifier: identifier.to_string(),
            binding_hash: sha256_b64(&binding),
            ip: ip.to_string(),
            next,
            locale: t.lang().to_string(),
            organisation_id,
            requested_at: state.now(),
        },
    )
    .await;
    if let Err(e) = submitted {
        return PageError::from_internal(e, t).into_response();
    }
    let mut res = sent_page(purpose, &ctx, None);
    if new_binding {
        res.headers_mut().append(
            header::SET_COOKIE,
            cookies::set(BINDING_COOKIE, &binding, Some(BINDING_MAX_AGE)),
        );
    }
    res
}

fn sent_page(purpose: Purpose, ctx: &Context, error: Option<&'static str>) -> Response {
    let t = ctx.texts;
    let (action, again, text) = match purpose {
        Purpose::Login => ("/login/code", "/login", "keys.sent_text"),
        Purpose::Reset => ("/forgot/code", "/forgot", "forgot.code_text"),
    };
    let page = SentPage {
        t,
        action,
        again,
        text: t.t(text),
        req: ctx.pending.as_ref().map(|p| p.id.clone()),
        csrf: ctx.csrf.clone(),
        next: ctx.next.clone(),
        error: error.map(|k| t.t(k)),
    };
    csrf::with_cookie(
        render_status(StatusCode::OK, &page),
        &ctx.csrf,
        ctx.new_csrf_cookie,
    )
}

/// `POST /login/key`.
async fn post_request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(form): PageForm<RequestForm>,
) -> Result<Response, Early> {
    let ctx = login::posted_context(&state, &headers, &form.login)
        .await
        .map_err(Early::from)?;
    Ok(request_key(
        &state,
        &headers,
        &ip.to_string(),
        Purpose::Login,
        ctx,
        &form.identifier,
    )
    .await)
}

/// `POST /login/code`.
async fn post_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(form): PageForm<CodeForm>,
) -> Result<Response, Early> {
    let ctx = login::posted_context(&state, &headers, &form.login)
        .await
        .map_err(Early::from)?;
    let ip = ip.to_string();
    let replaces = cookies::get(&headers, SESSION_COOKIE).map(sha256_b64);
    let continue_to = ctx.continue_to();
    let b = Browser {
        replaces: replaces.as_deref(),
        then: Some(&continue_to),
        ..browser(&headers, &ip)
    };
    Ok(match key_login::use_code(&state, &form.code, b).await {
        Ok(Outcome::Success {
            session,
            cookie,
            next,
        }) => {
            let location = next
                .as_deref()
                .and_then(login::local_path)
                .unwrap_or_else(|| ctx.continue_to());
            login::logged_in(&state, ctx.texts, &session.user_id, location, &cookie).await
        }
        Ok(Outcome::SecondFactor { step_cookie }) => {
            crate::http::second_factor::to_second_step(&step_cookie)
        }
        Ok(_) => sent_page(Purpose::Login, &ctx, Some("keys.wrong_code")),
        Err(e) => PageError::from_internal(e, ctx.texts).into_response(),
    })
}

/// `GET /l/{key}` (and HEAD): the page of a login link. Changes nothing.
async fn get_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Response {
    let t = texts_for(&headers, None);
    if !looks_like_token(&key) {
        return invalid_link(t);
    }
    let binding = cookies::get(&headers, BINDING_COOKIE);
    match key_login::check_link(&state, &key, binding).await {
        Ok(LinkState::Usable { masked_email }) => {
            let (csrf, new_cookie) = csrf::page_token(&headers);
            let page = LinkPage {
                t,
                key,
                csrf: csrf.clone(),
                masked_email,
            };
            csrf::with_cookie(render_status(StatusCode::OK, &page), &csrf, new_cookie)
        }
        Ok(LinkState::WrongBrowser) => wrong_browser(t),
        Ok(LinkState::Invalid) => invalid_link(t),
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

/// `POST /l/{key}`: uses the link in the browser that asked for it.
async fn post_link(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(key): Path<String>,
    PageForm(form): PageForm<LinkForm>,
) -> Result<Response, Early> {
    let t = texts_for(&headers, None);
    if !csrf::double_submit_ok(&headers, &form.csrf) {
        return Ok(PageError::new(StatusCode::FORBIDDEN, "error.csrf", t).into_response());
    }
    if !looks_like_token(&key) {
        return Ok(invalid_link(t));
    }
    let ip = ip.to_string();
    let replaces = cookies::get(&headers, SESSION_COOKIE).map(sha256_b64);
    let b = Browser {
        replaces: replaces.as_deref(),
        ..browser(&headers, &ip)
    };
    Ok(match key_login::use_link(&state, &key, b).await {
        Ok(Outcome::Success {
            session,
            cookie,
            next,
        }) => {
            let location = next
                .as_deref()
                .and_then(login::local_path)
                .unwrap_or_else(|| "/".to_string());
            login::logged_in(&state, t, &session.user_id, location, &cookie).await
        }
        Ok(Outcome::SecondFactor { step_cookie }) => {
            crate::http::second_factor::to_second_step(&step_cookie)
        }
        Ok(Outcome::WrongBrowser) => wrong_browser(t),
        Ok(Outcome::Invalid) => invalid_link(t),
        Err(e) => PageError::from_internal(e, t).into_response(),
    })
}

/// `GET /forgot`.
async fn get_forgot(headers: HeaderMap) -> Response {
    let t = texts_for(&headers, None);
    let (csrf, new_cookie) = csrf::page_token(&headers);
    let page = ForgotPage {
        t,
        csrf: csrf.clone(),
    };
    csrf::with_cookie(render_status(StatusCode::OK, &page), &csrf, new_cookie)
}

/// `POST /forgot`.
async fn post_forgot(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(form): PageForm<RequestForm>,
) -> Result<Response, Early> {
    let ctx = login::posted_context(&state, &headers, &form.login.csrf_only())
        .await
        .map_err(Early::from)?;
    Ok(request_key(
        &state,
        &headers,
        &ip.to_string(),
        Purpose::Reset,
        ctx,
        &form.identifier,
    )
    .await)
}

/// `POST /forgot/code`: a correct code leads to the new-password form.
async fn post_forgot_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    PageForm(form): PageForm<CodeForm>,
) -> Result<Response, Early> {
    let ctx = login::posted_context(&state, &headers, &form.login.csrf_only())
        .await
        .map_err(Early::from)?;
    let ip = ip.to_string();
    Ok(
        match recovery::trade_code(&state, &form.code, browser(&headers, &ip)).await {
            Ok(Some(recovery::Traded::Mailed)) => mailed_page(&ctx),
            Ok(Some(recovery::Traded::Form(key))) => {
                let mut res = StatusCode::SEE_OTHER.into_response();
                match HeaderValue::from_str(&format!("{}{key}", crate::auth::reset::PATH)) {
                    Ok(v) => res.headers_mut().insert(header::LOCATION, v),
                    Err(e) => return Ok(PageError::from_internal(e, ctx.texts).into_response()),
                };
                res
            }
            Ok(None) => sent_page(Purpose::Reset, &ctx, Some("keys.wrong_code")),
            Err(e) => PageError::from_internal(e, ctx.texts).into_response(),
        },
    )
}

/// After a correct SMS recovery code when both factors are needed: "we have also mailed you
/// a link and a code", with the field for the emailed code.
fn mailed_page(ctx: &Context) -> Response {
    let t = ctx.texts;
    let page = SentPage {
        t,
        action: "/forgot/code",
        again: "/forgot",
        text: t.t("recovery.mailed_text"),
        req: None,
        csrf: ctx.csrf.clone(),
        next: None,
        error: None,
    };
    csrf::with_cookie(
        render_status(StatusCode::OK, &page),
        &ctx.csrf,
        ctx.new_csrf_cookie,
    )
}
