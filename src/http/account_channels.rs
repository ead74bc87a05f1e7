//! The pages where a signed-in person changes their email address or mobile number
//! (`auth::channels`):
//! - `GET`/`POST /account/email`, `POST /account/email/code`: the new address gets a link
//!   and a code; the code is typed here.
//! - `GET /verify/email/{key}` shows the link's page and changes nothing (mail scanners fetch
//!   links; HEAD is the same); `POST /verify/email/{key}` from that page confirms it, in the
//!   session that asked only (elsewhere: a clear page, the link still works there).
//! - `GET`/`POST /account/phone`, `POST /account/phone/code`, `POST /account/phone/remove`.
//! - `GET /account/changed/{what}`: what the change did (after the POST-redirect).
//!
//! Starting a change needs a fresh login (`login.fresh_login`): a stale session is sent to
//! `/login?next=...` and comes back. A confirmation the send limits held back is told as
//! such (429, `Retry-After`, why and when to ask again: `http::send_refused`); the person is
//! signed in and typed the address or number, so this tells no stranger anything. Every form carries the session's CSRF token (403
//! without it); bad input answers a helpful page with 400 and changes nothing.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::auth::channels::{self, Confirmed, EmailAsked, Fresh, LinkState, PhoneAsked};
use crate::auth::session::Session;
use crate::http::authorize::see_other;
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::{ClientIp, Lang};
use crate::http::login::looks_like_token;
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::password_form::Early;
use crate::http::send_refused;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::mail::compose::fill;
use crate::state::AppState;
use crate::store::users::User;

/// The email page.
pub const EMAIL_PATH: &str = "/account/email";
/// The phone page.
pub const PHONE_PATH: &str = "/account/phone";

/// The longest email address accepted in the form (longer ones are not addresses).
const MAX_EMAIL: usize = 320;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(EMAIL_PATH, get(get_page::<Email>).post(post_email))
        .route("/account/email/code", post(post_code::<Email>))
        .route("/verify/email/{key}", get(get_link).post(post_link))
        .route(PHONE_PATH, get(get_page::<Phone>).post(post_phone))
        .route("/account/phone/code", post(post_code::<Phone>))
        .route("/account/phone/remove", post(post_phone_remove))
        .route("/account/changed/{what}", get(get_changed))
}

/// The email page: the current address and a form for a new one.
#[derive(Template)]
#[template(path = "pages/account_email.html")]
pub struct EmailPage {
    pub t: Texts,
    pub csrf: String,
    pub current: String,
    /// The new address as typed (after a refusal).
    pub value: String,
    pub error: Option<String>,
}

/// The phone page: the current number, a form for a new one, and removal.
#[derive(Template)]
#[template(path = "pages/account_phone.html")]
pub struct PhonePage {
    pub t: Texts,
    pub csrf: String,
    pub current: Option<String>,
    pub verified: bool,
    pub value: String,
    pub error: Option<String>,
}

/// "We sent a code", with the code field.
#[derive(Template)]
#[template(path = "pages/verify_code.html")]
pub struct CodePage {
    pub t: Texts,
    pub heading: &'static str,
    pub text: &'static str,
    /// Where it went (the person's own new address or number), when known.
    pub destination: Option<String>,
    pub action: &'static str,
    pub again: &'static str,
    pub csrf: String,
    pub error: Option<&'static str>,
}

/// The page of a confirmation link.
#[derive(Template)]
#[template(path = "pages/verify_email.html")]
pub struct LinkPage {
    pub t: Texts,
    pub key: String,
    pub csrf: String,
    pub email: String,
}

/// A page that only says something, with one link onwards.
#[derive(Template)]
#[template(path = "pages/verify_message.html")]
pub struct MessagePage {
    pub t: Texts,
    pub heading: &'static str,
    pub text: String,
    pub href: &'static str,
    pub label: &'static str,
}

/// `POST /account/email`. Not `Debug`.
#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub email: String,
}

/// `POST /account/phone`. Not `Debug`.
#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub phone: String,
}

/// The code forms. Not `Debug`: it holds a code.
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub code: String,
}

/// Forms with nothing but the token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// Which channel a page is about: the email address or the mobile number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Email,
    Phone,
}

/// A channel as a type, so one handler serves both routes (`get_page::<Email>`).
trait Channel {
    const KIND: Kind;
}

/// The email address.
enum Email {}
/// The mobile number.
enum Phone {}

