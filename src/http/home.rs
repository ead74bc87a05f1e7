//! The home page (`GET /`): who is signed in, with links to their account page (`account`),
//! to change their email address and mobile number (`account_channels`), a sign-out button (and a link to the admin pages for
//! people who administer something); or a link to sign in.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::admin::Principal;
use crate::http::error::PageError;
use crate::http::extract::Lang;
use crate::http::page::render;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::state::AppState;

/// The home page.
#[derive(Template)]
#[template(path = "pages/home.html")]
pub struct HomePage {
    pub t: Texts,
    /// The signed-in person's email and the session's CSRF token.
    pub signed_in: Option<(String, String)>,
    /// Whether to link to the admin pages (superadmin, or admin of an organisation).
    pub admin: bool,
}

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(get_home))
}

/// `GET /`.
async fn get_home(
    State(state): State<AppState>,
    Lang(mut texts): Lang,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
) -> Response {
    let (signed_in, admin) = match session {
        Some(s) => {
            let found = match crate::auth::own::account(&state, &s.user_id).await {
                Ok(user) => user.map(|u| {
                    // Signed in: the language the person chose, if any.
                    texts = crate::http::account::person_texts(&u, &headers);
                    (u.email, s.csrf)
                }),
                Err(e) => return PageError::from_internal(e, texts).into_response(),
            };
            let admin = match Principal::person(&state.db, &s.user_id).await {
                Ok(p) => p.administered().is_none_or(|orgs| !orgs.is_empty()),
                Err(e) => return PageError::from_internal(e, texts).into_response(),
            };
            (found, admin)
        }
        None => (None, false),
    };
    render(&HomePage {
        t: texts,
        signed_in,
        admin,
    })
}
