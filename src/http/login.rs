//! The password login page: `GET /login` shows the form (for a pending authorization request
//! `?req=<id>`, or plain), `POST /login` checks the CSRF token, runs the login use-case
//! (`auth::login`) and on success sets a new session cookie and answers 303.
//!
//! CSRF: a form continuing a pending request carries the request's token and must come from
//! the browser holding its binding cookie. The plain form uses a double-submit token: a
//! random `__Host-nyckel_csrf` cookie (SameSite=Lax, so not sent on cross-site POSTs) whose
//! value the form repeats. A failed check answers 403 and changes nothing; the token and the
//! checks are in [`crate::http::csrf`].

use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::auth::login::{self, Attempt, Outcome};
use crate::auth::password::Password;
use crate::crypto::sha256_b64;
use crate::http::cookies::{self, SESSION_COOKIE};
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::extract::texts_for;
use crate::http::headers::csp_with_form_target;
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::password_change;
use crate::i18n::Texts;
use crate::oidc::authorize;
use crate::oidc::pending::{self, BINDING_COOKIE, Pending, PendingError};
use crate::state::AppState;

/// Where a login for a pending request continues.
pub const CONTINUE_PATH: &str = "/authorize/continue";

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route("/login", get(get_login).post(post_login))
}

/// The login page.
#[derive(Template)]
#[template(path = "pages/login.html")]
pub struct LoginPage {
    pub t: Texts,
    /// "Sign in to continue to <client name>".
    pub client_name: Option<String>,
    /// The pending request id, when continuing one.
    pub req: Option<String>,
    pub csrf: String,
    /// Prefilled email (login_hint, or as typed before a failure).
    pub email: String,
    /// The message after a failed attempt.
    pub error: Option<&'static str>,
    /// A local page to go to after a plain login.
    pub next: Option<String>,
    /// Whether login keys (email links, SMS codes) may be asked for.
    pub keys: bool,
    /// Whether passkeys work on this installation (else no passkey button, no script).
    pub passkeys: bool,
}

/// `GET /login` query.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    pub req: Option<String>,
    /// A local page to go to after a plain login (see [`local_path`]).
    pub next: Option<String>,
}

/// `POST /login` form. Not `Debug`: it holds the password.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(flatten)]
    pub login: LoginFields,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
}

/// What every form and ceremony of the login page posts: the pending request it continues
/// (`req`), or where to go after a plain login (`next`), and the CSRF token.
#[derive(Deserialize)]
pub struct LoginFields {
    #[serde(default)]
    pub req: Option<String>,
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub next: Option<String>,
}

impl LoginFields {
    /// The CSRF token alone: a form that never continues a request (`/forgot`).
    pub fn csrf_only(&self) -> LoginFields {
        LoginFields {
            req: None,
            csrf: self.csrf.clone(),
            next: None,
        }
    }
}

/// What the page needs besides the email and the message.
pub(crate) struct Context {
    pub(crate) texts: Texts,
    pub(crate) pending: Option<Pending>,
    pub(crate) client_name: Option<String>,
    pub(crate) csrf: String,
    /// A new double-submit cookie value to set.
    pub(crate) new_csrf_cookie: bool,
    /// Where a plain login continues (a checked local path).
    pub(crate) next: Option<String>,
}

impl Context {
    /// Where the browser goes after logging in: the pending request, else `next`, else `/`.
    pub(crate) fn continue_to(&self) -> String {
        match &self.pending {
            Some(p) => format!(
                "{CONTINUE_PATH}?req={}",
                url::form_urlencoded::byte_serialize(p.id.as_bytes()).collect::<String>()
            ),
            None => self.next.clone().unwrap_or_else(|| "/".to_string()),
        }
    }
}

