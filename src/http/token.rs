//! The back-channel endpoints: `POST /token`, `GET|POST /userinfo`, `POST /revoke` and
//! `POST /introspect`. Thin handlers: they check where parameters came from (never the query
//! string, SECURITY.md 14.2.1), parse the form body themselves (so a malformed body gets RFC
//! 6749 JSON, not axum's plain-text rejection), call `oidc::*` and render JSON with
//! `Cache-Control: no-store`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::http::error::OAuthJson;
use crate::oidc::access::Refused;
use crate::oidc::client_auth::Form;
use crate::oidc::error::OAuthError;
use crate::oidc::userinfo::UserinfoError;
use crate::oidc::{introspect, revoke, token, userinfo};
use crate::state::AppState;

/// The routes of this area (merged into the CORS-enabled API router).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/token", post(post_token))
        .route("/userinfo", post(userinfo_handler).get(userinfo_handler))
        .route("/revoke", post(post_revoke))
        .route("/introspect", post(post_introspect))
}

/// `POST /token`.
async fn post_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    PostedForm(form): PostedForm,
) -> Response {
    match token::exchange(&state, authorization(&headers), &form, state.now()).await {
        Ok(res) => match serde_json::to_vec(&res) {
            Ok(body) => json_no_store(StatusCode::OK, body),
            Err(e) => OAuthJson(crate::error::Error::from(e).into()).into_response(),
        },
        Err(e) => OAuthJson(e).into_response(),
    }
}

/// `POST /revoke` (RFC 7009): 200 with an empty body whenever the client authenticated.
async fn post_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    PostedForm(form): PostedForm,
) -> Response {
    match revoke::revoke(&state, authorization(&headers), &form, state.now()).await {
        Ok(()) => json_no_store(StatusCode::OK, b"{}".to_vec()),
        Err(e) => OAuthJson(e).into_response(),
    }
}

/// `POST /introspect` (RFC 7662).
async fn post_introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    PostedForm(form): PostedForm,
) -> Response {
    match introspect::introspect(&state, authorization(&headers), &form, state.now()).await {
        Ok(v) => json_no_store(StatusCode::OK, v.to_string().into_bytes()),
        Err(e) => OAuthJson(e).into_response(),
    }
}

/// `GET|POST /userinfo`: the access token only in `Authorization: Bearer` (RFC 6750 2.1).
async fn userinfo_handler(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if uri
        .query()
        .is_some_and(|q| form_has(q.as_bytes(), "access_token"))
    {
        return bearer_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the access token in the Authorization header, never in the URL",
        );
    }
    let Some(token) = authorization(&headers).and_then(bearer) else {
        return bearer_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "a Bearer access token is required",
        );
    };
    match userinfo::claims(&state, token, state.now()).await {
        Ok(claims) => json_no_store(
            StatusCode::OK,
            serde_json::Value::Object(claims).to_string().into_bytes(),
        ),
        Err(UserinfoError::InvalidToken(why)) => {
            let text = match why {
                Refused::Expired => "the access token has expired",
                Refused::Revoked => "the access token was revoked",
                Refused::Invalid => "the access token is invalid",
            };
            bearer_error(StatusCode::UNAUTHORIZED, "invalid_token", text)
        }
        Err(UserinfoError::InsufficientScope) => bearer_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token lacks the openid scope",
        ),
        Err(UserinfoError::Internal(e)) => OAuthJson(e).into_response(),
    }
}

/// The form of a back-channel POST, checked by [`form_request`]; a bad request is rejected
/// with RFC 6749 JSON before the handler runs.
struct PostedForm(Form);

impl<S: Send + Sync> axum::extract::FromRequest<S> for PostedForm {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let uri = req.uri().clone();
        let headers = req.headers().clone();
        let body = <Bytes as axum::extract::FromRequest<S>>::from_request(req, state).await;
        form_request(&uri, &headers, body)
            .map(PostedForm)
            .map_err(|e| OAuthJson(e).into_response())
    }
}

/// Checks the request shape of the form-posting endpoints and parses the body.
fn form_request(
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Form, OAuthError> {
    if uri.query().is_some_and(|q| !q.is_empty()) {
        return Err(OAuthError::invalid_request(
            "parameters belong in the request body, never in the URL",
        ));
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            OAuthError::invalid_request("the request body is too large")
        } else {
            OAuthError::invalid_request("the request body could not be read")
        }
    })?;
    Form::parse(&body)
}

/// The `Authorization` header, if readable.
fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The token of `Bearer <token>` (scheme case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether a urlencoded string has a parameter named `name`.
fn form_has(q: &[u8], name: &str) -> bool {
    url::form_urlencoded::parse(q).any(|(k, _)| k == name)
}

/// A JSON body that must not be cached (RFC 6749 5.1).
fn json_no_store(status: StatusCode, body: Vec<u8>) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// An RFC 6750 3.1 error: `WWW-Authenticate: Bearer error="..."` and a JSON body.
fn bearer_error(status: StatusCode, code: &'static str, description: &str) -> Response {
    let body = serde_json::json!({ "error": code, "error_description": description });
    let mut res = json_no_store(status, body.to_string().into_bytes());
    let challenge = format!("Bearer error=\"{code}\"");
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_header_only() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert!(form_has(b"x=1&access_token=t", "access_token"));
        assert!(!form_has(b"x=1", "access_token"));
    }

    #[test]
    fn forms_with_query_strings_or_other_types_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let ok: Uri = "/token".parse().expect("uri");
        let query: Uri = "/token?client_secret=s".parse().expect("uri");
        assert!(form_request(&ok, &h, Ok(Bytes::from_static(b"grant_type=x"))).is_ok());
        assert!(form_request(&query, &h, Ok(Bytes::from_static(b"grant_type=x"))).is_err());
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(form_request(&ok, &h, Ok(Bytes::from_static(b"{}"))).is_err());
    }
}
