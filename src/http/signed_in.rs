//! The `SignedIn` extractor of the account pages: the browser's live session, its person and
//! the texts of the person's language; without a session (or when the account is gone) the
//! way to the login page, coming back to the account page afterwards.
//!
//! It leaves the session and the texts in the request's extensions, so a
//! [`crate::http::page_form::CsrfForm`] after it checks the form's token against this session
//! and answers in this language.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::session::Session;
use crate::http::account::{PATH, person_texts};
use crate::http::authorize::see_other;
use crate::http::error::PageError;
use crate::http::page_form::PageTexts;
use crate::http::password_form::Early;
use crate::http::session::MaybeSession;
use crate::state::AppState;
use crate::store::users::User;

/// A signed-in person on an account page.
#[derive(Debug)]
pub(crate) struct SignedIn {
    /// The live session.
    pub session: Session,
    /// The session's person.
    pub user: User,
    /// The texts of the person's preferred language, else of the browser's.
    pub texts: crate::i18n::Texts,
}

/// To the login page, coming back to the account page.
fn login_again() -> Early {
    see_other(&format!("/login?next={PATH}")).into()
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Early;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Early> {
        let browser = PageTexts::of(parts);
        let Ok(MaybeSession(session)) = MaybeSession::from_request_parts(parts, state).await;
        let session = session.ok_or_else(login_again)?;
        let user = match crate::auth::own::account(state, &session.user_id).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(login_again()),
            Err(e) => return Err(PageError::from_internal(e, browser).into()),
        };
        let texts = person_texts(&user, &parts.headers);
        parts.extensions.insert(PageTexts(texts));
        parts.extensions.insert(session.clone());
        Ok(SignedIn {
            session,
            user,
            texts,
        })
    }
}
