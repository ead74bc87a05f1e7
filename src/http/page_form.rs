//! The extractors of forms posted by browser pages: [`PageForm`] (a form that does not parse
//! is the 400 page, or 413 when too large) and [`CsrfForm`] (the same, plus the check that it
//! repeats the signed-in session's CSRF token: 403 otherwise).
//!
//! The error pages are in the language of the page: the person's when an extractor before
//! this one found it ([`PageTexts`] in the request's extensions, put there by
//! [`crate::http::signed_in::SignedIn`]), else the browser's (`Accept-Language`). What the
//! handler does with the form, and every other check, stays in the handler.

use axum::extract::{Form, FromRequest, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::session::Session;
use crate::http::csrf;
use crate::http::error::PageError;
use crate::http::extract::accept_language_locale;
use crate::i18n::Texts;

/// The language a handler's pages are in, when an earlier extractor knows it better than the
/// browser's `Accept-Language` (kept in the request's extensions).
#[derive(Debug, Clone, Copy)]
pub struct PageTexts(pub Texts);

impl PageTexts {
    /// The texts an earlier extractor chose, else the browser's.
    pub fn of(parts: &Parts) -> Texts {
        match parts.extensions.get::<PageTexts>() {
            Some(PageTexts(t)) => *t,
            None => Texts::new(accept_language_locale(parts, None)),
        }
    }
}

/// A posted form; when it does not parse, the 400 page (413 for a body over the limit).
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let t = PageTexts::of(&parts);
        match Form::<T>::from_request(Request::from_parts(parts, body), state).await {
            Ok(Form(form)) => Ok(PageForm(form)),
            Err(rejection) => Err(PageError::new(rejection.status(), "error.bad_request", t)),
        }
    }
}

/// A form that carries a CSRF token (the `csrf` field).
pub trait WithCsrf {
    /// The token the form repeats.
    fn csrf(&self) -> &str;
}

/// A posted form that repeats the signed-in session's CSRF token; 400 when it does not parse,
/// 403 when the token is missing or wrong (also when no session was loaded before it: use it
/// after [`crate::http::signed_in::SignedIn`]).
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned + WithCsrf,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let t = PageTexts::of(&parts);
        let session = parts.extensions.get::<Session>().cloned();
        let PageForm(form) =
            PageForm::<T>::from_request(Request::from_parts(parts, body), state).await?;
        match session {
            Some(session) if csrf::session_ok(&session, form.csrf()) => Ok(CsrfForm(form)),
            _ => Err(csrf::refused(t)),
        }
    }
}

/// Implements [`WithCsrf`] for forms whose token is the `csrf: String` field.
macro_rules! with_csrf {
    ($($form:ty),+ $(,)?) => {
        $(
            impl $crate::http::page_form::WithCsrf for $form {
                fn csrf(&self) -> &str {
                    &self.csrf
                }
            }
        )+
    };
}
pub(crate) use with_csrf;