impl Channel for Email {
    const KIND: Kind = Kind::Email;
}

impl Channel for Phone {
    const KIND: Kind = Kind::Phone;
}

impl Kind {
    /// The channel's page.
    fn path(self) -> &'static str {
        match self {
            Kind::Email => EMAIL_PATH,
            Kind::Phone => PHONE_PATH,
        }
    }
}

/// To the login page, coming back to `path` afterwards.
fn login_again(path: &str) -> Response {
    see_other(&format!("/login?next={path}"))
}

/// The session, or the way to the login page.
fn signed_in(session: Option<Session>, path: &str) -> Result<Session, Early> {
    session.ok_or_else(|| login_again(path).into())
}

/// The session of a form posted on a channel's page, when the form repeats its CSRF token;
/// else the way to the login page (no session) or the 403 page.
fn posted_in(session: Option<Session>, kind: Kind, sent: &str, t: Texts) -> Result<Session, Early> {
    csrf::signed_in_form(session, sent, t, || login_again(kind.path()).into())
}

/// The session when its login is fresh, else the way to the login page.
fn fresh_or_login<'a>(
    state: &AppState,
    session: &'a Session,
    kind: Kind,
) -> Result<Fresh<'a>, Early> {
    channels::fresh(state, session).ok_or_else(|| login_again(kind.path()).into())
}

fn internal(e: impl std::fmt::Display + 'static, t: Texts) -> Early {
    PageError::from_internal(e, t).into()
}

async fn user_of(state: &AppState, session: &Session, t: Texts) -> Result<User, Early> {
    match crate::auth::own::account(state, &session.user_id).await {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(login_again("/").into()),
        Err(e) => Err(internal(e, t)),
    }
}

fn message(
    t: Texts,
    status: StatusCode,
    heading: &'static str,
    text: String,
    href: &'static str,
    label: &'static str,
) -> Response {
    render_status(
        status,
        &MessagePage {
            t,
            heading: t.t(heading),
            text,
            href,
            label: t.t(label),
        },
    )
}

fn code_page(
    t: Texts,
    kind: Kind,
    csrf: &str,
    destination: Option<String>,
    error: Option<&'static str>,
) -> Response {
    let (heading, text, action) = match kind {
        Kind::Email => (
            "account_channels.email_sent_heading",
            "account_channels.email_sent_text",
            "/account/email/code",
        ),
        Kind::Phone => (
            "account_channels.phone_sent_heading",
            "account_channels.phone_sent_text",
            "/account/phone/code",
        ),
    };
    render_status(
        crate::http::page::form_status(&error),
        &CodePage {
            t,
            heading: t.t(heading),
            text: t.t(text),
            destination,
            action,
            again: kind.path(),
            csrf: csrf.to_string(),
            error: error.map(|k| t.t(k)),
        },
    )
}

/// The answer to a confirmation.
fn confirmed(t: Texts, kind: Kind, csrf: &str, outcome: Confirmed) -> Response {
    match (outcome, kind) {
        (Confirmed::Changed(_), Kind::Email) => see_other("/account/changed/email"),
        (Confirmed::Changed(_), Kind::Phone) => see_other("/account/changed/phone"),
        (Confirmed::Taken, _) => message(
            t,
            StatusCode::CONFLICT,
            "account_channels.taken_heading",
            t.t("account_channels.taken_text").to_string(),
            EMAIL_PATH,
            "account_channels.email_again",
        ),
        (Confirmed::WrongSession, _) => wrong_session(t),
        (Confirmed::Invalid, _) => {
            code_page(t, kind, csrf, None, Some("account_channels.wrong_code"))
        }
    }
}

/// The page of a link that belongs to another session (403; not used up).
fn wrong_session(t: Texts) -> Response {
    message(
        t,
        StatusCode::FORBIDDEN,
        "account_channels.wrong_session_heading",
        t.t("account_channels.wrong_session_text").to_string(),
        EMAIL_PATH,
        "account_channels.email_page",
    )
}

/// The page of an unknown, used, replaced or expired link (410).
fn invalid_link(t: Texts) -> Response {
    message(
        t,
        StatusCode::GONE,
        "account_channels.link_invalid_heading",
        t.t("account_channels.link_invalid_text").to_string(),
        EMAIL_PATH,
        "account_channels.email_again",
    )
}

