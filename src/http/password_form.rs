//! The steps the new-password pages (reset link, setup link, password change) share around
//! their use-case: reading the posted form (400 page when it does not parse), the
//! double-submit CSRF check of the link pages (403), a link key that is no longer usable
//! (the page's own 410), the two typed passwords agreeing, and the rules shown under the
//! field. The CSRF token and message helpers themselves are in [`crate::http::reset`].

use axum::extract::Form;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::PageError;
use crate::http::reset::{csrf_matches, password_hint};
use crate::i18n::Texts;
use crate::state::AppState;

/// A page that ends a form handler early (boxed: a `Response` is large to carry in a
/// `Result`).
pub(crate) struct Early(Box<Response>);

impl From<Response> for Early {
    fn from(r: Response) -> Early {
        Early(Box::new(r))
    }
}

impl From<PageError> for Early {
    fn from(e: PageError) -> Early {
        e.into_response().into()
    }
}

impl IntoResponse for Early {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// The posted form, or the 400 page when it does not parse.
pub(crate) fn posted<T>(form: Result<Form<T>, FormRejection>, t: Texts) -> Result<T, Early> {
    match form {
        Ok(Form(form)) => Ok(form),
        Err(rejection) => Err(PageError::new(rejection.status(), "error.bad_request", t).into()),
    }
}

/// The 403 page unless the form's token repeats the browser's double-submit cookie.
pub(crate) fn double_submit(headers: &HeaderMap, token: &str, t: Texts) -> Result<(), Early> {
    if csrf_matches(headers, token) {
        Ok(())
    } else {
        Err(PageError::new(StatusCode::FORBIDDEN, "error.csrf", t).into())
    }
}

/// What a link key leads to, or the page's `invalid` answer when it is unusable (a logged
/// 500 when the lookup failed).
pub(crate) fn usable<K>(
    found: crate::error::Result<Option<K>>,
    t: Texts,
    invalid: fn(Texts) -> Response,
) -> Result<K, Early> {
    match found {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(invalid(t).into()),
        Err(e) => Err(PageError::from_internal(e, t).into()),
    }
}

/// The message when the new password and its confirmation differ.
pub(crate) fn mismatch(t: Texts, password: &str, confirm: &str) -> Option<String> {
    (password != confirm).then(|| t.t("reset.mismatch").to_string())
}

/// The minimum length and the hint under a new-password field.
pub(crate) fn rules(state: &AppState, t: Texts) -> (usize, String) {
    let min_length = state.config.password.min_length;
    (min_length, password_hint(t, min_length))
}
