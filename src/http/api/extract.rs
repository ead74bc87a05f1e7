//! Extractors of the admin API: the caller from `Authorization: Bearer` (never a cookie, so
//! the API has no CSRF surface), and JSON body, query and path wrappers whose rejections
//! answer in the API's error shape. Every request body and query type is declared with
//! `#[serde(deny_unknown_fields)]`, so a field the API does not know (`email`,
//! `password_hash`, `superadmin`, ...) is refused, never silently dropped.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::{Json, extract::rejection::JsonRejection};
use serde::de::DeserializeOwned;

use crate::admin::Caller;
use crate::admin::principal::{self, Principal, TokenRefusal};
use crate::http::api::error::ApiError;
use crate::http::extract::ClientIp;
use crate::state::AppState;

/// The authenticated caller: a person with an admin-scoped access token (their authority
/// within the client's reach, after a login that meets their current factor requirement),
/// or a service client of one organisation. Loaded fresh from the database every request.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Caller);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(parts)? else {
            return Err(ApiError::no_token());
        };
        let principal = match principal::from_access_token(state, token).await? {
            Ok(Principal::Anonymous) | Err(TokenRefusal::Invalid) => {
                return Err(ApiError::invalid_token());
            }
            Err(TokenRefusal::InsufficientAuthentication) => {
                return Err(ApiError::insufficient_user_authentication());
            }
            Ok(p) => p,
        };
        let ip = match ClientIp::from_request_parts(parts, state).await {
            Ok(ClientIp(ip)) => ip.to_string(),
            Err(never) => match never {},
        };
        Ok(ApiCaller(Caller {
            principal,
            ip: Some(ip),
        }))
    }
}

/// The bearer token of the `Authorization` header; `None` when there is no header or it
/// is another scheme (RFC 6750 section 3: then the challenge carries no error code).
fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::invalid_token())?;
    let Some((scheme, token)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::invalid_token());
    }
    Ok(Some(token))
}

/// A JSON request body (`Content-Type: application/json`, within the body limit).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(v) = Json::<T>::from_request(req, state)
            .await
            .map_err(|e: JsonRejection| ApiError::from(e))?;
        Ok(ApiJson(v))
    }
}

/// Query parameters.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(v) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(v))
    }
}

/// Path parameters.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(v) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(ApiPath(v))
    }
}
