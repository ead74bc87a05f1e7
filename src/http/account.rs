//! The person's own account page, `GET /account`, in their preferred language (the profile's
//! choice, else the browser's): profile (name and language, editable), email address and
//! mobile number (links to their pages), password, passkeys and second factor (links), active
//! sessions (end one, or all others), apps they have allowed (revoke), their organisations
//! and roles (read-only), recent security events about them, and links to download their
//! data and to delete the account.
//!
//! Viewing needs a live session but not a fresh login: the page shows only what the session's
//! own person may know, and the changes made here only take access away (sessions, apps) or
//! touch the name and language. Everything that could lock the person out or hand the
//! account to someone else (email, phone, password, passkeys, second factor, deletion) lives
//! on its own page, which asks for a fresh login or the current password. Every form posts
//! the session's CSRF token (403 without it) and answers with a redirect back here and a
//! notice; bad input answers this page with 400 and a message, and changes nothing.
//!
//! - `POST /account/profile`: name and language.
//! - `POST /account/sessions/end` (`sid`): end another session of the person (404 for any
//!   id that is not one of theirs).
//! - `POST /account/sessions/end-others`: end every session but this one.
//! - `POST /account/apps/revoke` (`client_id`): withdraw consent and revoke the app's
//!   tokens (404 for an app the person has not allowed).

mod agent;
mod apps;
mod events;
mod profile;
mod sessions;
mod view;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::auth::session::Session;
use crate::http::authorize::see_other;
use crate::http::error::PageError;
use crate::http::extract::texts_for;
use crate::http::page::render_status;
use crate::http::signed_in::SignedIn;
use crate::i18n::{Locale, Texts};
use crate::state::AppState;
use crate::store::users::User;

pub use view::AccountPage;

/// The page's path.
pub const PATH: &str = "/account";

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PATH, get(get_account))
        .route("/account/profile", post(profile::post_profile))
        .route("/account/sessions/end", post(sessions::post_end))
        .route(
            "/account/sessions/end-others",
            post(sessions::post_end_others),
        )
        .route("/account/apps/revoke", post(apps::post_revoke))
}

/// `GET /account` query: which notice to show after a change.
#[derive(Debug, Deserialize)]
pub struct AccountQuery {
    pub done: Option<String>,
}

/// The notices shown after a change (`?done=...`), as catalog keys. Anything else shows none.
fn notice_key(done: &str) -> Option<&'static str> {
    Some(match done {
        "profile" => "account.done.profile",
        "unchanged" => "account.done.unchanged",
        "session" => "account.done.session",
        "sessions" => "account.done.sessions",
        "no_sessions" => "account.done.no_sessions",
        "app" => "account.done.app",
        _ => return None,
    })
}

/// `GET /account`.
async fn get_account(
    State(state): State<AppState>,
    SignedIn {
        session,
        user,
        texts: t,
    }: SignedIn,
    query: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    let notice = query
        .ok()
        .and_then(|Query(q)| q.done)
        .and_then(|d| notice_key(&d));
    match view::load(&state, &session, &user, t).await {
        Ok(mut page) => {
            page.notice = notice.map(|k| t.t(k));
            render_status(StatusCode::OK, &page)
        }
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

/// The texts of the person's preferred language, else of the browser's.
pub fn person_texts(user: &User, headers: &HeaderMap) -> Texts {
    match user.locale.as_deref().and_then(Locale::from_tag) {
        Some(locale) => Texts::new(locale),
        None => texts_for(headers, None),
    }
}

/// Back to the page with a notice.
fn done(what: &str) -> Response {
    see_other(&format!("{PATH}?done={what}"))
}

/// The account page with `status` and a message in the profile section (a refused profile
/// change: the typed values are shown again).
async fn page_with_error(
    state: &AppState,
    session: &Session,
    user: &User,
    t: Texts,
    status: StatusCode,
    edit: impl FnOnce(&mut AccountPage),
) -> Response {
    match view::load(state, session, user, t).await {
        Ok(mut page) => {
            edit(&mut page);
            render_status(status, &page)
        }
        Err(e) => PageError::from_internal(e, t).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_notices_are_shown() {
        assert_eq!(notice_key("app"), Some("account.done.app"));
        assert_eq!(notice_key("<script>"), None);
        let t = Texts::new(Locale::En);
        for d in [
            "profile",
            "unchanged",
            "session",
            "sessions",
            "no_sessions",
            "app",
        ] {
            let key = notice_key(d).expect("known");
            assert_ne!(t.t(key), key, "{key} is in the catalog");
        }
    }

    #[test]
    fn every_text_of_the_page_is_in_the_catalog() {
        let template = include_str!("../../templates/pages/account.html");
        let keys: Vec<&str> = template
            .split("t.t(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(keys.len() > 40, "found the keys");
        for locale in [Locale::En, Locale::Sv] {
            let t = Texts::new(locale);
            for key in &keys {
                assert_ne!(t.t(key), *key, "{key} is in the {locale:?} catalog");
            }
        }
    }
}
