//! `GET`/`POST /password/change`: a logged-in person changes their password (current +
//! new, twice). After an administrator set a password (`users.must_change_password`), the
//! login and `/authorize/continue` send the person here first ([`must_change`],
//! [`change_location`]); once changed, the browser continues to `next`, a local path (the
//! pending authorization, or the page they were going to). The form carries the session's
//! CSRF token.

use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::auth::change::{self, ChangeOutcome};
use crate::auth::password::Password;
use crate::http::authorize::see_other;
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::{ClientIp, Lang};
use crate::http::page::render_status;
use crate::http::page_form::PageForm;
use crate::http::password_form::{mismatch, rules};
use crate::http::reset::policy_message;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::state::AppState;

/// The page's path.
pub const PATH: &str = "/password/change";

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new().route(PATH, get(get_change).post(post_change))
}

/// Whether the person must choose a new password before anything else.
pub async fn must_change(state: &AppState, user_id: &str) -> Result<bool, sqlx::Error> {
    Ok(crate::auth::own::account(state, user_id)
        .await?
        .is_some_and(|u| u.must_change_password != 0))
}

/// The change page, continuing to `next` (a local path) afterwards.
pub fn change_location(next: &str) -> String {
    format!(
        "{PATH}?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    )
}

/// `next` if it is a path on this server, else `/` (never an open redirect).
fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= 2048
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The form.
#[derive(Template)]
#[template(path = "pages/password_change.html")]
pub struct ChangePage {
    pub t: Texts,
    pub forced: bool,
    pub csrf: String,
    pub next: String,
    pub email: String,
    pub min_length: usize,
    pub hint: String,
    pub error: Option<String>,
}

/// `GET` query.
#[derive(Debug, Deserialize)]
pub struct ChangeQuery {
    pub next: Option<String>,
}

/// `POST` form. Not `Debug`: it holds passwords.
#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub next: String,
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub confirm: String,
}

/// `GET /password/change[?next=/path]`.
async fn get_change(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Lang(t): Lang,
    query: Result<Query<ChangeQuery>, QueryRejection>,
) -> Response {
    let Some(session) = session else {
        return see_other("/login");
    };
    let next = local_next(query.ok().and_then(|Query(q)| q.next).as_deref());
    match page(
        &state,
        t,
        &session.user_id,
        session.csrf.clone(),
        next,
        None,
    )
    .await
    {
        Ok(p) => render_status(StatusCode::OK, &p),
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

/// `POST /password/change`.
async fn post_change(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    Lang(t): Lang,
    PageForm(form): PageForm<ChangeForm>,
) -> Response {
    let session = match csrf::signed_in_form(session, &form.csrf, t, || see_other("/login").into())
    {
        Ok(session) => session,
        Err(early) => return early.into_response(),
    };
    let next = local_next(Some(&form.next));
    let again = |message: String, status: StatusCode| {
        let (state, session, next) = (&state, &session, next.clone());
        async move {
            match page(
                state,
                t,
                &session.user_id,
                session.csrf.clone(),
                next,
                Some(message),
            )
            .await
            {
                Ok(p) => render_status(status, &p),
                Err(e) => PageError::from_internal(e, t).into_response(),
            }
        }
    };
    if let Some(message) = mismatch(t, &form.password, &form.confirm) {
        return again(message, StatusCode::BAD_REQUEST).await;
    }
    let current = Password::new(form.current);
    let new = Password::new(form.password);
    match change::change_own(&state, &session, &current, &new, ip).await {
        Ok(ChangeOutcome::Changed) => see_other(&next),
        Ok(ChangeOutcome::WrongCurrent) => {
            again(
                t.t("password_change.wrong_current").to_string(),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Ok(ChangeOutcome::Unchanged) => {
            again(
                t.t("password_change.same").to_string(),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Ok(ChangeOutcome::Refused(e)) => {
            again(policy_message(t, &e), StatusCode::BAD_REQUEST).await
        }
        Ok(ChangeOutcome::Throttled { retry_after }) => {
            let mut res = again(
                t.t("login.throttled").to_string(),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            res
        }
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

async fn page(
    state: &AppState,
    t: Texts,
    user_id: &str,
    csrf: String,
    next: String,
    error: Option<String>,
) -> Result<ChangePage, sqlx::Error> {
    let user = crate::auth::own::account(state, user_id).await?;
    let (min_length, hint) = rules(state, t);
    Ok(ChangePage {
        t,
        forced: user.as_ref().is_some_and(|u| u.must_change_password != 0),
        csrf,
        next,
        email: user.map(|u| u.email).unwrap_or_default(),
        min_length,
        hint,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(
            local_next(Some("/authorize/continue?req=x")),
            "/authorize/continue?req=x"
        );
        assert_eq!(local_next(Some("https://evil.test/")), "/");
        assert_eq!(local_next(Some("//evil.test/")), "/");
        assert_eq!(local_next(Some("/\\evil.test")), "/");
        assert_eq!(local_next(None), "/");
        assert_eq!(
            change_location("/authorize/continue?req=a b"),
            "/password/change?next=%2Fauthorize%2Fcontinue%3Freq%3Da+b"
        );
    }
}