/// The channel's page: the current address or number and the form for a new one (400 with
/// `error`).
async fn page(
    state: &AppState,
    t: Texts,
    session: &Session,
    kind: Kind,
    value: String,
    error: Option<String>,
) -> Result<Response, Early> {
    let user = user_of(state, session, t).await?;
    let status = crate::http::page::form_status(&error);
    let csrf = session.csrf.clone();
    Ok(match kind {
        Kind::Email => render_status(
            status,
            &EmailPage {
                t,
                csrf,
                current: user.email,
                value,
                error,
            },
        ),
        Kind::Phone => render_status(
            status,
            &PhonePage {
                t,
                csrf,
                verified: user.phone_verified != 0,
                current: user.phone,
                value,
                error,
            },
        ),
    })
}

/// `GET /account/email`, `GET /account/phone`: the channel's page, for a fresh login.
async fn get_page<C: Channel>(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
) -> Result<Response, Early> {
    let session = signed_in(session, C::KIND.path())?;
    fresh_or_login(&state, &session, C::KIND)?;
    page(&state, t, &session, C::KIND, String::new(), None).await
}

/// `POST /account/email/code`, `POST /account/phone/code`: a typed code of the channel; the
/// change is made, or the code page again.
async fn post_code<C: Channel>(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    PageForm(form): PageForm<CodeForm>,
) -> Result<Response, Early> {
    let (kind, ip) = (C::KIND, ip.to_string());
    let session = posted_in(session, kind, &form.csrf, t)?;
    let confirmed_as = match kind {
        Kind::Email => channels::confirm_email_code(&state, &form.code, &session, &ip).await,
        Kind::Phone => channels::confirm_phone_code(&state, &form.code, &session, &ip).await,
    };
    match confirmed_as {
        Ok(outcome) => Ok(confirmed(t, kind, &session.csrf, outcome)),
        Err(e) => Err(internal(e, t)),
    }
}

/// `POST /account/email`.
async fn post_email(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    PageForm(form): PageForm<EmailForm>,
) -> Result<Response, Early> {
    let session = posted_in(session, Kind::Email, &form.csrf, t)?;
    let fresh = fresh_or_login(&state, &session, Kind::Email)?;
    let typed = form.email.trim().to_string();
    let error = |key: &'static str| Some(t.t(key).to_string());
    if typed.len() > MAX_EMAIL {
        return page(
            &state,
            t,
            &session,
            Kind::Email,
            String::new(),
            error("account_channels.email_invalid"),
        )
        .await;
    }
    match channels::ask_email(&state, fresh, &typed, &ip.to_string()).await {
        Ok(EmailAsked::Sent { email }) => {
            Ok(code_page(t, Kind::Email, &session.csrf, Some(email), None))
        }
        Ok(EmailAsked::Refused { refused, .. }) => {
            let text = send_refused::explain(t, &refused);
            let res = page(&state, t, &session, Kind::Email, typed, Some(text)).await?;
            Ok(send_refused::with_status(res, &refused))
        }
        Ok(EmailAsked::Invalid) => {
            page(
                &state,
                t,
                &session,
                Kind::Email,
                typed,
                error("account_channels.email_invalid"),
            )
            .await
        }
        Ok(EmailAsked::Unchanged) => {
            page(
                &state,
                t,
                &session,
                Kind::Email,
                typed,
                error("account_channels.email_same"),
            )
            .await
        }
        Err(e) => Err(internal(e, t)),
    }
}

/// `GET /verify/email/{key}` (and HEAD): the page of a confirmation link. Changes nothing.
async fn get_link(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
    Path(key): Path<String>,
) -> Result<Response, Early> {
    if !looks_like_token(&key) {
        return Ok(invalid_link(t));
    }
    match channels::check_email_link(&state, &key, session.as_ref()).await {
        Ok(LinkState::Usable { email }) => {
            let Some(session) = session else {
                return Ok(wrong_session(t));
            };
            Ok(render_status(
                StatusCode::OK,
                &LinkPage {
                    t,
                    key,
                    csrf: session.csrf,
                    email,
                },
            ))
        }
        Ok(LinkState::WrongSession) => Ok(wrong_session(t)),
        Ok(LinkState::Invalid) => Ok(invalid_link(t)),
        Err(e) => Err(internal(e, t)),
    }
}