/// The context of a posted form (the password form or a form beside it): a form continuing a
/// pending request must carry its token and come from its browser; the plain form must repeat
/// the double-submit cookie. A failed check is the 403 page.
pub(crate) async fn posted_context(
    state: &AppState,
    headers: &HeaderMap,
    posted: &LoginFields,
) -> Result<Context, Response> {
    let (csrf, next) = (posted.csrf.as_str(), posted.next.as_deref());
    match posted.req.as_deref().filter(|r| !r.is_empty()) {
        Some(id) => pending_context(state, headers, id, Some(csrf))
            .await
            .map_err(IntoResponse::into_response),
        None => {
            if !csrf::double_submit_ok(headers, csrf) {
                return Err(csrf::refused(texts_for(headers, None)).into_response());
            }
            Ok(plain_context(headers, next))
        }
    }
}

/// The answer to a successful login: 303 to `location` (or first to the forced password
/// change) with the new session cookie.
pub(crate) async fn logged_in(
    state: &AppState,
    t: Texts,
    user_id: &str,
    mut location: String,
    cookie: &str,
) -> Response {
    // A password an administrator set must be replaced before anything else.
    match password_change::must_change(state, user_id).await {
        Ok(true) => location = password_change::change_location(&location),
        Ok(false) => {}
        Err(e) => return PageError::from_internal(e, t).into_response(),
    }
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    match HeaderValue::from_str(&location) {
        Ok(v) => h.insert(header::LOCATION, v),
        Err(e) => return PageError::from_internal(e, t).into_response(),
    };
    h.append(
        header::SET_COOKIE,
        cookies::set(SESSION_COOKIE, cookie, None),
    );
    res
}

/// `GET /login[?req=<id>]`.
pub async fn get_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let fallback = texts_for(&headers, None);
    let Ok(Query(query)) = query else {
        return PageError::bad_request("error.bad_request", fallback).into_response();
    };
    let ctx = match query.req.filter(|r| !r.is_empty()) {
        Some(id) => match pending_context(&state, &headers, &id, None).await {
            Ok(ctx) => ctx,
            Err(e) => return e.into_response(),
        },
        None => plain_context(&headers, query.next.as_deref()),
    };
    let email = match &ctx.pending {
        Some(p) => match authorize::login_prefill(&state.db, &p.params).await {
            Ok(email) => email.unwrap_or_default(),
            Err(e) => return PageError::from_internal(e, ctx.texts).into_response(),
        },
        None => String::new(),
    };
    show(&state, ctx, email, None, StatusCode::OK)
}

/// `POST /login`.
pub async fn post_login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    // Oversized bodies (413) and malformed forms end in the extractor, before any hashing.
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    let password = Password::new(form.password);
    let ctx = match posted_context(&state, &headers, &form.login).await {
        Ok(ctx) => ctx,
        Err(res) => return res,
    };

    let replaces = cookies::get(&headers, SESSION_COOKIE).map(sha256_b64);
    let continue_to = ctx.continue_to();
    let attempt = Attempt {
        email: &form.email,
        password: &password,
        ip,
        client_id: ctx.pending.as_ref().map(|p| p.params.client_id.as_str()),
        replaces: replaces.as_deref(),
        user_agent: user_agent(&headers),
        request_id: ctx.pending.as_ref().map(|p| p.id.as_str()),
        next: Some(&continue_to),
    };
    let outcome = login::password(&state, attempt, state.now()).await;
    match outcome {
        Ok(Outcome::Success { session, cookie }) => {
            logged_in(
                &state,
                ctx.texts,
                &session.user_id,
                ctx.continue_to(),
                &cookie,
            )
            .await
        }
        Ok(Outcome::SecondFactor { step_cookie }) => {
            crate::http::second_factor::to_second_step(&step_cookie)
        }
        Ok(Outcome::Invalid) => show(
            &state,
            ctx,
            form.email,
            Some("login.invalid"),
            StatusCode::OK,
        ),
        Ok(Outcome::Throttled { retry_after }) => {
            let mut res = show(
                &state,
                ctx,
                form.email,
                Some("login.throttled"),
                StatusCode::TOO_MANY_REQUESTS,
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            res
        }
        Err(e) => PageError::from_internal(e, ctx.texts).into_response(),
    }
}

/// The browser's `User-Agent`, cut to 256 characters.
pub(crate) fn user_agent(headers: &HeaderMap) -> Option<&str> {
    let ua = headers.get(header::USER_AGENT)?.to_str().ok()?;
    Some(match ua.char_indices().nth(256) {
        Some((i, _)) => &ua[..i],
        None => ua,
    })
}

