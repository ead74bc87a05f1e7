//! The steps the new-password pages (reset link, setup link, password change) share around
//! their use-case: a link key that is no longer usable (the page's own 410), the two typed
//! passwords agreeing, and the rules shown under the field; and [`Early`], the page that ends
//! a handler early. The posted form is read by [`crate::http::page_form::PageForm`], the CSRF
//! checks are in [`crate::http::csrf`], the messages in [`crate::http::reset`].

use axum::response::{IntoResponse, Response};

use crate::http::error::PageError;
use crate::http::reset::password_hint;
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