/// `POST /verify/email/{key}`: confirms the new address in the session that asked.
async fn post_link(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    Path(key): Path<String>,
    PageForm(form): PageForm<CsrfForm>,
) -> Result<Response, Early> {
    let Some(session) = session else {
        // No session to check the token against, and none the link could work in.
        return Ok(wrong_session(t));
    };
    csrf::session_checked(&session, &form.csrf, t)?;
    if !looks_like_token(&key) {
        return Ok(invalid_link(t));
    }
    match channels::confirm_email_link(&state, &key, &session, &ip.to_string()).await {
        Ok(Confirmed::Invalid) => Ok(invalid_link(t)),
        Ok(outcome) => Ok(confirmed(t, Kind::Email, &session.csrf, outcome)),
        Err(e) => Err(internal(e, t)),
    }
}

/// `POST /account/phone`.
async fn post_phone(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    PageForm(form): PageForm<PhoneForm>,
) -> Result<Response, Early> {
    let session = posted_in(session, Kind::Phone, &form.csrf, t)?;
    let fresh = fresh_or_login(&state, &session, Kind::Phone)?;
    let typed = form.phone.trim().to_string();
    let error = |key: &'static str| Some(t.t(key).to_string());
    match channels::ask_phone(&state, fresh, &typed, &ip.to_string()).await {
        Ok(PhoneAsked::Sent { phone }) => {
            Ok(code_page(t, Kind::Phone, &session.csrf, Some(phone), None))
        }
        Ok(PhoneAsked::Refused { refused, .. }) => {
            let text = send_refused::explain(t, &refused);
            let res = page(&state, t, &session, Kind::Phone, typed, Some(text)).await?;
            Ok(send_refused::with_status(res, &refused))
        }
        Ok(PhoneAsked::Invalid) => {
            let typed = if typed.len() > 40 {
                String::new()
            } else {
                typed
            };
            page(
                &state,
                t,
                &session,
                Kind::Phone,
                typed,
                error("account_channels.phone_invalid"),
            )
            .await
        }
        Ok(PhoneAsked::CountryNotAllowed) => {
            let countries = state
                .config
                .sms
                .allowed_countries
                .iter()
                .map(|c| format!("+{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let text = fill(
                t.t("account_channels.phone_country"),
                &[("countries", &countries)],
            );
            page(&state, t, &session, Kind::Phone, typed, Some(text)).await
        }
        Ok(PhoneAsked::Unchanged) => {
            page(
                &state,
                t,
                &session,
                Kind::Phone,
                typed,
                error("account_channels.phone_same"),
            )
            .await
        }
        Err(e) => Err(internal(e, t)),
    }
}

/// `POST /account/phone/remove`.
async fn post_phone_remove(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    PageForm(form): PageForm<CsrfForm>,
) -> Result<Response, Early> {
    let session = posted_in(session, Kind::Phone, &form.csrf, t)?;
    let fresh = fresh_or_login(&state, &session, Kind::Phone)?;
    match channels::remove_phone(&state, fresh, &ip.to_string()).await {
        Ok(Some(_)) => Ok(see_other("/account/changed/phone-removed")),
        Ok(None) => Ok(see_other(PHONE_PATH)),
        Err(e) => Err(internal(e, t)),
    }
}

/// `GET /account/changed/{what}`: the result of a change (email, phone, phone-removed).
async fn get_changed(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
    Path(what): Path<String>,
) -> Result<Response, Early> {
    let session = signed_in(session, "/")?;
    let user = user_of(&state, &session, t).await?;
    let (heading, text, href, label) = match what.as_str() {
        "email" => (
            "account_channels.email_changed_heading",
            fill(
                t.t("account_channels.email_changed_text"),
                &[("email", &user.email)],
            ),
            EMAIL_PATH,
            "account_channels.email_page",
        ),
        "phone" => (
            "account_channels.phone_changed_heading",
            fill(
                t.t("account_channels.phone_changed_text"),
                &[("phone", user.verified_phone().unwrap_or(""))],
            ),
            PHONE_PATH,
            "account_channels.phone_page",
        ),
        "phone-removed" => (
            "account_channels.phone_removed_heading",
            t.t("account_channels.phone_removed_text").to_string(),
            PHONE_PATH,
            "account_channels.phone_page",
        ),
        _ => return Err(PageError::new(StatusCode::NOT_FOUND, "error.not_found", t).into()),
    };
    Ok(message(t, StatusCode::OK, heading, text, href, label))
}
