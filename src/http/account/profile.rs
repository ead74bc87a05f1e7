//! `POST /account/profile`: the person's name and preferred language.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::own::{self, Profile, ProfileError};
use crate::http::error::PageError;
use crate::http::extract::ClientIp;
use crate::http::page_form::{CsrfForm, with_csrf};
use crate::http::signed_in::SignedIn;
use crate::i18n::Texts;
use crate::state::AppState;

use super::{done, page_with_error, person_texts};

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

with_csrf!(ProfileForm);

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
    SignedIn {
        session,
        user,
        texts: t,
        ..
    }: SignedIn,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Response {
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
