//! `POST /account/profile`: the person's name and preferred language.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::own::{self, Profile, ProfileError};
use crate::http::authorize::texts_for;
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::password_form::posted;
use crate::http::session::MaybeSession;
use crate::i18n::Texts;
use crate::state::AppState;

use super::{csrf_ok, done, page_with_error, person_texts, signed_in};

/// The profile form.
#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub language: String,
}

/// The message for a refused profile.
fn message(e: ProfileError) -> &'static str {
    match e {
        ProfileError::NameTooLong => "account.profile.name_too_long",
        ProfileError::NameInvalid => "account.profile.name_invalid",
        ProfileError::UnknownLanguage => "account.profile.language_invalid",
    }
}

/// `POST /account/profile`.
pub async fn post_profile(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<ProfileForm>, FormRejection>,
) -> Response {
    let browser = texts_for(&headers, None);
    let (session, user, t) = match signed_in(&state, session, &headers, browser).await {
        Ok(found) => found,
        Err(early) => return early.into_response(),
    };
    let form = match posted(form, t) {
        Ok(form) => form,
        Err(early) => return early.into_response(),
    };
    if let Err(early) = csrf_ok(&session, &form.csrf, t) {
        return early.into_response();
    }
    let profile = match Profile::parse(&form.name, &form.language) {
        Ok(p) => p,
        Err(e) => {
            let (name, language) = (form.name, form.language);
            return page_with_error(&state, &session, &user, t, StatusCode::BAD_REQUEST, |p| {
                p.profile_error = Some(t.t(message(e)));
                p.name = name.chars().take(own::MAX_NAME * 2).collect();
                p.language = match language.as_str() {
                    "sv" | "en" => language,
                    _ => String::new(),
                };
            })
            .await;
        }
    };
    match own::change_profile(&state, &session, &profile, ip).await {
        Ok(true) => done("profile"),
        Ok(false) => done("unchanged"),
        Err(e) => {
            // The page that failed is in the language asked for, if any.
            let t = profile
                .locale
                .map(Texts::new)
                .unwrap_or_else(|| person_texts(&user, &headers));
            PageError::from_internal(e, t).into_response()
        }
    }
}
