//! The extractors of forms posted by browser pages: [`PageForm`] (a form that does not parse
//! is the "bad request" page with axum's status for it: 400, 413 when too large, 415 for
//! another content type, 422 for fields that do not deserialize) and [`CsrfForm`] (the same,
//! plus the check that it repeats the signed-in session's CSRF token: 403 otherwise).
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

/// A posted form; when it does not parse, the "bad request" page with the rejection's status.
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

/// A posted form that repeats the signed-in session's CSRF token; the "bad request" page when
/// it does not parse, 403 when the token is missing or wrong (also when no session was loaded before it: use it
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{StatusCode, header};
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Probe {
        csrf: String,
        n: u32,
    }

    with_csrf!(Probe);

    fn posted(body: &'static str, session: Option<&str>) -> Request {
        let mut req = Request::builder()
            .method("POST")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        if let Some(csrf) = session {
            req.extensions_mut().insert(Session {
                id_hash: "h".into(),
                sid: "s".into(),
                user_id: "u".into(),
                csrf: csrf.into(),
                auth_time: 0,
                amr: vec!["pwd".into()],
                acr: String::new(),
            });
        }
        req
    }

    #[tokio::test]
    async fn a_form_that_does_not_parse_is_the_bad_request_page() {
        let refused = PageForm::<Probe>::from_request(posted("csrf=a&n=x", None), &())
            .await
            .expect_err("refused");
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.key, "error.bad_request");
        let PageForm(form) = PageForm::<Probe>::from_request(posted("csrf=a&n=7", None), &())
            .await
            .expect("parsed");
        assert_eq!((form.csrf.as_str(), form.n), ("a", 7));
    }

    #[tokio::test]
    async fn a_csrf_form_needs_the_session_and_its_token() {
        for (body, session) in [
            ("csrf=a&n=7", None),
            ("csrf=a&n=7", Some("b")),
            ("csrf=&n=7", Some("")),
        ] {
            let refused = CsrfForm::<Probe>::from_request(posted(body, session), &())
                .await
                .expect_err("refused");
            assert_eq!(refused.status, StatusCode::FORBIDDEN);
            assert_eq!(refused.key, "error.csrf");
        }
        let bad = CsrfForm::<Probe>::from_request(posted("csrf=a", Some("a")), &())
            .await
            .expect_err("refused");
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let CsrfForm(form) = CsrfForm::<Probe>::from_request(posted("csrf=a&n=7", Some("a")), &())
            .await
            .expect("accepted");
        assert_eq!(form.n, 7);
    }
}
