//! The JSON the pages' scripts post (the passkey ceremonies of `static/passkey.js`), read one
//! way: [`JsonBody`] answers a body that does not parse with `{"error": <translated text>}`
//! and axum's status for it (400, 413, 415, 422), in the browser's language; [`json_error`]
//! and [`json_answer`] are the answers every ceremony handler gives.

use axum::extract::{FromRequest, Json, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::http::extract::texts_for;
use crate::i18n::Texts;

/// A posted JSON body; when it does not parse, a JSON refusal (`passkeys.bad_request`).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let t = texts_for(req.headers(), None);
        match Json::<T>::from_request(req, state).await {
            Ok(Json(body)) => Ok(JsonBody(body)),
            Err(r) => Err(json_error(r.status(), t, "passkeys.bad_request")),
        }
    }
}

/// A JSON answer.
pub fn json_answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// A JSON refusal with a translated message.
pub fn json_error(status: StatusCode, t: Texts, key: &'static str) -> Response {
    json_answer(status, json!({ "error": t.t(key) }))
}