/// The plain form: reuses the browser's double-submit cookie or makes a new one.
pub(crate) fn plain_context(headers: &HeaderMap, next: Option<&str>) -> Context {
    let (csrf, new_csrf_cookie) = csrf::page_token(headers);
    Context {
        texts: texts_for(headers, None),
        pending: None,
        client_name: None,
        csrf,
        new_csrf_cookie,
        next: next.and_then(local_path),
    }
}

/// `next` when it is a path on this server: one leading `/` (not `//`, which is another
/// host), no backslash (browsers read it as `/`), no control characters or spaces
/// (browsers drop tabs and newlines, which could make `//`), at most 2000 bytes.
pub fn local_path(next: &str) -> Option<String> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= 2000
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    ok.then(|| next.to_string())
}

/// A 256-bit base64url token, as [`crate::crypto::secret_token`] makes.
pub(crate) fn looks_like_token(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Loads the pending request `id` for this browser; `csrf` is the form token on POST.
pub(crate) async fn pending_context(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    csrf: Option<&str>,
) -> Result<Context, PageError> {
    let fallback = texts_for(headers, None);
    let binding = cookies::get(headers, BINDING_COOKIE);
    let loaded = pending::load(&state.db, id, binding, csrf, state.now())
        .await
        .map_err(|e| PageError::from_internal(e, fallback))?;
    let pending = match loaded {
        Ok(p) => p,
        // A form from another browser, or with the wrong token, is refused as CSRF.
        Err(PendingError::Csrf) | Err(PendingError::WrongBrowser) if csrf.is_some() => {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "error.csrf",
                fallback,
            ));
        }
        Err(_) => return Err(PageError::bad_request("login.expired", fallback)),
    };
    let texts = texts_for(headers, pending.params.ui_locales.as_deref());
    let client_name = state
        .clients
        .get(&pending.params.client_id)
        .await
        .map_err(|e| PageError::from_internal(e, texts))?
        .map(|c| c.name.clone());
    Ok(Context {
        texts,
        client_name,
        csrf: pending.csrf.clone(),
        pending: Some(pending),
        new_csrf_cookie: false,
        next: None,
    })
}

/// Renders the login page.
fn show(
    state: &AppState,
    ctx: Context,
    email: String,
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let page = LoginPage {
        keys: state.config.login.email_links || state.config.login.sms_codes,
        passkeys: state.passkeys_on(),
        t: ctx.texts,
        client_name: ctx.client_name,
        req: ctx.pending.as_ref().map(|p| p.id.clone()),
        csrf: ctx.csrf.clone(),
        email,
        error: error.map(|k| ctx.texts.t(k)),
        next: ctx.next.clone(),
    };
    let mut res = render_status(status, &page);
    let h = res.headers_mut();
    if ctx.new_csrf_cookie {
        h.append(
            header::SET_COOKIE,
            cookies::set(csrf::CSRF_COOKIE, &ctx.csrf, None),
        );
    }
    // After the login POST the browser is redirected on to the client: allow its origin as a
    // form target (browsers apply form-action to redirects after a submission).
    if let Some(csp) = ctx
        .pending
        .as_ref()
        .and_then(|p| form_target(&p.params.redirect_uri))
        .and_then(|origin| HeaderValue::from_str(&csp_with_form_target(&origin)).ok())
    {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    res
}

/// The CSP source for a redirect URI: its origin, or `scheme:` for a custom scheme.
fn form_target(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    let origin = url.origin();
    Some(if origin.is_tuple() {
        origin.ascii_serialization()
    } else {
        format!("{}:", url.scheme())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::secret_token;

    #[test]
    fn form_targets() {
        assert_eq!(
            form_target("https://app.example:8443/cb?x=1").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            form_target("com.example.app:/cb").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(form_target("not a url"), None);
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(
            local_path("/admin/orgs/a?q=1").as_deref(),
            Some("/admin/orgs/a?q=1")
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/\t/evil.example",
            "",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_recognised() {
        assert!(looks_like_token(&secret_token()));
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&"a;".repeat(21)));
    }
}
